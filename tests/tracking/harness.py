"""Scenario harness of the tracker tests: a cuttable, recording TCP proxy; checkpoints that
compare the tracker with what Asterisk lists; and the call scenarios themselves.

Used live by ``test_tracking_asterisk.py`` and by ``record_scenarios.py``, which saves the
tracker connection's bytes and the checkpoints for the replay tests.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

import ami_client
from ami_client import Action
from ami_client._private.tracking.tracker import _watched as watched
from ami_client.tracking import Reducer, Tracker, TrackerState

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "data" / "scenarios"
CONTEXT = "ami-test"


class Proxy:
    """A TCP proxy on loopback between the tracker's client and Asterisk.

    It records what the server sent (``received``) and can cut every connection at once
    (:meth:`cut`), which the client sees as a dead link.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.received = bytearray()
        self.port = 0
        self._conns: list[tuple[anyio.abc.SocketStream, anyio.abc.SocketStream]] = []
        self._refuse = False

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Proxy]:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, self._handle, tg)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    async def _handle(self, client: anyio.abc.SocketStream) -> None:
        try:
            await self._proxy(client)
        finally:
            # Also when cancelled mid-way (a failing test): never leave a socket open.
            await anyio.aclose_forcefully(client)

    async def _proxy(self, client: anyio.abc.SocketStream) -> None:
        if self._refuse:
            return
        server = await anyio.connect_tcp(*self.target)
        try:
            await self._pipe_both(client, server)
        finally:
            await anyio.aclose_forcefully(server)

    async def _pipe_both(
        self, client: anyio.abc.SocketStream, server: anyio.abc.SocketStream
    ) -> None:
        self._conns.append((client, server))

        async def pipe(src: anyio.abc.SocketStream, dst: anyio.abc.SocketStream, rec: bool) -> None:
            with contextlib.suppress(Exception):
                async for data in src:
                    if rec:
                        self.received += data
                    await dst.send(data)
            with contextlib.suppress(Exception):
                await dst.aclose()
            with contextlib.suppress(Exception):
                await src.aclose()

        async with anyio.create_task_group() as tg:
            tg.start_soon(pipe, server, client, True)
            tg.start_soon(pipe, client, server, False)

    async def cut(self, *, refuse: bool = False) -> None:
        """Close every proxied connection (and refuse new ones while ``refuse``)."""
        self._refuse = refuse
        conns, self._conns = self._conns, []
        for client, server in conns:
            with contextlib.suppress(Exception):
                await client.aclose()
            with contextlib.suppress(Exception):
                await server.aclose()

    def allow(self) -> None:
        self._refuse = False


# -- comparing with the server --------------------------------------------------------------


def tracker_view(state: TrackerState) -> dict[str, Any]:
    """What a checkpoint compares: channels and bridges, as plain JSON-able data."""
    return {
        "channels": {
            uid: {
                "name": ch.name,
                "state": int(ch.state) if ch.state is not None else None,
                "linked_id": ch.linked_id,
                "bridge": ch.bridge_id,
                "context": ch.context,
                "exten": ch.exten,
            }
            for uid, ch in state.channels.items()
        },
        "bridges": {
            bid: {"type": b.type, "technology": b.technology, "members": sorted(b.members)}
            for bid, b in state.bridges.items()
        },
    }


def _text(value: str | None) -> str | None:
    # As the typed catalogue reads text: Asterisk's "<unknown>" placeholder is None.
    return None if value is None or value == "<unknown>" else value


async def server_view(ctl: ami_client.AMIClient) -> dict[str, Any]:
    """The same view from BridgeList and CoreShowChannels on the control connection."""
    bridges_list = await ctl.collect(Action("BridgeList"))
    channels_list = await ctl.collect(Action("CoreShowChannels"))
    channels: dict[str, Any] = {}
    members: dict[str, list[str]] = {}
    for item in channels_list.items:
        msg = item.message if hasattr(item, "message") else item
        uid = msg["Uniqueid"]
        bridge = msg.get("BridgeId") or None
        channels[uid] = {
            "name": msg["Channel"],
            "state": int(msg["ChannelState"]),
            "linked_id": msg["Linkedid"],
            "bridge": bridge,
            "context": _text(msg.get("Context")),
            "exten": _text(msg.get("Exten")),
        }
        if bridge:
            members.setdefault(bridge, []).append(uid)
    bridges: dict[str, Any] = {}
    for item in bridges_list.items:
        msg = item.message if hasattr(item, "message") else item
        bid = msg["BridgeUniqueid"]
        bridges[bid] = {
            "type": msg.get("BridgeType"),
            "technology": msg.get("BridgeTechnology"),
            "members": sorted(members.get(bid, [])),
        }
    return {"channels": channels, "bridges": bridges}


