"""Any script of sends, events, settings and link faults: the reconnect supervisor and the
keepalive keep every promise they make.

Hypothesis draws a script for the client and a scripted server over real loopback sockets:
sends of plain actions, EventLists and async ``Originate``s, answered by the server piecemeal
(a list may be cut off half-way); events the server sends unprompted; ``Events``/``Filter``
settings sent by the user (awaited, or left running while the server holds its answer back
and sends it with its next write, so that several are answered in one read); and faults at
any point -- the server closes the socket (mid-list, mid-``Originate``), closes after half of a
response's bytes, or freezes (answers nothing, Pings included: only the keepalive can tell),
and the reconnects that follow may be refused, cut off in the middle of the login answer, or
cut off while the settings are being re-applied. On asyncio and on trio:

* the server never receives an ActionID twice, on any connection: nothing is ever re-sent;
* a send gets its own answer if the server wrote all of it, and otherwise
  :class:`~ami_client.ConnectionLost` (in flight at a fault, or made while reconnecting);
  none hangs;
* after each reconnect the server sees the login, then the user's successful settings again
  (the latest ``Events`` mask, every ``Filter``, in the order the server first took them)
  before any other action of the user;
* subscribers get every event the server wrote, on every connection, in order, none twice;
* ``watch_state()`` shows only valid transitions, one ``CONNECTED`` per reconnect;
* at the end nothing is in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from itertools import pairwise
from typing import Any

import anyio
import anyio.abc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ami_client
from ami_client import (
    Action,
    ActionError,
    ConnectionLost,
    ConnectionState,
    EventListResult,
    Keepalive,
    Message,
    OriginateResult,
    ReconnectPolicy,
    Response,
)
from ami_client.protocol import serialize_message

from .fakeserver import BANNER, SECRET, Peer, connect_to, event, fake_server, response

POLICY = ReconnectPolicy(initial_delay=0.001, max_delay=0.004, jitter=0.5)
# Pings every 10 ms; a frozen server is found within 0.11 s. The timeout is kept far above a
# loopback round trip on a busy machine: a spurious timeout would be a fault the script did
# not draw.
KEEPALIVE = Keepalive(interval=0.01, timeout=0.1)
MASKS = ("on", "call,user", "all", "call,system,user", "call")

# What happens to each connection attempt after a fault (drawn per fault; then "ok").
CONNECT_MODES = (
    "refuse_accept",  # closed before the greeting
    "refuse_login",  # `Response: Error` to the Login, then closed (as Asterisk does)
    "die_in_login",  # closed after half of the Login answer's bytes
    "die_after_0",  # closed right behind the Login answer (and its FullyBooted)
    "die_after_1",  # closed after answering the first re-applied setting
    "die_after_2",  # ... the second
)

send_steps = st.tuples(
    st.just("send"), st.sampled_from(("plain", "list", "originate")), st.integers(0, 3)
)
answer_steps = st.tuples(
    st.just("answer"),
    st.integers(0, 7),  # which pending answer
    st.integers(1, 4),  # how many of its messages
    st.booleans(),  # ... or as many of each pending answer's, all in one write
)
emit_steps = st.tuples(st.just("emit"), st.integers(1, 3))
setting_steps = st.tuples(
    st.just("setting"),
    st.sampled_from(("events", "filter", "filter_api", "bad_filter")),
    st.booleans(),  # held: answered with the server's next write; the script goes on
    st.integers(0, len(MASKS) - 1),
)
fault_steps = st.tuples(
    st.just("fault"),
    # (A freeze costs a keepalive timeout: the rarest, to keep the test fast.)
    st.sampled_from(("close", "close", "partial", "partial", "close", "freeze")),
    st.lists(st.sampled_from(CONNECT_MODES), max_size=3),
)
steps = st.one_of(send_steps, answer_steps, emit_steps, setting_steps, setting_steps, fault_steps)
# Lengths drawn evenly (st.lists alone favours short scripts): the bugs worth finding take a
# few steps to set up -- two settings in flight, answered together, then a fault.
scripts = st.integers(1, 16).flatmap(lambda size: st.lists(steps, min_size=size, max_size=size))


class Notifier:
    """Wakes everyone waiting for *something* to change (a read, a task ending)."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class Pending:
    """An answer the server has yet to write (all of it, or the rest of it)."""

    def __init__(
        self,
        action_id: str,
        n: int,
        order: int,
        queue: deque[Message],
        setting: tuple[str, str] | None = None,
        refused: bool = False,
    ) -> None:
        self.action_id = action_id
        self.n = n  # the script's step
        self.order = order  # where the server read it, among all the user's actions
        self.queue = queue
        self.setting = setting
        self.refused = refused


