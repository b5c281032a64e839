"""AMI authorization (event) class names, as Asterisk 22 spells them (``perms[]`` in
``main/manager.c``), in its order: ``Privilege:`` lists them so."""

from __future__ import annotations

from typing import Final

__all__ = ["ALL_CLASSES", "MASK_WORDS"]

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

#: Whole ``Events`` masks Asterisk reads as all or nothing (``ast_true``/``ast_false``), lowered.
MASK_WORDS: Final = frozenset(
    {"on", "yes", "true", "y", "t", "1", "off", "no", "false", "n", "f", "0"}
)
