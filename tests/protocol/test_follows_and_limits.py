"""Pre-14 ``Response: Follows`` bodies and limits in bytes: same result in any chunking."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_client.protocol import ConnectionClosed, Event, LimitExceeded, Limits, Parser, Response

from .helpers import bytewise, feed
from .strategies import chunkings

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
# What Asterisk 13 and older send for `Action: Command`: headers in CRLF, then the CLI text.
FOLLOWS_HEAD = b"Response: Follows\r\nPrivilege: Command\r\nActionID: cmd-1\r\n"
FOLLOWS_END = b"--END COMMAND--\r\n\r\n"
AFTER = b"Event: After\r\nK: v\r\n\r\n"


def outcomes(data: bytes, limits: Limits | None = None) -> list[object]:
    """What the parser makes of ``data`` whole; asserted the same byte by byte."""
    whole = feed([data], limits=limits)
    assert feed(bytewise(data), limits=limits) == whole
    return whole


def test_a_crlf_follows_body_with_blank_lines_is_one_response() -> None:
    # CLI text written with CRLF, a blank line right after the headers and one inside: the
    # blank lines are part of the body, not the end of a message.
    body = b"\r\nChannel  State\r\n\r\n1 active channel\r\n"
    items = outcomes(BANNER + FOLLOWS_HEAD + body + FOLLOWS_END + AFTER)
    assert items[1] == (
        "Response",
        (("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "cmd-1"),
         ("Output", ""), ("Output", "Channel  State"), ("Output", ""),
         ("Output", "1 active channel")),
        ((b"Response", b"Follows"), (b"Privilege", b"Command"), (b"ActionID", b"cmd-1"),
         (b"Output", b""), (b"Output", b"Channel  State"), (b"Output", b""),
         (b"Output", b"1 active channel")),
    )  # fmt: skip
    assert items[2][0:2] == ("Event", (("Event", "After"), ("K", "v")))  # type: ignore[index]
    assert len(items) == 4  # banner, response, event, end of stream


def test_output_glued_to_the_end_marker_is_kept() -> None:
    # CLI text that does not end with a newline runs into the marker: its last line is kept.
    items = outcomes(BANNER + FOLLOWS_HEAD + b"No such command 'x'" + FOLLOWS_END)
    response = items[1]
    assert response[1][-1] == ("Output", "No such command 'x'")  # type: ignore[index]


LONG_LINE = b"SIP/alice-0000001  100@from-internal:1  Up  Dial(SIP/bob)\n"  # 57 bytes


@pytest.mark.parametrize(
    ("limits", "body", "name"),
    [
        (Limits(max_fields=5), LONG_LINE * 3, "max_fields"),  # 3 headers + 3 output lines
        (Limits(max_line_length=50), LONG_LINE, "max_line_length"),
        (Limits(max_message_size=120), LONG_LINE * 2, "max_message_size"),
    ],
)
def test_a_follows_body_over_a_limit_is_refused_naming_it(
    limits: Limits, body: bytes, name: str
) -> None:
    data = BANNER + AFTER + FOLLOWS_HEAD + body + FOLLOWS_END + AFTER
    items = outcomes(data, limits)
    # The event before it is delivered; then the error names the limit; nothing after it.
    assert items[1][1] == (("Event", "After"), ("K", "v"))  # type: ignore[index]
    assert items[2:] == [
        ("error", "LimitExceeded", f"server exceeded {name}={getattr(limits, name)}")
    ]
    # Just under the same limit, the same response is read whole.
    roomy = {"max_fields": 6, "max_line_length": 57, "max_message_size": 2000}[name]
    items = outcomes(data, Limits(**{name: roomy}))
    assert items[2][0] == "Response"  # type: ignore[index]
    assert items[3][0] == "Event"  # type: ignore[index]


def test_a_follows_error_leaves_the_parser_failed_on_every_call() -> None:
    parser = Parser(limits=Limits(max_fields=4))
    parser.receive_data(BANNER + FOLLOWS_HEAD + LONG_LINE * 2 + FOLLOWS_END)
    assert parser.next_events()[0].__class__.__name__ == "Banner"
    for _ in range(2):
        with pytest.raises(LimitExceeded, match="max_fields=4"):
            parser.next_events()
    assert parser.state.name == "ERROR"
    assert parser.buffered == 0


def test_limits_count_bytes_not_characters() -> None:
    # 26 characters but 46 bytes: a line limit of 40 bytes refuses it. (A region of text that
    # is not ASCII cannot be sized by characters: a character is up to 4 bytes.)
    line = "Name: " + "\u00e9" * 20
    data = BANNER + b"Event: E\r\n" + line.encode() + b"\r\n\r\n"
    assert len(line) < 40 < len(line.encode())
    assert outcomes(data, Limits(max_line_length=40))[-1] == (
        "error", "LimitExceeded", "server exceeded max_line_length=40",
    )  # fmt: skip
    # A limit the bytes fit in: the same message, read exactly.
    items = outcomes(data, Limits(max_line_length=46))
    assert items[1][1] == (("Event", "E"), ("Name", "\u00e9" * 20))  # type: ignore[index]


@st.composite
def streams_near_limits(draw: st.DrawFn) -> bytes:
    """Events with text that is not ASCII and Follows bodies, sized around small limits."""
    out = [BANNER]
    for _ in range(draw(st.integers(1, 4))):
        width = draw(st.integers(0, 30))
        text = draw(st.sampled_from(["a", "\u00e9", "\u20ac", "\U0001f4de"])) * width
        lines = draw(st.integers(0, 6))
        if draw(st.booleans()):
            eol = draw(st.sampled_from(["\r\n", "\n"]))
            body = "".join(f"{text} {i}{eol}" for i in range(lines))
            out.append(FOLLOWS_HEAD + body.encode() + FOLLOWS_END)
        else:
            fields = "".join(f"K{i}: {text}\r\n" for i in range(lines))
            out.append(f"Event: E\r\n{fields}\r\n".encode())
    return b"".join(out)


@given(
    st.data(),
    st.integers(min_value=60, max_value=400),
    st.integers(min_value=20, max_value=100),
    st.integers(min_value=3, max_value=9),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_same_result_and_same_limit_error_whatever_the_chunking(
    data: st.DataObject, max_size: int, max_line: int, max_fields: int
) -> None:
    limits = Limits(max_message_size=max_size, max_line_length=max_line, max_fields=max_fields)
    stream = data.draw(streams_near_limits())
    whole = feed([stream], limits=limits)
    assert feed(data.draw(chunkings(stream)), limits=limits) == whole
    if isinstance(whole[-1], ConnectionClosed):
        # Every message read is within the limits, measured in bytes.
        parser = Parser(limits=Limits())
        parser.receive_data(stream)
        for item in parser.next_events()[1:]:
            assert isinstance(item, (Event, Response))
            fields = item.raw_fields()
            assert len(fields) <= max_fields
            for key, value in fields:
                if isinstance(item, Response) and key == b"Output":
                    # A line of a Follows body: on the wire, the value alone.
                    assert len(value) <= max_line
                else:
                    assert len(key) + len(value) <= max_line