class Conn:
    """The server's view of one connection."""

    def __init__(self, world: World, index: int, peer: Peer, mode: str) -> None:
        self.world = world
        self.index = index
        self.peer = peer
        self.mode = mode
        self.lock = anyio.Lock()
        self.received: list[Message] = []
        # Answers not written yet, by ActionID.
        self.pending: dict[str, Pending] = {}
        self.logged_in = False
        self.dead = False  # closed by the server: nothing more is written
        self.frozen = False  # writes nothing more, keeps reading (a hung server)
        self.settings_answered = 0
        self.kill_after: int | None = None
        self.expected: list[tuple[str, str]] = []  # the settings it must get again first

    async def write(self, *messages: Message, head: bytes = b"", pong: bool = False) -> bool:
        """Write ``head`` and ``messages`` in one write (events get their Seq now), unless the
        link is dead or frozen. The answers of held settings go first, in the same write
        (not with a keepalive's Pong: that would answer them at once, one by one)."""
        async with self.lock:
            if self.dead or self.frozen:
                return False
            held = [] if pong else [p for p in self.pending.values() if p.setting is not None]
            for pending in held:
                del self.pending[pending.action_id]
            chunks = [head]
            chunks.extend(serialize_message(m) for p in held for m in p.queue)
            for message in messages:
                if isinstance(message, ami_client.Event):
                    seq = self.world.next_seq(message.name)
                    message = ami_client.Event([*message.fields, ("Seq", str(seq))])
                chunks.append(serialize_message(message))
            await self.peer.stream.send(b"".join(chunks))
            for pending in held:
                self.world.answered(pending)
            return True

    async def answer(self, picks: list[tuple[str, int]]) -> None:
        """Write the next ``count`` messages of each picked answer, all in one write."""
        chunk: list[Message] = []
        complete: list[Pending] = []
        for action_id, count in picks:
            pending = self.pending[action_id]
            chunk.extend(pending.queue.popleft() for _ in range(min(count, len(pending.queue))))
            if not pending.queue:
                del self.pending[action_id]
                complete.append(pending)
        if await self.write(*chunk):
            for pending in complete:
                self.world.answered(pending)

    async def close(self, raw: bytes = b"") -> None:
        async with self.lock:
            if self.dead:
                return
            self.dead = True
            try:
                if raw and not self.frozen:
                    await self.peer.stream.send(raw)
            finally:
                await self.peer.stream.aclose()
                self.world.changed.notify()


class World:
    """Everything the server saw and wrote, across connections."""

    def __init__(self) -> None:
        self.conns: list[Conn] = []
        self.modes: deque[str] = deque()
        self.changed = Notifier()
        self.events: list[tuple[str, int]] = []  # (name, Seq) of every event written, in order
        self.seq = 0
        # N of each send -> the ActionID it reached the server with.
        self.sent: dict[int, str] = {}
        self.complete: set[int] = set()  # sends whose whole answer was written
        self.read = 0  # the user's actions read so far (on any connection)
        self.reached: set[int] = set()  # the user's settings the server read
        self.held: set[int] = set()  # settings answered only when the script says so
        # Settings the server accepted from the user (not re-applications): (order, key).
        self.settings: list[tuple[int, tuple[str, str]]] = []
        self.setting_outcome: dict[int, str] = {}  # N -> "ok" | "error" (answer written)

    def answered(self, pending: Pending) -> None:
        """The whole answer of ``pending`` was written."""
        if pending.setting is None:
            self.complete.add(pending.n)
            return
        self.setting_outcome[pending.n] = "error" if pending.refused else "ok"
        if not pending.refused:
            self.settings.append((pending.order, pending.setting))

    def next_seq(self, name: str) -> int:
        self.seq += 1
        self.events.append((name, self.seq))
        return self.seq

    def expected_settings(self) -> list[tuple[str, str]]:
        """What a reconnect must re-apply: the latest Events, every Filter, in order."""
        kept: list[tuple[str, str]] = []
        # In the order the server read them (which is the order it applied them in), whatever
        # the order of the answers.
        for _, (name, value) in sorted(self.settings):
            if name == "Events":
                kept = [item for item in kept if item[0] != "Events"]
            kept.append((name, value))
        return kept

    def live(self) -> Conn | None:
        """The connection the client is using, if the server still serves it."""
        if not self.conns:
            return None
        conn = self.conns[-1]
        # (A connection doomed to die while the settings are re-applied is never the live one.)
        if conn.logged_in and not (conn.dead or conn.frozen) and conn.kill_after is None:
            return conn
        return None


