"""The transport seam: how the client moves bytes, and the TCP and TLS implementations.

The client only needs three operations from a link to the server, so that is all a transport
is (see :class:`Transport`). Exceptions of the I/O library are translated here, once, into
:class:`~ami_client.ConnectionLost` (in the manner of httpcore's ``map_exceptions``), so the
rest of the client never sees an ``OSError`` or an anyio stream error.
"""

from __future__ import annotations

import contextlib
import ssl as _ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol, runtime_checkable

import anyio
import anyio.abc

from ami_client._private.errors import AMIConnectionError, ConnectionLost

__all__ = [
    "RECEIVE_SIZE",
    "StreamTransport",
    "Transport",
    "TransportFactory",
    "make_ssl_context",
    "open_tcp",
]

#: Bytes asked for per read. Large reads let the parser cut many messages out of one buffer
#: (an event burst of a busy Asterisk is tens of KiB), which is where its speed comes from.
RECEIVE_SIZE = 65536
# The size of Asterisk's action input buffer (manager.c, `inbuf[1025]`): see open_tcp.
_ASTERISK_TLS_READ = 1024


@runtime_checkable
class Transport(Protocol):
    """A connected link to an AMI server carrying AMI bytes both ways.

    Implementations: TCP and TLS here; AMI over HTTP (rawman) provides the same three methods.

    Attributes:
        expects_banner: True if the server greets with ``Asterisk Call Manager/...`` first.
    """

    expects_banner: bool

    async def send(self, data: bytes) -> None:
        """Write all of ``data``. Raises :class:`~ami_client.ConnectionLost` if the link died."""
        ...

    async def receive(self) -> bytes:
        """Some bytes from the server; ``b""`` once it closed the link cleanly.

        Raises:
            ConnectionLost: if the link broke.
        """
        ...

    async def aclose(self) -> None:
        """Close the link. Never raises; safe to call more than once."""
        ...


#: Opens a new transport; the client calls it for the first connection and each reconnect.
TransportFactory = Callable[[], Awaitable[Transport]]


@contextlib.contextmanager
def _map_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, _ssl.SSLError) as exc:
        raise ConnectionLost(f"{what}: {type(exc).__name__}: {exc}") from exc


class StreamTransport:
    """A transport over any anyio byte stream (a TCP socket, a TLS stream, an in-memory pair).

    Args:
        stream: The connected byte stream; this object owns it and closes it.
        expects_banner: Whether the server greets first (True for AMI over TCP/TLS).
    """

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        *,
        expects_banner: bool = True,
        max_write: int | None = None,
    ) -> None:
        self._stream = stream
        self.expects_banner = expects_banner
        self._max_write = max_write

    async def send(self, data: bytes) -> None:
        with _map_errors("send failed"):
            if self._max_write is None or len(data) <= self._max_write:
                await self._stream.send(data)
                return
            for chunk in _line_chunks(data, self._max_write):
                await self._stream.send(chunk)

    async def receive(self) -> bytes:
        try:
            with _map_errors("receive failed"):
                return await self._stream.receive(RECEIVE_SIZE)
        except anyio.EndOfStream:
            return b""

    async def aclose(self) -> None:
        # A close is best effort: the link may already be dead, and aclose() on a broken TLS
        # stream can raise (unwrap on a reset socket). Cancellation still propagates.
        with contextlib.suppress(OSError, anyio.BrokenResourceError, _ssl.SSLError):
            await anyio.aclose_forcefully(self._stream)


def _line_chunks(data: bytes, size: int) -> Iterator[bytes]:
    """Cut ``data`` into pieces of at most ``size`` bytes, each ending at a line end.

    (A single line longer than ``size`` -- which the serializer never produces -- is kept whole.)
    """
    view = memoryview(data)
    start, end = 0, len(data)
    while end - start > size:
        cut = data.rfind(b"\n", start, start + size) + 1
        if cut <= start:
            cut = data.find(b"\n", start + size) + 1 or end
        yield bytes(view[start:cut])
        start = cut
    if start < end:
        yield bytes(view[start:])


def make_ssl_context(ssl: bool | _ssl.SSLContext | None) -> _ssl.SSLContext | None:
    """The TLS context for ``connect(ssl=...)``: None for plain TCP.

    ``True`` means the system's default context, which verifies the server certificate and its
    host name; pass your own :class:`ssl.SSLContext` for a private CA.
    """
    if ssl is None or ssl is False:
        return None
    if ssl is True:
        return _ssl.create_default_context()
    if isinstance(ssl, _ssl.SSLContext):
        return ssl
    raise TypeError(f"ssl must be None, True or an ssl.SSLContext, not {type(ssl).__name__}")


async def open_tcp(
    host: str,
    port: int,
    *,
    ssl_context: _ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> StreamTransport:
    """Connect over TCP, with TLS on top if ``ssl_context`` is given.

    Raises:
        AMIConnectionError: if the server cannot be reached or the TLS handshake fails
            (certificate verification included).
    """
    try:
        if ssl_context is None:
            stream: anyio.abc.ByteStream = await anyio.connect_tcp(host, port)
        else:
            # tls_standard_compatible=False: Asterisk closes TLS sessions without a close_notify;
            # that must read as a normal end of stream, not an error.
            stream = await anyio.connect_tcp(
                host,
                port,
                ssl_context=ssl_context,
                tls_hostname=server_hostname or host,
                tls_standard_compatible=False,
            )
    except (OSError, anyio.BrokenResourceError, _ssl.SSLError) as exc:
        raise AMIConnectionError(
            f"cannot connect to {host}:{port}: {type(exc).__name__}: {exc}"
        ) from exc
    if ssl_context is None:
        return StreamTransport(stream)
    # Asterisk 22 reads a TLS session one SSL_read of at most 1,024 bytes at a time and then
    # polls the *socket* (manager.c get_input): bytes already decrypted into OpenSSL's buffer
    # go unnoticed, and pipelined actions stall until more bytes arrive. Measured on our test
    # server: 200 Pings in one write, 33 answered; in TLS records of <= 1,024 bytes that end at
    # a line end, all 5,000 of 5,000. So each write becomes such records.
    return StreamTransport(stream, max_write=_ASTERISK_TLS_READ)
