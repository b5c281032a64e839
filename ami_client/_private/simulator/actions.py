"""The AMI actions the simulator implements, with Asterisk 22's responses (texts probed on the
real server and recorded in tests/data/transcripts/)."""

from __future__ import annotations

import platform
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import anyio

from ami_client._private.message import Event, Message
from ami_client._private.simulator.auth import check_login, make_challenge
from ami_client._private.simulator.channels import Channel
from ami_client._private.simulator.dialplan import leading_number
from ami_client._private.simulator.eventfilter import (
    EventFilter,
    FilterSyntaxError,
    compile_posix,
)
from ami_client._private.simulator.permissions import event_mask, privilege_text
from ami_client._private.simulator.session import Session, response

if TYPE_CHECKING:
    from ami_client._private.simulator.server import Simulator

__all__ = ["HANDLERS", "Handler"]

Handler = Callable[["Simulator", Session, Message], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


class _Refuse(Exception):
    """Raised by a handler, before it has answered, to answer ``Response: Error`` with the
    exception's text as the ``Message``."""


def action(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        async def run(sim: Simulator, s: Session, m: Message) -> None:
            try:
                await fn(sim, s, m)
            except _Refuse as refusal:
                await _error(sim, s, m, str(refusal))

        HANDLERS[name.lower()] = run
        return fn

    return register


def _need(m: Message, key: str, refusal: str) -> str:
    """The non-empty value of ``key``, or the Error answer Asterisk gives without it."""
    value = m.get(key)
    if not value:
        raise _Refuse(refusal)
    return value


# What astman_get_header skips before a header's value (ast_skip_blanks: every byte < 33).
_BLANKS: Final = "".join(map(chr, range(1, 33)))


def _header(m: Message, key: str) -> str:
    """``key``'s value as manager.c's astman_get_header gives it: leading blanks skipped,
    ``""`` when the header is missing."""
    return (m.get(key) or "").lstrip(_BLANKS)


def _priority(sim: Simulator, text: str, context: str, exten: str) -> int | None:
    """A Priority header as Originate and Redirect read it (manager.c): a number, whatever
    follows its digits (sscanf ``%30d``), else a label of ``exten@context`` looked up
    case-sensitively (ast_findlabel_extension); None for a label that is not there."""
    number = leading_number(text)
    if number is not None:
        return number
    return sim.pbx.dialplan.find_label(context, exten, text)


def _find(sim: Simulator, name: str, refusal: str) -> Channel:
    """The channel called ``name``, or the Error answer Asterisk gives for an unknown one."""
    chan = sim.pbx.find_channel(name)
    if chan is None:
        raise _Refuse(refusal)
    return chan


def _error(sim: Simulator, s: Session, m: Message, text: str) -> Awaitable[None]:
    return sim.respond(s, m, response("Error", m, ("Message", text)))


def _ack(sim: Simulator, s: Session, m: Message, text: str) -> Awaitable[None]:
    return sim.respond(s, m, response("Success", m, ("Message", text)))


def _list_start(sim: Simulator, s: Session, m: Message, text: str) -> Awaitable[None]:
    return sim.respond(s, m, response("Success", m, ("EventList", "start"), ("Message", text)))


def _list_complete(s: Session, m: Message, name: str, count: int, *extra: tuple[str, str]) -> None:
    """The event that ends an EventList: ``EventList: Complete`` and ``ListItems``."""
    fields = [("Event", name), *_aid(m), ("EventList", "Complete"), ("ListItems", str(count))]
    s.send(Event([*fields, *extra]))


def _aid(m: Message) -> list[tuple[str, str]]:
    return [("ActionID", m.action_id)] if m.action_id is not None else []


# ---- session ----------------------------------------------------------------------------


@action("Login")
async def _login(sim: Simulator, s: Session, m: Message) -> None:
    if s.authenticated:
        await _ack(sim, s, m, "Already authenticated")
        return
    username = m.get("Username", "")
    user = sim.users.get(username)
    ok = check_login(
        user,
        secret=m.get("Secret"),
        auth_type=m.get("AuthType"),
        key=m.get("Key"),
        challenge=s.challenge,
    )
    if not ok or user is None:
        sim.security_event(s, "InvalidPassword", username, "Error")
        # Asterisk 22 answers a failed login after a deliberate delay, then hangs up
        # (login_bad_secret.ami: about 1 s; configurable here to keep tests fast).
        await anyio.sleep(sim.auth_failure_delay)
        await _error(sim, s, m, "Authentication failed")
        s.close()
        return
    s.user = user
    s.authenticated = True
    events = event_mask(m.get("Events") or "")
    if events is not None:  # Asterisk's set_eventmask leaves the mask alone for an empty one
        s.send_events = events
    s.filters = sim.filters_for(user)
    await _ack(sim, s, m, "Authentication accepted")
    # FullyBooted goes straight to the new session, outside the event queue: eventfilters do
    # not apply (filtered_events.ami) but the read class and Events mask do
    # (restricted_permission_denied.ami, queue_status.ami).
    if "system" in user.read and "system" in s.send_events:
        uptime = str(int(time.monotonic() - sim.started))
        s.send(
            Event(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", privilege_text(["system"])),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                    ("Status", "Fully Booted"),
                ]
            )
        )
    sim.security_event(s, "SuccessfulAuth", username, "Informational")


@action("Challenge")
async def _challenge(sim: Simulator, s: Session, m: Message) -> None:
    if (m.get("AuthType") or "").lower() != "md5":
        await _error(sim, s, m, "Must specify AuthType")
        return
    if s.challenge is None:
        s.challenge = make_challenge()
    await sim.respond(s, m, response("Success", m, ("Challenge", s.challenge)))


@action("Logoff")
async def _logoff(sim: Simulator, s: Session, m: Message) -> None:
    await sim.respond(s, m, response("Goodbye", m, ("Message", "Thanks for all the fish.")))
    s.close()


@action("Ping")
async def _ping(sim: Simulator, s: Session, m: Message) -> None:
    await sim.respond(
        s, m, response("Success", m, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))
    )


