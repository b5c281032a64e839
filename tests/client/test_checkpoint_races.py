"""A consumer that falls behind during its own checkpoint (asyncio, scripted transport).

Subscriptions and list streams let other tasks run now and then while their consumer drains
its buffer. If the reader overflows that buffer in that very moment, the buffer is emptied
under the consumer: it must get the overflow error, not a stale event and not a hang.
"""

from __future__ import annotations

import anyio
import pytest

from ami_client import Action, SubscriptionOverflow

from .scripted import ScriptedTransport, answer_id, connected, sent

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]


def events(start: int, count: int, action_id: bytes = b"") -> bytes:
    extra = b"ActionID: %s\r\n" % action_id if action_id else b""
    return b"".join(b"Event: Item\r\n%sN: %d\r\n\r\n" % (extra, n) for n in range(start, count))


async def test_a_subscriber_overflowed_during_its_checkpoint_gets_the_overflow() -> None:
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        ami = await connected(transport)
        async with ami, ami.subscribe(buffer=1200, overflow="fail") as sub:
            transport.push(events(0, 1099))
            while sub.statistics().buffered < 1099:  # noqa: ASYNC110 - the reader's side
                await anyio.sleep(0.001)
            # A consumer checkpoints once per 1,024 events it takes from its buffer.
            for n in range(1023):
                assert (await sub.receive())["N"] == str(n)
            # The reader, woken by this push, runs during the next call's checkpoint and
            # overflows the buffer (76 waiting + 1,200 new > 1,200).
            transport.push(events(0, 1200))
            with pytest.raises(SubscriptionOverflow, match="fell 1200 events behind"):
                await sub.receive()
            assert sub.statistics().failed


async def test_a_list_consumer_overflowed_during_its_checkpoint_gets_the_overflow() -> None:
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        async with await connected(transport) as ami, anyio.create_task_group() as tg:
            outcome: list[object] = []

            async def consume() -> None:
                async with ami.stream(Action("CoreShowChannels"), buffer=3) as stream:
                    outcome.append((await stream.__anext__())["N"])
                    # One item waits in the buffer; the push below wakes the reader, which
                    # runs during this call's checkpoint and overflows the buffer.
                    await pushed.wait()
                    try:
                        outcome.append(await stream.__anext__())
                    except SubscriptionOverflow as error:
                        outcome.append(error)

            pushed = anyio.Event()
            tg.start_soon(consume)
            action = await sent(transport, "CoreShowChannels")
            aid = answer_id(action)
            assert transport.receiver is not None
            transport.receiver(
                b"Response: Success\r\nActionID: %s\r\nEventList: start\r\n\r\n" % aid
                + events(0, 2, aid)
            )
            while not outcome:  # noqa: ASYNC110 - the consumer's side
                await anyio.sleep(0.001)
            # The consumer first (into its next call, which checkpoints with one item
            # waiting), then the reader with eight more items: it runs during that checkpoint.
            pushed.set()
            transport.push(events(2, 10, aid))
        assert outcome[0] == "0"
        assert isinstance(outcome[1], SubscriptionOverflow)
        assert "fell 3 items behind" in str(outcome[1])
        assert ami.statistics().pending_actions == 0
