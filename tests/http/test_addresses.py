"""Where the requests of a session go: one server for the whole session, named as in the URL.

Asterisk knows a ``mansession_id`` only on the server that made it. Behind a round-robin name
(or several servers under one name) a lookup per request could reach another one, which knows
no such session. These tests put two fake servers behind one name, on loopback addresses only,
with a stand-in for the system resolver (``socket.getaddrinfo``, which asyncio, trio and anyio
all end up calling) that answers each lookup of the name with the next server.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs
import pytest

import ami_client
from ami_client import Action, AMIConnectionError, ConnectionLost, ConnectionState, ReconnectPolicy
from ami_client._private import http_request, transport

from .fakehttp import SECRET, serve_rawman

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, jitter=0.0)
_REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    """Answers lookups of the names it knows; any other name goes to the real resolver.

    ``answers[name]`` lists the answer of each lookup in turn (then from the start again); an
    empty list: the name does not exist.
    """

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(
        self,
        host: bytes | str | None,
        port: bytes | str | int | None,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return _REAL_GETADDRINFO(host, port, family, type, proto, flags)
        if flags & socket.AI_NUMERICHOST or not self.answers[name]:
            # (trio first asks whether the host is a numeric address)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        rounds = self.answers[name]
        addresses = rounds[self.lookups.count(name) % len(rounds)]
        self.lookups.append(name)
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, number))
            for a in addresses
        ]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns({})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def connect(url: str, **kwargs: Any) -> ami_client.AMIClient:
    kwargs.setdefault("keepalive", None)
    kwargs.setdefault("connect_timeout", 5)
    return ami_client.connect(url, username="admin", secret=SECRET, **kwargs)


async def wait_until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - polls the fake server's records
        await anyio.sleep(0.01)


async def test_a_session_stays_on_the_server_it_logged_in_to(dns: FakeDns) -> None:
    async with (
        serve_rawman("127.0.0.1") as first,
        serve_rawman("127.0.0.2", first.port) as second,
    ):
        dns.answers["pbx.test"] = [["127.0.0.1"], ["127.0.0.2"]]
        url = f"http://pbx.test:{first.port}/"
        with anyio.fail_after(10):
            async with connect(url, reconnect=FAST) as ami, ami.watch_state() as states:
                await wait_until(lambda: "waitevent" in first.actions())
                for _ in range(4):
                    assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                await ami.send(Action("UserEvent", UserEvent="Wake"))  # the poll answers...
                await wait_until(lambda: first.actions().count("waitevent") >= 2)  # ...and again
                # One lookup for the session; every request went to the server it picked.
                assert dns.lookups == ["pbx.test"]
                assert second.requests == []
                assert first.actions()[0] == "login"
                assert first.actions().count("ping") == 4
                # The name, not the address, is what the server was asked for.
                assert {r.host for r in first.requests} == {f"pbx.test:{first.port}"}

                # A new session (after the old one ended) looks the name up again.
                first.forget_sessions()
                seen = []
                async for state in states:
                    seen.append(state)
                    if state is ConnectionState.CONNECTED and len(seen) > 1:
                        break
                assert ConnectionState.RECONNECTING in seen
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                assert dns.lookups == ["pbx.test", "pbx.test"]
                assert second.actions()[0] == "login"
                assert {r.host for r in second.requests} == {f"pbx.test:{first.port}"}


async def test_an_address_that_refuses_is_skipped_at_login(dns: FakeDns) -> None:
    async with serve_rawman("127.0.0.1") as server:
        # Nothing listens on 127.0.0.3: refused, nothing sent, so the next one is tried.
        dns.answers["pbx.test"] = [["127.0.0.3", "127.0.0.1"]]
        with anyio.fail_after(10):
            async with connect(f"http://pbx.test:{server.port}/", events=False) as ami:
                for _ in range(3):
                    assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        assert dns.lookups == ["pbx.test"]
        assert server.actions() == ["login", "ping", "ping", "ping", "logoff"]


async def test_a_name_that_does_not_resolve_fails_the_connect(dns: FakeDns) -> None:
    dns.answers["nowhere.test"] = []
    with (
        anyio.fail_after(10),
        pytest.raises(AMIConnectionError, match=r"cannot resolve nowhere\.test") as caught,
    ):
        async with connect("http://nowhere.test:8088/"):
            pytest.fail("connected to a name that does not exist")
    assert not isinstance(caught.value, ConnectionLost)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
async def test_an_address_in_the_url_is_used_as_it_is(host: str, dns: FakeDns) -> None:
    async with serve_rawman(host) as server:
        with anyio.fail_after(10):
            async with connect(server.url, events=False) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        shown = f"[{host}]" if ":" in host else host
        endpoint = http_request.HttpEndpoint.from_url(server.url)
        assert {r.host for r in server.requests} == {f"{shown}:{server.port}"}
        assert (await http_request.resolve(endpoint, connected=False)) == (host,)
    assert dns.lookups == []


# -- TLS: the certificate is checked against the name, never the address ----------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``pbx.test`` only (no IP address in it), and its key."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=pbx.test",
        "-addext",
        "subjectAltName=DNS:pbx.test",
    ]
    subprocess.run(  # openssl from PATH, as tests/asterisk/server.py
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize(
    ("name", "server_hostname", "verified"),
    [("pbx.test", None, True), ("other.test", None, False), ("other.test", "pbx.test", True)],
    ids=["url-name", "wrong-name", "server_hostname"],
)
async def test_tls_checks_the_name_not_the_address(
    dns: FakeDns,
    certificate: tuple[Path, Path],
    name: str,
    server_hostname: str | None,
    verified: bool,
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_context.sni_callback = lambda sock, server_name, ctx: sni.append(server_name)
    client_context = ssl.create_default_context(cafile=str(cert))
    dns.answers[name] = [["127.0.0.1"]]
    async with serve_rawman("127.0.0.1", ssl_context=server_context) as server:
        url = f"https://{name}:{server.port}/"
        kwargs: dict[str, Any] = {"ssl": client_context, "events": False}
        if server_hostname is not None:
            kwargs["server_hostname"] = server_hostname
        with anyio.fail_after(10):
            if not verified:
                with pytest.raises(AMIConnectionError, match="CERTIFICATE_VERIFY"):
                    async with connect(url, **kwargs):
                        pytest.fail("connected to a certificate for another name")
                return
            async with connect(url, **kwargs) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        assert set(sni) == {server_hostname or name}
        assert len(sni) == len(server.requests) == 3  # login, ping, logoff
        assert {r.host for r in server.requests} == {f"{name}:{server.port}"}
        assert dns.lookups == [name]


# -- Several addresses race (happy eyeballs, RFC 8305) until one takes the connection ---------


@contextlib.contextmanager
def hanging_address(host: str, port: int) -> Iterator[None]:
    """A loopback address where a connect neither succeeds nor fails: it hangs.

    A listening socket with ``listen(0)`` whose accept queue is full (one connection made and
    never accepted): Linux then drops every further SYN, so a new connect waits for an answer
    that does not come, as it would to a blackholed address.
    """
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind((host, port))
        listener.listen(0)
        filler.settimeout(5)
        filler.connect((host, port))  # fills the queue; never accepted
        with socket.socket() as probe:
            probe.settimeout(0.3)
            try:
                probe.connect((host, port))
            except TimeoutError:
                pass
            else:
                pytest.fail(f"a connect to {host}:{port} does not hang here")
        yield


@attrs.define
class Recorder:
    """A plain TCP listener that records what each connection received before it ended."""

    received: list[bytes] = attrs.field(factory=list)
    ended: int = 0


@contextlib.asynccontextmanager
async def recording(host: str, port: int) -> AsyncIterator[Recorder]:
    recorder = Recorder()

    async def handle(stream: anyio.abc.SocketStream) -> None:
        data = b""
        async with stream:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                while True:
                    data += await stream.receive()
        recorder.received.append(data)
        recorder.ended += 1

    async with (
        await anyio.create_tcp_listener(local_host=host, local_port=port) as listener,
        anyio.create_task_group() as group,
    ):
        group.start_soon(listener.serve, handle)
        yield recorder
        group.cancel_scope.cancel()


def endpoint(port: int, *, tls: bool = False) -> http_request.HttpEndpoint:
    return http_request.HttpEndpoint.from_url(f"{'https' if tls else 'http'}://pbx.test:{port}/")


async def test_a_hanging_address_delays_the_login_a_quarter_second(
    dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open_tcp = transport.open_tcp
    tried: list[str] = []

    async def open_tcp(host: str, port: int, **kwargs: Any) -> Any:
        tried.append(host)
        return await real_open_tcp(host, port, **kwargs)

    monkeypatch.setattr(http_request, "open_tcp", open_tcp)
    async with serve_rawman("127.0.0.1") as server:
        dns.answers["pbx.test"] = [["127.0.0.2", "127.0.0.1"]]
        with hanging_address("127.0.0.2", server.port), anyio.fail_after(10):
            start = anyio.current_time()
            async with connect(f"http://pbx.test:{server.port}/", events=False) as ami:
                # 127.0.0.2 was tried first; 127.0.0.1 joined the race after 0.25 s and won
                # (tried one after the other, the login would wait out connect_timeout, 5 s).
                assert 0.2 <= anyio.current_time() - start < 4
                for _ in range(3):
                    assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        # Pinned to 127.0.0.1: no race (which would try 127.0.0.2 first) after the login's.
        assert tried == ["127.0.0.2", "127.0.0.1"] + ["127.0.0.1"] * 4
        assert dns.lookups == ["pbx.test"]
        assert server.actions() == ["login", "ping", "ping", "ping", "logoff"]


@pytest.mark.parametrize("connected", [False, True], ids=["connecting", "connected"])
async def test_every_address_refusing_fails_with_the_typed_error(
    connected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_request, "_ATTEMPT_DELAY", 5.0)  # a wait would show plainly
    async with serve_rawman("127.0.0.1") as server:  # (a port free on 127.0.0.3 and .4)
        error = ConnectionLost if connected else AMIConnectionError
        start = anyio.current_time()
        with anyio.fail_after(10), pytest.raises(error, match=r"127\.0\.0\.4") as caught:
            await http_request._connect(
                endpoint(server.port),
                ["127.0.0.3", "127.0.0.4"],
                ssl_context=None,
                server_hostname=None,
                connected=connected,
            )
        # A refusal starts the next attempt at once, without waiting out the delay.
        assert anyio.current_time() - start < 2.5
        assert isinstance(caught.value, ConnectionLost) is connected
    assert server.requests == []


async def test_an_address_that_refuses_hands_over_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_request, "_ATTEMPT_DELAY", 5.0)  # a wait would show plainly
    async with serve_rawman("127.0.0.1") as server:
        start = anyio.current_time()
        with anyio.fail_after(10):
            reply = await http_request.exchange(
                endpoint(server.port),
                b"Action=Ping",
                cookie=None,
                ssl_context=None,
                server_hostname=None,
                max_body=1 << 20,
                connected=False,
                addresses=["127.0.0.3", "127.0.0.1"],
            )
        assert anyio.current_time() - start < 2.5
        assert reply.address == "127.0.0.1"
        assert server.actions() == ["ping"]


async def test_a_connection_that_loses_the_race_is_closed(
    dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both addresses take the connection; the one that reports last is closed unused."""
    real_open_tcp = transport.open_tcp
    second_connected = anyio.Event()
    opened: list[str] = []

    async def open_tcp(host: str, port: int, **kwargs: Any) -> Any:
        stream = await real_open_tcp(host, port, **kwargs)
        opened.append(host)
        if host == "127.0.0.1":
            # Connected, but reports it only after 127.0.0.2 has won (shielded: the winner
            # cancels this attempt, and the connection must still come back to be closed).
            with anyio.move_on_after(5, shield=True):  # (bounded: a regression fails, not hangs)
                await second_connected.wait()
        else:
            second_connected.set()
        return stream

    monkeypatch.setattr(http_request, "open_tcp", open_tcp)
    async with serve_rawman("127.0.0.2") as server, recording("127.0.0.1", server.port) as loser:
        dns.answers["pbx.test"] = [["127.0.0.1", "127.0.0.2"]]
        with anyio.fail_after(10):
            async with connect(f"http://pbx.test:{server.port}/", events=False) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                await wait_until(lambda: loser.ended == 1)
        # The login raced both; the ping and the logoff went to the pinned address only.
        assert opened == ["127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.2"]
        assert loser.received == [b""]  # closed by the client, nothing sent
        assert server.actions() == ["login", "ping", "logoff"]


