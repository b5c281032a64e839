"""Deferred events: the parser frames and checks an event but reads its fields only when asked.

A deferred event must read as exactly the message the parser would have made, and its one-field
look-up (``get``) must give exactly what the message's exact-casing look-up gives. The typed
view built on it must be indistinguishable from the one built on the message.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_client import events
from ami_client._private.catalogue._registry import from_deferred
from ami_client._private.parser import ABSENT, DeferredEvent
from ami_client._private.shapes import SHAPES
from ami_client.protocol import (
    ConnectionClosed,
    Event,
    LimitExceeded,
    Limits,
    Message,
    Parser,
    Response,
)

from .strategies import chunkings, layout_streams


@pytest.fixture(autouse=True)
def _cold_cache() -> Iterator[None]:
    SHAPES.clear()
    yield
    SHAPES.clear()


def parse(chunks: list[bytes], *, defer: bool, limits: Limits | None = None) -> list[object]:
    parser = Parser(expect_banner=False, limits=limits or Limits())
    parser._defer_events = defer
    out: list[object] = []
    for chunk in [*chunks, b""]:
        parser.receive_data(chunk)
        out += [item for item in parser.next_events() if not isinstance(item, ConnectionClosed)]
    return out


def read(item: object) -> object:
    """What an item reads as: a deferred event's message, anything else as it is."""
    return item.message() if isinstance(item, DeferredEvent) else item


def comparable(items: list[object]) -> list[object]:
    return [
        (type(m).__name__, m.fields, tuple(m.raw_fields())) if isinstance(m, Message) else m
        for m in map(read, items)
    ]


# Keys that differ only in casing, that repeat, that Asterisk uses, and awkward ones; values
# with colons, spaces, a CR at the end, non-ASCII text.
_keys = st.sampled_from(
    ["Channel", "channel", "CHANNEL", "Privilege", "Event", "event", "ActionID", "Uniqueid", "X",
     "A b", "Ké", "", " Lead", "\u212ahannel"]
)  # fmt: skip
_values = st.text(alphabet="ab :\r\u00e9", max_size=8)
_heads = st.sampled_from(
    ["Event: Newchannel", "Event: Hangup", "Event: Newchannel", "Event:Newchannel",
     "Event:  Hangup", "event: Hangup", "EVENT: Hangup", "Event: ", "Response: Success"]
)  # fmt: skip


def streams() -> st.SearchStrategy[bytes]:
    """Events (and some other messages) of a few layouts, every way a line can be written."""
    return layout_streams(_heads, _keys, _values).map(lambda drawn: drawn[0])


_PROBES = ["Channel", "channel", "CHANNEL", "Privilege", "privilege", "Event", "event",
           "ActionID", "actionid", "Uniqueid", "X", "A b", "Ké", "", " Lead", "Absent", "A:b",
           "Channel\r\n", "Event: Newchannel", "Khannel", "khannel", "EVENT"]  # fmt: skip


