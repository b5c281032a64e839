"""Any mix of answers, in any order, with any sends cancelled: each send gets its own outcome.

Hypothesis picks the actions (answered plainly, with an error, or with an EventList of a few
items), which of them the client cancels before any answer comes, how the server interleaves
the answers' messages (list items between other answers, unrelated events among them), and how
the bytes are cut into writes. Over a real loopback socket, on asyncio (where a send is in
flight as a bare future) and on trio (a correlator entry from the start):

* every send that was not cancelled gets exactly its own answer: the right ActionID, its own
  marker, its list's items in order, an error raised or returned as asked;
* the answers of cancelled sends change nothing (they are discarded as late), and a send
  given up on before any answer (some are never answered) leaves nothing behind;
* afterwards nothing is in flight, and the connection still answers a Ping.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ami_client
from ami_client import Action, ActionError, EventListResult, Message, Response

from .fakeserver import SECRET, Peer, event, fake_server, response

# "never": the server does not answer it at all; its sender always gives up (cancels).
KINDS = ("plain", "error", "list", "never")


def answer(action: Message, kind: str, n: int, items: int) -> list[Message]:
    """What the server sends for ``action``, the n-th of the example."""
    aid = ("ActionID", action.action_id or "")
    if kind == "never":
        return []
    if kind == "plain":
        return [response(action, ("Marker", str(n)))]
    if kind == "error":
        return [response(action, ("Message", f"refused {n}"), status="Error")]
    start = response(action, ("EventList", "start"), ("Message", "will follow"))
    listed = [event("Item", aid, ("N", str(j)), ("Of", str(n))) for j in range(items)]
    done = event("ItemsComplete", aid, ("EventList", "Complete"), ("ListItems", str(items)))
    return [start, *listed, done]


plans = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 3),  # list items
        st.booleans(),  # cancelled before any answer
        st.booleans(),  # raise_on_error
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@given(plan=plans, noise=st.integers(0, 3), data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_each_send_gets_its_own_outcome(
    backend: str, plan: list[tuple[str, int, bool, bool]], noise: int, data: st.DataObject
) -> None:
    # Drawn here, not in the server's task: the order in which the server writes the answers'
    # messages (as indices of the answers; `noise` is the last), and where writes are cut.
    plan = [(kind, items, cancel or kind == "never", r) for kind, items, cancel, r in plan]
    sizes = {"plain": 1, "error": 1, "never": 0}
    left = [sizes.get(kind, items + 2) for kind, items, _, _ in plan] + [noise]
    order: list[int] = []
    while any(left):
        index = data.draw(st.sampled_from([i for i, n in enumerate(left) if n]))
        left[index] -= 1
        order.append(index)
    cuts = data.draw(st.lists(st.integers(0, len(order)), max_size=4), label="cuts")
    anyio.run(run_example, plan, noise, order, cuts, backend=backend)


async def run_example(
    plan: list[tuple[str, int, bool, bool]], noise: int, order: list[int], cuts: list[int]
) -> None:
    received = anyio.Event()
    go = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        actions = [await peer.read_action() for _ in plan]
        received.set()
        await go.wait()
        # Each answer's messages keep their order; `order` merges the answers.
        queues = [
            answer(action, kind, n, items)
            for n, (action, (kind, items, _, _)) in enumerate(zip(actions, plan, strict=True))
        ]
        queues.append([event("Newchannel", ("Uniqueid", f"noise-{i}")) for i in range(noise)])
        merged: list[Message] = [queues[index].pop(0) for index in order]
        start = 0
        for cut in [*sorted(set(cuts)), len(merged)]:
            if cut > start:
                await peer.send(*merged[start:cut])
                start = cut
        await peer.serve_forever()

    outcomes: dict[int, Any] = {}
    scopes: dict[int, anyio.CancelScope] = {}
    async with fake_server(handler) as (port, _):
        with anyio.fail_after(10):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:

                async def send(n: int, raise_on_error: bool) -> None:
                    with anyio.CancelScope() as scope:
                        scopes[n] = scope
                        try:
                            outcomes[n] = await ami.send(
                                Action("Thing", N=str(n)), raise_on_error=raise_on_error
                            )
                        except ActionError as error:
                            outcomes[n] = error

                async with anyio.create_task_group() as tg:
                    for n, (_, _, _, raise_on_error) in enumerate(plan):
                        # One at a time, so that the n-th action the server reads is this one.
                        tg.start_soon(send, n, raise_on_error)
                        await anyio.wait_all_tasks_blocked()
                    await received.wait()
                    for n, (_, _, cancel, _) in enumerate(plan):
                        if cancel:
                            scopes[n].cancel()
                    await anyio.wait_all_tasks_blocked()
                    go.set()
                for n, (kind, items, cancel, raise_on_error) in enumerate(plan):
                    if cancel:
                        assert n not in outcomes
                    else:
                        check(outcomes[n], n, kind, items, raise_on_error)
                assert ami.statistics().pending_actions == 0
                # The server wrote every answer before it reads the Ping: once the Pong is in,
                # so are the late answers of the cancelled sends.
                pong = await ami.send(Action("Ping"))
                assert pong["Ping"] == "Pong"
                stats = ami.statistics()
                assert stats.pending_actions == 0
                late = sum(1 for kind, _, cancel, _ in plan if cancel and kind != "never")
                assert stats.late_responses == late


def check(outcome: Any, n: int, kind: str, items: int, raise_on_error: bool) -> None:
    if kind == "plain":
        assert isinstance(outcome, Response)
        assert outcome["Marker"] == str(n)
    elif kind == "error":
        if raise_on_error:
            assert isinstance(outcome, ActionError)
            assert outcome.message == f"refused {n}"
        else:
            assert isinstance(outcome, Response)
            assert outcome.is_error
            assert outcome["Message"] == f"refused {n}"
    else:
        assert isinstance(outcome, EventListResult)
        assert [(item["N"], item["Of"]) for item in outcome.items] == [
            (str(j), str(n)) for j in range(items)
        ]
        assert outcome.complete["ListItems"] == str(items)