def setting_key(action: Message) -> tuple[str, str]:
    if action["Action"] == "Events":
        return ("Events", f"{action['EventMask']}#{action['N']}")
    return ("Filter", action["Filter"])


def answer_for(action: Message, n: int, kind: str, items: int) -> deque[Message]:
    aid = ("ActionID", action.action_id or "")
    if kind == "plain":
        return deque([response(action, ("Marker", str(n)))])
    if kind == "originate":
        return deque(
            [
                response(action, ("Message", "Originate successfully queued")),
                event(
                    "OriginateResponse",
                    aid,
                    ("Response", "Success"),
                    ("Channel", f"Local/{n}@ami-test-00000001;1"),
                    ("Reason", "4"),
                    ("Marker", str(n)),
                ),
            ]
        )
    start = response(action, ("EventList", "start"), ("Message", "will follow"))
    listed = [event("Item", aid, ("N", str(n)), ("J", str(j))) for j in range(items)]
    done = event("ItemsComplete", aid, ("EventList", "Complete"), ("ListItems", str(items)))
    return deque([start, *listed, done])


def make_handler(world: World, kinds: dict[int, tuple[str, int]]) -> Callable[[Peer], Any]:
    async def handler(peer: Peer) -> None:
        mode = world.modes.popleft() if world.modes else "ok"
        conn = Conn(world, len(world.conns), peer, mode)
        world.conns.append(conn)
        world.changed.notify()
        try:
            await serve(conn)
        finally:
            conn.dead = True
            world.changed.notify()

    async def serve(conn: Conn) -> None:
        peer, mode = conn.peer, conn.mode
        if mode == "refuse_accept":
            await conn.close()
            return
        await peer.stream.send(BANNER)
        login = await peer.read_action()
        conn.received.append(login)
        assert login["Action"] == "Login", login
        assert login["Secret"] == SECRET, login
        if mode == "refuse_login":
            refused = response(login, ("Message", "Authentication failed"), status="Error")
            await conn.close(serialize_message(refused))
            return
        answer = serialize_message(response(login, ("Message", "Authentication accepted")))
        if mode == "die_in_login":
            await conn.close(answer[: len(answer) // 2])
            return
        conn.expected = world.expected_settings()
        if mode.startswith("die_after_"):
            count = int(mode.removeprefix("die_after_"))
            if count == 0 or count < len(conn.expected):
                conn.kill_after = count
        booted = () if conn.index == 0 else (event("FullyBooted", ("Status", "Fully Booted")),)
        await conn.write(*booted, head=answer)  # (as Asterisk: FullyBooted right behind it)
        if conn.kill_after == 0:
            await conn.close()
            return
        conn.logged_in = True
        world.changed.notify()
        while True:
            action = await peer.read_action()
            conn.received.append(action)
            name = action["Action"]
            number = action.get("N")
            if number is not None and name not in ("Events", "Filter"):
                world.sent[int(number)] = action.action_id or ""
            if name != "Ping":  # (the keepalive's, every few ms: no news for the script)
                world.changed.notify()
            if conn.frozen:
                continue
            if name == "Ping":
                await conn.write(response(action, ("Ping", "Pong")), pong=True)
            elif name == "Logoff":
                await conn.write(response(action, status="Goodbye"))
                await conn.close()
                return
            elif name in ("Events", "Filter"):
                await take_setting(conn, action)
            else:
                n = int(action["N"])
                kind, items = kinds[n]
                world.read += 1
                queue = answer_for(action, n, kind, items)
                conn.pending[action.action_id or ""] = Pending(
                    action.action_id or "", n, world.read, queue
                )

    async def take_setting(conn: Conn, action: Message) -> None:
        key = setting_key(action)
        if "bad" in action.get("Filter", ""):
            reply = response(action, ("Message", "Invalid filter"), status="Error")
        else:
            reply = response(action)
        if any(key == known for _, known in world.settings):
            # Re-applied after a reconnect (each of the user's settings is unique): answered
            # at once, as Asterisk does; this is where a connection may be made to die.
            if await conn.write(reply):
                conn.settings_answered += 1
                if conn.kill_after is not None and conn.settings_answered >= conn.kill_after:
                    await conn.close()
            return
        n = int(action["N"]) if action.get("N") else int(action["Filter"].split("-")[-1])
        world.reached.add(n)
        world.read += 1
        if n in world.held:
            # Answered along with whatever the server writes next (an event, another answer,
            # a Pong): several settings answered in one read.
            action_id = action.action_id or ""
            pending = Pending(action_id, n, world.read, deque([reply]), key, reply.is_error)
            conn.pending[action_id] = pending
        elif await conn.write(reply):
            world.setting_outcome[n] = "error" if reply.is_error else "ok"
            if not reply.is_error:
                world.settings.append((world.read, key))

    return handler


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@given(script=scripts)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_reconnects_keep_every_promise(backend: str, script: list[tuple[Any, ...]]) -> None:
    anyio.run(run_script, script, backend=backend)


async def run_script(script: list[tuple[Any, ...]]) -> None:
    world = World()
    kinds: dict[int, tuple[str, int]] = {}
    outcomes: dict[int, Any] = {}
    done: set[int] = set()
    faults = 0
    async with fake_server(make_handler(world, kinds)) as (port, _):
        with anyio.fail_after(10):
            async with (
                connect_to(port, reconnect=POLICY, keepalive=KEEPALIVE) as ami,
                ami.subscribe() as every,
                ami.subscribe("UserEvent") as user_events,
                ami.watch_state(buffer=10_000) as states,
            ):
                async with anyio.create_task_group() as tg:

                    async def run(n: int, call: Callable[[], Awaitable[Any]]) -> None:
                        try:
                            outcomes[n] = await call()
                        except (ConnectionLost, ActionError) as error:
                            outcomes[n] = error
                        finally:
                            done.add(n)
                            world.changed.notify()

                    async def relay_states() -> None:
                        async with ami.watch_state() as changes:
                            async for _ in changes:
                                world.changed.notify()

                    tg.start_soon(relay_states)

                    async def until(condition: Callable[..., bool], *args: Any) -> None:
                        while not condition(*args):
                            with anyio.move_on_after(0.05):  # (a last resort: all is notified)
                                await world.changed.wait()

                    def reached_or_done(n: int) -> bool:
                        return n in world.sent or n in world.reached or n in done

                    def connected() -> bool:
                        return ami.state is ConnectionState.CONNECTED and world.live() is not None

                    for n, step in enumerate(script):
                        what = step[0]
                        if what == "send":
                            _, kind, items = step
                            kinds[n] = (kind, items)
                            tg.start_soon(run, n, partial(user_call, ami, n, step))
                            # Until the server read it, or it failed: the server reads the
                            # script's sends in their order.
                            await until(partial(reached_or_done, n))
                        elif what == "answer":
                            _, pick, count, together = step
                            conn = world.live()
                            # (Not the held settings: they go with any write, in their order,
                            # as Asterisk answers settings.)
                            waiting = (
                                [a for a, p in conn.pending.items() if p.setting is None]
                                if conn
                                else []
                            )
                            if conn is not None and waiting:
                                if together:
                                    # In one write, so in one read: the client wakes all their
                                    # senders at once (trio resumes them in any order).
                                    await conn.answer([(aid, count) for aid in waiting])
                                else:
                                    await conn.answer([(waiting[pick % len(waiting)], count)])
                        elif what == "emit":
                            conn = world.live()
                            if conn is not None:
                                await conn.write(
                                    *(
                                        event("UserEvent", ("UserEvent", f"e{n}.{i}"))
                                        for i in range(step[1])
                                    )
                                )
                        elif what == "setting":
                            _, _, background, _ = step
                            if background:
                                world.held.add(n)
                            tg.start_soon(run, n, partial(user_call, ami, n, step))
                            if background:
                                await until(partial(reached_or_done, n))
                            else:
                                await until(done.__contains__, n)
                        else:
                            _, how, modes = step
                            await until(connected)
                            conn = world.live()
                            assert conn is not None
                            faults += 1
                            world.modes = deque(modes)
                            if how == "freeze":
                                async with conn.lock:
                                    conn.frozen = True
                            elif how == "partial":
                                if conn.pending:
                                    first = next(iter(conn.pending.values()))
                                    raw = serialize_message(first.queue[0])
                                else:
                                    raw = b"Response: Success\r\nActionID: 999999\r\n\r\n"
                                await conn.close(raw[: max(1, len(raw) // 2)])
                            else:
                                await conn.close()

                    # The end: back on a live link, every answer written, every task over.
                    await until(connected)
                    conn = world.live()
                    assert conn is not None
                    if conn.pending:
                        await conn.answer(
                            [(a, 1_000) for a, p in conn.pending.items() if p.setting is None]
                        )
                    tg_names = {
                        n for n, step in enumerate(script) if step[0] in ("send", "setting")
                    }
                    await until(lambda: tg_names <= done)
                    # Nothing left in flight (but for a keepalive Ping, now and then: the
                    # wait ends between two; polled, as reads of Pings are not notified).
                    while ami.statistics().pending_actions:  # noqa: ASYNC110
                        await anyio.sleep(0.001)
                    tg.cancel_scope.cancel()  # (relay_states)
                reconnects = ami.statistics().reconnects
                await ami.aclose()
                got_every = [(e.name, int(e["Seq"])) async for e in every]
                got_user = [int(e["Seq"]) async for e in user_events]
                seen_states = [state async for state in states]

    check_outcomes(script, world, kinds, outcomes)
    check_wire(world)
    # Subscribers: every event the server wrote, in order, none twice (a filtered one: its own).
    assert got_every == world.events
    assert got_user == [seq for name, seq in world.events if name == "UserEvent"]
    check_states(seen_states, reconnects, faults)


async def user_call(ami: ami_client.AMIClient, n: int, step: tuple[Any, ...]) -> Any:
    """What the script's n-th step (a send or a setting) asks of the client."""
    what, kind = step[0], step[1]
    if what == "send":
        if kind == "plain":
            return await ami.send(Action("Thing", N=str(n)))
        if kind == "list":
            return await ami.collect(Action("Things", N=str(n)))
        return await ami.originate(Action("Originate", Channel=f"Local/{n}@ami-test", N=str(n)))
    if kind == "events":
        return await ami.send(Action("Events", EventMask=MASKS[step[3]], N=str(n)))
    if kind == "filter_api":
        return await ami.add_filter(f"Event: F-{n}")
    bad = "bad-" if kind == "bad_filter" else ""
    return await ami.send(Action("Filter", Operation="Add", Filter=f"Event: {bad}F-{n}"))


def check_outcomes(
    script: list[tuple[Any, ...]],
    world: World,
    kinds: dict[int, tuple[str, int]],
    outcomes: dict[int, Any],
) -> None:
    for n, step in enumerate(script):
        if step[0] == "send":
            outcome = outcomes[n]
            kind, items = kinds[n]
            if n not in world.complete:
                # In flight at a fault, or sent while reconnecting: never answered.
                assert isinstance(outcome, ConnectionLost), (n, outcome)
            elif kind == "plain":
                assert isinstance(outcome, Response), outcome
                assert outcome["Marker"] == str(n), outcome
            elif kind == "list":
                assert isinstance(outcome, EventListResult), outcome
                assert [(i["N"], i["J"]) for i in outcome.items] == [
                    (str(n), str(j)) for j in range(items)
                ]
                assert outcome.complete["ListItems"] == str(items)
            else:
                assert isinstance(outcome, OriginateResult), outcome
                assert outcome.success, outcome
                assert outcome.event["Marker"] == str(n), outcome
        elif step[0] == "setting":
            outcome = outcomes[n]
            written = world.setting_outcome.get(n)
            if written is None:
                assert isinstance(outcome, ConnectionLost), (n, outcome)
            elif written == "error":
                assert isinstance(outcome, ActionError), (n, outcome)
            else:
                assert isinstance(outcome, Response), outcome
                assert outcome.status == "Success", outcome


def check_wire(world: World) -> None:
    everything = [action for conn in world.conns for action in conn.received]
    ids = [action.action_id for action in everything]
    # Nothing sent twice, on any connection (re-applied settings are new actions: new IDs).
    assert len(ids) == len(set(ids)), ids
    numbers = [a["N"] for a in everything if a.get("N") and a["Action"] not in ("Events", "Filter")]
    assert len(numbers) == len(set(numbers)), numbers
    for conn in world.conns[1:]:
        if not conn.received:
            continue
        assert conn.received[0]["Action"] == "Login"
        after = [a for a in conn.received[1:] if a["Action"] != "Ping"]
        # The settings come first, as the server first took them; only then the user's.
        head: list[tuple[str, str]] = []
        for action in after[: len(conn.expected)]:
            if action["Action"] not in ("Events", "Filter"):
                break
            head.append(setting_key(action))
        assert head == conn.expected[: len(head)], (head, conn.expected)
        if len(after) > len(head):  # the user sent something on this link: all came before
            assert head == conn.expected, (after, conn.expected)


_VALID = {
    (ConnectionState.CONNECTED, ConnectionState.RECONNECTING),
    (ConnectionState.RECONNECTING, ConnectionState.CONNECTED),
    (ConnectionState.CONNECTED, ConnectionState.CLOSING),
    (ConnectionState.CLOSING, ConnectionState.CLOSED),
}


def check_states(seen: list[ConnectionState], reconnects: int, faults: int) -> None:
    path = [ConnectionState.CONNECTED, *seen]
    for before, after in pairwise(path):
        assert (before, after) in _VALID, path
    assert path[-2:] == [ConnectionState.CLOSING, ConnectionState.CLOSED], path
    assert seen.count(ConnectionState.CONNECTED) == reconnects
    assert seen.count(ConnectionState.RECONNECTING) == reconnects
    # Each fault ended a link the client had; a reconnect may die too (and is one more).
    assert reconnects >= faults


# -- regressions found by the property ---------------------------------------------------------


async def _reconnect_after(
    first_link: Callable[[Peer], Awaitable[None]],
    client_side: Callable[[ami_client.AMIClient], Awaitable[None]],
) -> list[Message]:
    """Run ``client_side`` against a first link served by ``first_link`` (which must end by
    dropping the link); returns what the second link received up to the client's Ping."""
    peers: list[Peer] = []

    async def handler(peer: Peer) -> None:
        peers.append(peer)
        await peer.login()
        if len(peers) == 1:
            await first_link(peer)
            return
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with connect_to(port, reconnect=POLICY) as ami:
                async with ami.watch_state() as states:
                    await client_side(ami)
                    async for state in states:
                        if state is ConnectionState.CONNECTED:
                            break
                await ami.send(Action("Ping"))
    return peers[1].received


@pytest.mark.anyio
async def test_settings_answered_in_one_read_are_re_applied_as_the_server_took_them(
    anyio_backend: str,
) -> None:
    # Found by the property on trio: the senders of settings answered in one read resume in
    # any order (trio shuffles them), and each remembered its setting as it resumed -- so a
    # reconnect could restore the older Events mask, or the Filters out of order.
    async def first_link(peer: Peer) -> None:
        actions = [await peer.read_action() for _ in range(3)]
        await peer.stream.send(b"".join(serialize_message(response(a)) for a in actions))
        await peer.read_action()  # "Drop": the link dies

    async def client_side(ami: ami_client.AMIClient) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ami.events_mask, "call")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(ami.add_filter, "Event: Hangup")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(ami.events_mask, "call,user")
        with pytest.raises(ConnectionLost):
            await ami.send(Action("Drop"))

    # Each round had two chances in three or more to go wrong on trio (asyncio resumes the
    # senders in the order they were woken: one round shows it keeps that order).
    for _ in range(12 if anyio_backend == "trio" else 1):
        again = await _reconnect_after(first_link, client_side)
        settings = [(a["Action"], a.get("EventMask") or a.get("Filter")) for a in again[1:3]]
        assert settings == [("Filter", "Event: Hangup"), ("Events", "call,user")]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_setting_accepted_is_re_applied_though_its_sender_was_cancelled_meanwhile(
    anyio_backend: str,
) -> None:
    # The server applied the filter and said so; the caller was cancelled (asyncio's own
    # task.cancel(), as asyncio.timeout does) after the answer came, before it resumed. The
    # session has the filter all the same: a reconnect must restore it. (anyio's and trio's
    # cancel scopes leave a task alone once its wait is over: asyncio only.)
    async def first_link(peer: Peer) -> None:
        action = await peer.read_action()
        # The event first, in the same write: its subscriber is woken before the sender.
        await peer.send(event("UserEvent", ("UserEvent", "cancel")), response(action))
        await peer.read_action()  # "Drop": the link dies

    async def client_side(ami: ami_client.AMIClient) -> None:
        async with ami.subscribe("UserEvent") as events:
            sender = asyncio.ensure_future(ami.add_filter("Event: Hangup"))
            await events.receive()
            sender.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sender  # (cancelled, though its answer had come: the case at hand)
        with pytest.raises(ConnectionLost):
            await ami.send(Action("Drop"))

    again = await _reconnect_after(first_link, client_side)
    assert [(a["Action"], a.get("Filter")) for a in again[1:2]] == [("Filter", "Event: Hangup")]
