"""An in-memory, connected pair of byte streams (no sockets), for tests and the simulator."""

from __future__ import annotations

import math

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["MemoryByteStream", "memory_stream_pair"]


class MemoryByteStream(anyio.abc.ByteStream):
    """One end of a pair made by :func:`memory_stream_pair`."""

    def __init__(
        self, send: MemoryObjectSendStream[bytes], receive: MemoryObjectReceiveStream[bytes]
    ) -> None:
        self._send = send
        self._receive = receive

    async def receive(self, max_bytes: int = 65536) -> bytes:
        # EndOfStream once the peer's side is closed (its aclose or send_eof).
        return await self._receive.receive()

    async def send(self, item: bytes) -> None:
        if item:
            await self._send.send(bytes(item))

    async def send_eof(self) -> None:
        await self._send.aclose()

    async def aclose(self) -> None:
        await self._send.aclose()
        await self._receive.aclose()


def memory_stream_pair() -> tuple[MemoryByteStream, MemoryByteStream]:
    """Two connected byte streams: what one sends, the other receives (unbounded buffers)."""
    a_send, b_recv = anyio.create_memory_object_stream[bytes](math.inf)
    b_send, a_recv = anyio.create_memory_object_stream[bytes](math.inf)
    return MemoryByteStream(a_send, a_recv), MemoryByteStream(b_send, b_recv)
