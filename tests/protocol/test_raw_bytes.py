"""Bytes that are not UTF-8: the text reads U+FFFD, the exact bytes come back field by field."""

from __future__ import annotations

import copy
import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_client.protocol import Event, Message, Parser, Response

from .helpers import bytewise, feed
from .strategies import chunkings

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
# What Asterisk 13 and older send for `Action: Command` (the body is raw CLI text, LF endings).
FOLLOWS_HEAD = b"Response: Follows\r\nPrivilege: Command\r\nActionID: cmd-1\r\n"
FOLLOWS_END = b"--END COMMAND--\r\n\r\n"


def parse(data: bytes) -> list[Message]:
    parser = Parser(expect_banner=False)
    parser.receive_data(data)
    parser.receive_data(b"")
    return [item for item in parser.next_events() if isinstance(item, Message)]


def test_a_follows_body_with_latin1_bytes_keeps_them_field_by_field() -> None:
    # A pre-14 `core show channels` whose caller name came from a Latin-1 phone, an output line
    # that looks like `Key: value`, and a blank line: each is one Output field, in text and raw.
    body = b"Jos\xe9 Garc\xeda  100@ctx  Up\n\nKey: looks like a field\n"
    (response,) = parse(FOLLOWS_HEAD + body + FOLLOWS_END)
    assert isinstance(response, Response)
    assert response.has_undecodable_bytes
    assert response.get_all("Output") == [
        "Jos\ufffd Garc\ufffda  100@ctx  Up", "", "Key: looks like a field",
    ]  # fmt: skip
    assert response.raw_fields() == [
        (b"Response", b"Follows"),
        (b"Privilege", b"Command"),
        (b"ActionID", b"cmd-1"),
        (b"Output", b"Jos\xe9 Garc\xeda  100@ctx  Up"),
        (b"Output", b""),
        (b"Output", b"Key: looks like a field"),
    ]
    assert response.get_raw("Output") == b"Jos\xe9 Garc\xeda  100@ctx  Up"
    assert response.get_raw("Key") is None  # an output line is not a field of the response
    assert response.get_raw("actionid") == b"cmd-1"


def test_get_raw_of_an_absent_key_is_none() -> None:
    (event,) = parse(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\n\r\n")
    assert event.get_raw("CallerIDName") == b"Jos\xe9"
    assert event.get_raw("Channel") is None
    assert event.get("Channel") is None


def test_pickling_keeps_the_exact_bytes() -> None:
    # A message handed to another process (multiprocessing, a queue) must not lose the bytes
    # that only raw_fields() still holds.
    (event,) = parse(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\nExten: 100\r\n\r\n")
    back = pickle.loads(pickle.dumps(event))  # noqa: S301
    assert type(back) is Event
    assert back == event
    assert back.has_undecodable_bytes
    assert back.get_raw("CallerIDName") == b"Jos\xe9"
    assert back.raw_fields() == event.raw_fields()
    assert copy.copy(event) is event  # immutable: a copy is the message itself


def _raw_line(draw: st.DrawFn) -> bytes:
    # Latin-1 letters, a stray CR, colons and spaces: every byte a line-reader cuts at.
    return draw(st.lists(st.sampled_from([b"a", b" ", b":", b"\xe9", b"\xff", b"\r", b"B"])).map(
        b"".join
    ))  # fmt: skip


@st.composite
def mixed_streams(draw: st.DrawFn) -> bytes:
    """Messages with undecodable bytes, bare-LF endings and pre-14 Follows bodies."""
    out = [BANNER]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["event", "lf-event", "follows"]))
        lines = [_raw_line(draw).lstrip(b"\r") for _ in range(draw(st.integers(0, 4)))]
        lines = [line.rstrip(b"\r") or b"x" for line in lines]
        if kind == "follows":
            out.append(FOLLOWS_HEAD + b"".join(line + b"\n" for line in lines) + FOLLOWS_END)
        else:
            eol = b"\r\n" if kind == "event" else b"\n"
            out.append(b"".join(line + eol for line in [b"Event: E\xe9", *lines]) + eol)
    return b"".join(out)


@given(st.data())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_raw_fields_match_the_fields_one_to_one_in_any_chunking(data: st.DataObject) -> None:
    stream = data.draw(mixed_streams())
    chunks = data.draw(chunkings(stream))
    parser = Parser()
    messages: list[Message] = []
    for chunk in [*chunks, b""]:
        parser.receive_data(chunk)
        messages += [item for item in parser.next_events() if isinstance(item, Message)]
    assert messages
    for message in messages:
        raw = message.raw_fields()
        assert len(raw) == len(message.fields)
        for (key, value), (raw_key, raw_value) in zip(message.fields, raw, strict=True):
            assert (raw_key.decode("utf-8", "replace"), raw_value.decode("utf-8", "replace")) == (
                key,
                value,
            )
    assert feed(chunks) == feed([stream]) == feed(bytewise(stream))
