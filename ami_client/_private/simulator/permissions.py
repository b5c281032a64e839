"""AMI authorization classes: a user's ``read``/``write`` sets, and the class of each action/event.

Asterisk 22 (``main/manager.c``) keeps them as bit flags. An action is allowed when the user's
``write`` set shares at least one class with the action's classes, or when the action has none
(Login, Logoff, Ping, Events...). An event is delivered when *every* class of the event is in the
user's ``read`` set (and in the session's ``Events`` mask).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ami_client._private.classes import ALL_CLASSES, event_mask

__all__ = [
    "ACTION_CLASSES",
    "ALL_CLASSES",
    "EVENT_CLASSES",
    "event_mask",
    "parse_classes",
    "privilege_text",
]

# ALL_CLASSES: the class names in Asterisk's order, in a module of their own (the client
# checks ``Events`` masks against them too).

# Registered authority of each action we implement (Asterisk 22: manager.c, features.c,
# manager_bridges.c, manager_channels.c). An empty set means "anyone logged in".
ACTION_CLASSES: Final[dict[str, frozenset[str]]] = {
    name.lower(): frozenset(classes)
    for name, classes in {
        "Login": (),
        "Logoff": (),
        "Challenge": (),
        "Ping": (),
        "Events": (),
        "Filter": ("system",),
        "Command": ("command",),
        "Getvar": ("call", "reporting"),
        "Setvar": ("call",),
        "Hangup": ("system", "call"),
        "Redirect": ("call",),
        "Originate": ("originate",),
        "CoreShowChannels": ("system", "reporting"),
        "Status": ("system", "call", "reporting"),
        "BridgeList": (),
        "BridgeInfo": (),
        "Bridge": ("call",),
        "BlindTransfer": ("call",),
        "UserEvent": ("user",),
    }.items()
}

# The class of each event the simulator emits, as its ``Privilege:`` shows on Asterisk 22
# (transcripts originate.ami, login_ping_logoff.ami, filtered_events.ami).
EVENT_CLASSES: Final[dict[str, str]] = {
    "FullyBooted": "system",
    "SuccessfulAuth": "security",
    "InvalidPassword": "security",
    "ChallengeSent": "security",
    "RequestBadFormat": "security",
    "RequestNotAllowed": "security",
    "Newchannel": "call",
    "Newstate": "call",
    "NewCallerid": "call",
    "NewConnectedLine": "call",
    "Newexten": "dialplan",
    "VarSet": "dialplan",
    "LocalBridge": "call",
    "DialBegin": "call",
    "DialState": "call",
    "DialEnd": "call",
    "BridgeCreate": "call",
    "BridgeEnter": "call",
    "BridgeLeave": "call",
    "BridgeDestroy": "call",
    "HangupRequest": "call",
    "SoftHangupRequest": "call",
    "Hangup": "call",
    "OriginateResponse": "call",
    "BlindTransfer": "call",
    "Unhold": "call",
    "UserEvent": "user",
}


def parse_classes(text: str | Iterable[str]) -> frozenset[str]:
    """A class set from ``"call,reporting"`` (manager.conf style), ``"all"`` or ``"none"``.

    Raises:
        ValueError: for a class name Asterisk does not know.
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    out: set[str] = set()
    for raw in names:
        name = raw.strip().lower()
        if not name or name == "none":
            continue
        if name == "all":
            out.update(ALL_CLASSES)
        elif name in ALL_CLASSES:
            out.add(name)
        else:
            raise ValueError(f"unknown AMI class {raw.strip()!r}")
    return frozenset(out)


def privilege_text(classes: Iterable[str]) -> str:
    """The ``Privilege:`` value: the classes in Asterisk's order, then ``all`` (always there,
    because Asterisk's table ends with ``{-1, "all"}``, which matches any set)."""
    wanted = set(classes)
    return ",".join([c for c in ALL_CLASSES if c in wanted] + ["all"])


def classes_of_privilege(value: str | None) -> frozenset[str]:
    """The classes named in a ``Privilege:`` value (``all`` left out)."""
    if not value:
        return frozenset()
    return frozenset(
        p.strip().lower() for p in value.split(",") if p.strip().lower() in ALL_CLASSES
    )
