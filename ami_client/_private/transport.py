"""The transport seam: how the client moves bytes, and the TCP and TLS implementations.

The client only needs three operations from a link to the server, so that is all a transport
is (see :class:`Transport`). Exceptions of the I/O library are translated here, once, into
:class:`~ami_client.ConnectionLost` (in the manner of httpcore's ``map_exceptions``), so the
rest of the client never sees an ``OSError`` or an anyio stream error.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol, runtime_checkable

import anyio
import anyio.abc

from ami_client._private.errors import AMIConnectionError, ConnectionLost

__all__ = [
    "RECEIVE_SIZE",
    "AsyncioTransport",
    "StreamTransport",
    "Transport",
    "TransportFactory",
    "make_ssl_context",
    "open_tcp",
    "running_asyncio_loop",
]

#: Bytes asked for per read. Large reads let the parser cut many messages out of one buffer
#: (an event burst of a busy Asterisk is tens of KiB), which is where its speed comes from.
RECEIVE_SIZE = 65536
# AsyncioTransport stops reading from the socket while this many received bytes wait for the
# reader (bounded memory with a reader that fell behind), and reads again below the low mark.
_READ_HIGH_WATER = 4 * RECEIVE_SIZE
_READ_LOW_WATER = RECEIVE_SIZE
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


class _ReceiveProtocol(asyncio.Protocol):
    """The asyncio side of :class:`AsyncioTransport`: queues what arrives, wakes one waiter."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.reading_paused = False
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.read_waiter: asyncio.Future[None] | None = None
        self.writing_paused = False
        self.drain_waiters: list[asyncio.Future[None]] = []
        self.receiver: Callable[[bytes], None] | None = None
        self.receiver_error: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        receiver = self.receiver
        if receiver is not None and not self.chunks and len(data) <= RECEIVE_SIZE:
            # Nothing older waits for the reader (it handles each chunk it takes in one
            # synchronous step): hand these bytes over now, with no reader wake-up.
            try:
                receiver(data)
            except Exception as exc:  # noqa: BLE001 - the reader raises it (receive())
                self.receiver = None
                self.receiver_error = exc
                self._wake_reader()
            return
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _READ_HIGH_WATER and not self.reading_paused:
            assert self.transport is not None
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let asyncio close the transport: AMI has no half-closed state

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.eof = True
        self.error = exc
        self._wake_reader()
        self.writing_paused = False
        self._wake_writer()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_writer()

    def _wake_reader(self) -> None:
        waiter = self.read_waiter
        if waiter is not None:
            self.read_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiters = self.drain_waiters
        if waiters:
            self.drain_waiters = []
            for waiter in waiters:
                if not waiter.done():  # done: its sender was cancelled
                    waiter.set_result(None)


class AsyncioTransport:
    """Plain TCP straight on an asyncio transport, for clients running on asyncio.

    Same contract as :class:`StreamTransport`, plus :meth:`write_nowait`: a sender can hand
    its bytes to asyncio's write buffer synchronously (as a plain ``asyncio.Protocol`` client
    does) instead of waking a writer task, and the receive path keeps the socket registered
    for reading rather than pausing and resuming it around every read. Measured on the
    client benchmark, that is most of the per-round-trip cost of going through anyio's
    stream on asyncio. Trio, TLS and every other transport keep :class:`StreamTransport`.
    """

    expects_banner = True

    def __init__(
        self,
        transport: asyncio.Transport,
        protocol: _ReceiveProtocol,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = loop
        self._closed = False

    def _check_open(self, what: str) -> None:
        protocol = self._protocol
        if self._closed or protocol.lost or self._transport.is_closing():
            error = protocol.error
            detail = f": {type(error).__name__}: {error}" if error is not None else ""
            raise ConnectionLost(f"{what}: the connection is closed{detail}")

    def write_nowait(self, data: bytes) -> bool:
        """Queue all of ``data`` for writing now, unless asyncio's write buffer is full.

        Returns False (nothing queued) when the caller must use :meth:`send` instead: the
        buffer is above its high-water mark, or the link is closed (``send`` says why).
        """
        if self._protocol.writing_paused or self._closed or self._protocol.lost:
            return False
        self._transport.write(data)
        return True

    def set_receiver(self, receiver: Callable[[bytes], None] | None) -> None:
        """Have ``receiver(data)`` called with what arrives, as it arrives, while nothing is
        queued for :meth:`receive` (which still gets what came before, big reads and the end
        of the stream). None: queue everything again.

        That spares a round trip through the reader task for the common small read (an
        answer to an action): the bytes are handled in the same turn of the event loop.
        An exception from ``receiver`` detaches it and is raised by the next
        :meth:`receive`.
        """
        self._protocol.receiver = receiver

    def write_buffer_size(self) -> int:
        """Bytes handed over but not yet written to the socket."""
        return self._transport.get_write_buffer_size()

    async def send(self, data: bytes) -> None:
        self._check_open("send failed")
        # All of it goes into asyncio's buffer at once (a cancellation below cannot split it);
        # then wait, as anyio does, until that buffer is below its high-water mark again.
        self._transport.write(data)
        protocol = self._protocol
        while protocol.writing_paused:
            # A future for this sender alone: cancelling a task cancels the future it awaits,
            # and a future shared by several waiting senders made one sender's cancellation
            # a CancelledError in all the others.
            waiter = self._loop.create_future()
            protocol.drain_waiters.append(waiter)
            await waiter
        self._check_open("send failed")

    async def receive(self) -> bytes:
        protocol = self._protocol
        chunks = protocol.chunks
        if chunks:
            # Something was waiting already: still let other tasks run (and a cancellation in).
            await asyncio.sleep(0)
        while not chunks:
            error = protocol.receiver_error
            if error is not None:
                protocol.receiver_error = None
                raise error
            if self._closed:
                raise ConnectionLost("receive failed: the transport was closed")
            if protocol.eof:
                error = protocol.error
                if error is not None:
                    raise ConnectionLost(f"receive failed: {type(error).__name__}: {error}")
                return b""
            waiter = protocol.read_waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                protocol.read_waiter = None
        chunk = chunks.popleft()
        if len(chunk) > RECEIVE_SIZE:
            chunks.appendleft(chunk[RECEIVE_SIZE:])
            chunk = chunk[:RECEIVE_SIZE]
        protocol.buffered -= len(chunk)
        if protocol.reading_paused and protocol.buffered < _READ_LOW_WATER:
            protocol.reading_paused = False
            self._transport.resume_reading()
        return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._transport.abort()
            self._protocol._wake_reader()


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


def running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, or None (under trio no asyncio loop runs in the thread)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


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
) -> StreamTransport | AsyncioTransport:
    """Connect over TCP, with TLS on top if ``ssl_context`` is given.

    Plain TCP on asyncio is an :class:`AsyncioTransport`; everything else (trio, TLS) an anyio
    stream in a :class:`StreamTransport`.

    Raises:
        AMIConnectionError: if the server cannot be reached or the TLS handshake fails
            (certificate verification included).
    """
    try:
        if ssl_context is None:
            loop = running_asyncio_loop()
            if loop is not None:
                transport, protocol = await loop.create_connection(_ReceiveProtocol, host, port)
                return AsyncioTransport(transport, protocol, loop)
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
