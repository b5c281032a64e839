"""The simulator's channel and bridge records, and their AMI snapshots (Asterisk 22 fields)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import anyio
import attrs

__all__ = ["CAUSE_TEXT", "STATE_DESC", "Bridge", "Channel", "Fields"]

Fields = list[tuple[str, str]]

#: ``ChannelStateDesc`` of each ``ChannelState`` (``ast_state2str``).
STATE_DESC: dict[int, str] = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
    8: "Dialing Offhook",
    9: "Pre-ring",
}

#: ``Cause-txt`` of the hangup causes the simulator produces (``ast_cause2str``).
CAUSE_TEXT: dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}

UNKNOWN = "<unknown>"


@attrs.define(eq=False, kw_only=True)
class Channel:
    """One live channel. Mutable: the PBX engine updates it and publishes snapshots."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    caller_num: str = UNKNOWN
    caller_name: str = UNKNOWN
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    language: str = "en"
    accountcode: str = ""
    application: str = ""
    appdata: str = ""
    variables: dict[str, str] = attrs.field(factory=dict)
    created: float = attrs.field(factory=time.monotonic)
    bridge: Bridge | None = None
    #: The other half of a Local channel pair.
    local_peer: Channel | None = None
    hangup_cause: int = 0
    hangup_requested: bool = False
    #: Set when the requested hangup was "queued" (HangupRequest), not soft.
    queued_hangup: bool = False
    alive: bool = True
    #: Where to continue in the dialplan after a Redirect/transfer (context, exten, priority).
    goto: tuple[str, str, int] | None = None
    #: Where a channel the ``Bridge`` action bridged goes on in the dialplan once it leaves
    #: that bridge (Asterisk 22 sets its "after bridge go on" location).
    after_bridge: tuple[str, str, int] | None = None
    #: Cancels whatever the channel is doing now (an application, a wait in a bridge).
    scope: anyio.CancelScope | None = None
    #: Set once the channel is gone (Hangup event sent).
    gone: anyio.Event = attrs.field(factory=anyio.Event)
    #: Set when the channel becomes Up.
    answered: anyio.Event = attrs.field(factory=anyio.Event)
    #: Why an outgoing call on this channel ended without an answer ("BUSY", "CONGESTION"...).
    dial_result: str | None = None
    dial_result_set: anyio.Event = attrs.field(factory=anyio.Event)
    #: Work handed to the channel while it runs (Redirect, an answered Originate).
    next_job: Callable[[], Awaitable[bool]] | None = None
    #: Called when the channel is answered (the dialling side's DialEnd, in answer order).
    on_answer: Callable[[], None] | None = None
    #: While this channel is being dialled: the dialling side's DialEnd, given its status. The
    #: dial holds the channel, so a dialled channel that hangs up before it answers has its
    #: DialEnd (NOANSWER) written before its Hangup, as Asterisk 22 does.
    dial_end: Callable[[str], None] | None = None
    #: While this channel is being dialled: how the dialling side reacts to its ringing
    #: (RINGTIME, ``DialState: RINGING``...), and the ringing indications it has not read yet.
    #: The dialler reads them in its own task, as Asterisk 22's dialler reads the control
    #: frame in its own thread, and before the dial's end (frames are read in order).
    on_ring: Callable[[], None] | None = None
    rings: int = 0
    ring_signal: anyio.Event = attrs.field(factory=anyio.Event)
    #: Whether the channel is running dialplan/an application now (not parked).
    in_pbx: bool = False
    #: Whether what it runs is an Originate's Application, outside any dialplan: Asterisk 22
    #: runs that without a PBX, so it gets no CHANLOCALSTATUS and no SoftHangupRequest when
    #: its Local ;2 hangs up (test_dialplan_fidelity).
    app_only: bool = False

    @property
    def tech(self) -> str:
        return self.name.partition("/")[0]

    def snapshot(self, channelvars: Sequence[str], prefix: str = "") -> Fields:
        """The channel snapshot fields (``Channel`` ... ``Linkedid``, then ``ChanVariable``)."""
        fields = [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{prefix}CallerIDNum", self.caller_num),
            (f"{prefix}CallerIDName", self.caller_name),
            (f"{prefix}ConnectedLineNum", self.connected_num),
            (f"{prefix}ConnectedLineName", self.connected_name),
            (f"{prefix}Language", self.language),
            (f"{prefix}AccountCode", self.accountcode),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]
        fields.extend(
            (f"{prefix}ChanVariable", f"{var}={self.variables.get(var, '')}") for var in channelvars
        )
        return fields

    def duration(self) -> str:
        """``HH:MM:SS`` since creation (CoreShowChannel's ``Duration``)."""
        secs = int(time.monotonic() - self.created)
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"

    def seconds(self) -> int:
        return int(time.monotonic() - self.created)


@attrs.define(eq=False, kw_only=True)
class Bridge:
    """A bridge (``basic``/``simple_bridge`` as Dial and the Bridge action make them)."""

    uniqueid: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    type: str = "basic"
    technology: str = "simple_bridge"
    creator: str = UNKNOWN
    name: str = UNKNOWN
    channels: list[Channel] = attrs.field(factory=list)
    #: Set when the bridge is destroyed.
    destroyed: anyio.Event = attrs.field(factory=anyio.Event)

    def snapshot(self) -> Fields:
        """The bridge snapshot fields (Asterisk 22 omits ``BridgeVideoSource`` in mode none)."""
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", self.type),
            ("BridgeTechnology", self.technology),
            ("BridgeCreator", self.creator),
            ("BridgeName", self.name),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]
