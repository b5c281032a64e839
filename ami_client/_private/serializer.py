"""Actions and their safe serialization: the only way ami_client writes bytes to a server.

Every key and value is checked before a byte is produced. A CR or LF inside a value is how
every other AMI client can be made to send a second, injected action (think of a caller ID
coming from the outside world); here it is a :class:`LocalProtocolError` instead.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Union

from ami_client._private.errors import LocalProtocolError
from ami_client._private.message import Message

__all__ = [
    "serialize_message",
    "MAX_ACTION_FIELDS",
    "MAX_ACTION_LINE",
    "Action",
    "ActionIdGenerator",
    "FieldValue",
    "serialize_action",
]

# Asterisk reads an action line into a 1,024-byte buffer (`struct mansession_session.inbuf`,
# AST_MAX_MANHEADER_LEN / inbuf[1025] in main/manager.c); a longer line is cut and the rest is
# read as a *new* line: a second injection path. We refuse lines that do not fit, CRLF included.
MAX_ACTION_LINE: Final = 1024
# Asterisk keeps at most 128 headers per action (AST_MAX_MANHEADERS in include/asterisk/manager.h)
# and silently drops the rest.
MAX_ACTION_FIELDS: Final = 128

# Keys Asterisk treats as secrets: never shown in a repr or a log line.
SECRET_KEYS: Final = frozenset({"secret", "key"})

_BAD_KEY: Final = re.compile(r"[^\x21-\x39\x3b-\x7e]")  # printable ASCII, no space, no ':'
_BAD_VALUE: Final = re.compile(r"[\r\n\x00]")

FieldValue = Union[str, int, bool]  # noqa: UP007 (runtime alias on 3.10)


def _value_text(key: str, value: object) -> str:
    # bool first: it is also an int.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    raise LocalProtocolError(
        f"value of {key!r} must be str, int or bool, not {type(value).__name__}"
    )


class Action:
    """An action to send: a name and ordered fields, repeated keys allowed.

    Args:
        name: The action's name (``Ping``, ``Originate``...).
        fields: A mapping or ``(key, value)`` pairs, in the order to send them. A value may be
            a list or tuple to repeat the key (``Variable=["A=1", "B=2"]``); a mapping value
            is written as repeated ``key: name=value`` lines (also for ``Variable``).
        **kwargs: More fields, after ``fields``.

    Values of keys named ``Secret`` or ``Key`` never appear in ``repr``.
    The ``ActionID`` is normally left to the client, which makes it unique per connection.
    """

    __slots__ = ("_fields", "_wire", "name")

    def __init__(
        self,
        name: str,
        fields: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        /,
        **kwargs: object,
    ) -> None:
        _check_key("Action", name)
        self.name = name
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        pairs.extend(kwargs.items())
        out: list[tuple[str, str]] = []
        for key, value in pairs:
            if not isinstance(key, str):
                raise LocalProtocolError(f"field names must be str, not {key!r}")
            if key.lower() == "action":
                raise LocalProtocolError("give the action's name as `name`, not as a field")
            if isinstance(value, Mapping):
                out.extend((key, f"{k}={_value_text(key, v)}") for k, v in value.items())
            elif isinstance(value, (list, tuple)):
                out.extend((key, _value_text(key, v)) for v in value)
            elif value is None:
                continue  # an optional field left out
            else:
                out.append((key, _value_text(key, value)))
        self._fields = tuple(out)
        # Validate now, so a bad action fails where it is built, not where it is sent; and keep
        # the bytes, so sending it (again and again) encodes nothing.
        self._wire = self._encode()

    def _encode(self) -> tuple[str, bytes | None]:
        """(the name encoded, the bytes to send but the ActionID and the end, or None).

        The bytes are ``serialize_action(self, None)`` less the blank line that ends it, plus
        ``ActionID: ``, for :meth:`_frame` to complete. None for an action with an ActionID of
        its own, or no room for that line.
        """
        data = serialize_action(self, action_id=None)
        if self.action_id is not None or len(self._fields) + 2 > MAX_ACTION_FIELDS:
            return self.name, None
        return self.name, data[:-2] + b"ActionID: "

    def _frame(self, next_id: Callable[[], str]) -> tuple[str, bytes]:
        """The ActionID and bytes to send this action with: exactly what ``serialize_action``
        makes with ``next_id()`` as the ActionID, unless it has its own (then ``next_id`` is
        not called). Encoded once, when the action was made (or renamed).

        Raises:
            LocalProtocolError: as ``serialize_action`` does, for an action that has no room
                for the ActionID line.
        """
        name, head = self._wire
        if head is not None and name is self.name:  # sent as it was made, with our ActionID
            action_id = next_id()
            return action_id, head + action_id.encode() + b"\r\n\r\n"
        if name is not self.name:  # renamed since (the name can be reassigned)
            self._wire = self._encode()
            return self._frame(next_id)
        own_id = self.action_id
        if own_id is not None:
            return own_id, serialize_action(self, None)
        action_id = next_id()
        return action_id, serialize_action(self, action_id)  # raises: one field too many

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """The fields in send order (``Action`` itself excluded)."""
        return self._fields

    @property
    def action_id(self) -> str | None:
        """An ``ActionID`` the caller chose, if any."""
        for key, value in self._fields:
            if key.lower() == "actionid":
                return value
        return None

    def get(self, key: str) -> str | None:
        """The first value of ``key`` (case-insensitive), or None."""
        wanted = key.lower()
        for k, v in self._fields:
            if k.lower() == wanted:
                return v
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self.name.lower() == other.name.lower() and self._fields == other._fields

    def __hash__(self) -> int:
        return hash((self.name.lower(), self._fields))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={'<hidden>' if k.lower() in SECRET_KEYS else repr(v)}" for k, v in self._fields
        )
        return f"Action({self.name!r}{', ' if shown else ''}{shown})"


def _check_key(what: str, key: str) -> None:
    if not key or _BAD_KEY.search(key):
        raise LocalProtocolError(
            f"{what} {key!r} is not a valid AMI key: printable ASCII without spaces or ':'"
        )


def serialize_action(action: Action, action_id: str | None) -> bytes:
    """The bytes of ``action``, with ``action_id`` as its ``ActionID`` (unless it has one).

    Raises:
        LocalProtocolError: for CR, LF or NUL in any key or value, an invalid key, a line
            over Asterisk's 1,024-byte buffer or more than 128 fields. Nothing is produced.
    """
    lines = [f"Action: {action.name}"]
    has_id = False
    for key, value in action.fields:
        _check_key("field name", key)
        if _BAD_VALUE.search(value):
            shown = "<hidden>" if key.lower() in SECRET_KEYS else repr(value[:60])
            raise LocalProtocolError(
                f"value of {key!r} contains CR, LF or NUL ({shown}): it would inject AMI lines"
            )
        if key.lower() == "actionid":
            has_id = True
        lines.append(f"{key}: {value}")
    if not has_id and action_id is not None:
        if _BAD_VALUE.search(action_id) or not action_id:
            raise LocalProtocolError(f"invalid ActionID {action_id!r}")
        lines.append(f"ActionID: {action_id}")
    if len(lines) > MAX_ACTION_FIELDS:
        raise LocalProtocolError(
            f"{action.name} has {len(lines)} fields; Asterisk keeps only {MAX_ACTION_FIELDS}"
        )
    encoded = [line.encode("utf-8") for line in lines]
    for line, raw in zip(lines, encoded, strict=False):
        if len(raw) + 2 > MAX_ACTION_LINE:
            key = line.partition(":")[0]
            raise LocalProtocolError(
                f"field {key!r} is {len(raw) + 2} bytes with CRLF; Asterisk's action line "
                f"buffer holds {MAX_ACTION_LINE}"
            )
    return b"\r\n".join(encoded) + b"\r\n\r\n"


def serialize_message(message: Message) -> bytes:
    """The bytes of any message (a server's event or response, or a parsed action), for
    simulators and replays. Same validation as :func:`serialize_action`, but no line limit:
    servers write lines of any length.

    Raises:
        LocalProtocolError: for CR, LF or NUL in a key or value, or an invalid key.
    """
    lines = []
    for key, value in message.fields:
        _check_key("field name", key)
        if _BAD_VALUE.search(value):
            raise LocalProtocolError(f"value of {key!r} contains CR, LF or NUL: {value[:60]!r}")
        lines.append(f"{key}: {value}")
    if not lines:
        raise LocalProtocolError("a message needs at least one field")
    return "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n"


class ActionIdGenerator:
    """Makes ActionIDs unique per connection: a random prefix and a counter.

    The random prefix keeps IDs from two clients (or two runs) sharing a server apart in logs
    and in events that echo the ActionID.
    """

    __slots__ = ("next_id", "prefix")

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix if prefix is not None else os.urandom(4).hex()
        if _BAD_VALUE.search(self.prefix):
            raise LocalProtocolError(f"invalid ActionID prefix {self.prefix!r}")
        #: The next ActionID, as calling the generator gives it, but made in C with no Python
        #: frame (``prefix-1``, ``prefix-2``...): for a client sending thousands of actions.
        self.next_id: Callable[[], str] = map(
            f"{self.prefix}-".__add__, map(str, itertools.count(1))
        ).__next__

    def __call__(self) -> str:
        """The next ActionID."""
        return self.next_id()
