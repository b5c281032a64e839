"""Click-to-call from a web application: an ASGI app that originates calls over one AMI link.

    POST /call?from=PJSIP/100&to=200   ->   {"ok": true, "reason": 4, "channel": "..."}

ASGI is the interface Starlette, FastAPI, Django (ASGI), Quart and Litestar applications run
on, so the same lifespan/request code drops into any of them; here it is written against the
bare interface to need no framework. Serve it with any ASGI server, e.g.
``uvicorn examples.click_to_call:app`` with AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET set
(and CLICK_TO_CALL_CONTEXT, default ``from-internal``).

One AMI connection is opened when the application starts (ASGI lifespan) and shared by every
request; each request awaits its own OriginateResponse, matched by ActionID, and a browser
that gives up cancels only its own wait.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import anyio

import ami_client
from ami_client import actions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# What a web form may ask to dial: an extension, and a channel name; nothing else.
# The client refuses CR/LF injection anyway; this keeps callers to sane values.
_NUMBER = re.compile(r"[0-9A-Za-z*#+_-]{1,32}")
_CHANNEL = re.compile(r"[A-Za-z0-9/_@.;:+-]{1,80}")


class ClickToCall:
    """The ASGI application."""

    def __init__(self, connect_kwargs: dict[str, Any], context: str, timeout: float = 45.0):
        self.connect_kwargs = connect_kwargs
        self.context = context
        self.timeout = timeout
        self.ami: ami_client.AMIClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            async with ami_client.connect(**self.connect_kwargs) as ami:
                self.ami = ami
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown: the server is stopping
                self.ami = None
        except ami_client.AMIError as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST" or scope["path"] != "/call":
            await respond(send, 404, {"error": "POST /call?from=CHANNEL&to=NUMBER"})
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        source, number = query.get("from", [""])[0], query.get("to", [""])[0]
        if not _CHANNEL.fullmatch(source) or not _NUMBER.fullmatch(number):
            await respond(send, 400, {"error": "bad 'from' channel or 'to' number"})
            return
        if self.ami is None:
            await respond(send, 503, {"error": "not connected to the PBX"})
            return
        originate = actions.Originate(
            channel=source, context=self.context, exten=number, priority=1,
            caller_id=f"Click to call <{number}>",
        )  # fmt: skip
        try:
            with anyio.fail_after(self.timeout):
                result = await self.ami.originate(originate)
        except TimeoutError:
            await respond(send, 504, {"error": "no answer from the PBX in time"})
            return
        except ami_client.AMIError as exc:
            await respond(send, 502, {"error": f"{type(exc).__name__}: {exc}"})
            return
        body = {"ok": result.success, "reason": result.reason, "channel": result.channel}
        await respond(send, 200, body)


async def respond(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def from_environment() -> ClickToCall:
    kwargs = {
        "host": os.environ.get("AMI_HOST", "127.0.0.1"),
        "port": int(os.environ.get("AMI_PORT", "5038")),
        "username": os.environ.get("AMI_USERNAME", ""),
        "secret": os.environ.get("AMI_SECRET", ""),
    }
    return ClickToCall(kwargs, os.environ.get("CLICK_TO_CALL_CONTEXT", "from-internal"))


app = from_environment()