# -- a scenario run ----------------------------------------------------------------------------


class Run:
    """One scenario: a control client, a tracker behind the proxy, checkpoints, a log."""

    def __init__(self, ctl: ami_client.AMIClient, tracker: Tracker, proxy: Proxy) -> None:
        self.ctl = ctl
        self.tracker = tracker
        self.proxy = proxy
        self.checkpoints: list[dict[str, Any]] = []
        self.syncs: list[dict[str, Any]] = []
        self.linked_ids: set[str] = set()
        self.all_linked_ids: set[str] = set()
        self.first_event: list[Any] = []
        reducer = tracker.reducer
        begin = reducer.begin_sync

        def logged_begin_sync(*, channels_action_id: str, bridges_action_id: str) -> None:
            # The replay test needs to know where in the stream each seeding began.
            self.syncs.append(
                {"at": reducer.events, "channels": channels_action_id, "bridges": bridges_action_id}
            )
            begin(channels_action_id=channels_action_id, bridges_action_id=bridges_action_id)

        reducer.begin_sync = logged_begin_sync  # type: ignore[method-assign]

    async def originate(self, channel: str, **fields: str) -> None:
        """Originate (async) and wait for its answer; remember the call's Linkedid."""
        if "Application" not in fields and "Exten" not in fields:
            fields.update(Application="Wait", Data="60")
        result = await self.ctl.originate(Action("Originate", Channel=channel, **fields))
        assert result.success, result
        msg = getattr(result.event, "message", result.event)
        uid = msg.get("Uniqueid") if msg is not None else None
        if uid:
            ch = await self.tracker.wait_channel(uid)
            if ch.linked_id:
                self.linked_ids.add(ch.linked_id)
                self.all_linked_ids.add(ch.linked_id)

    def mine(self, state: TrackerState | None = None) -> dict[str, Any]:
        """The tracked channels of this scenario's calls."""
        state = state or self.tracker.state()
        return {u: c for u, c in state.channels.items() if c.linked_id in self.linked_ids}

    async def channel(self, predicate: Callable[[Any], bool]) -> Any:
        """Wait for one of this scenario's channels satisfying ``predicate``."""

        def ok(s: TrackerState) -> bool:
            return any(predicate(c) for c in self.mine(s).values())

        state = await self.tracker.wait_until(ok)
        return next(c for c in self.mine(state).values() if predicate(c))

    async def checkpoint(self, label: str, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until the tracker equals what the server lists; log it for the replay."""
        last: tuple[Any, Any] = (None, None)
        with anyio.move_on_after(timeout):
            while True:
                server = await server_view(self.ctl)
                mine = tracker_view(self.tracker.state())
                if mine == server:
                    entry = {"label": label, "at": self.tracker.reducer.events, **mine}
                    self.checkpoints.append(entry)
                    return mine
                last = (mine, server)
                await anyio.sleep(0.05)
        raise AssertionError(f"checkpoint {label!r}: tracker {last[0]!r} != server {last[1]!r}")

    async def ended(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Wait until every channel of the scenario's calls is gone, then check the server."""
        with anyio.fail_after(timeout):
            await self.tracker.wait_until(lambda s: not self.mine(s))
        await self.checkpoint("end")

    async def hangup(self, name: str) -> None:
        await self.ctl.send(Action("Hangup", Channel=name))


Scenario = Callable[[Run], Awaitable[None]]


async def dial_bridge(run: Run) -> None:
    """A Local call that dials and bridges, ended from the caller's side, then a second one
    ended from the callee's side."""
    await run.originate(f"Local/dial-local@{CONTEXT}")
    caller = await run.channel(
        lambda c: c.name.startswith("Local/dial-local@") and c.name.endswith(";2") and c.bridge_id
    )
    await run.checkpoint("bridged")
    first = await run.channel(lambda c: c.name.endswith(";1") and "dial-local" in c.name)
    await run.hangup(first.name)
    await run.tracker.wait_hangup(caller.unique_id)
    await run.ended()
    run.linked_ids.clear()
    await run.originate(f"Local/dial-local@{CONTEXT}")
    callee = await run.channel(lambda c: c.name.startswith("Local/wait@") and c.name.endswith(";2"))
    await run.channel(lambda c: c.bridge_id is not None)
    await run.checkpoint("bridged-again")
    await run.hangup(callee.name)
    await run.ended()


async def bridge_action(run: Run) -> None:
    """Two calls bridged with the Bridge action; one side hangs up."""
    await run.originate(f"Local/wait@{CONTEXT}")
    await run.originate(f"Local/wait@{CONTEXT}")
    ones = [c for c in run.mine().values() if c.name.endswith(";1")]
    assert len(ones) == 2, ones
    await run.ctl.send(Action("Bridge", Channel1=ones[0].name, Channel2=ones[1].name))
    bridged = await run.tracker.wait_until(
        lambda s: sum(1 for c in run.mine(s).values() if c.bridge_id) == 2
    )
    assert len({c.bridge_id for c in run.mine(bridged).values() if c.bridge_id}) == 1
    await run.checkpoint("bridged")
    await run.hangup(ones[0].name)
    await run.tracker.wait_hangup(ones[0].unique_id)
    await run.checkpoint("one-side-gone")
    for ch in run.mine().values():
        with contextlib.suppress(ami_client.ActionError):
            await run.hangup(ch.name)
    await run.ended()


async def blind_transfer(run: Run) -> None:
    """A bridged call; the callee blind-transfers the caller to another extension."""
    await run.originate(f"Local/dial-local@{CONTEXT}")
    transferer = await run.channel(
        lambda c: c.name.startswith("Local/wait@") and c.name.endswith(";1") and c.bridge_id
    )
    bridge_id = transferer.bridge_id
    await run.checkpoint("bridged")
    await run.ctl.send(
        Action("BlindTransfer", Channel=transferer.name, Context=CONTEXT, Exten="wait-2")
    )

    def seen(s: TrackerState) -> list[Any]:
        # Live channels and those that ended already: wait_until sees the state when it runs,
        # and under load the transferee may have finished wait-2 (two seconds) by then.
        ended = [c for c in run.tracker.ended if c.linked_id in run.linked_ids]
        return [*run.mine(s).values(), *ended]

    state = await run.tracker.wait_until(lambda s: any(c.transfers for c in seen(s)))
    transferee = next(c for c in seen(state) if c.transfers)
    transfer = transferee.transfers[0]
    assert transfer.kind == "blind", transfer
    assert transfer.result == "Success", transfer
    assert transfer.transferer == transferer.unique_id
    assert transfer.extension == "wait-2"
    assert transfer.context == CONTEXT
    assert bridge_id in transfer.bridges
    if transferer.unique_id in run.tracker.channels:  # no await in between: no race
        await run.tracker.wait_hangup(transferer.unique_id)
    await run.checkpoint("transferred")

    # The transferee runs wait-2 (two seconds) and hangs up: under load it may be gone by
    # now, so look among the ended channels too.
    await run.tracker.wait_until(lambda s: any(c.exten == "wait-2" for c in seen(s)))
    for ch in run.mine().values():
        with contextlib.suppress(ami_client.ActionError):
            await run.hangup(ch.name)
    await run.ended()


async def attended_transfer(run: Run) -> None:
    """A bridged call; the callee's side consults a third party (Atxfer), then hangs up: the
    transfer completes and the consultation bridge merges into the first one."""
    # The `atxfer` extension dials with option T, so its ;2 half may transfer. Atxfer sends
    # the target as DTMF, hence the numeric extension 7000 (see tests/asterisk/server.py).
    await run.originate(f"Local/atxfer@{CONTEXT}")
    transferer = await run.channel(
        lambda c: c.name.startswith("Local/atxfer@") and c.name.endswith(";2") and c.bridge_id
    )
    first_bridge = transferer.bridge_id
    transferee = next(
        c for c in run.mine().values() if c.bridge_id == first_bridge and c is not transferer
    )
    await run.checkpoint("bridged")
    await run.ctl.send(Action("Atxfer", Channel=transferer.name, Exten="7000", Context=CONTEXT))

    def consulting(s: TrackerState) -> bool:
        mine = run.mine(s)
        me = mine.get(transferer.unique_id)
        return me is not None and any(
            c.name.startswith("Local/7000@") and c.bridge_id and c.bridge_id == me.bridge_id
            for c in mine.values()
        )

    state = await run.tracker.wait_until(consulting)
    consultation = state.channels[transferer.unique_id].bridge_id
    assert consultation
    assert consultation != first_bridge
    # Asterisk 22 reports the Hold on the transferer's channel, not on the transferee's.
    assert state.channels[transferer.unique_id].on_hold
    await run.checkpoint("consulting")

    await run.hangup(transferer.name)  # completes the transfer

    def seen(s: TrackerState) -> list[Any]:
        ended = [c for c in run.tracker.ended if c.linked_id in run.linked_ids]
        return [*run.mine(s).values(), *ended]

    def done(s: TrackerState) -> bool:
        return consultation not in s.bridges and any(
            c.unique_id == transferee.unique_id and c.transfers for c in seen(s)
        )

    state = await run.tracker.wait_until(done)
    got = next(c for c in seen(state) if c.unique_id == transferee.unique_id)
    transfer = got.transfers[0]
    assert transfer.kind == "attended", transfer
    assert transfer.result == "Success", transfer
    assert transfer.transferer == transferer.unique_id
    assert transfer.transferee == transferee.unique_id
    assert transfer.dest_type == "Bridge"
    assert transfer.dest_bridge == first_bridge
    assert set(transfer.bridges) == {first_bridge, consultation}
    if first_bridge in state.bridges:
        merged = state.bridges[first_bridge]
        assert consultation in merged.merged_from
        assert transfer in merged.transfers
        # The transferee now talks to the target's Local half, moved over by the merge.
        names = [state.channels[m].name for m in merged.members if m in state.channels]
        assert any(n.startswith("Local/7000@") for n in names), names
    if transferer.unique_id in run.tracker.channels:  # no await in between: no race
        await run.tracker.wait_hangup(transferer.unique_id)
    await run.checkpoint("transferred")
    for ch in run.mine().values():
        with contextlib.suppress(ami_client.ActionError):
            await run.hangup(ch.name)
    await run.ended()


async def conference(run: Run) -> None:
    """Three callers in a ConfBridge; one leaves, then all."""
    for _ in range(3):
        await run.originate(f"Local/confbridge@{CONTEXT}")

    def ours(s: TrackerState) -> list[Any]:
        # Asterisk 22 reports a ConfBridge's bridge as type "base", creator "ConfBridge"; it
        # may hold the conference's own announcer channel (CBAnn/...) besides the callers.
        return [
            b
            for b in s.bridges.values()
            if b.creator == "ConfBridge" and any(m in run.mine(s) for m in b.members)
        ]

    state = await run.tracker.wait_until(
        lambda s: any(sum(m in run.mine(s) for m in b.members) == 3 for b in ours(s))
    )
    await run.checkpoint("three-in-conference")
    conf = ours(state)[0]
    leaving = next(state.channels[m] for m in conf.members if m in run.mine(state))
    await run.hangup(leaving.name)
    await run.tracker.wait_until(
        lambda s: any(sum(m in run.mine(s) for m in b.members) == 2 for b in ours(s))
    )
    await run.checkpoint("two-in-conference")
    for ch in run.mine().values():
        with contextlib.suppress(ami_client.ActionError):
            await run.hangup(ch.name)
    await run.ended()


async def local_optimization(run: Run) -> None:
    """A Local channel bridged on both halves, with media flowing, is optimized away: the far
    ends meet in one bridge and the Local pair hangs up."""
    # Originated directly: the Local pair may be optimized away before run.originate() could
    # look it up. Its Uniqueid is the call's Linkedid (the first channel of the call).
    result = await run.ctl.originate(
        Action(
            "Originate",
            Channel=f"Local/optimize@{CONTEXT}",
            Context=CONTEXT,
            Exten="dial-local",
            Priority=1,
        )
    )
    assert result.success, result
    linked_id = result.event.get("Uniqueid")
    assert linked_id
    run.linked_ids.add(linked_id)
    run.all_linked_ids.add(linked_id)

    def seen(s: TrackerState) -> list[Any]:
        ended = [c for c in run.tracker.ended if c.linked_id in run.linked_ids]
        return [*run.mine(s).values(), *ended]

    def optimized(s: TrackerState) -> bool:
        live = list(run.mine(s).values())
        far = [c for c in live if c.name.startswith(("Local/milliwatt@", "Local/wait@"))]
        pair_gone = not any(c.name.startswith("Local/optimize@") for c in live)
        together = len(far) == 4 and len({c.bridge_id for c in far if c.name.endswith(";1")}) == 1
        return pair_gone and together and all(c.bridge_id for c in far if c.name.endswith(";1"))

    state = await run.tracker.wait_until(optimized)
    pair = [c for c in seen(state) if c.name.startswith("Local/optimize@")]
    assert len(pair) == 2, pair
    assert {c.local_peer for c in pair} == {c.unique_id for c in pair}  # the halves were linked
    await run.checkpoint("optimized")
    for ch in run.mine().values():
        with contextlib.suppress(ami_client.ActionError):
            await run.hangup(ch.name)
    await run.ended()


SCENARIOS: dict[str, Scenario] = {
    "dial_bridge": dial_bridge,
    "bridge_action": bridge_action,
    "blind_transfer": blind_transfer,
    "attended_transfer": attended_transfer,
    # Local channel optimization needs frames through the Local pair: Milliwatt provides them
    # (the `optimize` extension); without media Asterisk 22 never tries.
    "local_optimization": local_optimization,
    "conference": conference,
}


@contextlib.asynccontextmanager
async def session(
    host: str, port: int, username: str, secret: str, *, reconnect: bool = False
) -> AsyncIterator[Run]:
    """A control client (direct) and a tracked client (through a recording proxy)."""
    proxy = Proxy((host, port))
    policy = ami_client.ReconnectPolicy(initial_delay=0.05, max_delay=0.2) if reconnect else None
    async with (
        proxy.running(),
        ami_client.connect(host, port, username=username, secret=secret) as ctl,
        ami_client.connect(
            "127.0.0.1", proxy.port, username=username, secret=secret, reconnect=policy
        ) as ami,
        ami.subscribe(buffer=100_000) as events,
    ):
        # track(ami), spelt out so that the run can log where seedings begin.
        first: list[Any] = []

        async def source() -> AsyncIterator[Any]:
            # Events that came with the login answer reach no subscription: the replay
            # starts where this tracker started, at the first event it saw.
            async for item in watched(events):
                message = getattr(item, "message", item)  # typed events keep the raw one
                if not first and hasattr(message, "fields"):
                    first.append([list(f) for f in message.fields])
                yield item

        tracker = Tracker(source(), ami.send, history=200)
        run = Run(ctl, tracker, proxy)
        run.first_event = first
        async with tracker:
            yield run


def save(name: str, run: Run, description: str) -> None:
    """Write the scenario's transcript (.ami) and its checkpoints (.json)."""
    SCENARIO_DIR.mkdir(parents=True, exist_ok=True)
    (SCENARIO_DIR / f"{name}.ami").write_bytes(bytes(run.proxy.received))
    meta = {
        "scenario": name,
        "description": description,
        "first_event": run.first_event[0] if run.first_event else None,
        "syncs": run.syncs,
        "checkpoints": run.checkpoints,
        "violations": dict(run.tracker.reducer.violations),
        "linked_ids": sorted(run.all_linked_ids),
    }
    (SCENARIO_DIR / f"{name}.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def replay(
    name: str,
) -> tuple[Reducer, list[tuple[dict[str, Any], dict[str, Any]]], dict[str, Any]]:
    """Feed a recorded scenario to a fresh reducer; return it and (expected, got) per
    checkpoint."""
    from ami_client.events import from_message
    from ami_client.protocol import Event, Parser

    meta = json.loads((SCENARIO_DIR / f"{name}.json").read_text())
    parser = Parser()
    parser.receive_data((SCENARIO_DIR / f"{name}.ami").read_bytes())
    parser.receive_data(b"")
    events = [m for m in parser.next_events() if type(m) is Event]
    first = [tuple(f) for f in meta["first_event"]]
    base = next(i for i, m in enumerate(events) if list(m.fields) == first)
    events = events[base:]
    reducer = Reducer()
    syncs = {s["at"]: s for s in meta["syncs"]}
    checks: dict[int, list[dict[str, Any]]] = {}
    for cp in meta["checkpoints"]:
        checks.setdefault(cp["at"], []).append(cp)
    results: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def at(n: int) -> None:
        if n in syncs:
            s = syncs[n]
            reducer.begin_sync(channels_action_id=s["channels"], bridges_action_id=s["bridges"])
        for cp in checks.get(n, []):
            expected = {"channels": cp["channels"], "bridges": cp["bridges"]}
            results.append((expected, tracker_view(reducer.state())))

    for n, event in enumerate(events):
        at(n)
        reducer.feed(from_message(event))
    at(len(events))
    return reducer, results, meta
