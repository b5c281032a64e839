"""Any bytes end in messages or a RemoteProtocolError, never another exception.

Run longer with e.g. ``AMI_FUZZ_EXAMPLES=200000 pytest tests/protocol/test_fuzz.py``
(``nox -s fuzz``).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_client.protocol import (
    NEED_DATA,
    Banner,
    ConnectionClosed,
    Limits,
    Message,
    Parser,
    RemoteProtocolError,
)

from .helpers import bytewise, feed

DEFAULT_EXAMPLES = 300
EXAMPLES = int(os.environ.get("AMI_FUZZ_EXAMPLES", str(DEFAULT_EXAMPLES)))
if EXAMPLES > DEFAULT_EXAMPLES:
    # A long run (`nox -s fuzz`) is long on purpose: the suite's per-test timeout would cut
    # it short, so it has none (pytest-timeout: 0 is no limit).
    pytestmark = pytest.mark.timeout(0)
ATOMS = [
    b"Asterisk Call Manager/11.0.0\r\n", b"\r\n", b"\n", b"\r", b": ", b":", b"Event", b"Response",
    b"Follows", b"--END COMMAND--", b"ActionID", b"\xff", b"\xc3", b"\xa9", b"\x00", b" ", b"a",
]  # fmt: skip
wire = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(ATOMS), max_size=60).map(b"".join),
)


def drain(parser: Parser) -> None:
    while True:
        item = parser.next_event()
        if item is NEED_DATA or isinstance(item, ConnectionClosed):
            return
        assert isinstance(item, (Banner, Message))


@given(wire, st.booleans())
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_any_bytes_messages_or_remote_error(data: bytes, small_limits: bool) -> None:
    limits = (
        Limits(max_line_length=40, max_message_size=120, max_fields=5) if small_limits else Limits()
    )
    for chunks in ([data], bytewise(data)):
        parser = Parser(limits=limits)
        try:
            for chunk in [*chunks, b""]:
                parser.receive_data(chunk)
                drain(parser)
        except RemoteProtocolError:
            pass
    assert feed([data], limits=limits) == feed(bytewise(data), limits=limits)


@given(wire, st.booleans())
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_deferring_events_changes_nothing_but_when_fields_are_read(
    data: bytes, small_limits: bool
) -> None:
    # What the client has the parser do for typed events: the same items (each deferred event
    # reads as the message it would have been) and the same error, in any chunking.
    limits = (
        Limits(max_line_length=40, max_message_size=120, max_fields=5) if small_limits else Limits()
    )
    plain = feed([data], limits=limits)
    assert feed([data], limits=limits, defer=True) == plain
    assert feed(bytewise(data), limits=limits, defer=True) == plain
