"""Field converters of the typed catalogue: AMI text in, Python values out, never an exception.

Each converter takes the message and the key to read, and returns the converted value or
``None`` when the key is absent *or* its value does not convert. The raw text always stays in
the event's ``message``, so a value we could not read is never lost.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from ami_client._private.message import Message

__all__ = [
    "EMPTY_MAPPING",
    "UNKNOWN",
    "ChannelState",
    "Converter",
    "as_bool",
    "as_float",
    "as_int",
    "as_state",
    "as_str",
    "c_unescape",
    "chan_variables",
    "privilege_of",
    "snapshot_variables",
]

Converter = Callable[[Message, str], object]

#: Asterisk writes this placeholder where a value (mostly caller ID) is not known
#: (`S_COR(..., "<unknown>")` in main/manager.c); the typed field reads ``None``.
UNKNOWN: Final = "<unknown>"

EMPTY_MAPPING: Final[Mapping[str, str]] = MappingProxyType({})


class ChannelState(enum.IntEnum):
    """A channel's state, as in Asterisk's ``enum ast_channel_state`` (channelstate.h).

    The ``ChannelState`` field carries the number; ``ChannelStateDesc`` the text.
    """

    DOWN = 0
    RESERVED = 1
    OFF_HOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7
    DIALING_OFF_HOOK = 8
    PRE_RING = 9
    #: AST_STATE_MUTE: a flag Asterisk ORs in for channels that must not hear audio.
    MUTE = 1 << 16


_STATES: Final = {str(int(s)): s for s in ChannelState}

# Asterisk's spellings of a boolean: ast_true()/ast_false() in main/utils.c accept these
# (plus "y"/"n"/"t"/"f"), and events write "Yes"/"No", "true"/"false", "1"/"0", "on"/"off".
_BOOLS: Final = {
    "yes": True,
    "y": True,
    "true": True,
    "t": True,
    "1": True,
    "on": True,
    "no": False,
    "n": False,
    "false": False,
    "f": False,
    "0": False,
    "off": False,
}


def as_str(message: Message, key: str) -> str | None:
    """The text of ``key``; ``None`` if absent or Asterisk's ``<unknown>`` placeholder."""
    value = message.get(key)
    if value is None or value == UNKNOWN:
        return None
    return value


def as_int(message: Message, key: str) -> int | None:
    """The integer in ``key``; ``None`` if absent, empty or not a number."""
    value = message.get(key)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def as_float(message: Message, key: str) -> float | None:
    """The number in ``key`` as a float; ``None`` if absent, empty or not a number."""
    value = message.get(key)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def as_bool(message: Message, key: str) -> bool | None:
    """The boolean in ``key`` (yes/no, true/false, 1/0, on/off); ``None`` otherwise."""
    value = message.get(key)
    if value is None:
        return None
    return _BOOLS.get(value.strip().lower())


def as_state(message: Message, key: str) -> ChannelState | None:
    """The :class:`ChannelState` numbered in ``key``; ``None`` if absent or unknown."""
    value = message.get(key)
    if value is None:
        return None
    return _STATES.get(value.strip())


def privilege_of(message: Message) -> frozenset[str]:
    """The class names in the ``Privilege`` field (``call,all`` -> ``{"call", "all"}``)."""
    value = message.get("Privilege")
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())


# -- C escapes ---------------------------------------------------------------------------------

# ast_escape_c() (main/utils.c) escapes these when Asterisk writes `<Prefix>ChanVariable`
# values (ast_manager_build_channel_state_string_prefix, main/manager.c).
_C_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def c_unescape(value: str) -> str:
    """Undo Asterisk's C escaping (``\\n``, ``\\t``, ``\\\\``...); unknown escapes stay."""
    if "\\" not in value:
        return value
    out = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n and value[i + 1] in _C_ESCAPES:
            out.append(_C_ESCAPES[value[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# -- ChanVariable --------------------------------------------------------------------------------


def _split_variable(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    return (name, value) if sep else (text, "")


def snapshot_variables(message: Message, prefix: str) -> Mapping[str, str]:
    """``<prefix>ChanVariable: name=value`` fields as a mapping, values C-unescaped.

    This is the syntax of channel snapshots (manager.conf ``channelvars``), e.g.
    ``ChanVariable: AMI_TEST_VAR=`` in tests/data/transcripts/core_show_channels.ami.
    """
    wanted = (prefix + "ChanVariable").lower()
    out: dict[str, str] = {}
    for key, value in message.fields:
        if len(key) == len(wanted) and key.lower() == wanted:
            name, text = _split_variable(value)
            out[name] = c_unescape(text)
    return MappingProxyType(out) if out else EMPTY_MAPPING


def chan_variables(message: Message) -> Mapping[str, Mapping[str, str]]:
    """Every ``ChanVariable`` of a message, by channel name, in both of Asterisk's syntaxes.

    - ``ChanVariable(<channel>): name=value``: the channel is named in the key. Asterisk 22
      writes this in events that are not built from snapshots (``OriginateResponse`` in
      tests/data/transcripts/originate.ami); the value is written as is.
    - ``<Prefix>ChanVariable: name=value``: the channel is the one in ``<Prefix>Channel`` (the
      key ``""`` if the message has no such field); the value is C-escaped and is unescaped here.
    """
    out: dict[str, dict[str, str]] = {}
    for key, value in message.fields:
        low = key.lower()
        if low.startswith("chanvariable(") and low.endswith(")"):
            channel = key[len("ChanVariable(") : -1]
            name, text = _split_variable(value)
        elif low.endswith("chanvariable"):
            prefix = key[: -len("ChanVariable")]
            channel = message.get(prefix + "Channel") or ""
            name, text = _split_variable(value)
            text = c_unescape(text)
        else:
            continue
        out.setdefault(channel, {})[name] = text
    if not out:
        return MappingProxyType({})
    return MappingProxyType({k: MappingProxyType(v) for k, v in out.items()})
