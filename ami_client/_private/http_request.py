"""One HTTP/1.1 request on its own connection, on h11 under anyio: what AMI over HTTP needs.

Asterisk's HTTP server gets one ``POST /rawman`` per action and per ``WaitEvent`` poll. Each
goes on a fresh connection with ``Connection: close``: no request is ever re-sent on a pooled
connection the server may have closed, so an action is never executed twice (an Originate!)
and never silently dropped. h11 is imported lazily: ``import ami_client`` does not need it.
"""

from __future__ import annotations

import importlib
import ipaddress
import socket
import ssl as _ssl
from collections.abc import Sequence
from types import ModuleType
from typing import Final
from urllib.parse import quote, urlsplit

import anyio
import anyio.abc
import attrs

from ami_client._private.errors import AMIConnectionError, ConnectionLost, LimitExceeded
from ami_client._private.transport import AsyncioTransport, StreamTransport, open_tcp

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "HttpEndpoint",
    "HttpReply",
    "exchange",
    "form_body",
    "require_h11",
    "resolve",
]

_USER_AGENT: Final = b"ami-client"
#: Header block size h11 accepts from the server; Asterisk's headers are a few hundred bytes.
_MAX_HEADERS: Final = 64 * 1024
#: Seconds the body may go without a byte once the response's head has arrived. Asterisk
#: writes a whole body at once after its head (a synchronous Originate waits *before* the
#: head, which has no deadline here), so a pause this long is a server or a path that broke.
DEFAULT_BODY_TIMEOUT: Final = 10.0


def require_h11() -> ModuleType:
    """The h11 module, or a clear ImportError naming the extra that installs it."""
    try:
        return importlib.import_module("h11")
    except ImportError as exc:
        raise ImportError(
            "AMI over HTTP(S) needs the h11 package: pip install 'ami-client[http]'"
        ) from exc


