"""The message model: immutable, ordered multi-maps of AMI fields.

A message keeps its fields exactly as they came off the wire: original key casing, wire order,
repeated keys. Look-ups are case-insensitive, as AMI keys are. There is deliberately no attribute
access (``msg.callerid``): a misspelt name must fail loudly, never return ``''``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NoReturn, TypeVar, overload

import attrs

__all__ = ["CREDENTIAL_KEYS", "Banner", "Event", "Message", "Response"]

#: Keys (lowered) whose values are credentials: a message's repr shows ``<hidden>`` for them,
#: so logging one never writes a password. Asterisk 22 sends an auth object's Password,
#: Md5Cred, OauthSecret, PasswordDigest and RefreshToken in PJSIPShowAuths' AuthDetail items,
#: and VoicemailPasswordChange the NewPassword; a Login action (as the simulator receives it)
#: carries the Secret, and its MD5 form the Key.
CREDENTIAL_KEYS: Final = frozenset(
    {
        "secret",
        "password",
        "md5cred",
        "oauthsecret",
        "passworddigest",
        "refreshtoken",
        "newpassword",
    }
)

_T = TypeVar("_T")
_M = TypeVar("_M", bound="Message")
_set = object.__setattr__
_dict_new = dict.__new__
_dict_update = dict.update
_dict_set = dict.__setitem__
_dict_get = dict.get
_dict_items = dict.items
_dict_contains = dict.__contains__
# A miss in the exact casing scans the keys of a message this small instead of building its
# lowered copy: a Ping answer (4 fields) is asked for keys it lacks (`EventList`) every time.
_SCAN_BELOW = 9
_ABSENT = object()


@attrs.frozen
class Banner:
    """The greeting line a server sends first, e.g. ``Asterisk Call Manager/11.0.0``.

    Attributes:
        name: The text before the last ``/`` (``Asterisk Call Manager``).
        version: The AMI version after it (``11.0.0`` for Asterisk 22).
        raw: The whole line as received, line ending removed.
    """

    name: str
    version: str
    raw: bytes = attrs.field(repr=False)


class Message(dict[str, str]):
    """An AMI message: a read-only mapping of field names to values, plus the wire order.

    As a mapping it holds each key once, with its original casing and its *first* value:
    ``msg["Channel"]`` is a plain dict look-up. Look-ups are case-insensitive as AMI keys are
    (``msg["actionid"]`` finds ``ActionID``), and a missing key raises ``KeyError``: there is no
    attribute access that could return ``''`` for a misspelt name.

    :attr:`fields` keeps every field exactly in wire order, repeated keys included, and
    :meth:`get_all` gives every value of a repeated key (``Variable``, ``ChanVariable``,
    ``Output``). Values are text; bytes that are not valid UTF-8 (a caller ID name from an old
    phone, say) read as U+FFFD there, and :meth:`raw_fields` / :meth:`get_raw` give back the
    exact bytes.
    """

    # Slots are set only when needed (the parser's fast path sets none): `_fields` when a key
    # repeats, `_raw` when bytes were not UTF-8, `_lower` on the first case-insensitive miss.
    __slots__ = ("__weakref__", "_fields", "_lower", "_raw")

    _fields: tuple[tuple[str, str], ...]
    _lower: dict[str, str]
    _raw: tuple[tuple[bytes, bytes], ...]

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        """Build a message from ``(key, value)`` pairs (for tests, simulators and replays)."""
        fields = []
        for key, value in items:
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"keys and values must be str, not {key!r}: {value!r}")
            fields.append((key, value))
        _fill(self, tuple(fields))

    @classmethod
    def _from_fields(
        cls: type[_M],
        fields: tuple[tuple[str, str], ...],
        raw: tuple[tuple[bytes, bytes], ...] | None = None,
    ) -> _M:
        # ``raw``: the exact bytes of each field, one pair per field of ``fields`` (only for a
        # message whose bytes were not all UTF-8).
        self = _dict_new(cls)
        _fill(self, fields)
        if raw is not None:
            _set(self, "_raw", raw)
        return self

    # -- read-only -----------------------------------------------------------------------------

    def _readonly(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is read-only")

    __setitem__ = __delitem__ = _readonly
    clear = pop = popitem = setdefault = update = __ior__ = _readonly

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def copy(self) -> dict[str, str]:
        """A plain, mutable ``dict`` of the first values."""
        return dict(self)

    # -- case-insensitive look-ups ---------------------------------------------------------------

    def _lowered(self) -> dict[str, str]:
        try:
            return self._lower
        except AttributeError:
            pass
        # Reversed, so that the first occurrence of a key wins.
        lower = {key.lower(): value for key, value in reversed(self.fields)}
        _set(self, "_lower", lower)
        return lower

    def _other_casing(self, key: str) -> object:
        """The first value of ``key`` in any casing, once the exact casing missed (or
        ``_ABSENT``)."""
        low = key.lower()
        try:
            lower = self._lower
        except AttributeError:
            if len(self) < _SCAN_BELOW:
                size = len(low)
                for k, value in _dict_items(self):  # wire order: the first occurrence wins
                    if len(k) == size and k.lower() == low:
                        return value
                return _ABSENT
            lower = self._lowered()
        return lower.get(low, _ABSENT)

    def __missing__(self, key: str) -> str:
        # Only reached when the exact casing missed: the common case stays a C dict look-up.
        if isinstance(key, str):
            value = self._other_casing(key)
            if value is not _ABSENT:
                return value  # type: ignore[return-value]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return _dict_contains(self, key) or (
            isinstance(key, str) and self._other_casing(key) is not _ABSENT
        )

    @overload  # type: ignore[override]
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: _T) -> str | _T: ...
    def get(self, key: str, default: object = None) -> object:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        value = _dict_get(self, key)
        if value is None:
            found = self._other_casing(key)
            return default if found is _ABSENT else found
        return value

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in wire order; ``[]`` if absent."""
        wanted = key.lower()
        return [value for k, value in self.fields if k.lower() == wanted]

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """Every ``(key, value)`` field exactly in wire order, repeated keys included."""
        try:
            return self._fields
        except AttributeError:
            return tuple(_dict_items(self))

    # -- raw bytes -----------------------------------------------------------------------------

    def raw_fields(self) -> list[tuple[bytes, bytes]]:
        """The fields as the exact bytes received (for values that were not valid UTF-8): one
        ``(key, value)`` pair per field of :attr:`fields`, in the same order."""
        raw = getattr(self, "_raw", None)
        if raw is None:
            return [(k.encode(), v.encode()) for k, v in self.fields]
        return list(raw)

    def get_raw(self, key: str) -> bytes | None:
        """The exact bytes of the first value of ``key``, or None if absent."""
        wanted = key.lower().encode()
        for k, v in self.raw_fields():
            if k.lower() == wanted:
                return v
        return None

    @property
    def has_undecodable_bytes(self) -> bool:
        """True if some value was not valid UTF-8 (its text holds U+FFFD; see raw_fields)."""
        return hasattr(self, "_raw")

    # -- common fields -------------------------------------------------------------------------

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` this message answers or belongs to, if any."""
        value = _dict_get(self, "ActionID")
        if value is None:
            found = self._other_casing("ActionID")
            return None if found is _ABSENT else found  # type: ignore[return-value]
        return value

    # -- value semantics -----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return type(self) is type(other) and self.fields == other.fields

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:  # type: ignore[override]
        return hash((type(self).__name__, self.fields))

    def __repr__(self) -> str:
        fields = self.fields
        hidden = CREDENTIAL_KEYS
        action = _dict_get(self, "Action") or self.get("Action")
        if action is not None and action.lower() in ("login", "challenge"):
            hidden = hidden | {"key"}  # MD5 login: the Key is the digest of the secret
        if any(key.lower() in hidden for key, _ in fields):
            shown = ", ".join(
                f"({key!r}, <hidden>)" if key.lower() in hidden else repr((key, value))
                for key, value in fields
            )
            return f"{type(self).__name__}(({shown}{',' if len(fields) == 1 else ''}))"
        return f"{type(self).__name__}({fields!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raw = getattr(self, "_raw", None)
        if raw is None:
            return (type(self), (self.fields,))
        return (_restore, (type(self), self.fields, raw))  # the exact bytes travel too

    def __copy__(self) -> Message:
        return self

    def __deepcopy__(self, memo: object) -> Message:
        return self


class Response(Message):
    """A message whose first field is ``Response`` (the answer to an action)."""

    __slots__ = ()

    @property
    def status(self) -> str:
        """The value of the ``Response`` field: ``Success``, ``Error``, ``Goodbye``, ``Follows``."""
        return self.get("Response", "")

    @property
    def is_error(self) -> bool:
        """True for ``Response: Error``."""
        return self.status.lower() == "error"


class Event(Message):
    """A message whose first field is ``Event``."""

    __slots__ = ()

    @property
    def name(self) -> str:
        """The event's name, the value of its ``Event`` field (e.g. ``Newchannel``)."""
        name = _dict_get(self, "Event")
        return name if name is not None else self.get("Event", "")


def _fill(message: Message, fields: tuple[tuple[str, str], ...]) -> None:
    _dict_update(message, fields)
    if len(message) != len(fields):
        # A key repeated: the mapping keeps its *first* value, `fields` keeps them all.
        for key, value in reversed(fields):
            _dict_set(message, key, value)
        _set(message, "_fields", fields)


def _restore(
    cls: type[Message], fields: tuple[tuple[str, str], ...], raw: tuple[tuple[bytes, bytes], ...]
) -> Message:
    """Unpickle a message that keeps raw bytes."""
    return cls._from_fields(fields, raw)


def _kind_of(first_key: str) -> type[Message]:
    low = first_key.lower()
    if low == "event":
        return Event
    if low == "response":
        return Response
    return Message