@action("Events")
async def _events(sim: Simulator, s: Session, m: Message) -> None:
    mask = event_mask(m.get("EventMask") or "")
    if mask is None:
        await _error(sim, s, m, "Invalid event mask")
        return
    s.send_events = mask
    # A numeric mask of class-less bits (16384, HOOKRESPONSE) is still "On" in Asterisk 22.
    text = m.get("EventMask") or ""
    on = bool(mask) or (text.isascii() and text.isdigit() and int(text) > 0)
    state = "On" if on else "Off"
    await sim.respond(s, m, response("Success", m, ("Events", state)))


@action("Filter")
async def _filter(sim: Simulator, s: Session, m: Message) -> None:
    if (m.get("Operation") or "").lower() != "add":
        await _error(sim, s, m, "Unknown operation")
        return
    # Asterisk 22 (action_filter) wraps MatchCriteria as "eventfilter(<criteria>)" and adds the
    # rule as a manager.conf line would be; without it the Filter is a legacy regex.
    criteria = m.get("MatchCriteria") or ""
    try:
        rule = EventFilter.parse(
            f"eventfilter({criteria})" if criteria else "eventfilter", m.get("Filter") or ""
        )
    except FilterSyntaxError as exc:
        what = "did not compile" if exc.reason == "compile" else "was formatted incorrectly"
        await _error(sim, s, m, f"Filter {what}.  Check the syntax of the filter given.")
        return
    s.filters.add(rule)
    await _ack(sim, s, m, "Success")


@action("UserEvent")
async def _userevent(sim: Simulator, s: Session, m: Message) -> None:
    # Asterisk 22 checks nothing: without a UserEvent header it still answers "Event Sent"
    # and raises a UserEvent with an empty name (test_fidelity.RESPONSES).
    name = m.get("UserEvent", "")
    # The event copies every header but Action and UserEvent, ActionID included, in order
    # (filtered_events.ami).
    rest = [(k, v) for k, v in m.fields if k.lower() not in ("action", "userevent")]
    await _ack(sim, s, m, "Event Sent")
    sim.pbx.event("UserEvent", [("UserEvent", name), *rest])


# ---- channels ---------------------------------------------------------------------------


