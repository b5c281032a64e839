"""AMI authorization classes: a user's ``read``/``write`` sets, and the class of each action/event.

Asterisk 22 (``main/manager.c``) keeps them as bit flags. An action is allowed when the user's
``write`` set shares at least one class with the action's classes, or when the action has none
(Login, Logoff, Ping, Events...). An event is delivered when *every* class of the event is in the
user's ``read`` set (and in the session's ``Events`` mask).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ami_client._private.classes import ALL_CLASSES

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


# Bit of each class in Asterisk 22's EVENT_FLAG_* (bit 14 is HOOKRESPONSE, no class name).
_BITS: Final = {name: 1 << (i if i < 14 else i + 1) for i, name in enumerate(ALL_CLASSES)}


def _instring(text: str, label: str) -> bool:
    """Asterisk's ``ast_instring(text, label, ',')``, quirks included: a segment before a comma
    matches when ``label`` starts with it (``us,`` grants ``user``, an empty one everything);
    the last segment must be equal."""
    *before, last = text.split(",")
    # strncmp(segment, label, len(segment)) == 0
    return any(label[: len(segment)] == segment for segment in before) or last == label


def event_mask(text: str) -> frozenset[str] | None:
    """The classes an ``Events`` action's ``EventMask`` selects, as Asterisk 22's
    ``strings_to_mask``; None for an empty mask ("Invalid event mask").

    Digits are a bit mask (``64`` is ``user``, ``1`` only ``system``); ``ast_false`` words
    select nothing, ``ast_true`` words everything; anything else is a comma list of class names,
    case-sensitive and not trimmed (see :func:`_instring`).
    """
    if not text:
        return None
    if text.isascii() and text.isdigit():
        bits = int(text)
        return frozenset(name for name, bit in _BITS.items() if bits & bit)
    lowered = text.lower()
    if lowered in ("no", "false", "n", "f", "0", "off"):
        return frozenset()
    if lowered in ("yes", "true", "y", "t", "1", "on"):
        return frozenset(ALL_CLASSES)
    if _instring(text, "all"):
        return frozenset(ALL_CLASSES)
    return frozenset(name for name in ALL_CLASSES if _instring(text, name))


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
