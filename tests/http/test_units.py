"""The sans-IO pieces of AMI over HTTP: URLs, form bodies, cutting a WaitEvent answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami_client import Event, RemoteProtocolError
from ami_client._private.http_request import HttpEndpoint, form_body
from ami_client._private.http_transport import http_transport_factory, wait_event_payload
from ami_client.protocol import Parser

TRANSCRIPT = Path(__file__).parents[1] / "data" / "transcripts" / "http_rawman.http"


def transcript_bodies() -> list[bytes]:
    """The bodies of the recorded HTTP answers (each has a Content-Length)."""
    data, bodies = TRANSCRIPT.read_bytes(), []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        bodies.append(rest[:length])
        data = rest[length:]
    return bodies


@pytest.mark.parametrize(
    ("url", "tls", "host", "port", "path"),
    [
        ("http://127.0.0.1:18088/", False, "127.0.0.1", 18088, "/rawman"),
        ("http://127.0.0.1:18088", False, "127.0.0.1", 18088, "/rawman"),
        ("HTTPS://localhost/", True, "localhost", 443, "/rawman"),
        ("http://[::1]:8088/asterisk/", False, "::1", 8088, "/asterisk/rawman"),
        ("https://pbx:8089/asterisk/rawman", True, "pbx", 8089, "/asterisk/rawman"),
    ],
)
def test_url(url: str, tls: bool, host: str, port: int, path: str) -> None:
    endpoint = HttpEndpoint.from_url(url)
    assert (endpoint.tls, endpoint.host, endpoint.port, endpoint.path) == (tls, host, port, path)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x/",
        "http://admin:pw@x/",
        "http://x/?action=login",
        "http://x/#f",
        "http:///",
        "http://x:99999/",
    ],
)
def test_bad_url(url: str) -> None:
    with pytest.raises(ValueError, match=r"http|credentials|query|host|port"):
        HttpEndpoint.from_url(url)


def test_ssl_must_match_the_scheme() -> None:
    with pytest.raises(ValueError, match="https"):
        http_transport_factory("http://127.0.0.1:8088/", ssl=True)
    with pytest.raises(ValueError, match="contradicts"):
        http_transport_factory("https://127.0.0.1:8089/", ssl=False)
    with pytest.raises(ValueError, match="poll_timeout"):
        http_transport_factory("http://127.0.0.1:8088/", poll_timeout=0)


@given(
    st.lists(
        st.tuples(
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1),
            st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0")),
        ),
        max_size=8,
    )
)
def test_form_body_round_trips(fields: list[tuple[str, str]]) -> None:
    body = form_body(tuple(fields)).decode("ascii")
    assert parse_qsl(body, keep_blank_values=True) == fields


def test_wait_event_answer_from_the_transcript() -> None:
    body = transcript_bodies()[3]  # login, ping, originate, waitevent, logoff
    payload = wait_event_payload(body, "waitevent-1")
    assert body.index(payload) > 0  # verbatim bytes, cut out of the body
    parser = Parser(expect_banner=False)
    parser.receive_data(payload)
    events = parser.next_events()
    assert all(isinstance(e, Event) for e in events)
    names = [e.name for e in events if isinstance(e, Event)]
    assert names[0] == "SuccessfulAuth"
    assert "OriginateResponse" in names
    assert "WaitEventComplete" not in names
    assert len(names) == body.count(b"Event: ") - 1


def test_abandoned_poll_is_empty() -> None:
    assert wait_event_payload(b"", "w") == b""


def test_only_the_completion_is_a_valid_answer() -> None:
    head = b"Response: Success\r\nActionID: w\r\nMessage: Waiting for Event completed.\r\n\r\n"
    done = b"Event: WaitEventComplete\r\nActionID: w\r\n\r\n"
    event = b"Event: X\r\nA: b\r\n\r\n"
    assert wait_event_payload(head + done, "w") == b""
    assert wait_event_payload(head + event + done, "w") == event
    lf = (head + event + done).replace(b"\r\n", b"\n")  # bare LF is tolerated as by the parser
    assert wait_event_payload(lf, "w") == event.replace(b"\r\n", b"\n")
    for broken in (
        head + event,  # no completion
        head + event + done.replace(b": w", b": other"),  # someone else's completion
        head.replace(b": w", b": v") + done,  # someone else's response
        head,  # no completion at all
        head + event[:-2],  # does not end a message
        b"garbage without end",
    ):
        with pytest.raises(RemoteProtocolError):
            wait_event_payload(broken, "w")


def test_importing_the_package_does_not_need_h11() -> None:
    code = (
        "import sys; sys.modules['h11'] = None\n"
        "import ami_client\n"
        "try:\n"
        "    ami_client.connect('http://127.0.0.1:1/', username='u', secret='s')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'ami-client[http]'" in out.stdout
