"""Broadcast: what the connection state watchers and the tracker's change streams share."""

from __future__ import annotations

import anyio
import pytest

from ami_client import ConnectionLost
from ami_client._private.subscription import Broadcast

pytestmark = pytest.mark.anyio


async def test_every_subscriber_sees_every_item_in_order() -> None:
    hub: Broadcast[int] = Broadcast()
    hub.publish(0)  # nobody listens yet: lost to nobody
    async with hub.subscribe(10) as a, hub.subscribe(10) as b:
        assert len(hub) == 2
        for i in range(1, 4):
            hub.publish(i)
        hub.end()
        with anyio.fail_after(5):
            assert [x async for x in a] == [1, 2, 3]
            assert [x async for x in b] == [1, 2, 3]
    assert len(hub) == 0  # leaving the block detaches


async def test_a_slow_subscriber_loses_its_oldest_items_only() -> None:
    hub: Broadcast[int] = Broadcast()
    async with hub.subscribe(2) as slow, hub.subscribe(100) as fast:
        for i in range(5):
            hub.publish(i)
        hub.end()
        with anyio.fail_after(5):
            assert [x async for x in slow] == [3, 4]
            assert [x async for x in fast] == [0, 1, 2, 3, 4]
        assert slow.statistics().dropped == 3


async def test_late_subscribers_end_at_once_with_the_same_error() -> None:
    hub: Broadcast[int] = Broadcast()
    async with hub.subscribe(10) as early:
        hub.end(ConnectionLost("gone"))
        with anyio.fail_after(5):
            with pytest.raises(ConnectionLost):
                await early.__anext__()
            async with hub.subscribe(10) as late:
                with pytest.raises(ConnectionLost):
                    await late.__anext__()
    quiet: Broadcast[int] = Broadcast()
    quiet.end()
    with anyio.fail_after(5):
        async with quiet.subscribe(10) as late:
            assert [x async for x in late] == []
