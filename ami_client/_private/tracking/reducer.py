"""The tracker's state machine: pure, synchronous, no I/O.

:meth:`Reducer.feed` takes one typed event and returns what changed. Channels, bridges and
dials are immutable values (:mod:`.model`); the reducer keeps them in plain dictionaries and
replaces a value whenever an event changes it, so a state handed out earlier never moves.

Seeding (:meth:`Reducer.begin_sync`): the async layer sends ``BridgeList`` and
``CoreShowChannels`` with ActionIDs it names here. Their items travel in the same event stream
as everything else, so the reducer applies each list exactly where it sits in the stream:
at the list's completion event, entries the list lacks are dropped as stale -- unless an
event since :meth:`begin_sync` said they were born -- and entries it has are added or
refreshed -- unless an event since then said they ended. Asterisk 22 takes CoreShowChannels'
snapshot from its channel cache, which it updates *before* the matching AMI events are
written (stasis), so late events about seeded or dropped entries are expected and tolerated,
not reported.

Invariant violations never raise: they go to the ``on_violation`` hook and are counted.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from ami_client._private.catalogue._base import TypedEvent
from ami_client._private.catalogue._convert import (
    as_int,
    as_state,
    as_str,
    snapshot_variables,
)
from ami_client._private.message import Event
from ami_client._private.tracking.model import (
    Bridge,
    BridgeChange,
    Call,
    CallChange,
    Change,
    Channel,
    ChannelChange,
    Dial,
    DialChange,
    Dtmf,
    Transfer,
    TransferChange,
    Violation,
)

__all__ = ["Reducer", "TrackerState", "ViolationHook"]

logger = logging.getLogger("ami_client.tracking")

ViolationHook = Callable[[Violation], None]

_evolve: Final = attrs.evolve
_get: Final = Event.get
_dict_get: Final = dict.get
_UNKNOWN: Final = "<unknown>"
_channel_keys: dict[str, tuple[tuple[str, str, Callable[[Event, str], Any]], ...]] = {}

# (Channel attribute, wire key without prefix, converter) of a channel snapshot.
_CHANNEL_FIELDS: Final = (
    ("name", "Channel", as_str),
    ("state", "ChannelState", as_state),
    ("state_desc", "ChannelStateDesc", as_str),
    ("caller_id_num", "CallerIDNum", as_str),
    ("caller_id_name", "CallerIDName", as_str),
    ("connected_line_num", "ConnectedLineNum", as_str),
    ("connected_line_name", "ConnectedLineName", as_str),
    ("language", "Language", as_str),
    ("account_code", "AccountCode", as_str),
    ("context", "Context", as_str),
    ("exten", "Exten", as_str),
    ("priority", "Priority", as_int),
    ("linked_id", "Linkedid", as_str),
)
_BRIDGE_FIELDS: Final = (
    ("type", "BridgeType", as_str),
    ("technology", "BridgeTechnology", as_str),
    ("creator", "BridgeCreator", as_str),
    ("name", "BridgeName", as_str),
    ("video_source_mode", "BridgeVideoSourceMode", as_str),
)


@attrs.frozen(kw_only=True)
class TrackerState:
    """An immutable view of everything tracked, at one point of the event stream."""

    channels: Mapping[str, Channel]
    """Live channels by Uniqueid."""
    bridges: Mapping[str, Bridge]
    """Live bridges by BridgeUniqueid."""
    dials: Mapping[tuple[str | None, str], Dial]
    """Pending dials by (caller Uniqueid, destination Uniqueid)."""
    calls: Mapping[str, Call]
    """Calls by Linkedid: channels sharing it and the bridges they are in."""


def _frozen(d: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(d))


class Reducer:
    """Channel, bridge, dial, transfer and call tracking from typed events.

    Args:
        history: How many ended channels to keep (:attr:`ended`); 0 keeps none, so memory
            returns to zero once every call has ended.
        on_violation: Called with each :class:`Violation` (exceptions it raises are logged
            and swallowed). Violations are counted in :attr:`violations` either way.
    """

    def __init__(self, *, history: int = 0, on_violation: ViolationHook | None = None) -> None:
        if history < 0:
            raise ValueError(f"history must be >= 0, not {history!r}")
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.dials: dict[tuple[str | None, str], Dial] = {}
        self._calls: dict[str, dict[str, None]] = {}
        self.ended: deque[Channel] = deque(maxlen=history)
        """The most recent ended channels (with their hangup cause), oldest first."""
        self.violations: Counter[str] = Counter()
        """How many violations of each kind were seen."""
        self.on_violation = on_violation
        self.events = 0
        """How many events were fed."""
        self.synced = False
        """True once a CoreShowChannels seeding completed."""
        self._state: TrackerState | None = None
        # Seeding (see the module docstring).
        self._sync_ids: dict[str, str] = {}  # ActionID -> "channels" | "bridges"
        self._sync_items: dict[str, list[TypedEvent]] = {}
        self._born: set[str] = set()
        self._died: set[str] = set()
        self._seeded: set[str] = set()  # entries a list added before their events came
        self._dropped: set[str] = set()  # entries a list dropped; their late events are quiet
        self._moved: set[str] = set()  # channels that entered or left a bridge since begin_sync
        # Dials in progress when a seeding began: their DialEnd may have been lost (a
        # reconnect, an overflow), so a Hangup during one is not the server's fault.
        self._unconfirmed_dials: set[tuple[str | None, str]] = set()
        # Channels that were live when a seeding began: their events may have a hole, so a
        # DialState or DialEnd of theirs without its DialBegin is not the server's fault.
        self._gapped: set[str] = set()
        self._handlers: dict[str, Callable[[TypedEvent, Event, list[Change]], None]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._refresh_event,
            "NewCallerid": self._refresh_event,
            "NewConnectedLine": self._refresh_event,
            "NewAccountCode": self._refresh_event,
            "Newexten": self._newexten,
            "VarSet": self._varset,
            "Rename": self._rename,
            "DTMFBegin": self._dtmf_begin,
            "DTMFEnd": self._dtmf_end,
            "Hold": self._hold,
            "Unhold": self._hold,
            "HangupRequest": self._hangup_request,
            "SoftHangupRequest": self._hangup_request,
            "Hangup": self._hangup,
            "BridgeCreate": self._bridge_create,
            "BridgeEnter": self._bridge_enter,
            "BridgeLeave": self._bridge_leave,
            "BridgeDestroy": self._bridge_destroy,
            "BridgeMerge": self._bridge_merge,
            "BridgeVideoSourceUpdate": self._bridge_update,
            "BridgeUpdate": self._bridge_update,
            "DialBegin": self._dial_begin,
            "DialState": self._dial_state,
            "DialEnd": self._dial_end,
            "LocalBridge": self._local_bridge,
            "LocalOptimizationBegin": self._local_optimization,
            "LocalOptimizationEnd": self._local_optimization,
            "BlindTransfer": self._blind_transfer,
            "AttendedTransfer": self._attended_transfer,
            "CoreShowChannel": self._sync_item,
            "BridgeListItem": self._sync_item,
            "CoreShowChannelsComplete": self._sync_complete,
            "BridgeListComplete": self._sync_complete,
        }
        self._lower_handlers = {name.lower(): h for name, h in self._handlers.items()}

    # -- public ------------------------------------------------------------------------------

    def feed(self, event: TypedEvent) -> list[Change]:
        """Apply one event; return the changes it made (often none). Never raises for what a
        server sent: broken guarantees are reported as violations."""
        self.events += 1
        msg = event.message
        name = _get(msg, "Event")
        handler = self._handlers.get(name) if name is not None else None
        if handler is None:
            if name is None:
                return []
            handler = self._lower_handlers.get(name.lower())
            if handler is None:
                return []
        out: list[Change] = []
        handler(event, msg, out)
        if out:
            self._state = None
        return out

    def begin_sync(self, *, channels_action_id: str, bridges_action_id: str) -> None:
        """Expect a seeding: ``BridgeList`` and ``CoreShowChannels`` answered with these
        ActionIDs, from this point of the stream on (see the module docstring)."""
        self._sync_ids = {channels_action_id: "channels", bridges_action_id: "bridges"}
        self._sync_items = {channels_action_id: [], bridges_action_id: []}
        self._born.clear()
        self._died.clear()
        self._moved.clear()
        self._seeded.clear()
        self._dropped.clear()
        self._unconfirmed_dials = set(self.dials)
        self._gapped = set(self.channels)

    def abort_sync(self) -> None:
        """Give up the seeding begun by :meth:`begin_sync`: its lists will not come (the
        async layer could not send them). Events are judged against the state again, and
        what the window recorded is freed -- it would otherwise grow with every channel."""
        self._sync_ids = {}
        self._sync_items = {}
        self._born.clear()
        self._died.clear()
        self._moved.clear()

    @property
    def syncing(self) -> bool:
        """True between :meth:`begin_sync` and the completion of both lists."""
        return bool(self._sync_ids)

    def state(self) -> TrackerState:
        """An immutable view of the current state (cached until the next change)."""
        state = self._state
        if state is None:
            state = self._state = TrackerState(
                channels=_frozen(self.channels),
                bridges=_frozen(self.bridges),
                dials=_frozen(self.dials),
                calls=MappingProxyType({lid: self.call(lid) for lid in self._calls}),
            )
        return state

    def call(self, linked_id: str) -> Call:
        """The call of ``linked_id`` now (KeyError if no channel has it)."""
        uids = self._calls[linked_id]
        channels = tuple(self.channels[uid] for uid in uids)
        seen: dict[str, None] = {}
        for ch in channels:
            if ch.bridge_id is not None:
                seen[ch.bridge_id] = None
        bridges = tuple(self.bridges[b] for b in seen if b in self.bridges)
        return Call(linked_id=linked_id, channels=channels, bridges=bridges)

    def violation(self, kind: str, message: str, event: TypedEvent | None = None) -> None:
        """Count a violation and report it to the hook (used by the async layer too)."""
        self.violations[kind] += 1
        hook = self.on_violation
        logger.debug("tracker invariant violation (%s): %s", kind, message)
        if hook is not None:
            try:
                hook(Violation(kind=kind, message=message, event=event))
            except Exception:
                logger.exception("the tracker's on_violation hook failed")

    # -- channels ----------------------------------------------------------------------------

    def _read_channel(self, msg: Event, prefix: str, cur: Channel | None) -> dict[str, Any]:
        """The snapshot fields of ``msg`` under ``prefix`` that differ from ``cur``.

        The hot path of the tracker: an exact-case dictionary look-up per field (Asterisk
        writes its keys in one spelling), the case-insensitive look-up only for a miss.
        """
        keys = _channel_keys.get(prefix)
        if keys is None:
            keys = _channel_keys[prefix] = tuple(
                (attr, prefix + key, convert) for attr, key, convert in _CHANNEL_FIELDS
            )
        diff: dict[str, Any] = {}
        dget = _dict_get
        for attr, full, convert in keys:
            raw = dget(msg, full)
            if raw is None:
                raw = msg.get(full)
                if raw is None:
                    continue  # absent: the event does not say
            if convert is as_str:
                value: Any = None if raw == _UNKNOWN else raw
            else:
                value = convert(msg, full)
            if cur is None or getattr(cur, attr) != value:
                diff[attr] = value
        if dget(msg, prefix + "ChanVariable") is not None:
            variables = snapshot_variables(msg, prefix)
            old = cur.variables if cur is not None else None
            if old is None or any(old.get(k) != v for k, v in variables.items()):
                merged = dict(old) if old else {}
                merged.update(variables)
                diff["variables"] = MappingProxyType(merged)
        return diff

    def _put_channel(
        self, old: Channel | None, new: Channel, reason: str, out: list[Change]
    ) -> None:
        uid = new.unique_id
        self.channels[uid] = new
        if old is None or old.linked_id != new.linked_id:
            if old is not None and old.linked_id is not None:
                self._unindex_call(old.linked_id, uid, out)
            if new.linked_id is not None:
                group = self._calls.get(new.linked_id)
                if group is None:
                    group = self._calls[new.linked_id] = {}
                    out.append(CallChange(linked_id=new.linked_id, started=True))
                group[uid] = None
        out.append(ChannelChange(old=old, new=new, reason=reason))

    def _unindex_call(self, linked_id: str, uid: str, out: list[Change]) -> None:
        # Every live channel with a Linkedid is in its group (_put_channel).
        group = self._calls[linked_id]
        del group[uid]
        if not group:
            del self._calls[linked_id]
            out.append(CallChange(linked_id=linked_id, started=False))

    def _update(
        self, uid: str, changes: dict[str, Any], out: list[Change], reason: str = "event"
    ) -> None:
        """Apply ``changes`` to the live channel ``uid`` (callers check both)."""
        cur = self.channels[uid]
        self._put_channel(cur, _evolve(cur, **changes), reason, out)

    def _known(
        self,
        uid: str | None,
        event: TypedEvent,
        msg: Event,
        prefix: str,
        out: list[Change],
        extra: Callable[[Channel, dict[str, Any]], None] | None = None,
    ) -> Channel | None:
        """The channel ``uid`` after refreshing it from the event's snapshot under ``prefix``;
        an unknown channel is created from the snapshot (and reported, unless expected)."""
        if uid is None:
            return None
        cur = self.channels.get(uid)
        if cur is None:
            if uid in self._dropped:
                return None  # a late event of a channel the last seeding found gone
            if self.synced and not self._sync_ids:
                self.violation(
                    "unknown-channel",
                    f"{_get(msg, 'Event')} for unknown channel {uid}",
                    event,
                )
            diff = self._read_channel(msg, prefix, None)
            diff.setdefault("name", "")
            new = Channel(unique_id=uid, **diff)
            if extra is not None:
                more: dict[str, Any] = {}
                extra(new, more)
                if more:
                    new = _evolve(new, **more)
            if self.syncing:
                self._born.add(uid)
            self._put_channel(None, new, "event", out)
            return new
        diff = self._read_channel(msg, prefix, cur)
        if extra is not None:
            extra(cur, diff)  # the event's own changes, applied in the same new version
        if diff:
            new = _evolve(cur, **diff)
            self._put_channel(cur, new, "event", out)
            return new
        return cur

    def _newchannel(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uid = as_str(msg, "Uniqueid")
        if uid is None:
            self.violation("malformed", "Newchannel without Uniqueid", event)
            return
        cur = self.channels.get(uid)
        if cur is not None and uid not in self._seeded:
            self.violation("duplicate-channel", f"second Newchannel for {uid}", event)
        if self.syncing:
            self._born.add(uid)
            self._dropped.discard(uid)
        if cur is None:
            diff = self._read_channel(msg, "", None)
            diff.setdefault("name", "")
            self._put_channel(None, Channel(unique_id=uid, **diff), "event", out)
        else:
            self._seeded.discard(uid)
            self._known(uid, event, msg, "", out)

    def _refresh_event(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        self._known(as_str(msg, "Uniqueid"), event, msg, "", out)

    def _newexten(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        def app(ch: Channel, diff: dict[str, Any]) -> None:
            application, data = as_str(msg, "Application"), msg.get("AppData")
            if application != ch.application or data != ch.application_data:
                diff["application"], diff["application_data"] = application, data

        self._known(as_str(msg, "Uniqueid"), event, msg, "", out, app)

    def _varset(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        name = msg.get("Variable")

        def setvar(ch: Channel, diff: dict[str, Any]) -> None:
            if name is None:
                return
            value = msg.get("Value", "")
            variables = diff.get("variables", ch.variables)
            if variables.get(name) != value:
                merged = dict(variables)
                merged[name] = value
                diff["variables"] = MappingProxyType(merged)

        self._known(as_str(msg, "Uniqueid"), event, msg, "", out, setvar)

    def _rename(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        # Asterisk 22 (manager_channels.c): Channel (old name), Newname, Uniqueid.
        uid = as_str(msg, "Uniqueid")
        new_name = msg.get("Newname")
        ch = self.channels.get(uid) if uid is not None else None
        if ch is None or uid is None:
            if uid is not None and uid not in self._dropped and self.synced and not self._sync_ids:
                self.violation("unknown-channel", f"Rename of unknown channel {uid}", event)
            return
        if new_name is not None and new_name != ch.name:
            self._update(uid, {"name": new_name}, out)

    def _dtmf_begin(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uid = as_str(msg, "Uniqueid")
        ch = self._known(uid, event, msg, "", out)
        if ch is not None and uid is not None:
            dtmf = Dtmf(digit=msg.get("Digit", ""), direction=msg.get("Direction"))
            self._update(uid, {"dtmf": dtmf}, out)

    def _dtmf_end(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uid = as_str(msg, "Uniqueid")
        ch = self._known(uid, event, msg, "", out)
        if ch is not None and uid is not None and ch.dtmf is not None:
            self._update(uid, {"dtmf": None}, out)

    def _hold(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uid = as_str(msg, "Uniqueid")
        ch = self._known(uid, event, msg, "", out)
        hold = _get(msg, "Event") == "Hold"
        if ch is not None and uid is not None and ch.on_hold != hold:
            self._update(uid, {"on_hold": hold}, out)

    def _hangup_request(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uid = as_str(msg, "Uniqueid")
        ch = self._known(uid, event, msg, "", out)
        if ch is not None and uid is not None and not ch.hangup_requested:
            self._update(uid, {"hangup_requested": True}, out)

    def _hangup(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uid = as_str(msg, "Uniqueid")
        if uid is None:
            self.violation("malformed", "Hangup without Uniqueid", event)
            return
        if self.syncing:
            self._died.add(uid)
        ch = self.channels.get(uid)
        if ch is None:
            if uid in self._dropped:
                self._dropped.discard(uid)
            elif self.synced and not self._sync_ids:
                self.violation("unknown-channel", f"Hangup of unknown channel {uid}", event)
            return
        if ch.bridge_id is not None:
            # Asterisk guarantees BridgeLeave before Hangup (AMI v2 specification). While a
            # seeding is under way the state may be stale (the BridgeLeave lost with the link).
            if not self.syncing:
                self.violation(
                    "hangup-in-bridge",
                    f"Hangup of {ch.name} while in bridge {ch.bridge_id}",
                    event,
                )
            self._leave_bridge(ch.bridge_id, uid, out)
        final = _evolve(
            ch,
            hangup_cause=as_int(msg, "Cause"),
            hangup_cause_txt=as_str(msg, "Cause-txt"),
            bridge_id=None,
            dtmf=None,
            ended=True,
        )
        self._remove_channel(ch, final, "event", out)

    def _remove_channel(self, ch: Channel, final: Channel, reason: str, out: list[Change]) -> None:
        uid = ch.unique_id
        del self.channels[uid]
        self._seeded.discard(uid)
        self._gapped.discard(uid)
        if self.dials:
            for key in [k for k in self.dials if uid in k]:
                dial = self.dials.pop(key)
                if key in self._unconfirmed_dials:
                    self._unconfirmed_dials.discard(key)  # its DialEnd may have been lost
                elif dial.caller is None and uid == dial.dest:
                    # Asterisk dialling on its own: an Originate whose Timeout runs out while
                    # the channel rings hangs it up (HangupRequest, Cause 19) with no DialEnd
                    # at all (Asterisk 22.10: the ring_originate scenario of
                    # tests/simulator/test_fidelity.py). Its end, not the server losing events.
                    pass
                elif reason == "event" and not self.syncing:
                    self.violation(
                        "dial-without-end", f"{ch.name} hung up during a dial without DialEnd"
                    )
                out.append(DialChange(old=dial, new=_evolve(dial, ended=True)))
        out.append(ChannelChange(old=ch, new=None, reason=reason, final=final))
        if ch.linked_id is not None:
            self._unindex_call(ch.linked_id, uid, out)
        if not self.channels:
            # A dict keeps its table after deletions: start afresh, so that memory really
            # returns to zero once every call has ended.
            self.channels = {}
            self.dials = {}
            self._calls = {}
            self._unconfirmed_dials = set()
            self._gapped = set()
        if self.ended.maxlen:
            self.ended.append(final)

    # -- bridges -----------------------------------------------------------------------------

    def _read_bridge(self, msg: Event, prefix: str, cur: Bridge | None) -> dict[str, Any]:
        diff: dict[str, Any] = {}
        for attr, key, convert in _BRIDGE_FIELDS:
            full = prefix + key if prefix else key
            if msg.get(full) is None:
                continue
            value = convert(msg, full)
            if cur is None or getattr(cur, attr) != value:
                diff[attr] = value
        return diff

    def _put_bridge(self, old: Bridge | None, new: Bridge, reason: str, out: list[Change]) -> None:
        self.bridges[new.unique_id] = new
        out.append(BridgeChange(old=old, new=new, reason=reason))

    def _known_bridge(
        self, bid: str | None, event: TypedEvent, msg: Event, prefix: str, out: list[Change]
    ) -> Bridge | None:
        if bid is None:
            key = f"{prefix}BridgeUniqueid"
            self.violation("malformed", f"{_get(msg, 'Event')} without {key}", event)
            return None
        cur = self.bridges.get(bid)
        if cur is None:
            if bid in self._dropped:
                return None
            if self.synced and not self._sync_ids:
                self.violation(
                    "unknown-bridge", f"{_get(msg, 'Event')} for unknown bridge {bid}", event
                )
            new = Bridge(unique_id=bid, **self._read_bridge(msg, prefix, None))
            if self.syncing:
                self._born.add(bid)
            self._put_bridge(None, new, "event", out)
            return new
        diff = self._read_bridge(msg, prefix, cur)
        if diff:
            new = _evolve(cur, **diff)
            self._put_bridge(cur, new, "event", out)
            return new
        return cur

    def _bridge_create(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        bid = as_str(msg, "BridgeUniqueid")
        if bid is None:
            self.violation("malformed", "BridgeCreate without BridgeUniqueid", event)
            return
        if self.syncing:
            self._born.add(bid)
            self._dropped.discard(bid)
        if bid in self.bridges and bid not in self._seeded:
            self.violation("duplicate-bridge", f"second BridgeCreate for {bid}", event)
        self._seeded.discard(bid)
        cur = self.bridges.get(bid)
        if cur is None:
            self._put_bridge(
                None, Bridge(unique_id=bid, **self._read_bridge(msg, "", None)), "event", out
            )
        else:
            self._known_bridge(bid, event, msg, "", out)

    def _bridge_update(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        self._known_bridge(as_str(msg, "BridgeUniqueid"), event, msg, "", out)

    def _join_bridge(self, bid: str, uid: str, out: list[Change], reason: str = "event") -> None:
        bridge = self.bridges.get(bid)
        if bridge is not None and uid not in bridge.members:
            self._put_bridge(bridge, _evolve(bridge, members=(*bridge.members, uid)), reason, out)
        ch = self.channels.get(uid)
        if ch is not None and ch.bridge_id != bid:
            self._update(uid, {"bridge_id": bid}, out, reason)

    def _leave_bridge(self, bid: str, uid: str, out: list[Change], reason: str = "event") -> None:
        bridge = self.bridges.get(bid)
        if bridge is not None and uid in bridge.members:
            members = tuple(m for m in bridge.members if m != uid)
            self._put_bridge(bridge, _evolve(bridge, members=members), reason, out)
        ch = self.channels.get(uid)
        if ch is not None and ch.bridge_id == bid:
            self._update(uid, {"bridge_id": None}, out, reason)

    def _bridge_enter(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        bid, uid = as_str(msg, "BridgeUniqueid"), as_str(msg, "Uniqueid")
        bridge = self._known_bridge(bid, event, msg, "", out)
        ch = self._known(uid, event, msg, "", out)
        if bridge is None or ch is None or bid is None or uid is None:
            return
        syncing = bool(self._sync_ids)  # (self.syncing, without the property call)
        if syncing:
            self._moved.add(uid)
        if ch.bridge_id is not None and ch.bridge_id != bid:
            if not syncing:  # (while seeding, the leave may have been lost with the link)
                self.violation(
                    "enter-without-leave",
                    f"{ch.name} entered {bid} while still in {ch.bridge_id}",
                    event,
                )
            self._leave_bridge(ch.bridge_id, uid, out)
        self._join_bridge(bid, uid, out)

    def _bridge_leave(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        bid, uid = as_str(msg, "BridgeUniqueid"), as_str(msg, "Uniqueid")
        bridge = self._known_bridge(bid, event, msg, "", out)
        ch = self._known(uid, event, msg, "", out)
        if bridge is None or ch is None or bid is None or uid is None:
            return
        syncing = bool(self._sync_ids)
        if syncing:
            self._moved.add(uid)
        if uid not in bridge.members and bid not in self._seeded and not syncing:
            self.violation("leave-without-enter", f"{ch.name} left {bid} it never entered", event)
        self._leave_bridge(bid, uid, out)

    def _bridge_destroy(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        bid = as_str(msg, "BridgeUniqueid")
        if bid is None:
            self.violation("malformed", "BridgeDestroy without BridgeUniqueid", event)
            return
        if self.syncing:
            self._died.add(bid)
        bridge = self.bridges.get(bid)
        if bridge is None:
            if bid in self._dropped:
                self._dropped.discard(bid)
            elif self.synced and not self._sync_ids:
                self.violation("unknown-bridge", f"BridgeDestroy of unknown bridge {bid}", event)
            return
        if bridge.members and not self.syncing:
            self.violation(
                "destroy-with-members",
                f"bridge {bid} destroyed with {len(bridge.members)} members",
                event,
            )
        self._destroy_bridge(bridge, "event", out)

    def _destroy_bridge(self, bridge: Bridge, reason: str, out: list[Change]) -> None:
        bid = bridge.unique_id
        # Membership is kept both ways (a member's bridge_id is this bridge, and a channel's
        # bridge lists it): test_reducer_properties.py checks it after every event.
        for uid in bridge.members:
            self._update(uid, {"bridge_id": None}, out, reason)
        del self.bridges[bid]
        self._seeded.discard(bid)
        if not self.bridges:
            self.bridges = {}  # give the emptied table back (see _remove_channel)
        out.append(BridgeChange(old=bridge, new=None, reason=reason))

    def _bridge_merge(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        # BridgeMerge only announces the merge: Asterisk 22 then moves each channel of From
        # into To with a BridgeLeave/BridgeEnter pair (bridge.c, bridge_do_merge pulls and
        # pushes every bridge_channel; the spec's "Transfers" section says the same, and the
        # attended_transfer scenario recorded it), and destroys From with a BridgeDestroy.
        # So membership is left to those events: moving members here would make each of
        # them a "leave-without-enter". Members still in From at its BridgeDestroy are
        # reported there ("destroy-with-members").
        to_id, from_id = as_str(msg, "ToBridgeUniqueid"), as_str(msg, "FromBridgeUniqueid")
        to = self._known_bridge(to_id, event, msg, "To", out)
        src = self._known_bridge(from_id, event, msg, "From", out)
        if to is None or src is None or to_id is None or from_id is None:
            return
        if from_id not in to.merged_from:
            self._put_bridge(to, _evolve(to, merged_from=(*to.merged_from, from_id)), "event", out)

    # -- dials -------------------------------------------------------------------------------

    def _dial_key(
        self, event: TypedEvent, msg: Event, out: list[Change]
    ) -> tuple[str | None, str] | None:
        caller = as_str(msg, "Uniqueid")
        dest = as_str(msg, "DestUniqueid")
        if dest is None:
            self.violation("malformed", f"{_get(msg, 'Event')} without DestUniqueid", event)
            return None
        if caller is not None:
            self._known(caller, event, msg, "", out)
        self._known(dest, event, msg, "Dest", out)
        return (caller, dest)

    def _may_have_lost_dial_begin(self, key: tuple[str | None, str]) -> bool:
        """Whether the DialBegin of ``key`` may be missing through no fault of the server: a
        seeding is under way, or one of its channels was seeded, dropped, or live across a
        hole in the events (a reconnect, an overflow)."""
        caller, dest = key
        return (
            self.syncing
            or dest in self._seeded
            or dest in self._dropped
            or dest in self._gapped
            or (caller is not None and caller in self._gapped)
        )

    def _dial_begin(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        key = self._dial_key(event, msg, out)
        if key is None:
            return
        if key[1] not in self.channels:
            # The destination is a channel the last seeding found gone (its late events are
            # quiet): a dial of it would outlive it, as its Hangup finds nothing to remove.
            return
        old = self.dials.get(key)
        if old is not None:
            self.violation("duplicate-dial", f"second DialBegin {key[0]} -> {key[1]}", event)
        dial = Dial(caller=key[0], dest=key[1], dial_string=msg.get("DialString"))
        self.dials[key] = dial
        out.append(DialChange(old=old, new=dial))

    def _dial_state(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        key = self._dial_key(event, msg, out)
        if key is None:
            return
        old = self.dials.get(key)
        if old is None:
            if self.synced and not self._may_have_lost_dial_begin(key):
                self.violation("unknown-dial", f"DialState without DialBegin {key}", event)
            return
        new = _evolve(old, status=as_str(msg, "DialStatus"), forward=as_str(msg, "Forward"))
        if new != old:
            self.dials[key] = new
            out.append(DialChange(old=old, new=new))

    def _dial_end(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        key = self._dial_key(event, msg, out)
        if key is None:
            return
        old = self.dials.pop(key, None)
        self._unconfirmed_dials.discard(key)
        status = as_str(msg, "DialStatus")
        if old is None:
            # Asterisk 22 ends an attended transfer's consultation dial (the Atxfer action or
            # feature calling the target through a Local channel) with a DialEnd that has no
            # caller and no DialBegin before it: see the attended_transfer scenario. Only a
            # dial with a caller is expected to have begun.
            if self.synced and key[0] is not None and not self._may_have_lost_dial_begin(key):
                self.violation("unmatched-dial-end", f"DialEnd without DialBegin {key}", event)
            old_or_new = Dial(caller=key[0], dest=key[1])
            out.append(DialChange(old=None, new=_evolve(old_or_new, status=status, ended=True)))
        else:
            new = _evolve(old, status=status, forward=as_str(msg, "Forward"), ended=True)
            out.append(DialChange(old=old, new=new))
        if key[0] is not None:
            ch = self.channels.get(key[0])
            if ch is not None and ch.dial_status != status:
                self._update(key[0], {"dial_status": status}, out)

    # -- Local channels ----------------------------------------------------------------------

    def _local_bridge(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        one = self._known(as_str(msg, "LocalOneUniqueid"), event, msg, "LocalOne", out)
        two = self._known(as_str(msg, "LocalTwoUniqueid"), event, msg, "LocalTwo", out)
        if one is None or two is None:
            return
        if one.local_peer != two.unique_id:
            self._update(one.unique_id, {"local_peer": two.unique_id}, out)
        if two.local_peer != one.unique_id:
            self._update(two.unique_id, {"local_peer": one.unique_id}, out)

    def _local_optimization(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        begin = _get(msg, "Event") == "LocalOptimizationBegin"
        for prefix in ("LocalOne", "LocalTwo"):
            ch = self._known(as_str(msg, prefix + "Uniqueid"), event, msg, prefix, out)
            if ch is not None and ch.local_optimizing != begin:
                self._update(ch.unique_id, {"local_optimizing": begin}, out)

    # -- transfers ---------------------------------------------------------------------------

    def _attach(self, transfer: Transfer, uids: tuple[str | None, ...], out: list[Change]) -> None:
        seen: set[str] = set()
        for uid in uids:
            if uid is None or uid in seen:
                continue
            seen.add(uid)
            ch = self.channels.get(uid)
            if ch is not None:
                self._update(uid, {"transfers": (*ch.transfers, transfer)}, out)
        for bid in transfer.bridges:
            bridge = self.bridges.get(bid)
            if bridge is not None:
                new = _evolve(bridge, transfers=(*bridge.transfers, transfer))
                self._put_bridge(bridge, new, "event", out)
        out.append(TransferChange(transfer=transfer))

    def _blind_transfer(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        transferer = as_str(msg, "TransfererUniqueid")
        transferee = as_str(msg, "TransfereeUniqueid")
        self._known(transferer, event, msg, "Transferer", out)
        self._known(transferee, event, msg, "Transferee", out)
        bid = as_str(msg, "BridgeUniqueid")
        transfer = Transfer(
            kind="blind",
            result=as_str(msg, "Result"),
            transferer=transferer,
            transferee=transferee,
            bridges=(bid,) if bid else (),
            context=as_str(msg, "Context"),
            extension=as_str(msg, "Extension"),
        )
        self._attach(transfer, (transferer, transferee), out)

    def _attended_transfer(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        uids: list[str | None] = []
        for prefix in (
            "OrigTransferer",
            "SecondTransferer",
            "Transferee",
            "TransferTarget",
            "LocalOne",
            "LocalTwo",
        ):
            uid = as_str(msg, prefix + "Uniqueid")
            self._known(uid, event, msg, prefix, out)
            uids.append(uid)
        bridges = tuple(
            b
            for b in (
                as_str(msg, "OrigBridgeUniqueid"),
                as_str(msg, "SecondBridgeUniqueid"),
                as_str(msg, "DestBridgeUniqueid"),
            )
            if b
        )
        transfer = Transfer(
            kind="attended",
            result=as_str(msg, "Result"),
            transferer=uids[0],
            second_transferer=uids[1],
            transferee=uids[2],
            target=uids[3],
            bridges=tuple(dict.fromkeys(bridges)),
            dest_type=as_str(msg, "DestType"),
            dest_bridge=as_str(msg, "DestBridgeUniqueid"),
            dest_app=as_str(msg, "DestApp"),
        )
        self._attach(transfer, tuple(uids), out)

    # -- seeding -----------------------------------------------------------------------------

    def _sync_item(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        items = self._sync_items.get(msg.action_id or "")
        if items is not None:
            items.append(event)

    def _sync_complete(self, event: TypedEvent, msg: Event, out: list[Change]) -> None:
        action_id = msg.action_id or ""
        kind = self._sync_ids.pop(action_id, None)
        items = self._sync_items.pop(action_id, None)
        if kind is None or items is None:
            return  # someone else's list
        if kind == "channels":
            self._reconcile_channels(items, out)
            self.synced = True
        else:
            self._reconcile_bridges(items, out)
        if not self._sync_ids:  # both lists applied: the window is over
            self._born.clear()
            self._died.clear()
            self._moved.clear()

    def _reconcile_bridges(self, items: list[TypedEvent], out: list[Change]) -> None:
        listed: dict[str, Event] = {}
        for item in items:
            bid = as_str(item.message, "BridgeUniqueid")
            if bid is not None:
                listed[bid] = item.message
        for bid, msg in listed.items():
            if bid in self._died:
                continue
            cur = self.bridges.get(bid)
            diff = self._read_bridge(msg, "", cur)
            if cur is None:
                self._seeded.add(bid)
                self._put_bridge(None, Bridge(unique_id=bid, **diff), "sync", out)
            elif diff:
                self._put_bridge(cur, _evolve(cur, **diff), "sync", out)
        for bid in [b for b in self.bridges if b not in listed and b not in self._born]:
            self._dropped.add(bid)
            self._destroy_bridge(self.bridges[bid], "stale", out)

    def _reconcile_channels(self, items: list[TypedEvent], out: list[Change]) -> None:
        listed: dict[str, Event] = {}
        for item in items:
            uid = as_str(item.message, "Uniqueid")
            if uid is not None:
                listed[uid] = item.message
        for uid in [u for u in self.channels if u not in listed and u not in self._born]:
            ch = self.channels[uid]
            if ch.bridge_id is not None:
                self._leave_bridge(ch.bridge_id, uid, out, "stale")
                ch = self.channels[uid]
            self._dropped.add(uid)
            self._remove_channel(ch, _evolve(ch, ended=True), "stale", out)
        for uid, msg in listed.items():
            if uid in self._died:
                continue
            cur = self.channels.get(uid)
            diff = self._read_channel(msg, "", cur)
            app, data = as_str(msg, "Application"), msg.get("ApplicationData")
            if cur is None or cur.application != app or cur.application_data != data:
                diff["application"], diff["application_data"] = app, data
            if cur is None:
                diff.setdefault("name", "")
                self._seeded.add(uid)
                self._put_channel(None, Channel(unique_id=uid, **diff), "sync", out)
            elif diff:
                self._put_channel(cur, _evolve(cur, **diff), "sync", out)
            if uid in self._moved:
                continue  # it entered or left a bridge since: that event is newer than the list
            bid = as_str(msg, "BridgeId") or None
            ch = self.channels[uid]
            if ch.bridge_id != bid:
                if ch.bridge_id is not None:
                    self._leave_bridge(ch.bridge_id, uid, out, "sync")
                # A bridge destroyed since the list was taken: the channel has left it.
                if bid is not None and bid not in self._died:
                    if bid not in self.bridges:
                        # A bridge newer than the BridgeList snapshot: its BridgeCreate
                        # may still be on its way.
                        self._seeded.add(bid)
                        self._put_bridge(None, Bridge(unique_id=bid), "sync", out)
                    self._join_bridge(bid, uid, out, "sync")
        # (Membership stays two-way throughout: each move above leaves and joins through
        # _leave_bridge/_join_bridge, which update the channel and the bridge together.)
