"""Any script of sends, events, settings and link faults: the reconnect supervisor and the
keepalive keep every promise they make.

Hypothesis draws a script for the client and a scripted server over real loopback sockets:
sends of plain actions, EventLists and async ``Originate``s, answered by the server piecemeal
(a list may be cut off half-way); events the server sends unprompted; ``Events``/``Filter``
settings sent by the user (awaited, or left running alongside the rest); and link faults at
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

from .fakeserver import BANNER, SECRET, Peer, event, fake_server, response

POLICY = ReconnectPolicy(initial_delay=0.001, max_delay=0.004, jitter=0.5)
# Pings every 20 ms; a frozen server is found within 0.2 s. The timeout is kept well above a
# loopback round trip on a busy machine: a spurious timeout would be a fault the script did
# not draw.
KEEPALIVE = Keepalive(interval=0.02, timeout=0.2)
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
answer_steps = st.tuples(st.just("answer"), st.integers(0, 7), st.integers(1, 4))
emit_steps = st.tuples(st.just("emit"), st.integers(1, 3))
setting_steps = st.tuples(
    st.just("setting"),
    st.sampled_from(("events", "filter", "filter_api", "bad_filter")),
    st.booleans(),  # left running alongside the next steps (else awaited)
    st.integers(0, len(MASKS) - 1),
)
fault_steps = st.tuples(
    st.just("fault"),
    st.sampled_from(("close", "close", "partial", "freeze")),
    st.lists(st.sampled_from(CONNECT_MODES), max_size=3),
)
scripts = st.lists(
    st.one_of(send_steps, answer_steps, emit_steps, setting_steps, fault_steps),
    min_size=1,
    max_size=20,
)


class Notifier:
    """Wakes everyone waiting for *something* to change (a read, a task ending)."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class Conn:
    """The server's view of one connection."""

    def __init__(self, world: World, index: int, peer: Peer, mode: str) -> None:
        self.world = world
        self.index = index
        self.peer = peer
        self.mode = mode
        self.lock = anyio.Lock()
        self.received: list[Message] = []
        # Answers not written yet (ActionID -> (the sender's number, messages to write)).
        self.pending: dict[str, tuple[int, deque[Message]]] = {}
        self.logged_in = False
        self.dead = False  # closed by the server: nothing more is written
        self.frozen = False  # writes nothing more, keeps reading (a hung server)
        self.settings_answered = 0
        self.kill_after: int | None = None
        self.expected: list[tuple[str, str]] = []  # the settings it must get again first

    async def write(self, *messages: Message, head: bytes = b"") -> bool:
        """Write ``head`` and ``messages`` in one write (events get their Seq now), unless the
        link is dead or frozen."""
        async with self.lock:
            if self.dead or self.frozen:
                return False
            chunks = [head]
            for message in messages:
                if isinstance(message, ami_client.Event):
                    seq = self.world.next_seq(message.name)
                    message = ami_client.Event([*message.fields, ("Seq", str(seq))])
                chunks.append(serialize_message(message))
            await self.peer.stream.send(b"".join(chunks))
            return True

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
        self.answered: set[int] = set()  # sends whose whole answer was written
        # Settings the server accepted from the user (not re-applications), in order.
        self.settings: list[tuple[str, str]] = []
        self.setting_outcome: dict[int, str] = {}  # N -> "ok" | "error" (answer written)

    def next_seq(self, name: str) -> int:
        self.seq += 1
        self.events.append((name, self.seq))
        return self.seq

    def expected_settings(self) -> list[tuple[str, str]]:
        """What a reconnect must re-apply: the latest Events, every Filter, in order."""
        kept: list[tuple[str, str]] = []
        for name, value in self.settings:
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
            world.changed.notify()
            if conn.frozen:
                continue
            if name == "Ping":
                await conn.write(response(action, ("Ping", "Pong")))
            elif name == "Logoff":
                await conn.write(response(action, status="Goodbye"))
                await conn.close()
                return
            elif name in ("Events", "Filter"):
                await answer_setting(conn, action)
            else:
                n = int(action["N"])
                kind, items = kinds[n]
                conn.pending[action.action_id or ""] = (n, answer_for(action, n, kind, items))

    async def answer_setting(conn: Conn, action: Message) -> None:
        key = setting_key(action)
        reapplied = key in world.settings  # (each user setting is unique: this is a re-send)
        if "bad" in action.get("Filter", ""):
            reply = response(action, ("Message", "Invalid filter"), status="Error")
        else:
            reply = response(action)
        if not await conn.write(reply):
            return
        if not reapplied:
            n = int(action["N"]) if action.get("N") else int(action["Filter"].split("-")[-1])
            world.setting_outcome[n] = "error" if reply.is_error else "ok"
            if not reply.is_error:
                world.settings.append(key)
        conn.settings_answered += 1
        if conn.kill_after is not None and conn.settings_answered >= conn.kill_after:
            await conn.close()

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
        with anyio.fail_after(20):
            async with (
                ami_client.connect(
                    "127.0.0.1",
                    port,
                    username="admin",
                    secret=SECRET,
                    reconnect=POLICY,
                    keepalive=KEEPALIVE,
                ) as ami,
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
                        return n in world.sent or n in done

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
                            _, pick, count = step
                            conn = world.live()
                            if conn is not None and conn.pending:
                                action_id = list(conn.pending)[pick % len(conn.pending)]
                                number, queue = conn.pending[action_id]
                                chunk = [queue.popleft() for _ in range(min(count, len(queue)))]
                                if not queue:
                                    del conn.pending[action_id]
                                if await conn.write(*chunk) and not queue:
                                    world.answered.add(number)
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
                            tg.start_soon(run, n, partial(user_call, ami, n, step))
                            if not background:
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
                                    number, queue = next(iter(conn.pending.values()))
                                    raw = serialize_message(queue[0])
                                else:
                                    raw = b"Response: Success\r\nActionID: 999999\r\n\r\n"
                                await conn.close(raw[: max(1, len(raw) // 2)])
                            else:
                                await conn.close()

                    # The end: back on a live link, every answer written, every task over.
                    await until(connected)
                    conn = world.live()
                    assert conn is not None
                    for action_id, (number, queue) in list(conn.pending.items()):
                        del conn.pending[action_id]
                        if await conn.write(*queue):
                            world.answered.add(number)
                    tg_names = {
                        n for n, step in enumerate(script) if step[0] in ("send", "setting")
                    }
                    await until(lambda: tg_names <= done)
                    tg.cancel_scope.cancel()  # (relay_states)
                assert ami.statistics().pending_actions == 0
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
            if n not in world.answered:
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