@attrs.frozen(kw_only=True)
class HttpEndpoint:
    """Where Asterisk's ``/rawman`` is: parsed from ``http://host:port/[prefix/]``.

    Attributes:
        tls: True for ``https``.
        host: The host name or address (IPv6 without brackets).
        port: The TCP port (URL default: 80 for http, 443 for https; Asterisk's is 8088).
        path: The request target, ending in ``/rawman`` (after http.conf's ``prefix``, if any).
    """

    tls: bool
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> HttpEndpoint:
        """Parse an ``http://`` or ``https://`` URL.

        The path may be empty, ``/``, http.conf's ``prefix`` (``/asterisk/``), or end in
        ``/rawman``. Credentials, queries and fragments are refused: the user name and secret
        are arguments of :func:`~ami_client.connect`, never part of an address that gets logged.

        Raises:
            ValueError: for another scheme or an address that is not a plain URL.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"expected an http:// or https:// URL, not {url!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("put the credentials in username= and secret=, not in the URL")
        if parts.query or parts.fragment:
            raise ValueError(f"the AMI URL takes no query or fragment: {url!r}")
        host = parts.hostname
        if not host:
            raise ValueError(f"no host in {url!r}")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"bad port in {url!r}") from exc
        path = parts.path.rstrip("/")
        if not path.lower().endswith("/rawman"):
            path += "/rawman"
        if not all("!" <= ch <= "~" for ch in path):
            # An HTTP request target is printable ASCII (RFC 9112): a space, a control or a
            # non-ASCII character would only fail later, when the request is built.
            raise ValueError(f"bad path in {url!r}: percent-encode anything but printable ASCII")
        tls = scheme == "https"
        return cls(tls=tls, host=host, port=port or (443 if tls else 80), path=path)

    @property
    def host_header(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}".encode("idna" if not host.isascii() else "ascii")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{self.path}"


@attrs.frozen
class HttpReply:
    """A complete HTTP response: status, the ``mansession_id`` cookie if set, and the body.

    ``address`` is the IP address the request was sent to (see :func:`resolve`).
    """

    status: int
    reason: str
    cookie: str | None
    body: bytes
    address: str = ""


async def resolve(endpoint: HttpEndpoint, *, connected: bool) -> tuple[str, ...]:
    """The IP addresses of the endpoint's host, in the resolver's order, without repeats.

    A session must stay on one server: Asterisk knows a ``mansession_id`` only on the server
    that made it. Behind a round-robin name (or several servers under one name) a lookup per
    request could reach another server, which knows no such session. So the transport
    resolves once, when a session starts, and sends every request of the session to the
    address that answered first. An IP literal is its own address (no lookup).

    Raises:
        AMIConnectionError: the name does not resolve (:class:`ConnectionLost` if
            ``connected``).
    """
    try:
        return (str(ipaddress.ip_address(endpoint.host)),)
    except ValueError:
        pass
    try:
        found = await anyio.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # (socket.gaierror; a name IDNA cannot encode)
        error = ConnectionLost if connected else AMIConnectionError
        raise error(f"cannot resolve {endpoint.host}: {exc}") from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:  # pragma: no cover - getaddrinfo raises rather than find nothing
        error = ConnectionLost if connected else AMIConnectionError
        raise error(f"cannot resolve {endpoint.host}: no address")
    return addresses


#: Seconds an attempt to connect gets before the next address is tried alongside it (RFC 8305's
#: "Connection Attempt Delay", as anyio's connect_tcp): a blackholed address costs this, not the
#: whole connect timeout.
_ATTEMPT_DELAY: Final = 0.25


async def _connect(
    endpoint: HttpEndpoint,
    addresses: Sequence[str],
    *,
    ssl_context: _ssl.SSLContext | None,
    server_hostname: str | None,
    connected: bool,
) -> tuple[StreamTransport | AsyncioTransport, str]:
    """A connection to one of ``addresses``, and that address.

    One address (the one a session is pinned to, or an IP literal) is simply connected to.
    Several race, happy eyeballs style (RFC 8305): an attempt on the next address starts
    :data:`_ATTEMPT_DELAY` seconds after the previous one did, or as soon as that one fails;
    the first to connect (TCP, and for https the TLS handshake) wins, the others are cancelled,
    and a connection that also succeeded is closed. Nothing has been sent on any of them before
    one is chosen, so trying several is safe. TLS verifies the certificate against (and sends
    as SNI) ``server_hostname`` or the URL's host, never the address.

    Raises:
        AMIConnectionError: no address took the connection (:class:`ConnectionLost` if
            ``connected``); the error of the last address in order.
    """
    targets = tuple(addresses) or (endpoint.host,)
    hostname = server_hostname or endpoint.host
    if len(targets) == 1:
        try:
            stream = await open_tcp(
                targets[0], endpoint.port, ssl_context=ssl_context, server_hostname=hostname
            )
        except AMIConnectionError as exc:
            if connected:
                raise ConnectionLost(f"{endpoint.url}: {exc}") from exc
            raise
        return stream, targets[0]

    winner: tuple[StreamTransport | AsyncioTransport, str] | None = None
    failures: dict[int, AMIConnectionError] = {}

    async def attempt(index: int, failed: anyio.Event, group: anyio.abc.TaskGroup) -> None:
        nonlocal winner
        try:
            stream = await open_tcp(
                targets[index], endpoint.port, ssl_context=ssl_context, server_hostname=hostname
            )
        except AMIConnectionError as exc:
            failures[index] = exc
            failed.set()
            return
        # No checkpoint from here to the decision: a connection is either the winner or closed.
        if winner is None:
            winner = (stream, targets[index])
            group.cancel_scope.cancel()  # the other attempts, and the wait for the next one
        else:
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    try:
        async with anyio.create_task_group() as group:
            for index in range(len(targets)):
                failed = anyio.Event()
                group.start_soon(attempt, index, failed, group)
                with anyio.move_on_after(_ATTEMPT_DELAY):
                    await failed.wait()
    except BaseException:
        # Cancelled from outside (a connect timeout, say) after an attempt won: close it too.
        if winner is not None:
            with anyio.CancelScope(shield=True):
                await winner[0].aclose()
        raise
    if winner is not None:
        return winner
    failure = failures[max(failures)]  # (every attempt failed; the last address's error)
    if connected:
        raise ConnectionLost(f"{endpoint.url}: {failure}") from failure
    raise failure


def form_body(fields: tuple[tuple[str, str], ...]) -> bytes:
    """``application/x-www-form-urlencoded`` of the fields, in order, repeated keys kept.

    Every byte but the unreserved ones is percent-encoded (spaces as ``%20``, never ``+``):
    Asterisk decodes ``+`` as a space in its legacy mode, so ``+`` itself must be ``%2B``.
    """
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields).encode("ascii")


def _session_cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    # Asterisk 22 quotes the value: `Set-Cookie: mansession_id="9917dea0"; Version=1; Max-Age=60`
    # (tests/data/transcripts/http_rawman.http).
    for name, value in headers:
        if name != b"set-cookie":
            continue
        first = value.split(b";", 1)[0]
        key, sep, cookie = first.partition(b"=")
        if sep and key.strip().lower() == b"mansession_id":
            # Latin-1 maps bytes to characters one to one: the cookie goes back exactly as
            # the server set it, whatever its bytes.
            text = cookie.strip().strip(b'"').decode("latin-1")
            if text:
                return text
    return None


async def exchange(
    endpoint: HttpEndpoint,
    body: bytes,
    *,
    cookie: str | None,
    ssl_context: _ssl.SSLContext | None,
    server_hostname: str | None,
    max_body: int,
    connected: bool,
    addresses: Sequence[str] = (),
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
) -> HttpReply:
    """POST ``body`` to the endpoint on a new connection and read the whole answer.

    Args:
        endpoint: Where to send it (its host goes in the ``Host`` header, and is the name
            TLS verifies unless ``server_hostname`` is given).
        body: The form-encoded action.
        cookie: The ``mansession_id`` to send, if any.
        ssl_context: TLS context for https (None for http).
        server_hostname: Name to verify the certificate against (default: the host).
        max_body: Largest response body accepted, in bytes.
        connected: Whether a session is established: failures to connect are then
            :class:`ConnectionLost` (the link died), before it :class:`AMIConnectionError`.
        addresses: The IP addresses to connect to; several race, happy eyeballs style, in
            order (see :func:`_connect`); the reply's ``address`` is the one that took the
            connection. Empty: the endpoint's host.
        body_timeout: Seconds the body may go without a byte once the response's head
            (status line and headers) is in. Waiting for the head has no limit here: Asterisk
            sends it only when the action is done (a synchronous Originate), and the caller
            bounds that wait where it must (the WaitEvent poll).

    Raises:
        ConnectionLost: the connection broke, the server did not speak valid HTTP, or the
            body stalled for ``body_timeout`` (a body cut short, as when it ends early).
        AMIConnectionError: the server could not be reached (before ``connected``).
        LimitExceeded: the body is larger than ``max_body``.
    """
    h11 = require_h11()
    stream, address = await _connect(
        endpoint,
        addresses,
        ssl_context=ssl_context,
        server_hostname=server_hostname,
        connected=connected,
    )
    try:
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEADERS)
        headers = [
            (b"Host", endpoint.host_header),
            (b"User-Agent", _USER_AGENT),
            (b"Content-Type", b"application/x-www-form-urlencoded"),
            (b"Content-Length", str(len(body)).encode()),
            (b"Connection", b"close"),
        ]
        if cookie is not None:
            headers.append((b"Cookie", f"mansession_id={cookie}".encode("latin-1")))
        # h11 checks the request (LocalProtocolError) but cannot fail here: the target is
        # printable ASCII (HttpEndpoint.from_url), the Host resolved, and the cookie's bytes
        # came in a header line the server wrote.
        request = conn.send(
            h11.Request(method=b"POST", target=endpoint.path.encode("ascii"), headers=headers)
        )
        out = request + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        await stream.send(out)
        status, reason, reply_cookie = 0, "", None
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise ConnectionLost(f"{endpoint.url} answered invalid HTTP: {exc}") from exc
            if event is h11.NEED_DATA:
                if status:
                    try:
                        with anyio.fail_after(body_timeout):
                            data = await stream.receive()
                    except TimeoutError:
                        raise ConnectionLost(
                            f"{endpoint.url} stopped sending its answer: no byte of the body "
                            f"for {body_timeout:g} s"
                        ) from None
                else:
                    data = await stream.receive()
                if not data and not status:
                    raise ConnectionLost(f"{endpoint.url} closed the connection before answering")
                conn.receive_data(data)  # EOF ends a body without Content-Length, or is an error
            elif isinstance(event, h11.Response):
                status = event.status_code
                reason = event.reason.decode("latin-1")
                reply_cookie = _session_cookie(list(event.headers))
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > max_body:
                    raise LimitExceeded("max_response_size", max_body)
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return HttpReply(status, reason, reply_cookie, b"".join(chunks), address)
            elif isinstance(event, h11.ConnectionClosed):  # pragma: no cover - EOF is above
                raise ConnectionLost(f"{endpoint.url} closed the connection before answering")
            # InformationalResponse (1xx): keep reading.
    finally:
        await stream.aclose()
