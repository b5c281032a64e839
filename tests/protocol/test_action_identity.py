"""Actions as values, and every ActionID checked before it reaches the wire."""

from __future__ import annotations

import pytest

from ami_client.protocol import (
    Action,
    ActionIdGenerator,
    LocalProtocolError,
    Message,
    serialize_action,
    serialize_message,
)


def test_field_names_must_be_text() -> None:
    with pytest.raises(LocalProtocolError, match=r"field names must be str, not 7"):
        Action("Setvar", [(7, "x")])  # type: ignore[list-item]


def test_actions_are_equal_by_name_in_any_casing_and_fields_in_order() -> None:
    ping = Action("Ping", ActionID="p-1")
    assert ping == Action("ping", [("ActionID", "p-1")])
    assert hash(ping) == hash(Action("PING", ActionID="p-1"))
    assert ping != Action("Ping", ActionID="p-2")
    assert Action("Setvar", A="1", B="2") != Action("Setvar", B="2", A="1")  # order is sent
    assert ping != "Action: Ping"
    assert len({ping, Action("ping", ActionID="p-1"), Action("Ping")}) == 2


@pytest.mark.parametrize("action_id", ["", "a\r\nAction: Originate", "a\nb", "a\x00b"])
def test_an_action_id_that_would_inject_lines_is_refused(action_id: str) -> None:
    with pytest.raises(LocalProtocolError, match="invalid ActionID"):
        serialize_action(Action("Ping"), action_id)
    # Nothing was produced, and a good ActionID still works.
    assert serialize_action(Action("Ping"), "ok-1") == b"Action: Ping\r\nActionID: ok-1\r\n\r\n"


@pytest.mark.parametrize("prefix", ["a\r\nAction: Originate", "a\nb", "nul\x00"])
def test_an_action_id_prefix_that_would_inject_lines_is_refused(prefix: str) -> None:
    with pytest.raises(LocalProtocolError, match="invalid ActionID prefix"):
        ActionIdGenerator(prefix)


def test_a_message_with_no_field_cannot_be_written() -> None:
    with pytest.raises(LocalProtocolError, match="at least one field"):
        serialize_message(Message([]))
