"""A message is an immutable mapping: every way of changing it fails loudly, look-ups are typed."""

from __future__ import annotations

import copy

import pytest

from ami_client.protocol import Event, Message, Response

EVENT = Event([("Event", "Hangup"), ("Channel", "PJSIP/alice-00000001"), ("Cause", "16")])


def test_attributes_can_be_neither_set_nor_deleted() -> None:
    with pytest.raises(AttributeError, match="Event is immutable"):
        EVENT.name = "Other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="Event is immutable"):
        del EVENT.name
    with pytest.raises(AttributeError, match="Event is immutable"):
        del EVENT._fields  # a slot, set or not: still refused
    assert EVENT.name == "Hangup"


def test_a_key_that_is_not_text_is_simply_missing() -> None:
    # Keys are text: any other key is absent in every casing (a KeyError naming it, no
    # AttributeError from lower-casing it).
    with pytest.raises(KeyError) as raised:
        EVENT[16]  # type: ignore[index]
    assert raised.value.args == (16,)
    assert 16 not in EVENT  # type: ignore[comparison-overlap]
    with pytest.raises(KeyError, match="cause_code"):
        EVENT["cause_code"]
    assert EVENT["CAUSE"] == "16"


def test_equality_is_by_kind_and_fields_and_mapping_equality_with_plain_dicts() -> None:
    event = EVENT
    assert event == Event(event.fields)
    assert not event != Event(event.fields)  # noqa: SIM202 (__ne__ itself is under test)
    assert event != Message(event.fields)
    assert event != Response(event.fields)
    assert event != "Event: Hangup"
    assert event != 16
    # Against a plain mapping, a message compares as the dict of its first values does.
    assert event == dict(event)
    assert dict(event) == event
    assert event != {"Event": "Hangup"}


def test_copies_are_the_message_itself() -> None:
    assert copy.copy(EVENT) is EVENT
    assert copy.deepcopy(EVENT) is EVENT
    mutable = EVENT.copy()
    mutable["Cause"] = "17"
    assert EVENT["Cause"] == "16"