@action("Getvar")
async def _getvar(sim: Simulator, s: Session, m: Message) -> None:
    var = _need(m, "Variable", "No variable specified")
    name = m.get("Channel")
    if name:
        chan = _find(sim, name, "No such channel")
        upper = var.upper()
        if upper in ("CALLERID(NUM)", "CALLERID(NUMBER)"):
            value = chan.caller_num
        elif upper == "CALLERID(NAME)":
            value = chan.caller_name
        else:
            value = chan.variables.get(var, sim.pbx.global_vars.get(var, ""))
    else:
        value = sim.pbx.global_vars.get(var, "")
    await sim.respond(s, m, response("Success", m, ("Variable", var), ("Value", value)))


@action("Setvar")
async def _setvar(sim: Simulator, s: Session, m: Message) -> None:
    var = _need(m, "Variable", "No variable specified")
    value = m.get("Value", "")
    name = m.get("Channel")
    if name:
        chan = _find(sim, name, "No such channel")
        sim.pbx.set_var(chan, var, value)
    else:
        sim.pbx.global_vars[var] = value
    await _ack(sim, s, m, "Variable Set")


@action("Hangup")
async def _hangup(sim: Simulator, s: Session, m: Message) -> None:
    name = _need(m, "Channel", "No channel specified")
    cause_text = (m.get("Cause") or "").strip()
    # No Cause: Asterisk 22 leaves the channel's hangup cause alone (its Hangup shows 0,
    # or 16 if it was in a bridge).
    cause = int(cause_text) if cause_text.isdigit() else 0
    if name.startswith("/"):
        await _hangup_matching(sim, s, m, name, cause)
        return
    chan = _find(sim, name, "No such channel")
    await _ack(sim, s, m, "Channel Hungup")
    _request_hangup(sim, chan, cause)


async def _hangup_matching(sim: Simulator, s: Session, m: Message, name: str, cause: int) -> None:
    """Hangup of ``/regex/``: every channel whose name the POSIX regex finds, answered as an
    EventList of ChannelHungup items, as Asterisk 22 does (test_hangup_regex)."""
    if len(name) < 2 or not name.endswith("/"):
        raise _Refuse("Regex format invalid, Channel param should be /regex/")
    try:
        pattern = compile_posix(name[1:-1])
    except FilterSyntaxError:
        raise _Refuse(f"Regex compile failed on: {name}") from None
    matched = [c for c in sim.pbx.channels.values() if pattern.search(c.name)]
    await _list_start(sim, s, m, "Channels hung up will follow")
    for chan in matched:
        s.send(Event([("Event", "ChannelHungup"), ("Channel", chan.name), *_aid(m)]))
    _list_complete(s, m, "ChannelsHungupListComplete", len(matched))
    for chan in matched:
        if sim.pbx.channels.get(chan.name) is chan:  # (still there)
            _request_hangup(sim, chan, cause)


def _request_hangup(sim: Simulator, chan: Channel, cause: int) -> None:
    if cause:
        chan.hangup_cause = cause
    # Asterisk 22 sends no SoftHangupRequest for a channel the Bridge action bridged, nor
    # for an Originate's ;1 running its Application: just BridgeLeave (if bridged), Hangup
    # (test_bridge_fidelity). For any other its Cause is 16, whatever Cause the action gave
    # (test_bridge_fidelity): the soft hangup flag its dialplan sends as it ends.
    sim.pbx.request_hangup(chan, cause, announce=_runs_dialplan(chan), shown=16)


def _runs_dialplan(chan: Channel) -> bool:
    """Whether ``chan`` ends a dialplan run when it hangs up (Asterisk's ``__ast_pbx_run``
    then sends a SoftHangupRequest with its flag ``AST_SOFTHANGUP_APPUNLOAD``, 16): not one
    the Bridge action bridged, nor an Originate's ;1 running its Application."""
    return chan.after_bridge is None and not (chan.app_only and chan.in_pbx)


# Asterisk's AST_SOFTHANGUP_EXPLICIT: the Cause of the SoftHangupRequest that the CLI's
# `channel request hangup` sends (ast_softhangup publishes its flag as the cause).
_SOFTHANGUP_EXPLICIT: Final = 32


