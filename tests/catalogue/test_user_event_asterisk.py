"""A typed UserEvent with headers of its own, through the real Asterisk 22."""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import actions, events
from tests.asterisk.server import AsteriskServer

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]


async def test_user_event_headers_come_back_in_the_event(asterisk: AsteriskServer) -> None:
    user, secret = asterisk.admin
    with anyio.fail_after(20):
        async with (
            ami_client.connect(
                asterisk.host, asterisk.ami_port, username=user, secret=secret
            ) as ami,
            ami.subscribe(events.UserEvent) as stream,
        ):
            headers = {"Greeting": "hello world", "X-Ticket": "42", "Empty": ""}
            await ami.send(actions.UserEvent(user_event="TypedHello", headers=headers))
            async for event in stream:
                if event.user_event == "TypedHello":
                    break
            assert isinstance(event, events.UserEvent)
            for key, value in headers.items():
                assert event.message.get_all(key) == [value]