async def test_tls_handshake_is_part_of_the_race(
    dns: FakeDns, certificate: tuple[Path, Path]
) -> None:
    """127.0.0.1 takes the TCP connection but never answers the TLS handshake: it loses."""
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    async with (
        serve_rawman("127.0.0.2", ssl_context=server_context) as server,
        recording("127.0.0.1", server.port) as mute,
    ):
        dns.answers["pbx.test"] = [["127.0.0.1", "127.0.0.2"]]
        url = f"https://pbx.test:{server.port}/"
        with anyio.fail_after(10):
            start = anyio.current_time()
            async with connect(url, ssl=client_context, events=False) as ami:
                assert 0.2 <= anyio.current_time() - start < 4  # (not connect_timeout, 5 s)
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
            # The attempt cancelled in its handshake closed its connection.
            await wait_until(lambda: mute.ended == 1)
        assert len(mute.received) == 1
        assert mute.received[0].startswith(b"\x16\x03")  # (a TLS ClientHello, and no more)
        assert server.actions() == ["login", "ping", "logoff"]


async def test_a_race_cancelled_from_outside_leaves_nothing_behind() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.2", 0))
        port = free.getsockname()[1]
    with hanging_address("127.0.0.2", port):
        start = anyio.current_time()
        with anyio.move_on_after(0.4) as scope:
            await http_request._connect(
                endpoint(port),
                ["127.0.0.2", "127.0.0.2"],
                ssl_context=None,
                server_hostname=None,
                connected=False,
            )
        assert scope.cancelled_caught
        assert anyio.current_time() - start < 3  # (a hanging connect lasts minutes)
