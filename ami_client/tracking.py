"""Lifetime trackers: channels, bridges, dials, transfers and calls kept true from events.

:func:`track` attaches a :class:`Tracker` to a connected client; :class:`Reducer` is the pure,
synchronous state machine underneath, for replaying recorded events. See docs/tracking.md.
"""

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
from ami_client._private.tracking.reducer import Reducer, TrackerState, ViolationHook
from ami_client._private.tracking.tracker import (
    EVENTS_LOST,
    Tracker,
    TrackerStatistics,
    track,
)

__all__ = [
    "track",
    "Tracker",
    "TrackerStatistics",
    "TrackerState",
    "Reducer",
    "ViolationHook",
    "EVENTS_LOST",
    "Channel",
    "Bridge",
    "Dial",
    "Dtmf",
    "Transfer",
    "Call",
    "Violation",
    "Change",
    "ChannelChange",
    "BridgeChange",
    "DialChange",
    "TransferChange",
    "CallChange",
]