def _cli_hangup(sim: Simulator, chan: Channel) -> None:
    """``channel request hangup``, as Asterisk 22's CLI does it (test_cli_hangup): a
    SoftHangupRequest with Cause 32 (``AST_SOFTHANGUP_EXPLICIT``) for any channel, then the
    16 of the dialplan it ends, if it runs one; the hangup cause is left alone (0, so the
    Hangups show 0, or 16 for a channel that was in a bridge)."""
    if not chan.alive:
        return
    sim.pbx.event("SoftHangupRequest", [*sim.pbx.snap(chan), ("Cause", str(_SOFTHANGUP_EXPLICIT))])
    sim.pbx.request_hangup(chan, 0, announce=_runs_dialplan(chan), shown=16)


@action("Redirect")
async def _redirect(sim: Simulator, s: Session, m: Message) -> None:
    # Asterisk 22 wants Context, Exten and Priority, and checks the priority (a number, or a
    # label of Exten@Context) before it looks for the channel; an invalid one is worded
    # differently from Originate's (test_label_fidelity, test_fidelity.RESPONSES).
    name = _need(m, "Channel", "Channel not specified")
    context = _header(m, "Context")
    if not context:
        raise _Refuse("Context not specified")
    exten = _header(m, "Exten")
    if not exten:
        raise _Refuse("Exten not specified")
    prio_text = _header(m, "Priority")
    if not prio_text:
        raise _Refuse("Priority not specified")
    priority = _priority(sim, prio_text, context, exten)
    if priority is None or priority < 1:
        raise _Refuse("Priority is invalid")
    chan = _find(sim, name, f"Channel does not exist: {name}")
    if chan.bridge is not None:
        sim.pbx.bridge_leave(chan)
    sim.pbx.assign(chan, sim.pbx.pbx_job(chan, context, exten, priority))
    await _ack(sim, s, m, "Redirect successful")


_CALLERID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


def _parse_callerid(text: str) -> tuple[str | None, str | None]:
    """``"Name" <num>`` / ``Name <num>`` / ``num`` (as ast_callerid_parse reads them)."""
    m = _CALLERID.match(text)
    if m:
        return (m.group(2) or None), (m.group(1).strip() or None)
    return (text.strip() or None), None


@action("Originate")
async def _originate(sim: Simulator, s: Session, m: Message) -> None:
    target = _need(m, "Channel", "Channel not specified")
    app, exten, context = m.get("Application"), _header(m, "Exten"), _header(m, "Context")
    # Asterisk 22 reads a given Priority first (a number, or a label of Exten@Context), then
    # wants a priority other than 0 to exist in Exten@Context, even for an Application;
    # without one a call to an Exten is refused (test_label_fidelity, test_fidelity.RESPONSES).
    prio_text = _header(m, "Priority")
    priority = 0
    if prio_text:
        found = _priority(sim, prio_text, context, exten)
        if found is None:
            raise _Refuse("Invalid priority")
        priority = found
    if priority and not sim.pbx.dialplan.exists(context, exten, priority):
        raise _Refuse("Extension does not exist.")
    is_async = (m.get("Async") or "").strip().lower() in ("true", "yes", "1", "on", "y", "t")
    # Without Async, a call to the dialplan needs a priority (which exists, so Context and
    # Exten were given too). With Async, Asterisk 22 queues it whatever is missing: the
    # answered ;1 then runs where it is for what was not given, its own context, extension
    # and priority (test_originate_defaults).
    if not app and not is_async and not priority:
        raise _Refuse("Originate with 'Exten' requires 'Context' and 'Priority'")
    timeout_text = (m.get("Timeout") or "30000").strip()
    timeout = int(timeout_text) / 1000 if timeout_text.isdigit() else 30.0
    cid = m.get("CallerID")
    callerid = _parse_callerid(cid) if cid else None
    variables = []
    for raw in m.get_all("Variable"):
        for item in raw.split(","):
            k, sep, v = item.partition("=")
            if sep and k.strip():
                variables.append((k.strip(), v))
    data = m.get("Data", "")

    async def place() -> tuple[bool, int, Channel | None]:
        result = await sim.pbx.originate(
            target,
            context=context or None,
            exten=exten or None,
            priority=priority,
            application=app,
            data=data,
            callerid=callerid,
            variables=variables,
            timeout=timeout,
        )
        return result.success, result.reason, result.channel

    if not is_async:
        ok, _, _ = await place()
        if ok:
            await _ack(sim, s, m, "Originate successfully queued")
        else:
            await _error(sim, s, m, "Originate failed")
        return
    await _ack(sim, s, m, "Originate successfully queued")

    async def later() -> None:
        ok, reason, chan = await place()
        fields = [*_aid(m), ("Response", "Success" if ok else "Failure")]
        fields.append(("Channel", chan.name if chan is not None else target))
        if app:
            fields += [("Application", app), ("Data", data)]
        else:
            fields += [("Context", context or ""), ("Exten", exten or "")]
        fields.append(("Reason", str(reason)))
        if chan is not None:
            fields += [
                ("Uniqueid", chan.uniqueid),
                ("CallerIDNum", chan.caller_num),
                ("CallerIDName", chan.caller_name),
            ]
            # Quirk of Asterisk 22: the channel's name inside the key (originate.ami).
            fields += [
                (f"ChanVariable({chan.name})", f"{v}={chan.variables.get(v, '')}")
                for v in sim.pbx.channelvars
            ]
        else:
            fields += [
                ("Uniqueid", "<unknown>"),
                ("CallerIDNum", "<unknown>"),
                ("CallerIDName", "<unknown>"),
            ]
        sim.pbx.event("OriginateResponse", fields)

    sim.spawn(later)


