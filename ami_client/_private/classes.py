"""AMI authorization (event) class names, as Asterisk 22 spells them (``perms[]`` in
``main/manager.c``), in its order: ``Privilege:`` lists them so; and how Asterisk reads an
``Events`` mask of them (for the client, which checks masks, and the simulator)."""

from __future__ import annotations

from typing import Final

__all__ = ["ALL_CLASSES", "MASK_WORDS", "event_mask"]

ALL_CLASSES: Final = (
    "system",
    "call",
    "log",
    "verbose",
    "command",
    "agent",
    "user",
    "config",
    "dtmf",
    "reporting",
    "cdr",
    "dialplan",
    "originate",
    "agi",
    "cc",
    "aoc",
    "test",
    "security",
    "message",
)

# ast_false and ast_true words, lowered (Asterisk compares them ignoring case).
_NOTHING: Final = frozenset({"no", "false", "n", "f", "0", "off"})
_EVERYTHING: Final = frozenset({"yes", "true", "y", "t", "1", "on"})
#: Whole ``Events`` masks Asterisk reads as all or nothing (``ast_true``/``ast_false``), lowered.
MASK_WORDS: Final = _NOTHING | _EVERYTHING

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
    if lowered in _NOTHING:
        return frozenset()
    if lowered in _EVERYTHING:
        return frozenset(ALL_CLASSES)
    if _instring(text, "all"):
        return frozenset(ALL_CLASSES)
    return frozenset(name for name in ALL_CLASSES if _instring(text, name))
