"""Replay the server side of a recorded transcript (tests/data/transcripts/*.ami + .json).

The recorded bytes are sent as they were, in the recorded chunks: before each recorded client
action the replay waits for the client to send an action, so a client sees the same
interleaving as it saw from the real Asterisk. The client's ActionIDs replace the recorded ones
(in order of the actions), so a client that numbers its actions its own way still correlates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio
import anyio.abc
import attrs

from ami_client._private.errors import RemoteProtocolError
from ami_client._private.message import Message
from ami_client._private.parser import Parser
from ami_client._private.simulator.session import client_error

__all__ = ["Transcript"]

_ACTION_ID = re.compile(rb"^ActionID: (.*)$", re.IGNORECASE | re.MULTILINE)


@attrs.frozen(kw_only=True)
class Transcript:
    """A recorded session: the received bytes and where the client's actions came in."""

    data: bytes
    #: (byte offset, ActionID of the action sent there or None)
    sends: tuple[tuple[int, str | None], ...]
    server_closed: bool = True

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        """Load ``NAME.ami`` and its ``NAME.json`` (either path may be given)."""
        p = Path(path)
        ami, meta = p.with_suffix(".ami"), p.with_suffix(".json")
        info = json.loads(meta.read_text(encoding="utf-8"))
        sends = []
        for item in info.get("sent", []):
            m = _ACTION_ID.search(item["data"].encode().replace(b"\r\n", b"\n"))
            sends.append((int(item["offset"]), m.group(1).decode().strip() if m else None))
        return cls(data=ami.read_bytes(), sends=tuple(sends))

    async def serve(
        self, stream: anyio.abc.ByteStream, protocol_errors: list[Exception] | None = None
    ) -> list[Message]:
        """Play the transcript to ``stream``; the actions the client sent.

        Ends early, with the actions so far, when the client closes or goes away, or sends
        bytes that do not parse (the parse error is appended to ``protocol_errors``), as a
        session of the simulator would.
        """
        parser = Parser(expect_banner=False)
        received: list[Message] = []
        id_map: dict[bytes, bytes] = {}
        pos = 0

        def rewrite(chunk: bytes) -> bytes:
            for old, new in id_map.items():
                chunk = chunk.replace(b"ActionID: " + old + b"\r\n", b"ActionID: " + new + b"\r\n")
            return chunk

        try:
            for offset, recorded_id in self.sends:
                if offset > pos:
                    await stream.send(rewrite(self.data[pos:offset]))
                    pos = offset
                action = await _next_action(stream, parser)
                if action is None:
                    return received
                received.append(action)
                if recorded_id is not None and action.action_id is not None:
                    id_map[recorded_id.encode()] = action.action_id.encode()
            if pos < len(self.data):
                await stream.send(rewrite(self.data[pos:]))
        except RemoteProtocolError as exc:
            if protocol_errors is not None:
                protocol_errors.append(client_error(exc))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the client went away while we were sending
        return received


async def _next_action(stream: anyio.abc.ByteStream, parser: Parser) -> Message | None:
    """The client's next action, or None when it closed or went away."""
    while True:
        item = parser.next_event()
        if isinstance(item, Message):
            return item
        # NEED_DATA: a Parser(expect_banner=False) that is never fed b"" has nothing else.
        try:
            parser.receive_data(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
