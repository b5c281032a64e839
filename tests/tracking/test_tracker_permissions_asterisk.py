"""Which AMI users can be tracked, against the real Asterisk 22."""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import Action
from tests.asterisk.server import USERS, AsteriskServer

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]


async def test_a_reporting_only_user_can_be_tracked(asterisk: AsteriskServer) -> None:
    # manager.conf's `restricted` user: read=call,reporting write=reporting. Asterisk 22 lets
    # an action through when the user has ANY of its classes (manager.c, process_message):
    # CoreShowChannels is system|reporting and BridgeList needs none, so seeding works --
    # while Originate (call|originate) is refused to the same user.
    with anyio.fail_after(30):
        async with (
            ami_client.connect(
                asterisk.host,
                asterisk.ami_port,
                username="restricted",
                secret=USERS["restricted"],
            ) as ami,
            ami_client.track(ami) as tracker,
        ):
            assert tracker.statistics().syncs == 1
            assert "sync-failed" not in tracker.statistics().violations
            with pytest.raises(ami_client.PermissionDenied):
                await ami.send(
                    Action("Originate", Channel="Local/echo@ami-test", Application="Wait", Data="1")
                )