@given(st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_a_deferred_event_reads_as_the_message_the_parser_would_have_made(
    data: st.DataObject,
) -> None:
    stream = data.draw(streams())
    chunks = data.draw(chunkings(stream))
    SHAPES.clear()
    plain = parse([stream], defer=False)
    SHAPES.clear()
    cold = parse(chunks, defer=True)  # deferred events are read before any shape is known
    cold_read = comparable(cold)
    warm = parse(chunks, defer=True)  # and after
    assert cold_read == comparable(plain)
    assert comparable(warm) == comparable(plain)
    tight = Limits(max_fields=6)  # shapes off, and some messages break the limit
    try:
        expected: object = comparable(parse([stream], defer=False, limits=tight))
    except LimitExceeded as error:
        expected = str(error)
    try:
        got: object = comparable(parse(chunks, defer=True, limits=tight))
    except LimitExceeded as error:
        got = str(error)
    assert got == expected


@given(st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_one_field_of_a_deferred_event_is_what_its_message_holds(data: st.DataObject) -> None:
    items = parse([data.draw(streams())], defer=True)
    for item in items:
        if not isinstance(item, DeferredEvent):
            continue
        message = item.message()
        assert type(message) is Event
        assert item.name == dict.get(message, "Event") == message.name
        for key in _PROBES:
            exact = dict.get(message, key)  # the first value of exactly this key, or None
            usable = key and not any(c in key for c in ":\r\n")
            found = item.find(key)
            if not usable:
                assert found is None, key  # only the message can tell
            elif exact is not None:
                assert found == exact, key  # the exact casing's first value, from the text
            else:
                assert found is None or found is ABSENT, key
            if found is ABSENT or item.lacks(key):
                assert message.get(key) is None, key  # in no casing


@given(st.data())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_the_typed_view_of_a_deferred_event_is_the_view_of_its_message(
    data: st.DataObject,
) -> None:
    for item in parse([data.draw(streams())], defer=True):
        if not isinstance(item, DeferredEvent):
            continue
        lazy, eager = from_deferred(item), events.from_message(item.message())
        assert type(lazy) is type(eager)
        assert lazy.name == eager.name
        for key in _PROBES:
            assert lazy.get(key) == eager.get(key), key
            assert lazy.get(key, "default") == eager.get(key, "default"), key
            assert (key in lazy) == (key in eager), key
            try:
                expected: object = eager[key]
            except KeyError:
                expected = KeyError
            try:
                got: object = lazy[key]
            except KeyError:
                got = KeyError
            assert got == expected, key
        assert lazy.privilege == eager.privilege
        assert lazy == eager
        assert hash(lazy) == hash(eager)
        assert lazy.message == eager.message


NEWCHANNEL = (
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/alice-00000001\r\n"
    b"ChannelState: 4\r\nUniqueid: 1700000000.1\r\n\r\n"
)


def unread(view: events.TypedEvent) -> DeferredEvent | None:
    """The text a typed view has not read yet (a function: the answer changes as it reads)."""
    return view._deferred


def test_a_typed_view_reads_the_fields_once_and_only_when_asked() -> None:
    (item,) = parse([NEWCHANNEL], defer=True)
    assert isinstance(item, DeferredEvent)
    assert item.text == NEWCHANNEL.decode()
    view = from_deferred(item)
    assert type(view) is events.Newchannel
    # The name and one field come from the text: the message is not read yet.
    assert (view.name, view.get("Channel"), view["Uniqueid"]) == (
        "Newchannel",
        "PJSIP/alice-00000001",
        "1700000000.1",
    )
    assert unread(view) is item
    # A typed field needs the message: it is read now, once, and the text is let go.
    assert view.channel.channel_state == 4
    assert unread(view) is None
    message = view.message
    assert message is view.message
    assert message == Event(
        [
            ("Event", "Newchannel"),
            ("Privilege", "call,all"),
            ("Channel", "PJSIP/alice-00000001"),
            ("ChannelState", "4"),
            ("Uniqueid", "1700000000.1"),
        ]
    )
    assert view.get("channel") == "PJSIP/alice-00000001"  # other casings still work


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"Event: Hangup\nChannel: X\n\n", "bare LF endings"),
        (b"Event: Hangup\r\nChannel: X\nUniqueid: 1\r\n\r\n", "one bare LF inside"),
        (b"event: Hangup\r\nChannel: X\r\n\r\n", "another casing of Event"),
        (b"Event:Hangup\r\nChannel: X\r\n\r\n", "no space after the colon"),
        (b"\r\nEvent: Hangup\r\nChannel: X\r\n\r\n", "after a stray blank line"),
        (b"Response: Success\r\nActionID: 1\r\n\r\n", "a response"),
    ],
)
def test_only_a_plain_crlf_event_is_deferred(wire: bytes, why: str) -> None:
    deferred = parse([wire], defer=True)
    assert not any(isinstance(item, DeferredEvent) for item in deferred), why
    assert comparable(deferred) == comparable(parse([wire], defer=False)), why


def test_limits_hold_for_events_that_would_be_deferred() -> None:
    limits = Limits(max_fields=3)
    wire = NEWCHANNEL  # five lines
    with pytest.raises(LimitExceeded, match="max_fields"):
        parse([wire], defer=True, limits=limits)
    limits = Limits(max_line_length=20)
    with pytest.raises(LimitExceeded, match="max_line_length"):
        parse([wire], defer=True, limits=limits)
    # Under the limits, the same event is deferred.
    (item,) = parse([wire], defer=True, limits=Limits(max_fields=5))
    assert isinstance(item, DeferredEvent)


def test_responses_between_deferred_events_keep_their_order() -> None:
    answer = b"Response: Success\r\nActionID: 7\r\nPing: Pong\r\n\r\n"
    items = parse([NEWCHANNEL + answer + NEWCHANNEL], defer=True)
    assert [type(item) for item in items] == [DeferredEvent, Response, DeferredEvent]
    answered = items[1]
    assert isinstance(answered, Response)
    assert answered["Ping"] == "Pong"


@pytest.mark.parametrize("deferred", [True, False])
def test_a_typed_view_pickles_and_copies_as_its_class_and_message(deferred: bool) -> None:
    (item,) = parse([NEWCHANNEL], defer=deferred)
    if isinstance(item, DeferredEvent):
        typed = from_deferred(item)
    else:
        assert isinstance(item, Event)
        typed = events.from_message(item)
    assert isinstance(typed, events.Newchannel)
    view = typed
    # A converted field (its variables are a read-only mapping) changes nothing.
    assert view.channel.channel == "PJSIP/alice-00000001"
    pickled = pickle.loads(pickle.dumps(view))  # noqa: S301 (our own bytes)
    for again in (pickled, copy.deepcopy(view), copy.copy(view)):
        assert isinstance(again, events.Newchannel)
        assert again == view
        assert again.message == view.message
        assert again.channel == view.channel