@action("CoreShowChannels")
async def _core_show_channels(sim: Simulator, s: Session, m: Message) -> None:
    await _list_start(sim, s, m, "Channels will follow")
    chans = list(sim.pbx.channels.values())
    for chan in chans:
        s.send(
            Event(
                [
                    ("Event", "CoreShowChannel"),
                    *_aid(m),
                    *sim.pbx.snap(chan),
                    ("Application", chan.application),
                    ("ApplicationData", chan.appdata),
                    ("Duration", chan.duration()),
                    ("BridgeId", chan.bridge.uniqueid if chan.bridge else ""),
                ]
            )
        )
    _list_complete(s, m, "CoreShowChannelsComplete", len(chans))


@action("Status")
async def _status(sim: Simulator, s: Session, m: Message) -> None:
    name = m.get("Channel")
    chans = [_find(sim, name, "No such channel")] if name else list(sim.pbx.channels.values())
    await _list_start(sim, s, m, "Channel status will follow")
    for chan in chans:
        # Quirk of Asterisk 22: "Privilege: Call" (capitalised, no ",all"), ActionID last.
        s.send(
            Event(
                [
                    ("Event", "Status"),
                    ("Privilege", "Call"),
                    *sim.pbx.snap(chan),
                    ("Type", chan.tech),
                    ("DNID", ""),
                    ("EffectiveConnectedLineNum", chan.connected_num),
                    ("EffectiveConnectedLineName", chan.connected_name),
                    ("TimeToHangup", "0"),
                    ("BridgeID", chan.bridge.uniqueid if chan.bridge else ""),
                    ("Application", chan.application),
                    ("Data", chan.appdata),
                    ("Nativeformats", "(slin)"),
                    ("Readformat", "slin"),
                    ("Readtrans", ""),
                    ("Writeformat", "slin"),
                    ("Writetrans", ""),
                    ("Callgroup", "0"),
                    ("Pickupgroup", "0"),
                    ("Seconds", str(chan.seconds())),
                    *_aid(m),
                ]
            )
        )
    # Asterisk 22's StatusComplete repeats the count as `Items` (older clients read that).
    _list_complete(s, m, "StatusComplete", len(chans), ("Items", str(len(chans))))


# ---- bridges ----------------------------------------------------------------------------


@action("BridgeList")
async def _bridge_list(sim: Simulator, s: Session, m: Message) -> None:
    wanted = m.get("BridgeType")
    bridges = [b for b in sim.pbx.bridges.values() if not wanted or b.type == wanted]
    await _list_start(sim, s, m, "Bridge listing will follow")
    for bridge in bridges:
        s.send(Event([("Event", "BridgeListItem"), *_aid(m), *bridge.snapshot()]))
    _list_complete(s, m, "BridgeListComplete", len(bridges))


