"""The simulator's telephony engine: Local channels, a dialplan interpreter, Dial, bridges.

It reproduces the event sequences Asterisk 22 publishes for the same scenario (transcript
originate.ami and the fidelity suite in tests/simulator/test_fidelity.py): each channel lives
in its own task (like Asterisk's channel threads), so events of different channels interleave
as they would, while each channel's own sequence follows Asterisk's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import anyio
import anyio.abc
import attrs

from ami_client._private.message import Event
from ami_client._private.simulator.channels import CAUSE_TEXT, UNKNOWN, Bridge, Channel, Fields
from ami_client._private.simulator.dialplan import Dialplan, leading_number, substitute
from ami_client._private.simulator.permissions import EVENT_CLASSES, privilege_text

__all__ = ["OriginateResult", "Pbx"]

Job = Callable[[], Awaitable[bool]]

# Variables Dial() clears on the caller before dialling (Asterisk 22 app_dial.c, in this order).
_DIAL_VARS = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)
# OriginateResponse ``Reason`` codes (AST_CONTROL_*: 0 failure, 1 hangup, 3 no answer, 4 answer,
# 5 busy, 8 congestion).
_REASON = {"ANSWER": 4, "BUSY": 5, "CONGESTION": 8, "NOANSWER": 3, "CANCEL": 1, "CHANUNAVAIL": 0}


@attrs.frozen
class OriginateResult:
    """What an Originate came to."""

    status: str  # ANSWER, BUSY, CONGESTION, NOANSWER, CANCEL, CHANUNAVAIL
    channel: Channel | None

    @property
    def success(self) -> bool:
        return self.status == "ANSWER"

    @property
    def reason(self) -> int:
        return _REASON.get(self.status, 0)


class Pbx:
    """Channels, bridges and the dialplan, publishing events through ``emit``."""

    def __init__(
        self,
        *,
        emit: Callable[[Event], None],
        dialplan: Dialplan,
        channelvars: Sequence[str],
        time_scale: float = 1.0,
    ) -> None:
        self._emit = emit
        self.dialplan = dialplan
        self.channelvars = tuple(channelvars)
        self.time_scale = time_scale
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.global_vars: dict[str, str] = {}
        self.calls_processed = 0
        self._tg: anyio.abc.TaskGroup | None = None
        self._epoch = int(time.time())
        self._next_uid = 0
        self._next_local = 0

    # ---- plumbing ---------------------------------------------------------------------

    def attach(self, task_group: anyio.abc.TaskGroup) -> None:
        """Give the engine the task group its channel tasks run in."""
        self._tg = task_group

    def _spawn(self, fn: Callable[[], Coroutine[Any, Any, object]]) -> None:
        # Channels exist only through actions, which a running Simulator (attached) handles.
        assert self._tg is not None, "attach() first"
        self._tg.start_soon(fn)

    def event(self, name: str, fields: Fields, privilege: str | None = None) -> None:
        """Publish one event (``Privilege`` from the class table unless given)."""
        priv = privilege if privilege is not None else privilege_text([EVENT_CLASSES[name]])
        self._emit(Event([("Event", name), ("Privilege", priv), *fields]))

    def newexten(self, chan: Channel, exten: str) -> None:
        """Publish ``Newexten`` for ``chan`` at ``exten`` (its context and priority are the
        channel's), running its application."""
        fields = [("Extension", exten), ("Application", chan.application)]
        self.event("Newexten", [*self.snap(chan), *fields, ("AppData", chan.appdata)])

    def snap(self, chan: Channel, prefix: str = "") -> Fields:
        return chan.snapshot(self.channelvars, prefix)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time (scaled by ``time_scale``)."""
        await anyio.sleep(max(0.0, seconds) * self.time_scale)

    def find_channel(self, name: str) -> Channel | None:
        """A live channel by name (case-insensitive, as Asterisk looks them up)."""
        chan = self.channels.get(name)
        if chan is not None:
            return chan
        lowered = name.lower()
        return next((c for c in self.channels.values() if c.name.lower() == lowered), None)

    def _uniqueid(self) -> str:
        uid = f"{self._epoch}.{self._next_uid}"
        self._next_uid += 1
        return uid

    # ---- channel state ----------------------------------------------------------------

    def new_local_pair(
        self, exten: str, context: str, linkedid: str | None = None
    ) -> tuple[Channel, Channel]:
        """Create ``Local/exten@context-XXXXXXXX;1`` (Down) and ``;2`` (Ring): two Newchannel."""
        base = f"Local/{exten}@{context}-{self._next_local:08x}"
        self._next_local += 1
        uid1 = self._uniqueid()
        one = Channel(name=f"{base};1", uniqueid=uid1, linkedid=linkedid or uid1,
                      context=context, exten=exten, state=0)  # fmt: skip
        two = Channel(name=f"{base};2", uniqueid=self._uniqueid(), linkedid=linkedid or uid1,
                      context=context, exten=exten, state=4)  # fmt: skip
        one.local_peer, two.local_peer = two, one
        for chan in (one, two):
            self.channels[chan.name] = chan
            self.calls_processed += 1
            self.event("Newchannel", self.snap(chan))
        return one, two

    def set_state(self, chan: Channel, state: int) -> None:
        if chan.state != state and chan.alive:
            chan.state = state
            self.event("Newstate", self.snap(chan))

    def set_var(self, chan: Channel, name: str, value: str) -> None:
        """Set a channel variable (``_``/``__`` inheritance prefixes stripped): VarSet."""
        name = name.lstrip("_")
        chan.variables[name] = value
        self.event("VarSet", [*self.snap(chan), ("Variable", name), ("Value", value)])

    def set_callerid(self, chan: Channel, num: str | None, name: str | None) -> None:
        if num is not None:
            chan.caller_num = num
        if name is not None:
            chan.caller_name = name
        self.event(
            "NewCallerid",
            [*self.snap(chan), ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )

    def set_connected(self, chan: Channel, num: str, name: str) -> None:
        chan.connected_num, chan.connected_name = num, name
        self.event("NewConnectedLine", self.snap(chan))

    def answer(self, chan: Channel) -> None:
        """Answer ``chan``; a Local ``;2`` answers its ``;1`` too (transcript originate.ami)."""
        self.set_state(chan, 6)
        chan.answered.set()
        peer = chan.local_peer
        if peer is not None and chan.name.endswith(";2") and peer.alive:
            self.set_state(peer, 6)
            peer.answered.set()
            if peer.on_answer is not None:
                callback, peer.on_answer = peer.on_answer, None
                callback()

    def end_dial(self, chan: Channel, status: str) -> None:
        """The DialEnd of the dial of ``chan``, if it has not gone out yet (after the ringing
        the dialler has not read yet: it reads the frames in order)."""
        self.read_rings(chan)
        chan.on_ring = None
        dial_end, chan.dial_end = chan.dial_end, None
        if dial_end is not None:
            dial_end(status)

    def indicate_ringing(self, chan: Channel) -> None:
        """Ringing indicated on ``chan``: its Local peer becomes Ringing, and whoever dials
        that peer hears it (Asterisk 22 core_unreal.c sets the other half's state when it
        queues the RINGING frame there)."""
        peer = chan.local_peer
        if peer is None or not peer.alive:
            return
        self.set_state(peer, 5)
        if peer.on_ring is not None:
            peer.rings += 1
            peer.ring_signal.set()

    def read_rings(self, chan: Channel) -> None:
        """The dialler of ``chan`` reacts to the ringing indications it has not read yet."""
        while chan.rings and chan.on_ring is not None:
            chan.rings -= 1
            chan.on_ring()
        chan.rings = 0

    def signal_outcome(self, chan: Channel, result: str) -> None:
        """A Local ``;2`` tells the dialling side of ``;1`` that the call failed (BUSY...)."""
        peer = chan.local_peer
        if peer is not None and peer.dial_result is None:
            peer.dial_result = result
            peer.dial_result_set.set()

    def request_hangup(
        self,
        chan: Channel,
        cause: int = 16,
        *,
        queued: bool = False,
        announce: bool = True,
        shown: int | None = None,
    ) -> None:
        """Ask ``chan`` to hang up: SoftHangupRequest (or HangupRequest when ``queued``;
        nothing when not ``announce``), whose ``Cause`` is ``shown`` (default ``cause``).
        ``cause`` 0 leaves the channel's hangup cause as it is."""
        if not chan.alive or chan.hangup_requested:
            return
        chan.hangup_requested = True
        chan.queued_hangup = queued
        if cause and not chan.hangup_cause:
            chan.hangup_cause = cause
        if announce:
            name = "HangupRequest" if queued else "SoftHangupRequest"
            self.event(name, [*self.snap(chan), ("Cause", str(cause if shown is None else shown))])
        if chan.scope is not None:
            chan.scope.cancel()

    def destroy(self, chan: Channel) -> None:
        """Hang ``chan`` up now: its Local peer is asked to follow, it leaves its bridge, Hangup."""
        if not chan.alive:
            return
        chan.alive = False
        if chan.bridge is not None:
            # It leaves its bridge first, which gives it a cause if it has none (Asterisk 22
            # channel_set_cause: 16), so its Local peer's HangupRequest shows 16 too.
            chan.hangup_cause = chan.hangup_cause or 16
        peer = chan.local_peer
        if peer is not None and peer.alive and not peer.hangup_requested:
            status = chan.variables.get("DIALSTATUS")
            if chan.name.endswith(";2") and status is not None:
                # Asterisk 22 (core_unreal.c, ast_unreal_hangup): a ;2 that hangs up gives its
                # ;1 its DIALSTATUS, whatever ;1 is doing, so only a ;2 that ran Dial does:
                # ANSWER in originate.ami, BUSY in the fidelity scenario dial_busy.
                peer.hangup_cause = chan.hangup_cause
                self.set_var(peer, "CHANLOCALSTATUS", status)
            self.request_hangup(peer, chan.hangup_cause, queued=True)
        bridge = self._bridge_leave(chan, clear_peer=True) if chan.bridge is not None else None
        if chan.dial_end is not None:  # the dial holds it: its DialEnd goes out first
            # An outcome its ;2 signalled (Busy(), Congestion()) was seen by the dial before
            # this hangup, even when both happen at once.
            status = chan.dial_result or ("ANSWER" if chan.answered.is_set() else "NOANSWER")
            self.end_dial(chan, status)
        cause = chan.hangup_cause
        self.event(
            "Hangup",
            [
                *self.snap(chan),
                ("Cause", str(cause)),
                ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")),
            ],
        )
        self.channels.pop(chan.name, None)
        if chan.scope is not None:
            chan.scope.cancel()
        chan.gone.set()
        chan.dial_result_set.set()
        if bridge is not None:
            self._dissolve_if_alone(bridge)

    # ---- channel lives ----------------------------------------------------------------

    def start(self, chan: Channel, job: Job | None) -> None:
        """Run ``chan``'s life in its own task: ``job`` (a dialplan), or parked when None."""
        self._spawn(lambda: self._life(chan, job))

    def assign(self, chan: Channel, job: Job) -> None:
        """Give a running channel new work (Redirect, answered originate, transfer)."""
        chan.next_job = job
        if chan.scope is not None:
            chan.scope.cancel()

    def pbx_job(self, chan: Channel, context: str, exten: str, priority: int) -> Job:
        return lambda: self.run_pbx(chan, context, exten, priority)

    async def _life(self, chan: Channel, job: Job | None) -> None:
        try:
            while chan.alive and not chan.hangup_requested:
                finished = False
                with anyio.CancelScope() as scope:
                    chan.scope = scope
                    chan.in_pbx = job is not None
                    if job is None:
                        await anyio.sleep_forever()
                    else:
                        finished = await job()
                chan.scope = None
                if _gone(chan):
                    return
                if _hanging_up(chan):
                    if (
                        job is not None
                        and chan.queued_hangup
                        and not chan.app_only
                        and chan.after_bridge is None
                    ):
                        # The running application notices the queued hangup (originate.ami).
                        self.event("SoftHangupRequest", [*self.snap(chan), ("Cause", "16")])
                    break
                if finished:
                    break
                job, chan.next_job = chan.next_job, None
        finally:
            chan.in_pbx = False
            self.destroy(chan)

    async def run_pbx(
        self, chan: Channel, context: str, exten: str, priority: int, *, from_here: bool = False
    ) -> bool:
        """Run the dialplan from ``exten@context:priority``; True: the channel hangs up next.

        ``from_here``: the PBX starts on the channel as an Originate left it (Asterisk 22's
        ``ast_pbx_run`` after ``pbx_outgoing_exec``): a first priority at the channel's own
        context, extension and priority gets no Newexten (Asterisk publishes one only when
        they change, or when the channel had no application yet), and an extension that is
        not there soft-hangs the channel up where it was sent (a SoftHangupRequest with
        Asterisk's flag ``AST_SOFTHANGUP_APPUNLOAD``, 16; its hangup cause stays 0)
        (test_originate_defaults)."""
        chan.app_only = False
        first = from_here
        while True:
            steps = self.dialplan.lookup(context, exten)
            if steps is None or not 1 <= priority <= len(steps):
                if first:
                    chan.context, chan.exten, chan.priority = context, exten, priority
                    self.request_hangup(chan, 0, shown=16)
                return True  # nothing more to run: Asterisk hangs the channel up
            app, raw = steps[priority - 1]
            data = substitute(raw, self._var_lookup(chan, exten, context))
            here = (chan.context, chan.exten, chan.priority)
            unchanged = first and bool(chan.application) and (context, exten, priority) == here
            first = False
            chan.context, chan.exten, chan.priority = context, exten, priority
            chan.application, chan.appdata = app, data
            if not unchanged:
                self.newexten(chan, exten)
            if await self.exec_app(chan, app, data):
                return True
            if chan.goto is not None:
                context, exten, priority = chan.goto
                chan.goto = None
            else:
                priority += 1

    def _var_lookup(self, chan: Channel, exten: str, context: str) -> Callable[[str], str]:
        def lookup(name: str) -> str:
            return self._lookup_var(chan, name, exten, context)

        return lookup

    def _lookup_var(self, chan: Channel, name: str, exten: str, context: str) -> str:
        builtin = {"EXTEN": exten, "CONTEXT": context, "CHANNEL": chan.name,
                   "UNIQUEID": chan.uniqueid}  # fmt: skip
        if name in builtin:
            return builtin[name]
        return chan.variables.get(name, self.global_vars.get(name, ""))

    async def exec_app(self, chan: Channel, app: str, data: str) -> bool:
        """Run one application. True when the channel must hang up afterwards."""
        name = app.lower()
        if name == "answer":
            self.answer(chan)
        elif name == "wait":
            await self.sleep(_float(data, 0.0))
        elif name in ("echo", "bridgewait", "confbridge", "queue"):
            await anyio.sleep_forever()
        elif name == "hangup":
            if data.strip().isdigit():  # a cause given replaces the channel's
                chan.hangup_cause = int(data)
            else:
                chan.hangup_cause = chan.hangup_cause or 16
            self.request_hangup(chan, 16)
            return True
        elif name == "set":
            self._app_set(chan, data)
        elif name == "ringing":
            self.indicate_ringing(chan)
        elif name in ("busy", "congestion"):
            busy = name == "busy"
            chan.hangup_cause = 17 if busy else 34
            self.set_state(chan, 7)
            self.signal_outcome(chan, "BUSY" if busy else "CONGESTION")
            await self.sleep(_float(data, 10.0))
        elif name == "dial":
            return await self._app_dial(chan, data)
        elif name == "userevent":
            self._app_userevent(chan, data)
        elif name == "goto":
            return self._app_goto(chan, data)
        elif name in ("noop", "verbose", "log", "progress"):
            pass
        else:
            return True  # Asterisk: "No application 'X' for extension", then hangup
        return False

    def _app_set(self, chan: Channel, data: str) -> None:
        key, _, value = data.partition("=")
        upper = key.strip().upper()
        if upper == "CALLERID(NAME)":
            self.set_callerid(chan, None, value)
        elif upper in ("CALLERID(NUM)", "CALLERID(NUMBER)"):
            self.set_callerid(chan, value, None)
        else:
            self.set_var(chan, key.strip(), value)

    def _app_goto(self, chan: Channel, data: str) -> bool:
        """``Goto([[context,]exten,]priority)`` as Asterisk 22's ``pbx_parseable_goto``: a
        priority that starts with a number is one (``+N``/``-N``: relative to the current
        priority), anything else a label of the target extension (case-sensitive; a sign
        before it is dropped). True (hang up) when the label is not there: Asterisk logs
        "Priority 'x' must be a number > 0, or valid label" and Goto fails. Arguments after
        the third are ignored. A target that does not exist ends the dialplan, so the
        channel hangs up."""
        args = [a.strip() for a in data.split(",")][:3]
        pri = args[-1]
        context = args[0] if len(args) == 3 else None
        exten = args[-2] if len(args) >= 2 else None
        sign = 0
        if pri[:1] in ("+", "-"):
            sign, pri = (1 if pri[0] == "+" else -1), pri[1:]
        number = leading_number(pri)
        if number is not None:
            priority = number
            if sign:
                priority = chan.priority + sign * priority
        else:
            # An empty context or exten given explicitly is looked up as it is (and fails).
            found = self.dialplan.find_label(
                chan.context if context is None else context,
                chan.exten if exten is None else exten,
                pri,
            )
            if found is None:
                return True
            priority = found
        # For a numbered target, an empty context or exten keeps the current one.
        chan.goto = (context or chan.context, exten or chan.exten, priority)
        return False

    def _app_userevent(self, chan: Channel, data: str) -> None:
        name, *headers = data.split(",")
        fields: Fields = [*self.snap(chan), ("UserEvent", name.strip())]
        for header in headers:
            k, _, v = header.partition(":")
            if k.strip():
                fields.append((k.strip(), v.strip()))
        self.event("UserEvent", fields)

    # ---- dialling ---------------------------------------------------------------------

    def _split_local(self, target: str) -> tuple[str, str, str] | None:
        tech, _, resource = target.partition("/")
        if tech.lower() != "local":
            return None
        where, _, opts = resource.partition("/")
        exten, _, context = where.partition("@")
        return exten, context or "default", opts

    async def _wait_outcome(self, one: Channel, timeout: float | None) -> str:  # noqa: ASYNC109
        """Wait until the outgoing ``;1`` is answered, fails or times out; its status."""
        with anyio.move_on_after(math.inf if timeout is None else timeout * self.time_scale):
            async with anyio.create_task_group() as tg:

                async def answered() -> None:
                    await one.answered.wait()
                    tg.cancel_scope.cancel()

                async def failed() -> None:
                    await one.dial_result_set.wait()
                    tg.cancel_scope.cancel()

                async def ringing() -> None:
                    while True:
                        await one.ring_signal.wait()
                        one.ring_signal = anyio.Event()
                        self.read_rings(one)

                tg.start_soon(answered)
                tg.start_soon(failed)
                tg.start_soon(ringing)
        if one.answered.is_set():
            return "ANSWER"
        if one.dial_result is not None:
            return one.dial_result
        return "NOANSWER" if one.alive else "CANCEL"

    async def originate(
        self,
        target: str,
        *,
        context: str | None,
        exten: str | None,
        priority: int,
        application: str | None,
        data: str,
        callerid: tuple[str | None, str | None] | None,
        variables: Sequence[tuple[str, str]],
        timeout: float,  # noqa: ASYNC109 (simulated seconds, as Originate's Timeout)
    ) -> OriginateResult:
        """Place an outgoing call as the Originate action does; wait for its outcome."""
        parts = self._split_local(target)
        if parts is None or not parts[0]:
            return OriginateResult("CHANUNAVAIL", None)
        lexten, lcontext, opts = parts
        one, two = self.new_local_pair(lexten, lcontext)
        one.application, one.appdata = "AppDial2", "(Outgoing Line)"
        self.newexten(one, lexten)
        for chan in (one, two):
            for key, value in variables:
                self.set_var(chan, key, value)
            if callerid is not None:
                num, name = callerid
                self.set_callerid(chan, num, name)
                self.set_connected(chan, num or "<unknown>", name or "<unknown>")
        if not self.dialplan.exists(lcontext, lexten):
            # Local's call() fails: no LocalBridge, no DialBegin, and ;1 goes without a
            # HangupRequest (Asterisk 22, fidelity scenario no_such_exten).
            one.hangup_requested = True
            self.destroy(two)
            self.destroy(one)
            return OriginateResult("CHANUNAVAIL", None)
        self._local_bridge(one, two, optimize="n" not in opts)
        self.event("DialBegin", [*self.snap(one, "Dest"), ("DialString", f"{lexten}@{lcontext}")])
        one.dial_end = lambda status: self.event(
            "DialEnd", [*self.snap(one, "Dest"), ("DialStatus", status)]
        )
        # The Originate's dialler has no caller: a DialState with the dialled channel only
        # (Asterisk 22, fidelity scenario dial_noanswer).
        one.on_ring = lambda: self.event(
            "DialState", [*self.snap(one, "Dest"), ("DialStatus", "RINGING")]
        )
        # DialEnd goes out the moment ;1 is answered, before anything ;2 does next
        # (fidelity scenario hangup_app: ;2 answers and hangs up at once).
        one.on_answer = lambda: self.end_dial(one, "ANSWER")
        self.start(two, self.pbx_job(two, lcontext, lexten, 1))
        self.start(one, None)
        status = await self._wait_outcome(one, timeout)
        one.on_answer = None
        if status == "NOANSWER" and one.alive:
            # The Originate's Timeout: Asterisk 22's dialler hangs ;1 up with cause 19 (no
            # answer) and writes no DialEnd (fidelity scenario ring_originate).
            self.read_rings(one)
            one.dial_end = one.on_ring = None
            one.hangup_cause = 19
        if status != "ANSWER":
            self.end_dial(one, status)  # (gone out already if ;1 hung up: NOANSWER)
            self.destroy(one)
            return OriginateResult(status, None)
        # (Gone out already when ;2 answered; not if ;1 was answered some other way.)
        self.end_dial(one, "ANSWER")
        if not one.alive:
            return OriginateResult("ANSWER", one)
        if application:
            app, app_data = application, data

            async def run_app() -> bool:
                one.app_only = True
                await self.exec_app(one, app, app_data)
                return True

            self.assign(one, run_app)
        else:
            # Asterisk 22 (pbx_outgoing_exec) sets only what the Originate gave (a priority
            # above 0) and starts the PBX on the channel as it is: without a Context, Exten or
            # Priority the ;1 runs in its own context, extension and priority (the Local
            # channel's, priority 1) (test_originate_defaults).
            where = (context or one.context, exten or one.exten, priority or one.priority)

            async def run_here() -> bool:
                return await self.run_pbx(one, *where, from_here=True)

            self.assign(one, run_here)
        return OriginateResult("ANSWER", one)

    def _local_bridge(self, one: Channel, two: Channel, *, optimize: bool) -> None:
        self.event(
            "LocalBridge",
            [*self.snap(one, "LocalOne"), *self.snap(two, "LocalTwo"), ("Context", two.context),
             ("Exten", two.exten), ("LocalOptimization", "Yes" if optimize else "No")],
        )  # fmt: skip

    async def _app_dial(self, chan: Channel, data: str) -> bool:
        args = data.split(",")
        target = args[0].split("&")[0]
        timeout = _float(args[1], 0.0) if len(args) > 1 and args[1].strip() else None
        for var in _DIAL_VARS:
            self.set_var(chan, var, "")
        parts = self._split_local(target)
        dialstring = target.partition("/")[2]
        if parts is None or not self.dialplan.exists(parts[1], parts[0]):
            self.set_var(chan, "DIALSTATUS", "CHANUNAVAIL")
            return False
        lexten, lcontext, opts = parts
        started = time.monotonic()
        one, two = self.new_local_pair(lexten, lcontext, linkedid=chan.linkedid)
        self.set_var(one, "DIALEDPEERNUMBER", dialstring)
        # Asterisk 22 gives the outgoing ;1 the caller's extension as its caller number and
        # the caller's ID as connected line; it runs in the caller's context (originate.ami).
        one.caller_name = chan.caller_name
        one.caller_num = chan.exten
        one.connected_num, one.connected_name = chan.caller_num, chan.caller_name
        one.context, one.exten = chan.context, chan.exten
        one.application, one.appdata = "AppDial", "(Outgoing Line)"
        self.newexten(one, one.exten)
        self.set_callerid(one, None, None)
        # Asterisk 22 reports a caller ID or connected line only when it changes: a caller
        # without caller ID leaves ;1's connected line and ;2's caller ID as they were, and
        # no NewConnectedLine / NewCallerid is sent for them (checked on the test server).
        has_cid = chan.caller_num != UNKNOWN or chan.caller_name != UNKNOWN
        if has_cid:
            self.event("NewConnectedLine", self.snap(one))
        self.set_var(two, "DIALEDPEERNUMBER", dialstring)
        two.connected_num, two.connected_name = one.caller_num, one.caller_name
        if has_cid:
            self.set_callerid(two, chan.caller_num, chan.caller_name)
        self.event("NewConnectedLine", self.snap(two))
        self._local_bridge(one, two, optimize="n" not in opts)
        self.event(
            "DialBegin", [*self.snap(chan), *self.snap(one, "Dest"), ("DialString", dialstring)]
        )

        def dial_end(status: str) -> None:
            if status == "ANSWER":
                self.set_var(chan, "DIALSTATUS", "ANSWER")
                self.set_var(chan, "DIALEDPEERNAME", one.name)
                self.set_var(chan, "DIALEDPEERNUMBER", dialstring)
                one.exten = ""
            self.event(
                "DialEnd", [*self.snap(chan), *self.snap(one, "Dest"), ("DialStatus", status)]
            )

        one.dial_end = dial_end
        sent_ringing = False

        def on_ring() -> None:
            # Asterisk 22 app_dial: the caller hears the ringing once, and gets RINGTIME,
            # RINGTIME_MS and a DialState for every ringing of the callee (fidelity
            # scenario dial_noanswer).
            nonlocal sent_ringing
            if not sent_ringing:
                sent_ringing = True
                self.indicate_ringing(chan)
            rung = time.monotonic() - started
            self.set_var(chan, "RINGTIME", str(int(rung)))
            self.set_var(chan, "RINGTIME_MS", str(int(rung * 1000)))
            self.event(
                "DialState",
                [*self.snap(chan), *self.snap(one, "Dest"), ("DialStatus", "RINGING")],
            )

        one.on_ring = on_ring
        self.start(two, self.pbx_job(two, lcontext, lexten, 1))
        self.start(one, None)
        try:
            status = await self._wait_outcome(one, timeout)
        except anyio.get_cancelled_exc_class():
            # The caller hangs up while dialling: app_dial ends the dial (CANCEL) and hangs
            # up the outgoing channel before the caller's own Hangup (Asterisk 22).
            self.end_dial(one, "CANCEL")
            self.request_hangup(one, 0)
            self.destroy(one)
            self.set_var(chan, "DIALSTATUS", "CANCEL")
            raise
        if status != "ANSWER":
            self.end_dial(one, status)  # (gone out already if ;1 hung up: NOANSWER)
            self.destroy(one)
            self.set_var(chan, "DIALSTATUS", status)
            return False
        # (Gone out already if the callee hung up as it answered: the dial held it till then.)
        self.end_dial(one, "ANSWER")
        self.answer(chan)
        answered = time.monotonic()
        if not one.alive:  # the callee hung up as it answered: nothing to bridge
            self.request_hangup(chan, 16)
            return True
        bridge = self.create_bridge()
        self.newexten(one, "")
        self.bridge_enter(bridge, one)
        self.bridge_enter(bridge, chan)
        await bridge.destroyed.wait()
        if chan.goto is not None:
            # Blind-transferred out of the bridge: Dial ends with DIALSTATUS only and the
            # caller goes on where the transfer sent it (Asterisk 22, test_bridge_fidelity).
            self.set_var(chan, "DIALSTATUS", "ANSWER")
            return False
        now = time.monotonic()
        for name, secs in (("ANSWEREDTIME", now - answered), ("DIALEDTIME", now - started)):
            self.set_var(chan, name, str(int(secs)))
            self.set_var(chan, f"{name}_MS", str(int(secs * 1000)))
        self.set_var(chan, "DIALSTATUS", "ANSWER")
        # The callee hung up: without Dial's g option the caller hangs up too.
        self.request_hangup(chan, 16)
        return True

    # ---- bridges ----------------------------------------------------------------------

    def create_bridge(self) -> Bridge:
        bridge = Bridge()
        self.bridges[bridge.uniqueid] = bridge
        self.event("BridgeCreate", bridge.snapshot())
        return bridge

    def bridge_enter(self, bridge: Bridge, chan: Channel) -> None:
        old = self._bridge_leave(chan, clear_peer=False) if chan.bridge is not None else None
        if old is not None and old is not bridge and not old.channels:
            # The bridge it moved out of, now empty: Asterisk's basic bridges dissolve then.
            self._dissolve_if_alone(old)
        bridge.channels.append(chan)
        chan.bridge = bridge
        self.event("BridgeEnter", [*bridge.snapshot(), *self.snap(chan)])
        if len(bridge.channels) == 2:
            a, b = bridge.channels
            self.set_var(a, "BRIDGEPEER", b.name)
            self.set_var(b, "BRIDGEPEER", a.name)

    def _bridge_leave(self, chan: Channel, *, clear_peer: bool) -> Bridge | None:
        bridge = chan.bridge
        if bridge is None:
            return None
        if clear_peer and len(bridge.channels) == 2:
            for c in bridge.channels:
                self.set_var(c, "BRIDGEPEER", "")
        bridge.channels.remove(chan)
        chan.bridge = None
        # Asterisk 22 (bridge_channel.c channel_set_cause): a channel leaving a bridge gets
        # cause 16 unless it has one, so a later Hangup without a Cause shows 16.
        chan.hangup_cause = chan.hangup_cause or 16
        self.event("BridgeLeave", [*bridge.snapshot(), *self.snap(chan)])
        return bridge

    def bridge_leave(self, chan: Channel) -> None:
        """Take ``chan`` out of its bridge; a basic bridge left with one channel dissolves."""
        chan.after_bridge = None  # (the caller gives it new work)
        bridge = self._bridge_leave(chan, clear_peer=True)
        if bridge is not None:
            self._dissolve_if_alone(bridge)

    def blind_transfer(
        self, transferer: Channel, transferee: Channel, context: str, exten: str
    ) -> None:
        """A blind transfer in a two-party bridge, as Asterisk 22 shows it (test_bridge_fidelity):
        the transferer is taken off hold (Unhold), both get BLINDTRANSFER (the other's name) and
        lose BRIDGEPEER; then the BlindTransfer event; the transferee is sent to ``exten`` (a
        Newexten at priority 1 while still in the bridge) and goes on at priority 2 once out of
        it; the transferer leaves the bridge too: Dial's caller ends its Dial, another hangs up
        (without a SoftHangupRequest) unless it has somewhere to go on. Only the transferer's
        BlindTransfer and BridgeLeave come in either order on Asterisk."""
        bridge = transferer.bridge
        assert bridge is not None
        self.event("Unhold", self.snap(transferer))
        self.set_var(transferee, "BLINDTRANSFER", transferer.name)
        self.set_var(transferer, "BLINDTRANSFER", transferee.name)
        for c in (transferer, transferee):
            self.set_var(c, "BRIDGEPEER", "")
        self.event(
            "BlindTransfer",
            [
                ("Result", "Success"),
                *self.snap(transferer, "Transferer"),
                *self.snap(transferee, "Transferee"),
                *bridge.snapshot(),
                ("IsExternal", "No"),
                ("Context", context),
                ("Extension", exten),
            ],
        )
        # A channel the Bridge action bridged (it has somewhere to go on after the bridge) is
        # one Asterisk took out of whatever it ran: it has no application, so its move to the
        # target gets no Newexten, and it runs the target from priority 1 once out of the
        # bridge (test_bridge_transfer_fidelity).
        bridged = {c: c.after_bridge is not None for c in (transferer, transferee)}
        transferee.context, transferee.exten, transferee.priority = context, exten, 1
        if not bridged[transferee]:
            self.newexten(transferee, exten)
        in_dial = {
            c: not bridged[c] and c.in_pbx and c.application.lower() == "dial"
            for c in (transferer, transferee)
        }
        if bridged[transferee]:
            transferee.after_bridge = (context, exten, 1)
        elif in_dial[transferee]:
            transferee.goto = (context, exten, 2)  # where its Dial returns to
            transferee.after_bridge = None
        else:
            transferee.after_bridge = (context, exten, 2)
        for c in (transferee, transferer):
            self._bridge_leave(c, clear_peer=False)
        self._dissolve_if_alone(bridge)  # empty now: BridgeDestroy; a Dial in it returns
        for c in (transferee, transferer):
            after, c.after_bridge = c.after_bridge, None
            if in_dial[c] or not c.alive:
                continue
            if after is not None:
                self.assign(c, self.pbx_job(c, *after))
            else:
                self.request_hangup(c, 16, announce=False)

    def _dissolve_if_alone(self, bridge: Bridge) -> None:
        if len(bridge.channels) > 1 or bridge.destroyed.is_set():
            return
        for chan in list(bridge.channels):
            self._bridge_leave(chan, clear_peer=False)
            after, chan.after_bridge = chan.after_bridge, None
            if after is not None and chan.alive and not chan.hangup_requested:
                # Bridged by the Bridge action: it goes on in the dialplan where it was
                # (Asterisk 22: "Newexten ... Application: Hangup ... Priority: 3" for a
                # channel bridged during Wait at priority 2, test_bridge_fidelity).
                self.assign(chan, self.pbx_job(chan, *after))
                continue
            # A channel parked in the bridge has nothing left to do: it hangs up.
            parked = chan.scope is not None and chan.next_job is None and not _runs_dial(chan)
            if parked and not chan.hangup_requested and chan.alive:
                self.request_hangup(chan, 16)
        self.bridges.pop(bridge.uniqueid, None)
        self.event("BridgeDestroy", bridge.snapshot())
        bridge.destroyed.set()


def _gone(chan: Channel) -> bool:
    # A function, so type checkers don't assume `alive` kept the value the loop tested.
    return not chan.alive


def _hanging_up(chan: Channel) -> bool:
    return chan.hangup_requested


def _runs_dial(chan: Channel) -> bool:
    return chan.application.lower() == "dial"


def _float(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default
