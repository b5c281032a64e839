"""What a typed event or action promises beyond its fields: equality and hashing (of events and
of their snapshots), a half-built or deferred view's fallbacks, and an action's own ActionID."""

from __future__ import annotations

import pickle

import pytest

from ami_client import Event, actions, events
from ami_client._private.catalogue._base import BridgeSnapshot, ChannelSnapshot, TypedEvent
from ami_client._private.catalogue._registry import from_deferred
from ami_client._private.parser import DeferredEvent
from ami_client.protocol import Parser, serialize_action


def _newchannel(name: str = "PJSIP/100-00000001", uid: str = "1.1") -> Event:
    return Event([("Event", "Newchannel"), ("Channel", name), ("Uniqueid", uid),
                  ("ChannelState", "4"), ("ChanVariable", "V=x")])  # fmt: skip


def _deferred(wire: bytes) -> DeferredEvent:
    parser = Parser(expect_banner=False)
    parser._defer_events = True
    parser.receive_data(wire)
    (item,) = parser.next_events()
    assert isinstance(item, DeferredEvent)
    return item


def test_snapshots_compare_and_hash_by_their_fields() -> None:
    a = events.Newchannel.from_message(_newchannel()).channel
    b = events.Newchannel.from_message(_newchannel()).channel
    other = events.Newchannel.from_message(_newchannel(uid="1.2")).channel
    assert isinstance(a, ChannelSnapshot)
    assert a == b
    assert hash(a) == hash(b)  # (the variables mapping is left out of the hash, not the ==)
    assert {a, b} == {a}
    assert a != other
    bridge = events.BridgeCreate.from_message(
        Event([("Event", "BridgeCreate"), ("BridgeUniqueid", "b")])
    )
    assert isinstance(bridge.bridge, BridgeSnapshot)
    assert a != bridge.bridge  # another kind of snapshot is never equal
    assert a != "PJSIP/100-00000001"
    with pytest.raises(AttributeError, match="'ChannelSnapshot' object has no attribute 'colour'"):
        _ = a.colour  # type: ignore[attr-defined]  # a misspelt field fails, never reads None


def test_name_and_action_id_of_a_view() -> None:
    typed = events.from_message(Event([("event", "Hangup"), ("actionid", "a-7")]))
    assert typed.name == "Hangup"  # another casing of the key: still the name
    assert typed.action_id == "a-7"
    assert events.from_message(_newchannel()).action_id is None


def test_typed_events_equal_by_class_and_message_only() -> None:
    message = _newchannel()
    typed = events.from_message(message)
    assert typed == events.from_message(Event(message.fields))
    assert typed != message  # a view is not its message
    assert typed != "Newchannel"
    assert typed != events.GenericEvent.from_message(message)  # same message, other class
    assert pickle.loads(pickle.dumps(typed)) == typed  # noqa: S301 (our own bytes)


def test_a_half_built_view_has_no_message_and_no_deferred_text() -> None:
    half = object.__new__(events.Newchannel)
    assert half._deferred is None
    with pytest.raises(AttributeError, match="'Newchannel' object has no attribute 'message'"):
        _ = half.message
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        _ = half.colour  # type: ignore[attr-defined]


def test_a_deferred_view_falls_back_to_the_message_for_other_casings() -> None:
    wire = b"Event: Hangup\r\nChannel: PJSIP/1\r\nUniqueid: 9.9\r\nCause: 16\r\n\r\n"
    typed = from_deferred(_deferred(wire))
    assert isinstance(typed, TypedEvent)
    assert typed._deferred is not None
    # The exact casing is found in the text; another casing needs the message (read now).
    assert typed["Cause"] == "16"
    assert typed._deferred is not None
    assert typed["cAUSE"] == "16"
    assert "uniqueID" in from_deferred(_deferred(wire))
    assert "Nope" not in from_deferred(_deferred(wire))
    with pytest.raises(KeyError):
        _ = from_deferred(_deferred(wire))["Nope"]
    assert typed == events.from_message(Event([(k, v) for k, v in typed.message.fields]))


def test_a_typed_action_sends_its_own_action_id() -> None:
    ping = actions.Ping(action_id="mine-1")
    action = ping.to_action()
    assert action.action_id == "mine-1"
    assert action.fields == (("ActionID", "mine-1"),)
    assert serialize_action(action, None) == b"Action: Ping\r\nActionID: mine-1\r\n\r\n"
    # Parameters first, in the documentation's order, then the ActionID.
    getvar = actions.Getvar(variable="X", channel="PJSIP/1", action_id="mine-2").to_action()
    assert getvar.fields == (("Channel", "PJSIP/1"), ("Variable", "X"), ("ActionID", "mine-2"))
