"""The tracked things: immutable values of channels, bridges, dials, transfers and calls.

Every value is a frozen attrs class. The reducer never changes one; it makes a new version
(:func:`attrs.evolve`) and hands out both the old and the new in a change record, so a
consumer can keep any version it was given for as long as it likes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from ami_client._private.catalogue._base import TypedEvent
from ami_client._private.catalogue._convert import ChannelState

__all__ = [
    "EMPTY_VARIABLES",
    "Bridge",
    "BridgeChange",
    "Call",
    "CallChange",
    "Change",
    "Channel",
    "ChannelChange",
    "Dial",
    "DialChange",
    "Dtmf",
    "Transfer",
    "TransferChange",
    "Violation",
]

EMPTY_VARIABLES: Final[Mapping[str, str]] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class Dtmf:
    """A DTMF digit in progress on a channel (between DTMFBegin and DTMFEnd)."""

    digit: str
    direction: str | None
    """``Received`` or ``Sent``."""


@attrs.frozen(kw_only=True)
class Transfer:
    """The result of a blind or attended transfer (BlindTransfer / AttendedTransfer events).

    The channels and bridges involved are named by Uniqueid and BridgeUniqueid; the tracker
    attaches the transfer to each of them (:attr:`Channel.transfers`,
    :attr:`Bridge.transfers`).
    """

    kind: str
    """``"blind"`` or ``"attended"``."""
    result: str | None
    """``Success``, ``Fail``, ``Invalid`` or ``Not Permitted``."""
    transferer: str | None
    """Uniqueid of the channel that asked for the transfer (attended: the first leg's)."""
    transferee: str | None
    """Uniqueid of the channel being transferred, when Asterisk names it."""
    target: str | None = None
    """Attended: Uniqueid of the transfer target, when Asterisk names it."""
    second_transferer: str | None = None
    """Attended: Uniqueid of the transferer's channel of the second call."""
    bridges: tuple[str, ...] = ()
    """BridgeUniqueids involved (blind: the transferer's; attended: both calls')."""
    context: str | None = None
    """Blind: the dialplan context the transferee was sent to."""
    extension: str | None = None
    """Blind: the extension the transferee was sent to."""
    dest_type: str | None = None
    """Attended: ``Bridge``, ``App``, ``Link``, ``Threeway`` or ``Fail``."""
    dest_bridge: str | None = None
    """Attended with ``DestType: Bridge``: the bridge the calls were joined in."""
    dest_app: str | None = None
    """Attended with ``DestType: App``: the application the transferee was sent to."""


@attrs.frozen(kw_only=True)
class Channel:
    """One live channel, as the event stream last described it.

    Fields that Asterisk reports as ``<unknown>`` read ``None``.
    """

    unique_id: str
    name: str
    state: ChannelState | None = None
    state_desc: str | None = None
    caller_id_num: str | None = None
    caller_id_name: str | None = None
    connected_line_num: str | None = None
    connected_line_name: str | None = None
    language: str | None = None
    account_code: str | None = None
    context: str | None = None
    exten: str | None = None
    priority: int | None = None
    application: str | None = None
    """The dialplan application running now (Newexten / CoreShowChannel)."""
    application_data: str | None = None
    linked_id: str | None = None
    """Uniqueid of the oldest channel of the call: channels sharing it form a :class:`Call`."""
    variables: Mapping[str, str] = EMPTY_VARIABLES
    """Channel variables seen in VarSet events and ``ChanVariable`` fields."""
    bridge_id: str | None = None
    """The bridge the channel is in, if any."""
    dtmf: Dtmf | None = None
    """A DTMF digit in progress, if any."""
    on_hold: bool = False
    local_peer: str | None = None
    """For a Local channel: the Uniqueid of its other half (from LocalBridge)."""
    local_optimizing: bool = False
    """True between LocalOptimizationBegin and LocalOptimizationEnd."""
    hangup_requested: bool = False
    """A HangupRequest or SoftHangupRequest was seen."""
    hangup_cause: int | None = None
    """The Q.850 cause of the Hangup event (only in the ended-channel history)."""
    hangup_cause_txt: str | None = None
    dial_status: str | None = None
    """The DialStatus of the last DialEnd where this channel was the caller."""
    transfers: tuple[Transfer, ...] = ()
    """Transfers this channel took part in."""
    ended: bool = False
    """True once the channel hung up (only in the ended-channel history and removal changes)."""


@attrs.frozen(kw_only=True)
class Bridge:
    """One bridge, alive from BridgeCreate to BridgeDestroy."""

    unique_id: str
    type: str | None = None
    """``basic``, ``holding``, ``confbridge``, ``stasis``..."""
    technology: str | None = None
    """``simple_bridge``, ``softmix``, ``holding_bridge``..."""
    creator: str | None = None
    name: str | None = None
    video_source_mode: str | None = None
    members: tuple[str, ...] = ()
    """Uniqueids of the channels in the bridge, in the order they entered."""
    transfers: tuple[Transfer, ...] = ()
    merged_from: tuple[str, ...] = ()
    """BridgeUniqueids of bridges merged into this one (BridgeMerge)."""


@attrs.frozen(kw_only=True)
class Dial:
    """One dial attempt from DialBegin to DialEnd; parallel dials are separate attempts."""

    caller: str | None
    """Uniqueid of the dialling channel; None when Asterisk dials on its own (Originate)."""
    dest: str
    """Uniqueid of the channel being dialled."""
    dial_string: str | None = None
    status: str | None = None
    """None while the dial is pending (or the last DialState: ``RINGING``, ``PROCEEDING``...);
    the final DialStatus (``ANSWER``, ``BUSY``, ``NOANSWER``, ``CANCEL``...) once ended."""
    forward: str | None = None
    ended: bool = False


@attrs.frozen(kw_only=True)
class Call:
    """Channels sharing a Linkedid, with the bridges they are in: one call of a dashboard."""

    linked_id: str
    channels: tuple[Channel, ...]
    bridges: tuple[Bridge, ...]


@attrs.frozen(kw_only=True)
class Violation:
    """The event stream broke one of the AMI's ordering guarantees (or we missed events).

    The tracker repairs its state as well as it can and counts the violation by ``kind``;
    it never raises from the event loop.
    """

    kind: str
    """A short name: ``unknown-channel``, ``duplicate-channel``, ``hangup-in-bridge``,
    ``unknown-bridge``, ``unmatched-dial-end``, ``events-lost``..."""
    message: str
    event: TypedEvent | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ChannelChange:
    """A channel appeared (``old`` None), changed, or ended (``new`` None)."""

    old: Channel | None
    new: Channel | None
    reason: str
    """``event`` (an event said so), ``sync`` (seeded from CoreShowChannels) or ``stale``
    (dropped: the server no longer has it)."""
    final: Channel | None = None
    """For an ended channel: its last version, ``ended`` and with the hangup cause."""


@attrs.frozen(kw_only=True)
class BridgeChange:
    """A bridge appeared (``old`` None), changed, or was destroyed (``new`` None)."""

    old: Bridge | None
    new: Bridge | None
    reason: str


@attrs.frozen(kw_only=True)
class DialChange:
    """A dial began (``old`` None), changed state, or ended (``new.ended``)."""

    old: Dial | None
    new: Dial


@attrs.frozen(kw_only=True)
class TransferChange:
    """A transfer was reported."""

    transfer: Transfer


@attrs.frozen(kw_only=True)
class CallChange:
    """A call began (its first channel appeared) or ended (its last channel went)."""

    linked_id: str
    started: bool


Change = ChannelChange | BridgeChange | DialChange | TransferChange | CallChange
