"""The send path's shortcut: an action serialized once and sent again must be the very bytes
``serialize_action`` makes, and refused where ``serialize_action`` refuses it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ami_client
from ami_client import Action, LocalProtocolError
from ami_client._private.client import _WIRE_CACHE_ENTRIES
from ami_client._private.serializer import MAX_ACTION_FIELDS, ActionIdGenerator, serialize_action

KEYS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1
)
VALUES = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
    max_size=40,
)


def client() -> ami_client.AMIClient:
    return ami_client.AMIClient(username="admin", secret="secret")


@given(
    name=KEYS,
    fields=st.lists(
        st.tuples(KEYS.filter(lambda k: k.lower() not in ("action", "actionid")), VALUES),
        max_size=8,
    ),
)
def test_same_bytes_as_the_serializer_first_and_again(
    name: str, fields: list[tuple[str, str]]
) -> None:
    ami = client()
    ids = ActionIdGenerator()
    action = Action(name, fields)
    for _ in range(2):  # the first time fills the cache, the second reads it
        action_id = ids()
        assert ami._serialize(action, action_id) == serialize_action(action, action_id)


def test_an_action_changed_after_sending_is_serialized_anew() -> None:
    ami = client()
    action = Action("Getvar", Channel="PJSIP/1-0001", Variable="A")
    ami._serialize(action, "x-1")
    action.name = "Setvar"  # Action's attributes can be reassigned
    assert ami._serialize(action, "x-2") == serialize_action(action, "x-2")
    assert b"Action: Setvar\r\n" in ami._serialize(action, "x-3")


def test_too_many_fields_with_the_action_id_is_refused_like_the_serializer() -> None:
    ami = client()
    fits = Action("UserEvent", [(f"K{i}", "v") for i in range(MAX_ACTION_FIELDS - 2)])
    assert ami._serialize(fits, "x-1") == serialize_action(fits, "x-1")
    # Valid alone (127 lines), one too many with the ActionID the client adds.
    full = Action("UserEvent", [(f"K{i}", "v") for i in range(MAX_ACTION_FIELDS - 1)])
    with pytest.raises(LocalProtocolError, match="fields"):
        serialize_action(full, "x-2")
    with pytest.raises(LocalProtocolError, match="fields"):
        ami._serialize(full, "x-2")


def test_the_cache_is_bounded() -> None:
    ami = client()
    for n in range(3 * _WIRE_CACHE_ENTRIES):
        action = Action("UserEvent", UserEvent=f"e{n}")
        assert ami._serialize(action, f"x-{n}") == serialize_action(action, f"x-{n}")
    assert len(ami._wire_cache) == _WIRE_CACHE_ENTRIES
    # A large action is sent but not kept.
    big = Action("UserEvent", [(f"K{i}", "v" * 500) for i in range(20)])
    ami._wire_cache.clear()
    assert ami._serialize(big, "x-big") == serialize_action(big, "x-big")
    assert not ami._wire_cache