@action("BridgeInfo")
async def _bridge_info(sim: Simulator, s: Session, m: Message) -> None:
    bridge = sim.pbx.bridges.get(_need(m, "BridgeUniqueid", "BridgeUniqueid must be provided"))
    if bridge is None:
        raise _Refuse("Specified BridgeUniqueid not found")
    await _list_start(sim, s, m, "Bridge channel listing will follow")
    for chan in bridge.channels:
        s.send(Event([("Event", "BridgeInfoChannel"), *_aid(m), *sim.pbx.snap(chan)]))
    _list_complete(s, m, "BridgeInfoComplete", len(bridge.channels), *bridge.snapshot())


@action("Bridge")
async def _bridge(sim: Simulator, s: Session, m: Message) -> None:
    n1, n2 = m.get("Channel1"), m.get("Channel2")
    if not n1 or not n2:
        await _error(sim, s, m, "Missing channel parameter in request")
        return
    c1 = _find(sim, n1, f"Channel1 does not exist: {n1}")
    c2 = _find(sim, n2, f"Channel2 does not exist: {n2}")
    if c1 is c2:
        # Asterisk 22 makes the bridge, puts the channel in it, fails to add it a second
        # time, and destroys the bridge again (checked on the test server).
        bridge = sim.pbx.create_bridge()
        sim.pbx.answer(c1)
        sim.pbx.bridge_enter(bridge, c1)
        sim.pbx.bridge_leave(c1)
        await _error(sim, s, m, f"Unable to add Channel2 to bridge: Surrogate/{c2.name}")
        return
    bridge = sim.pbx.create_bridge()
    for chan in (c1, c2):
        sim.pbx.answer(chan)
        if chan.after_bridge is None:
            # Asterisk 22 (action_bridge) saves where the channel goes on in the dialplan
            # after the bridge: for one running dialplan its next priority, which
            # BridgeEnter already shows ("Priority: 3" for a channel in Wait at priority
            # 2); one outside any dialplan (an Originate's ;1 running its Application)
            # starts its own context/extension/priority, 1 for that ;1 (test_bridge_fidelity).
            if chan.in_pbx and not chan.app_only:
                chan.priority += 1
            chan.after_bridge = (chan.context, chan.exten, chan.priority)
        sim.pbx.bridge_enter(bridge, chan)

        async def park() -> bool:
            await anyio.sleep_forever()
            return True

        sim.pbx.assign(chan, park)
    await _ack(sim, s, m, "Channels have been bridged")


@action("BlindTransfer")
async def _blind_transfer(sim: Simulator, s: Session, m: Message) -> None:
    name = _need(m, "Channel", "No channel specified")
    exten = _need(m, "Exten", "No extension specified")
    chan = _find(sim, name, "Channel specified does not exist")
    context = m.get("Context") or chan.context
    bridge = chan.bridge
    if bridge is None or len(bridge.channels) != 2:
        await _error(sim, s, m, "Transfer invalid")
        return
    other = next(c for c in bridge.channels if c is not chan)
    await _ack(sim, s, m, "Transfer succeeded")
    sim.pbx.blind_transfer(chan, other, context, exten)


