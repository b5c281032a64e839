"""examples/click_to_call.py (an ASGI app) and examples/events_to_jsonl.py, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from ami_client.testing import serve

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import click_to_call  # type: ignore[import-not-found,unused-ignore]  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class AsgiDriver:
    """Drives an ASGI app in-process, the way a server does: lifespan, then requests."""

    def __init__(self, app: click_to_call.ClickToCall) -> None:
        self.app = app

    async def request(self, method: str, path: str, query: str = "") -> tuple[int, Any]:
        scope = {"type": "http", "method": method, "path": path, "query_string": query.encode()}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(dict(message))

        await self.app(scope, receive, send)
        status = sent[0]["status"]
        return status, json.loads(sent[1]["body"])


async def test_click_to_call_originates_through_the_shared_connection() -> None:
    async with serve(time_scale=0.05) as sim, anyio.create_task_group() as tg:
        host, port = sim.address
        kwargs = {"host": host, "port": port, "username": "admin",
                  "secret": sim.users["admin"].secret}  # fmt: skip
        app = click_to_call.ClickToCall(kwargs, context="ami-test", timeout=20)
        to_app: anyio.abc.ObjectSendStream[dict[str, Any]]
        to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](4)
        from_app, inbox = anyio.create_memory_object_stream[dict[str, Any]](4)

        async def receive() -> Any:
            return await app_inbox.receive()

        async def send(message: Any) -> None:
            await from_app.send(dict(message))

        tg.start_soon(app, {"type": "lifespan"}, receive, send)
        for stream in (to_app, app_inbox, from_app, inbox):
            tg.start_soon(_close_at_exit, stream)
        await to_app.send({"type": "lifespan.startup"})
        with anyio.fail_after(10):
            assert (await inbox.receive())["type"] == "lifespan.startup.complete"

        driver = AsgiDriver(app)
        with anyio.fail_after(30):
            answered = driver.request("POST", "/call", "from=Local/wait-1@ami-test&to=wait-1")
            busy = driver.request("POST", "/call", "from=Local/busy@ami-test&to=wait-1")
            results: dict[str, tuple[int, Any]] = {}

            async def run(name: str, call: Any) -> None:
                results[name] = await call

            async with anyio.create_task_group() as calls:  # two requests at once
                calls.start_soon(run, "answered", answered)
                calls.start_soon(run, "busy", busy)
        assert results["answered"][0] == 200
        assert results["answered"][1]["ok"] is True
        assert results["answered"][1]["channel"].startswith("Local/wait-1@ami-test-")
        assert results["busy"][0] == 200
        assert results["busy"][1]["ok"] is False
        originates = sim.actions("Originate")
        assert {a["Channel"] for a in originates} == {
            "Local/wait-1@ami-test",
            "Local/busy@ami-test",
        }
        assert all(a["CallerID"] == "Click to call <wait-1>" for a in originates)

        assert await driver.request("POST", "/call", "from=x%0d%0aAction:%20Command&to=1") == (
            400, {"error": "bad 'from' channel or 'to' number"},
        )  # fmt: skip
        assert (await driver.request("GET", "/"))[0] == 404
        assert len(sim.actions("Originate")) == 2  # nothing reached the PBX for those

        await to_app.send({"type": "lifespan.shutdown"})
        with anyio.fail_after(10):
            assert (await inbox.receive())["type"] == "lifespan.shutdown.complete"
        assert sim.actions("Logoff")
        tg.cancel_scope.cancel()


async def _close_at_exit(stream: Any) -> None:
    try:
        await anyio.sleep_forever()
    finally:
        stream.close()


def test_events_to_jsonl_exports_every_field() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "events_to_jsonl.py"), "--count", "4",
         "Newchannel"],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["Event"] for e in events] == ["Newchannel"] * 4
    for event in events:
        assert event["Channel"].startswith("Local/")
        assert event["Linkedid"] == events[0]["Linkedid"]
        assert "ChanVariable" in event  # the simulator's channelvars, as the real server's
