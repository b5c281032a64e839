"""Limits: the same named error whatever the chunking, and a bounded buffer."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ami_client.protocol import NEED_DATA, Event, LimitExceeded, Limits, Parser

from .helpers import bytewise, feed
from .strategies import chunkings

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def test_defaults_are_documented_values() -> None:
    limits = Limits()
    assert limits.max_line_length == 64 * 1024
    assert limits.max_message_size == 4 * 1024 * 1024
    assert limits.max_fields == 20_000


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_limits_must_be_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        Limits(max_fields=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limits", "message", "name"),
    [
        (Limits(max_message_size=100), b"Event: X\r\nA: " + b"x" * 120, "max_message_size"),
        (Limits(max_line_length=40), b"Event: X\r\nA: " + b"x" * 50, "max_line_length"),
        (Limits(max_fields=3), b"Event: X\r\nA: 1\r\nB: 2\r\nC: 3", "max_fields"),
    ],
)
def test_each_limit_is_named(limits: Limits, message: bytes, name: str) -> None:
    ok = b"Event: Fine\r\n\r\n"
    data = BANNER + ok + message + b"\r\n\r\n" + ok
    whole = feed([data], limits=limits)
    assert whole[1][1] == (("Event", "Fine"),)  # type: ignore[index]  # the message before it
    assert whole[-1][0] == "error"  # type: ignore[index]
    assert whole[-1][1] == "LimitExceeded"  # type: ignore[index]
    assert name in whole[-1][2]  # type: ignore[index]
    assert feed(bytewise(data), limits=limits) == whole


def test_limit_error_carries_name_and_value() -> None:
    parser = Parser(limits=Limits(max_fields=2))
    parser.receive_data(BANNER + b"Event: X\r\nA: 1\r\nB: 2\r\n\r\n")
    parser.next_event()
    with pytest.raises(LimitExceeded) as info:
        parser.next_event()
    assert (info.value.limit, info.value.value) == ("max_fields", 2)


def test_unfinished_message_is_not_buffered_past_the_limit() -> None:
    parser = Parser(limits=Limits(max_message_size=1000))
    parser.receive_data(BANNER)
    parser.next_event()
    for _ in range(17):  # 17 * 57 bytes: still within the limit, still buffered
        parser.receive_data(b"Key: " + b"v" * 50 + b"\r\n")
        assert parser.next_event() is NEED_DATA
    parser.receive_data(b"Key: " + b"v" * 50 + b"\r\n")
    with pytest.raises(LimitExceeded, match="max_message_size"):
        parser.next_event()
    assert parser.buffered == 0  # the buffer was dropped


def test_unfinished_follows_body_is_bounded_too() -> None:
    parser = Parser(limits=Limits(max_message_size=1000))
    parser.receive_data(BANNER + b"Response: Follows\r\nPrivilege: Command\r\n")
    parser.next_event()
    for _ in range(60):  # 60 * 13 bytes + the header: within the limit
        parser.receive_data(b"output line\n\n")
        assert parser.next_event() is NEED_DATA
    parser.receive_data(b"output line\n\n" * 20)
    with pytest.raises(LimitExceeded, match="max_message_size"):
        parser.next_event()


def test_banner_line_limit() -> None:
    data = b"A" * 100 + b"/1.0\r\n"
    limits = Limits(max_line_length=50)
    assert feed([data], limits=limits) == feed(bytewise(data), limits=limits)
    assert "max_line_length" in feed([data], limits=limits)[-1][2]  # type: ignore[index]


@given(
    st.data(),
    st.integers(min_value=40, max_value=200),
    st.integers(min_value=30, max_value=80),
    st.integers(min_value=2, max_value=8),
)
@settings(max_examples=200)
def test_same_limit_error_whatever_the_chunking(
    data: st.DataObject, max_size: int, max_line: int, max_fields: int
) -> None:
    limits = Limits(max_message_size=max_size, max_line_length=max_line, max_fields=max_fields)
    sizes = data.draw(st.lists(st.lists(st.integers(0, 90), min_size=1, max_size=10), max_size=4))
    stream = BANNER + b"".join(
        b"Event: E\r\n"
        + b"".join(b"K%d: " % i + b"v" * n + b"\r\n" for i, n in enumerate(m))
        + b"\r\n"
        for m in sizes
    )
    chunks = data.draw(chunkings(stream))
    assert feed(chunks, limits=limits) == feed([stream], limits=limits)


def _bytewise_seconds(size: int) -> float:
    line = b"Variable: " + b"x" * 88 + b"\r\n"  # 100 bytes a line
    message = b"Event: Big\r\n" + line * (size // len(line)) + b"\r\n"
    parser = Parser()
    parser.receive_data(BANNER)
    parser.next_event()
    start = time.process_time()
    for i in range(len(message)):
        parser.receive_data(message[i : i + 1])
        item = parser.next_event()
    elapsed = time.process_time() - start
    assert isinstance(item, Event)
    assert len(item.get_all("Variable")) == size // len(line)
    return elapsed


def test_one_mebibyte_message_byte_by_byte_is_linear() -> None:
    # Linear: 16x the bytes costs about 16x the time. A parser that rescans its buffer on
    # every byte would cost 256x here (and hours for the 1 MiB case). A 3x margin absorbs noise.
    small = min(_bytewise_seconds(64 * 1024) for _ in range(3))
    big = _bytewise_seconds(1024 * 1024)
    assert big < 16 * 3 * small, (small, big)


def test_a_greeting_ending_in_several_crs_breaks_the_line_limit_alike_in_any_chunking() -> None:
    # Found by a long fuzz run: byte by byte, the unfinished greeting counted all but one of
    # its trailing CRs against max_line_length, while the finished one counted none of them.
    # Now only the CR of the CRLF ending is not part of the line, on both paths (counting
    # none would let a server grow the buffer without bound with CRs).
    data = b"x" * 40 + b"\r\r\n"
    limits = Limits(max_line_length=40)
    assert feed([data], limits=limits) == feed(bytewise(data), limits=limits)
