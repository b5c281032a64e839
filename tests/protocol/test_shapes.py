"""Learned message shapes: the parser's fast path reads exactly what line-by-line reading does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_client._private.shapes import MAX_SHAPE_LINES, SHAPES, Shape, ShapeCache
from ami_client.protocol import Event, LimitExceeded, Limits, Message, Parser, Response

from .strategies import chunkings, layout_streams

Fields = tuple[tuple[str, str], ...]


@pytest.fixture(autouse=True)
def _cold_cache() -> Iterator[None]:
    SHAPES.clear()
    yield
    SHAPES.clear()


def parse(chunks: list[bytes], limits: Limits | None = None) -> list[Message]:
    parser = Parser(expect_banner=False, limits=limits or Limits())
    out: list[Message] = []
    for chunk in [*chunks, b""]:
        parser.receive_data(chunk)
        out += [item for item in parser.next_events() if isinstance(item, Message)]
    return out


def expected_fields(lines: list[bytes]) -> Fields:
    """The documented reading of one message's lines, written independently of the parser:
    the key ends at the first colon, one space after it is dropped, a line without a colon is
    a value with the empty key, and bytes that are not UTF-8 read as U+FFFD."""
    fields = []
    for line in lines:
        text = line.decode("utf-8", "replace")
        key, sep, value = text.partition(":")
        if not sep:
            fields.append(("", text))
            continue
        fields.append((key, value[1:] if value.startswith(" ") else value))
    return tuple(fields)


# Keys and values with every character that makes a fast path go wrong: colons, spaces, CR,
# `: ` inside values, a value that ends in CR, text that is not ASCII.
_key = st.text(alphabet="Ab-_ :\r\u00e9", min_size=0, max_size=6)
_value = st.text(alphabet="ab :\r\u00e9", max_size=8)
_heads = st.sampled_from(["Event: Newchannel", "Event: Hangup", "Response: Success", "Other: x"])


@st.composite
def streams_of_repeated_shapes(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, Fields]]]:
    """A stream of messages of a few shapes, and what each must read as."""
    stream, messages = draw(layout_streams(_heads, _key, _value))
    expected = []
    for lines in messages:
        head = lines[0].decode()
        kind = {"Event": "Event", "Response": "Response"}.get(head.partition(":")[0], "Message")
        expected.append((kind, expected_fields(lines)))
    return stream, expected


@given(st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_cold_and_warm_shapes_read_every_message_as_documented(data: st.DataObject) -> None:
    stream, expected = data.draw(streams_of_repeated_shapes())
    chunks = data.draw(chunkings(stream))
    SHAPES.clear()
    cold = parse(chunks)  # learns shapes as it goes
    warm = parse([stream])  # the shapes are known now
    no_shapes = parse(chunks, Limits(max_fields=MAX_SHAPE_LINES - 1))  # shapes are not used
    for result in (cold, warm, no_shapes):
        assert [(type(m).__name__, m.fields) for m in result] == expected


def _newchannel(n: int) -> bytes:
    return (
        f"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/{n}\r\n"
        f"Uniqueid: 17.{n}\r\n\r\n"
    ).encode()


def test_a_learned_shape_reads_later_messages_with_shared_keys() -> None:
    first, second = parse([_newchannel(1) + _newchannel(2)])
    assert (first["Channel"], second["Channel"]) == ("PJSIP/1", "PJSIP/2")
    assert list(SHAPES.by_head) == ["Event: Newchannel"]
    # The second was read by the shape: its keys are the shape's own (interned) objects.
    (shape,) = SHAPES.by_head["Event: Newchannel"]
    assert all(a is b for a, b in zip(second, shape[1], strict=True))
    assert type(second) is Event


def test_a_shape_never_matches_a_message_with_more_or_fewer_lines() -> None:
    head = b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: X\r\n"
    longer = head + b"Uniqueid: 1\r\nExtra: y\r\n\r\n"
    shorter = head + b"\r\n"
    messages = parse([_newchannel(1) + longer + shorter + _newchannel(2) + shorter + longer])
    assert [len(m.fields) for m in messages] == [4, 5, 3, 4, 3, 5]
    shapes = SHAPES.by_head["Event: Newchannel"]
    assert len(shapes) == 3
    # The last two were read by the third and second shapes (their keys are the shapes').
    assert all(a is b for a, b in zip(messages[4], shapes[2][1], strict=True))
    assert all(a is b for a, b in zip(messages[5], shapes[1][1], strict=True))


def test_repeated_keys_are_kept_by_a_shape_too() -> None:
    message = b"Event: TestEvent\r\nState: A\r\nType: x\r\nState: B\r\n\r\n"
    first, second = parse([message, message.replace(b"B", b"C")])
    assert second.get_all("State") == ["A", "C"]
    assert second["State"] == "A"
    assert first.fields[3] == ("State", "B")


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (b"A:b: c", ("A", "b: c")),  # the key ends at the first colon, on every path
        (b"A: b\r", ("A", "b\r")),  # a value ending in CR keeps it, on every path
    ],
)
def test_awkward_lines_read_the_same_on_the_fast_and_slow_paths(
    line: bytes, fields: tuple[str, str]
) -> None:
    message = b"Event: E\r\n" + line + b"\r\n\r\n"
    lf_message = b"Event: F\nK: v\n\n"  # sends a region it shares to the slow path
    alone = parse([message])
    shared = parse([message + lf_message])
    assert alone[0].fields[1] == shared[0].fields[1] == fields


def test_unshapeable_messages_are_not_learned() -> None:
    cache = ShapeCache()
    cache.learn(["Event: E", "A:b: c"], Event)  # key with a colon
    cache.learn(["Event: E", "no colon"], Event)
    cache.learn(["Event: E", ": empty key"], Event)
    cache.learn(["Event: E", *(f"K{i}: v" for i in range(MAX_SHAPE_LINES))], Event)  # too long
    assert cache.by_head == {}
    cache.learn(["Response: Success", "Message: ok"], Response)
    assert list(cache.by_head) == ["Response: Success"]
    cache.learn(["Response: Success", "Message: other value"], Response)  # same shape
    assert len(cache.by_head["Response: Success"]) == 1


def test_the_cache_is_bounded_per_first_line_and_in_total() -> None:
    cache = ShapeCache(max_total_lines=100)
    for i in range(40):
        cache.learn(["Event: E", f"K{i}: v"], Event)
    assert len(cache.by_head["Event: E"]) == 16  # shapes per first line
    for i in range(100):
        cache.learn([f"Event: E{i}", "K: v"], Event)
    assert cache.lines <= 100
    learned = [shape for shapes in cache.by_head.values() for shape in shapes]
    assert sum(len(shape[1]) for shape in learned) == cache.lines
    # Once full, messages are still read, line by line.
    SHAPES.clear()
    messages = parse([b"Event: Z\r\nK: 1\r\n\r\n" * 3])
    assert [m["K"] for m in messages] == ["1", "1", "1"]


def test_a_bare_lf_inside_a_value_is_never_read_by_a_shape() -> None:
    learned = b"Event: E\r\nK: v\r\n\r\n"
    bare_lf = b"Event: E\r\nK: a\nb\r\n\r\n"  # with LF tolerance, `b` is a line of its own
    _, message = parse([learned + bare_lf])
    assert message.fields == (("Event", "E"), ("K", "a"), ("", "b"))
    assert parse([bare_lf])[0].fields == message.fields


def test_parsers_in_threads_share_the_cache_and_agree() -> None:
    import threading

    wire = b"".join(_newchannel(n) for n in range(200)) + b"Event: Other\r\nK: v\r\n\r\n" * 50
    chunks = [wire[i : i + 997] for i in range(0, len(wire), 997)]
    results: list[list[Message]] = []

    def run() -> None:
        results.append(parse(chunks))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [(type(m), m.fields) for m in parse(chunks)]
    assert len(results) == 4
    assert all([(type(m), m.fields) for m in result] == expected for result in results)
    assert {len(shapes) for shapes in SHAPES.by_head.values()} == {1}  # learned once each


@pytest.mark.parametrize("together", [True, False])
def test_a_message_of_a_learned_shape_still_breaks_the_line_limit(together: bool) -> None:
    limits = Limits(max_line_length=120)  # the short message is read line by line, and learned
    short = _newchannel(1)
    assert len(short) < 120
    long = short.replace(b"PJSIP/1", b"PJSIP/" + b"x" * 200)
    parser = Parser(expect_banner=False, limits=limits)
    parser.receive_data(short)
    (first,) = parser.next_events()  # learns the shape
    assert isinstance(first, Event)
    assert first["Channel"] == "PJSIP/1"
    parser.receive_data(long + short if together else long)
    with pytest.raises(LimitExceeded) as caught:
        parser.next_events()
    assert caught.value.limit == "max_line_length"


def test_a_run_of_one_shape_ends_at_a_message_that_may_break_a_limit() -> None:
    # The run's tight loop reads the short ones; the long one, of the same shape, must leave
    # it and break the limit exactly as it does alone, after the messages before it.
    limits = Limits(max_line_length=120)
    short = _newchannel(1)
    long = short.replace(b"PJSIP/1", b"PJSIP/" + b"x" * 200)
    parser = Parser(expect_banner=False, limits=limits)
    parser.receive_data(short * 4 + long + short)
    events = parser.next_events()
    assert all(type(e) is Event for e in events)
    assert [cast(Event, e)["Channel"] for e in events] == ["PJSIP/1"] * 4
    with pytest.raises(LimitExceeded) as caught:
        parser.next_events()
    assert caught.value.limit == "max_line_length"


def test_a_parser_tries_the_shape_it_matched_last_first() -> None:
    # Responses of many kinds share `Response: Success`: a connection answering Pings should
    # not try the Login answer's shape (and fail) before the Ping's on every message.
    login = b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
    ping = b"Response: Success\r\nActionID: %d\r\nPing: Pong\r\nTimestamp: 1.5\r\n\r\n"
    parse([login, ping % 2])  # learn both shapes, the Login answer's first
    head = "Response: Success"
    attempts: list[int] = []

    def counting(shape: Shape, index: int) -> Shape:
        match, keys, kind, repeats = shape

        def counted(text: str, pos: int) -> re.Match[str] | None:
            attempts.append(index)
            return match(text, pos)

        return (counted, keys, kind, repeats)

    SHAPES.by_head[head] = [counting(s, i) for i, s in enumerate(SHAPES.by_head[head])]
    parser = Parser(expect_banner=False)
    parser.receive_data(b"".join(ping % n for n in range(10)))
    answers = [m for m in parser.next_events() if isinstance(m, Message)]
    assert [m["ActionID"] for m in answers] == [str(n) for n in range(10)]
    # The first Ping answer tries the Login shape, then the Ping shape; the rest only the
    # Ping shape.
    assert attempts == [0, 1] + [1] * 9


class _CountingRoutes(dict[str, Shape]):
    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    def get(self, key: str, default: Shape | None = None) -> Shape | None:  # type: ignore[override]
        self.lookups.append(key)
        return super().get(key, default)


def test_a_run_of_one_shape_skips_the_first_line_look_up() -> None:
    ping = b"Response: Success\r\nActionID: %d\r\nPing: Pong\r\nTimestamp: 1.5\r\n\r\n"
    other = b"Response: Success\r\nActionID: %d\r\nMessage: Queued\r\n\r\n"
    parse([ping % 0, other % 0])  # learn both shapes
    parser = Parser(expect_banner=False)
    routes = parser._routes = _CountingRoutes()
    parser.receive_data(b"".join([*(ping % n for n in range(10)), other % 10, ping % 11]))
    answers = [m for m in parser.next_events() if isinstance(m, Message)]
    assert [m["ActionID"] for m in answers] == [str(n) for n in range(12)]
    assert [sorted(m) for m in answers[9:]] == [
        ["ActionID", "Ping", "Response", "Timestamp"],
        ["ActionID", "Message", "Response"],
        ["ActionID", "Ping", "Response", "Timestamp"],
    ]
    # The first three Pings are looked up (the first finds its shape among those learned, and
    # a run starts with two in a row); the next seven are read by the run's shape. The other
    # answer ends the run, and the Ping after it is looked up again.
    assert len(routes.lookups) == 5
