"""The real-Asterisk fixture works: AMI over TCP, TLS and HTTP answer, and the CLI does too."""

from __future__ import annotations

import socket
import ssl
import urllib.request

import pytest

from tests.asterisk.server import AsteriskServer, read_banner

pytestmark = pytest.mark.asterisk


def test_tcp_banner(asterisk: AsteriskServer) -> None:
    banner = read_banner(asterisk.host, asterisk.ami_port)
    assert banner.startswith(b"Asterisk Call Manager/")
    assert banner.endswith(b"\r\n")


def test_tls_handshake_verifies_with_ca_file(asterisk: AsteriskServer) -> None:
    ctx = ssl.create_default_context(cafile=str(asterisk.ca_file))
    for server_hostname in ("localhost", "127.0.0.1"):
        with (
            socket.create_connection((asterisk.host, asterisk.ami_tls_port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            tls.settimeout(10)
            assert tls.recv(64).startswith(b"Asterisk Call Manager/")
            tls.unwrap()


def test_tls_rejected_without_ca_file(asterisk: AsteriskServer) -> None:
    ctx = ssl.create_default_context()
    with (
        socket.create_connection((asterisk.host, asterisk.ami_tls_port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ctx.wrap_socket(raw, server_hostname="localhost")


def test_http_rawman_ping(asterisk: AsteriskServer) -> None:
    url = f"http://{asterisk.host}:{asterisk.http_port}/rawman?action=ping"
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = resp.read()
    # Not logged in: Asterisk answers with an AMI error message, but it answers.
    assert body.startswith(b"Response: ")


def test_https_rawman_login(asterisk: AsteriskServer) -> None:
    user, secret = asterisk.admin
    url = f"https://localhost:{asterisk.https_port}/rawman?action=login&username={user}&secret={secret}"
    with urllib.request.urlopen(url, timeout=10, context=asterisk.ssl_context()) as resp:
        body = resp.read()
        cookie = resp.headers.get("Set-Cookie", "")
    assert b"Response: Success" in body
    assert "mansession_id=" in cookie


def test_cli_version(asterisk: AsteriskServer) -> None:
    out = asterisk.cli("core show version")
    assert out.startswith("Asterisk 22.")
    assert asterisk.version.startswith("22.")


def test_kill_and_restart(asterisk: AsteriskServer) -> None:
    pid = asterisk.pid()
    asterisk.kill()
    assert not asterisk.is_running()
    with pytest.raises(ConnectionRefusedError):
        read_banner(asterisk.host, asterisk.ami_port, timeout=2)
    asterisk.start()
    assert asterisk.is_running()
    assert asterisk.pid() != pid
    assert read_banner(asterisk.host, asterisk.ami_port).startswith(b"Asterisk Call Manager/")


def test_stopped_server_is_restarted_by_fixture(asterisk: AsteriskServer) -> None:
    # Leaves the server stopped: the `asterisk` fixture must start it again for the next test.
    asterisk.stop()
    assert not asterisk.is_running()


def test_running_again_after_stop(asterisk: AsteriskServer) -> None:
    assert asterisk.is_running()
    assert "active channel" in asterisk.cli("core show channels count")


def test_originate_local_call_via_cli(asterisk: AsteriskServer) -> None:
    # The dialplan works and the fixture hangs up what a test leaves behind.
    asterisk.cli(f"channel originate Local/wait@{asterisk.context} application Wait 30")
    assert asterisk.channel_count() == 2  # the Local pair ;1 and ;2


def test_no_channels_left_from_previous_test(asterisk: AsteriskServer) -> None:
    assert asterisk.channel_count() == 0