# ---- CLI --------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# Units of `core show uptime`, largest first (a year is 365 days there).
_UPTIME_UNITS: Final = (
    ("year", 365 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def uptime_text(secs: int) -> str:
    """A duration as Asterisk 22's ``core show uptime`` writes it (print_uptimestr in
    main/asterisk.c): ``1 minute, 5 seconds``, ``2 hours``, ``0 seconds``. A unit is used
    only when *more* than one of it remains (so 60 s is ``60 seconds``), and a remainder of
    0 seconds is left out unless nothing else was written."""
    parts = []
    for word, size in _UPTIME_UNITS:
        if secs > size:
            parts.append(_plural(secs // size, word))
            secs %= size
    if secs > 0 or not parts:
        parts.append(_plural(secs, "second"))
    return ", ".join(parts)


def cli(sim: Simulator, command: str) -> list[str] | None:
    """Output lines of a CLI command, or None for an unknown command."""
    words = command.split()
    pbx = sim.pbx
    if words == ["core", "show", "version"]:
        return [
            f"Asterisk {sim.version} built by ami_client.testing @ localhost on a "
            f"{platform.machine() or 'unknown'} running {platform.system() or 'unknown'} "
            f"on {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(sim.started_wall))}"
        ]
    if words[:3] == ["core", "show", "channels"] and len(words) <= 4:
        chans = list(pbx.channels.values())
        calls = len({c.linkedid for c in chans})
        counts = [
            _plural(len(chans), "active channel"),
            _plural(calls, "active call"),
            _plural(pbx.calls_processed, "call") + " processed",
        ]
        if words[3:] == ["count"]:
            return counts
        lines = [
            f"{'Channel':<64.64} {'Location':<32.32} {'State':<7.7} {'Application(Data)':<30.30}"
        ]
        for c in chans:
            where = f"{c.exten}@{c.context}:{c.priority}" if c.exten else "(None)"
            app = f"{c.application}({c.appdata})"
            state = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}.get(c.state, "Unknown")
            lines.append(f"{c.name:<64.64} {where:<32.32} {state:<7.7} {app:<30.30}")
        return lines + counts
    if words[:3] == ["channel", "request", "hangup"] and len(words) == 4:
        if words[3].lower() == "all":
            # A line per channel (in the simulator's order: Asterisk's follows its hash
            # table), and an empty Output when there are none, as on Asterisk 22.
            chans = list(pbx.channels.values())
            for c in chans:
                _cli_hangup(sim, c)
            return [f"Requested Hangup on channel '{c.name}'" for c in chans] or [""]
        chan = pbx.find_channel(words[3])
        if chan is None:
            return [f"{words[3]} is not a known channel"]
        _cli_hangup(sim, chan)
        return [f"Requested Hangup on channel '{chan.name}'"]
    if words[:2] == ["dialplan", "show"] and len(words) == 3 and "@" in words[2]:
        return _dialplan_show(sim, *words[2].split("@", 1))
    if words == ["core", "show", "uptime"]:
        secs = int(time.monotonic() - sim.started)
        return [
            f"System uptime: {uptime_text(secs)}",
            f"Last reload: {uptime_text(secs)}",
        ]
    return None


class _CliFailed(Exception):
    """A CLI command that ran and failed: Asterisk 22 answers Error with its output and
    ``Command '<command>' failed.`` (test_actions_fidelity)."""

    def __init__(self, *lines: str) -> None:
        super().__init__(*lines)
        self.lines = lines


def _dialplan_show(sim: Simulator, exten: str, context: str) -> list[str]:
    if not sim.pbx.dialplan.has_context(context):
        raise _CliFailed(f"There is no existence of '{context}' context")
    listing = sim.pbx.dialplan.listing(context, exten)
    if listing is None:
        raise _CliFailed(f"There is no existence of {exten}@{context} extension")
    name, steps = listing
    lines = [f"[ Context '{context}' created by 'pbx_config' ]"]
    # Asterisk 22's show_dialplan_helper: "  %-17s %-45s [%s]" of the extension's name (a
    # pattern's own) on its first priority, or "   [label]" on a labelled one; then
    # "N. App(data)" and the registrar (Asterisk: extensions.conf:<line>) (test_dialplan_show).
    for i, (app, data, label) in enumerate(steps, 1):
        head = f"'{name}' =>"  # (the first line names the extension)
        if i > 1:
            head = "" if label is None else f"   [{label}]"
        lines.append(f"  {head:<17} {f'{i}. {app}({data})':<45} [simulator]")
    n = len(steps)
    lines += ["", f"-= 1 extension ({n} priorit{'y' if n == 1 else 'ies'}) in 1 context. =-"]
    return lines


@action("Command")
async def _command(sim: Simulator, s: Session, m: Message) -> None:
    command = _need(m, "Command", "No command provided")
    try:
        lines = cli(sim, command)
    except _CliFailed as failed:
        output = [*failed.lines, f"Command '{command}' failed."]
        await sim.respond(
            s,
            m,
            response(
                "Error", m, ("Message", "Command output follows"), *[("Output", x) for x in output]
            ),
        )
        return
    if lines is None:
        # Asterisk 22: an Error response that still says "Command output follows" (command.ami).
        text = (
            f"No such command '{command}' (type 'core show help {command}' for other possible "
            "commands)"
        )
        await sim.respond(
            s, m, response("Error", m, ("Message", "Command output follows"), ("Output", text))
        )
        return
    await sim.respond(
        s,
        m,
        response(
            "Success", m, ("Message", "Command output follows"), *[("Output", x) for x in lines]
        ),
    )
