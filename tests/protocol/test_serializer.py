"""Actions are validated before a byte is written: the AMI injection hole stays shut."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami_client.protocol import (
    MAX_ACTION_FIELDS,
    MAX_ACTION_LINE,
    Action,
    ActionIdGenerator,
    Event,
    LocalProtocolError,
    Message,
    Parser,
    serialize_action,
    serialize_message,
)


def parse_action(data: bytes) -> Message:
    parser = Parser(expect_banner=False)
    parser.receive_data(data)
    item = parser.next_event()
    assert isinstance(item, Message)
    return item


def test_fields_in_order_with_repeats_and_action_id() -> None:
    action = Action(
        "Originate",
        [("Channel", "Local/100@default"), ("Variable", "A=1")],
        Variable=["B=2", "C=3"],
        Async=True,
        Priority=1,
    )
    data = serialize_action(action, "id-1")
    assert data == (
        b"Action: Originate\r\nChannel: Local/100@default\r\nVariable: A=1\r\n"
        b"Variable: B=2\r\nVariable: C=3\r\nAsync: true\r\nPriority: 1\r\nActionID: id-1\r\n\r\n"
    )


def test_mapping_values_become_repeated_name_value_lines() -> None:
    action = Action("Originate", Variable={"CALLERID(num)": "100", "X": 2})
    assert action.fields == (("Variable", "CALLERID(num)=100"), ("Variable", "X=2"))


def test_none_leaves_an_optional_field_out() -> None:
    assert Action("Status", Channel=None).fields == ()


def test_user_action_id_is_kept() -> None:
    action = Action("Ping", ActionID="mine")
    assert action.action_id == "mine"
    assert serialize_action(action, "generated").count(b"ActionID") == 1
    assert parse_action(serialize_action(action, "generated")).action_id == "mine"


@pytest.mark.parametrize("bad", ["a\r\nAction: Command", "a\nb", "a\rb", "a\x00b", "\r\n"])
def test_cr_lf_nul_in_values_refused(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="CR, LF or NUL"):
        Action("Originate", CallerID=bad)


@pytest.mark.parametrize("key", ["Caller ID", "Key:", "a\r\nb", "", "Ké", "x\x00", "Tab\tKey"])
def test_bad_keys_refused(key: str) -> None:
    with pytest.raises(LocalProtocolError, match="not a valid AMI key"):
        Action("Originate", {key: "1"})


@pytest.mark.parametrize("name", ["Ping\r\nAction: Command", "Bad Name", "", "A:b"])
def test_bad_action_names_refused(name: str) -> None:
    with pytest.raises(LocalProtocolError):
        Action(name)


def test_action_field_is_not_a_field() -> None:
    with pytest.raises(LocalProtocolError, match="name"):
        Action("Ping", {"action": "Command"})


def test_line_over_asterisk_buffer_refused() -> None:
    # "Data: " + value + CRLF must fit in Asterisk's 1,024-byte line buffer.
    fits = "x" * (MAX_ACTION_LINE - len("Data: ") - 2)
    Action("Originate", Data=fits)
    with pytest.raises(LocalProtocolError, match="1024"):
        Action("Originate", Data=fits + "x")
    # Measured in bytes, not characters.
    with pytest.raises(LocalProtocolError, match="1024"):
        Action("Originate", Data="é" * 510)


def test_more_fields_than_asterisk_keeps_refused() -> None:
    Action("UserEvent", [("UserEvent", "x")] + [("V", "1")] * (MAX_ACTION_FIELDS - 3))
    with pytest.raises(LocalProtocolError, match="128"):
        Action("UserEvent", [("UserEvent", "x")] + [("V", "1")] * (MAX_ACTION_FIELDS - 1))


def test_bad_value_types_refused() -> None:
    with pytest.raises(LocalProtocolError, match="str, int or bool"):
        Action("Originate", Timeout=1.5)


def test_secret_never_in_repr_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    action = Action("Login", Username="admin", Secret="hunter2")
    assert "hunter2" not in repr(action)
    assert "hunter2" not in str(action)
    challenge = Action("Login", Username="admin", AuthType="MD5", Key="abcdef")
    assert "abcdef" not in repr(challenge)
    with pytest.raises(LocalProtocolError) as info:
        Action("Login", Username="admin", Secret="hunter2\r\nAction: Command")
    assert "hunter2" not in str(info.value)
    logging.getLogger("test").debug("%r", action)
    assert "hunter2" not in caplog.text


def test_action_ids_unique_per_connection() -> None:
    generate = ActionIdGenerator()
    ids = {generate() for _ in range(10_000)}
    assert len(ids) == 10_000
    other = ActionIdGenerator()
    assert other.prefix != generate.prefix or other() not in ids


def test_action_id_next_id_shares_the_sequence() -> None:
    generate = ActionIdGenerator("p{x}")  # braces in a prefix are plain characters
    assert [generate(), generate.next_id(), generate(), generate.next_id()] == [
        "p{x}-1",
        "p{x}-2",
        "p{x}-3",
        "p{x}-4",
    ]


def test_serialize_message_for_servers() -> None:
    event = Event([("Event", "Hangup"), ("Cause", "16"), ("Cause-txt", "Normal Clearing")])
    data = serialize_message(event)
    parser = Parser(expect_banner=False)
    parser.receive_data(data)
    assert parser.next_event() == event
    with pytest.raises(LocalProtocolError):
        serialize_message(Event([("Event", "X\r\nEvent: Injected")]))


keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_()\-]{0,15}", fullmatch=True).filter(
    lambda k: k.lower() not in ("action", "actionid")
)
values = st.text(
    st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]), max_size=50
)


@given(
    st.text(st.characters(whitelist_categories=["L", "N"]), min_size=1, max_size=10).filter(
        str.isascii
    ),
    st.lists(st.tuples(keys, values), max_size=20),
)
def test_round_trip_through_the_parser(name: str, fields: list[tuple[str, str]]) -> None:
    action = Action(name, fields)
    parsed = parse_action(serialize_action(action, "rt-1"))
    assert parsed.fields == (("Action", name), *fields, ("ActionID", "rt-1"))


@given(st.text(max_size=60))
def test_any_value_either_round_trips_or_is_refused(value: str) -> None:
    try:
        action = Action("UserEvent", UserEvent="x", Data=value)
    except LocalProtocolError:
        assert (
            any(c in value for c in "\r\n\x00")
            or len(value.encode("utf-8", "surrogatepass")) > 1000
        )
        return
    except UnicodeEncodeError:
        return
    parsed = parse_action(serialize_action(action, "1"))
    assert parsed["Data"] == value
    assert len(parsed.fields) == 4  # nothing injected
