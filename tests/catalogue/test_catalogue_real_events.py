"""Real Asterisk 22 events (recorded transcripts and the 300-call corpus) type with no loss."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ami_client import Event, events
from ami_client._private.catalogue._base import BridgeSnapshot, ChannelSnapshot, TypedEvent

from .helpers import CORPUS, corpus_events, expected, transcript_events

#: Events Asterisk 22.10.1 sends that its documentation does not describe. TestEvent: Debian
#: builds with TEST_FRAMEWORK; the others end lists or WaitEvent (tests/data/transcripts).
UNDOCUMENTED = {"testevent", "queuestatuscomplete", "waiteventcomplete"}


def _mapped_keys(typed: TypedEvent) -> set[str]:
    """The wire keys (lower case) that the typed attributes of ``typed`` read."""
    keys = {"event", "privilege", "actionid"}
    for attr in type(typed).field_keys():
        value = getattr(typed, attr)
        if isinstance(value, (ChannelSnapshot, BridgeSnapshot)):
            keys.update((value.prefix + k).lower() for k, _ in type(value)._FIELDS.values())
            keys.add((value.prefix + "ChanVariable").lower())
        else:
            keys.add(type(typed).field_keys()[attr].lower())
    return keys


def check_event(message: Event, unmapped: Counter[tuple[str, str]]) -> TypedEvent:
    typed = events.from_message(message)
    name = message.name
    if name.lower() in UNDOCUMENTED:
        assert type(typed) is events.GenericEvent
    else:
        assert type(typed) is not events.GenericEvent, name
        assert name == typed.EVENT_NAME  # the wire spelling (Newexten, not NewExten)
    assert typed.message is message
    # No field lost: every raw field is kept, and typed fields read the raw text correctly.
    assert typed.message.fields == message.fields
    mapped = _mapped_keys(typed)
    for key, _value in message.fields if type(typed) is not events.GenericEvent else ():
        if key.lower() not in mapped and not key.lower().startswith("chanvariable("):
            unmapped[(name, key)] += 1
    cls = type(typed)
    for attr, (key, convert) in cls._FIELDS.items():
        value = getattr(typed, attr)
        if isinstance(value, (ChannelSnapshot, BridgeSnapshot)):
            for sub_attr, (sub_key, sub_convert) in type(value)._FIELDS.items():
                raw = message.get(value.prefix + sub_key) if sub_key else None
                if raw is not None:
                    assert getattr(value, sub_attr) == expected(sub_convert, raw)
                    # A documented type that real Asterisk contradicts would read None here.
                    if raw and raw != "<unknown>":
                        assert getattr(value, sub_attr) is not None, (name, sub_key, raw)
        elif attr not in {"privilege", "chan_variables"}:
            raw = message.get(key)
            if raw is None:
                assert value is None
            else:
                assert value == expected(convert, raw), (name, key, raw)
                if raw and raw != "<unknown>":
                    assert value is not None, (name, key, raw)
    return typed


def test_transcript_events_type_without_loss() -> None:
    unmapped: Counter[tuple[str, str]] = Counter()
    seen = Counter(type(check_event(m, unmapped)).__name__ for m in transcript_events())
    assert seen["CoreShowChannel"] == 4
    assert seen["OriginateResponse"] == 1
    # Fields Asterisk 22.10.1 sends that its documentation of the event does not list: kept
    # in `.message` (a UserEvent's own headers; QueueParams' documentation misses three).
    assert set(unmapped) == {
        ("UserEvent", "Detail"),
        ("QueueParams", "Queue"),
        ("QueueParams", "ServiceLevel"),
        ("QueueParams", "Weight"),
    }


def test_originate_response_chan_variable_with_channel_in_key() -> None:
    # tests/data/transcripts/originate.ami: "ChanVariable(<channel>): AMI_TEST_VAR=..."
    typed = [events.from_message(m) for m in transcript_events() if m.name == "OriginateResponse"]
    assert typed
    first = typed[0]
    assert isinstance(first, events.OriginateResponse)
    assert first.channel is not None
    assert first.chan_variables[first.channel]["AMI_TEST_VAR"] == "from-originate"
    assert first.reason == 4


def test_core_show_channel_snapshot_variables() -> None:
    items = [events.from_message(m) for m in transcript_events() if m.name == "CoreShowChannel"]
    assert len(items) == 4
    for item in items:
        assert isinstance(item, events.CoreShowChannel)
        assert item.channel.channel is not None
        assert item.channel.channel.startswith("Local/wait@ami-test-")
        assert item.channel.variables == {"AMI_TEST_VAR": ""}
        assert item.channel.channel_state is events.ChannelState.UP
        assert isinstance(item.channel.priority, int)


@pytest.mark.skipif(not CORPUS.exists(), reason="corpus not available")
def test_corpus_events_type_without_loss() -> None:
    unmapped: Counter[tuple[str, str]] = Counter()
    messages = corpus_events()
    assert len(messages) > 20_000
    kinds = Counter(type(check_event(m, unmapped)).__name__ for m in messages)
    assert kinds["DialBegin"] == 600
    assert kinds["NewExten"] == 1819
    assert kinds["GenericEvent"] == 1200  # TestEvent only
    assert not unmapped, unmapped


def test_dial_begin_groups_snapshots() -> None:
    dial = (
        next(events.from_message(m) for m in corpus_events() if m.name == "DialBegin")
        if CORPUS.exists()
        else None
    )
    if dial is None:
        pytest.skip("corpus not available")
    assert isinstance(dial, events.DialBegin)
    assert dial.dest.channel == dial.message["DestChannel"]
    assert dial.dest.unique_id == dial.message["DestUniqueid"]
    assert dial.dest.priority == int(dial.message["DestPriority"])


def test_unknown_and_user_events_keep_every_field() -> None:
    custom = Event([("Event", "MyModuleEvent"), ("Foo", "1"), ("Foo", "2"), ("Bar", "x")])
    typed = events.from_message(custom)
    assert type(typed) is events.GenericEvent
    assert typed.name == "MyModuleEvent"
    assert typed.message.get_all("Foo") == ["1", "2"]
    assert typed.get("bar") == "x"
    user = events.from_message(
        Event([("Event", "UserEvent"), ("UserEvent", "Ping"), ("Custom", "v")])
    )
    assert isinstance(user, events.UserEvent)
    assert user.user_event == "Ping"
    assert user.get("Custom") == "v"


def test_bad_values_fall_back_and_stay_in_the_message() -> None:
    message = Event(
        [
            ("Event", "Hangup"),
            ("Privilege", ""),
            ("Channel", "X"),
            ("ChannelState", "banana"),
            ("Priority", "abc"),
            ("Cause", "sixteen"),
            ("CallerIDNum", "<unknown>"),
        ]
    )
    typed = events.from_message(message)
    assert isinstance(typed, events.Hangup)
    assert typed.cause is None
    assert typed.get("Cause") == "sixteen"
    assert typed.channel.channel_state is None
    assert typed.channel.priority is None
    assert typed.channel.caller_id_num is None
    assert typed.privilege == frozenset()


def test_case_insensitive_dispatch() -> None:
    assert type(events.from_message(Event([("Event", "newexten")]))) is events.NewExten
    assert type(events.from_message(Event([("event", "Hangup")]))) is events.Hangup
    assert type(events.from_message(Event([("Foo", "bar")]))) is events.GenericEvent


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


def _keys_of(cls: type[TypedEvent]) -> list[str]:
    """Every wire key the class reads (snapshot fields expanded), plus ChanVariable forms."""
    keys = ["Privilege", "ChanVariable", "ChanVariable(x)", "Channel"]
    typed = cls.from_message(Event([]))
    for attr, key in cls.field_keys().items():
        value = getattr(typed, attr)
        if isinstance(value, (ChannelSnapshot, BridgeSnapshot)):
            keys.extend(key + sub for sub, _ in type(value)._FIELDS.values())
            keys.append(key + "ChanVariable")
        else:
            keys.append(key)
    return keys


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(events.EVENT_CLASSES)), data=st.data())
def test_from_message_never_raises(name: str, data: st.DataObject) -> None:
    cls = events.EVENT_CLASSES[name]
    keys = _keys_of(cls)
    fields = [("Event", name)]
    for _ in range(data.draw(st.integers(0, 16))):
        fields.append((data.draw(st.sampled_from(keys)), data.draw(_text)))
    typed = events.from_message(Event(fields))
    assert type(typed) is cls
    repr(typed)  # reads (and converts) every attribute, snapshots included
    assert typed.message.fields == tuple(fields)
