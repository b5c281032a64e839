"""The send path's shortcut: an action encodes itself once, when it is made; what it then
sends must be the very bytes ``serialize_action`` makes, and refused where that refuses it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami_client import Action, LocalProtocolError
from ami_client._private.serializer import MAX_ACTION_FIELDS, ActionIdGenerator, serialize_action

KEYS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1
)
VALUES = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
    max_size=40,
)


@given(
    name=KEYS,
    fields=st.lists(st.tuples(KEYS.filter(lambda k: k.lower() != "action"), VALUES), max_size=8),
)
def test_same_bytes_as_the_serializer_every_time(name: str, fields: list[tuple[str, str]]) -> None:
    ids = ActionIdGenerator()
    action = Action(name, fields)
    own_id = action.action_id  # a generated key may spell `actionid`
    for n in (1, 2):  # sending again reuses the bytes made with the action
        expected_id = own_id if own_id is not None else f"{ids.prefix}-{n}"
        action_id, data = action._frame(ids.next_id)
        assert action_id == expected_id
        assert data == serialize_action(action, action_id)
    if own_id is not None:
        assert ids() == f"{ids.prefix}-1"  # its own ActionID: no ID of ours was taken


def test_a_renamed_action_is_encoded_anew() -> None:
    ids = ActionIdGenerator("x")
    action = Action("Getvar", Channel="PJSIP/1-0001", Variable="A")
    action._frame(ids.next_id)
    action.name = "Setvar"  # Action's attributes can be reassigned
    action_id, data = action._frame(ids.next_id)
    assert data == serialize_action(action, action_id)
    assert data.startswith(b"Action: Setvar\r\n")


def test_too_many_fields_with_the_action_id_is_refused_like_the_serializer() -> None:
    ids = ActionIdGenerator("x")
    fits = Action("UserEvent", [(f"K{i}", "v") for i in range(MAX_ACTION_FIELDS - 2)])
    action_id, data = fits._frame(ids.next_id)
    assert data == serialize_action(fits, action_id)
    # Valid alone (128 lines, so it can be made), one too many with the ActionID added.
    full = Action("UserEvent", [(f"K{i}", "v") for i in range(MAX_ACTION_FIELDS - 1)])
    assert serialize_action(full, None).count(b"\r\n") == MAX_ACTION_FIELDS + 1
    with pytest.raises(LocalProtocolError, match="fields"):
        serialize_action(full, "x-2")
    with pytest.raises(LocalProtocolError, match="fields"):
        full._frame(ids.next_id)
    # With its own ActionID among the fields it fits.
    own = Action("UserEvent", [(f"K{i}", "v") for i in range(MAX_ACTION_FIELDS - 2)], ActionID="a")
    assert own._frame(ids.next_id) == ("a", serialize_action(own, None))
