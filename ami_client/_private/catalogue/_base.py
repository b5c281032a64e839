"""Base classes of the typed catalogue: typed events, channel and bridge snapshots, actions.

A typed event is a *view* of one received :class:`~ami_client.Event`. Building it costs one
object and one slot (``message``); each attribute is converted from the message the first
time it is read and then cached in its slot. So typing every event of a busy server is cheap,
and an application pays only for the fields it reads. Equality and hashing follow the
message: two typed events are equal when their messages are.

A value that does not convert (``Cause: abc`` where a number is documented) reads ``None``;
the text stays in ``event.message``. Nothing in this module raises on what a server sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from ami_client._private.catalogue._convert import (
    EMPTY_MAPPING,
    ChannelState,
    as_int,
    as_state,
    as_str,
    chan_variables,
    privilege_of,
    snapshot_variables,
)
from ami_client._private.errors import LocalProtocolError
from ami_client._private.message import CREDENTIAL_KEYS, Event, Message
from ami_client._private.parser import ABSENT, DeferredEvent
from ami_client._private.serializer import SECRET_KEYS, Action

__all__ = [
    "EMPTY_BRIDGE",
    "EMPTY_CHANNEL",
    "BridgeSnapshot",
    "ChannelSnapshot",
    "FieldTable",
    "GenericEvent",
    "TypedAction",
    "TypedEvent",
    "bridge_snapshot",
    "channel_snapshot",
]

_E = TypeVar("_E", bound="TypedEvent")

#: attribute name -> (wire key or snapshot prefix, converter(message, key)).
FieldTable = Mapping[str, tuple[str, Callable[[Message, str], Any]]]

_new = object.__new__
_set = object.__setattr__
_dict_get = dict.get
_EMPTY_EVENT = Event(())


def _missing(obj: object, name: str) -> AttributeError:
    return AttributeError(f"{type(obj).__name__!r} object has no attribute {name!r}")


# -- repr --------------------------------------------------------------------------------------
# Typed events and actions share one __repr__ (the generated classes say repr=False): attrs
# would compile one per class, and that was about half of what `import ami_client` spent
# building the catalogue's few hundred classes. It reads like attrs' (`Name(a=1, b='x')`), and
# shows `<hidden>` for a credential's value.

# Class -> (attribute, whether its value is hidden) of each field its repr shows, in order.
_REPR_PLANS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _repr_plan(cls: type, wire_keys: Mapping[str, str], hidden: frozenset[str]) -> Any:
    plan = _REPR_PLANS[cls] = tuple(
        (field.name, wire_keys.get(field.name, "").lower() in hidden)
        for field in attrs.fields(cls)
        if field.repr
    )
    return plan


def _shared_repr(obj: object, plan: tuple[tuple[str, bool], ...]) -> str:
    shown = []
    for name, hide in plan:
        value = getattr(obj, name)
        shown.append(f"{name}=<hidden>" if hide and value is not None else f"{name}={value!r}")
    return f"{type(obj).__qualname__.rsplit('>.', 1)[-1]}({', '.join(shown)})"


# -- snapshots ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class _Snapshot:
    """Fields that Asterisk writes for one channel or bridge, under a common key prefix."""

    _FIELDS: ClassVar[FieldTable] = {}

    prefix: str = ""
    """The key prefix (``""``, ``"Dest"``, ``"LocalOne"``...)."""
    message: Event = attrs.field(default=_EMPTY_EVENT, repr=False)
    """The whole event the snapshot was read from."""

    @classmethod
    def _read(cls, message: Message, prefix: str) -> Any:
        self = _new(cls)
        _set(self, "prefix", prefix)
        _set(self, "message", message)
        return self

    if not TYPE_CHECKING:  # hidden from type checkers, so a misspelt attribute is an error

        def __getattr__(self, name: str) -> Any:
            spec = type(self)._FIELDS.get(name)
            if spec is None:
                raise _missing(self, name)
            key, convert = spec
            value = convert(self.message, self.prefix + key)
            _set(self, name, value)
            return value

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in type(self)._FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(tuple(v for v in self._values() if not isinstance(v, Mapping)))

    @property
    def present(self) -> bool:
        """True if the message holds any of this snapshot's fields."""
        lowered = {key.lower() for key, _ in self.message.fields}
        return any((self.prefix + key).lower() in lowered for key, _ in type(self)._FIELDS.values())


def _snapshot_variables(message: Message, prefix: str) -> Mapping[str, str]:
    return snapshot_variables(message, prefix)


@attrs.frozen(kw_only=True, eq=False)
class ChannelSnapshot(_Snapshot):
    """One channel as Asterisk describes it in events (its ``<channel_snapshot/>`` fields).

    Attribute names are the wire keys without the prefix, in snake case: ``DestCallerIDNum``
    is ``event.dest.caller_id_num``. ``variables`` holds the ``<Prefix>ChanVariable`` fields
    (manager.conf ``channelvars``), unescaped. Absent fields read ``None``; a snapshot whose
    fields are all absent is still an object (see :attr:`present`).
    """

    _FIELDS: ClassVar[FieldTable] = {
        "channel": ("Channel", as_str),
        "channel_state": ("ChannelState", as_state),
        "channel_state_desc": ("ChannelStateDesc", as_str),
        "caller_id_num": ("CallerIDNum", as_str),
        "caller_id_name": ("CallerIDName", as_str),
        "connected_line_num": ("ConnectedLineNum", as_str),
        "connected_line_name": ("ConnectedLineName", as_str),
        "language": ("Language", as_str),
        "account_code": ("AccountCode", as_str),
        "context": ("Context", as_str),
        "exten": ("Exten", as_str),
        "priority": ("Priority", as_int),
        "unique_id": ("Uniqueid", as_str),
        "linked_id": ("Linkedid", as_str),
        "variables": ("", _snapshot_variables),
    }

    channel: str | None = None
    """The channel's name (``PJSIP/alice-00000001``)."""
    channel_state: ChannelState | None = None
    channel_state_desc: str | None = None
    caller_id_num: str | None = None
    caller_id_name: str | None = None
    connected_line_num: str | None = None
    connected_line_name: str | None = None
    language: str | None = None
    account_code: str | None = None
    context: str | None = None
    exten: str | None = None
    priority: int | None = None
    unique_id: str | None = None
    linked_id: str | None = None
    """The ``Uniqueid`` of the oldest channel of the call."""
    variables: Mapping[str, str] = EMPTY_MAPPING
    """``ChanVariable`` fields: variable name -> value (C escapes undone)."""


@attrs.frozen(kw_only=True, eq=False)
class BridgeSnapshot(_Snapshot):
    """One bridge as Asterisk describes it in events (its ``<bridge_snapshot/>`` fields)."""

    _FIELDS: ClassVar[FieldTable] = {
        "bridge_unique_id": ("BridgeUniqueid", as_str),
        "bridge_type": ("BridgeType", as_str),
        "bridge_technology": ("BridgeTechnology", as_str),
        "bridge_creator": ("BridgeCreator", as_str),
        "bridge_name": ("BridgeName", as_str),
        "bridge_num_channels": ("BridgeNumChannels", as_int),
        "bridge_video_source_mode": ("BridgeVideoSourceMode", as_str),
        "bridge_video_source": ("BridgeVideoSource", as_str),
    }

    bridge_unique_id: str | None = None
    bridge_type: str | None = None
    bridge_technology: str | None = None
    bridge_creator: str | None = None
    bridge_name: str | None = None
    bridge_num_channels: int | None = None
    bridge_video_source_mode: str | None = None
    bridge_video_source: str | None = None


EMPTY_CHANNEL: ChannelSnapshot = ChannelSnapshot()
EMPTY_BRIDGE: BridgeSnapshot = BridgeSnapshot()


def channel_snapshot(message: Message, prefix: str) -> ChannelSnapshot:
    """The channel snapshot under ``prefix`` (a converter for the field tables)."""
    snapshot: ChannelSnapshot = ChannelSnapshot._read(message, prefix)
    return snapshot


def bridge_snapshot(message: Message, prefix: str) -> BridgeSnapshot:
    """The bridge snapshot under ``prefix`` (a converter for the field tables)."""
    snapshot: BridgeSnapshot = BridgeSnapshot._read(message, prefix)
    return snapshot


# -- events ------------------------------------------------------------------------------------


def _privilege(message: Message, key: str) -> frozenset[str]:
    return privilege_of(message)


def _chan_variables(message: Message, key: str) -> Mapping[str, Mapping[str, str]]:
    return chan_variables(message)


_BASE_FIELDS: FieldTable = {
    "privilege": ("Privilege", _privilege),
    "chan_variables": ("", _chan_variables),
}


@attrs.frozen(kw_only=True, eq=False)
class TypedEvent:
    """Base class of every typed event: a typed, lazily converted view of an :class:`Event`.

    Build one with :meth:`from_message` (or :func:`ami_client.events.from_message`, which
    picks the class by event name). Every field of the message stays in :attr:`message`,
    including fields the documentation does not list.

    Class attributes:
        EVENT_NAME: The event's name on the wire (``""`` for :class:`GenericEvent`).
        PRIVILEGE_CLASSES: The privilege classes Asterisk's documentation gives the event.
        SINCE: The Asterisk versions whose documentation says the event appeared.
    """

    EVENT_NAME: ClassVar[str] = ""
    PRIVILEGE_CLASSES: ClassVar[frozenset[str]] = frozenset()
    SINCE: ClassVar[tuple[str, ...]] = ()
    _FIELDS: ClassVar[FieldTable] = _BASE_FIELDS

    message: Event = attrs.field(repr=False)
    """The event as received: every field, in wire order."""
    # The event's text before its fields are read (see DeferredEvent): the client's reader
    # builds typed events from that, and `message` is read from it the first time it is
    # asked for. None once it is read, and for a view made from a message.
    _deferred: DeferredEvent | None = attrs.field(default=None, init=False, repr=False)
    privilege: frozenset[str] = frozenset()
    """The class names of the ``Privilege`` field (``{"call", "all"}``)."""
    chan_variables: Mapping[str, Mapping[str, str]] = EMPTY_MAPPING  # type: ignore[assignment]
    """Every ``ChanVariable`` field, by channel name (see :func:`chan_variables`)."""

    @classmethod
    def from_message(cls: type[_E], message: Event) -> _E:
        """This class's view of ``message``. Never raises; the name is not checked."""
        self = _new(cls)
        _set(self, "message", message)
        _set(self, "_deferred", None)
        return self

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only called for a slot not yet filled: convert once, then cache in the slot.
            if name == "message":
                deferred = self._deferred
                if deferred is None:
                    raise _missing(self, name)
                message = deferred.message()
                _set(self, "message", message)
                _set(self, "_deferred", None)
                return message
            if name == "_deferred":  # a view built half-way (object.__new__ and a message)
                return None
            spec = type(self)._FIELDS.get(name) or _BASE_FIELDS.get(name)
            if spec is None:
                raise _missing(self, name)
            key, convert = spec
            value = convert(self.message, key)
            _set(self, name, value)
            return value

    @property
    def name(self) -> str:
        """The event's name as received (the ``Event`` field)."""
        deferred = self._deferred
        if deferred is not None:
            return deferred.name
        name = _dict_get(self.message, "Event")  # the exact casing: one C look-up
        return name if name is not None else self.message.name

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` of the action this event answers, if any."""
        return self.message.action_id

    def get(self, key: str, default: str | None = None) -> str | None:
        """The raw text of field ``key`` (case-insensitive), or ``default``."""
        deferred = self._deferred
        if deferred is not None:
            found = deferred.find(key)  # from the text, if it can tell
            if found is ABSENT:
                return default
            if found is not None:
                return found
        value = _dict_get(self.message, key)  # the exact casing: one C look-up
        return value if value is not None else self.message.get(key, default)

    def __getitem__(self, key: str) -> str:
        """The raw text of field ``key`` (case-insensitive); ``KeyError`` if absent.

        So code written for the generic :class:`Event` (``event["Channel"]``) keeps working
        when it receives typed events.
        """
        deferred = self._deferred
        if deferred is not None:
            found = deferred.find(key)
            if found is ABSENT:
                raise KeyError(key)
            if found is not None:
                return found
        return self.message[key]

    def __contains__(self, key: object) -> bool:
        deferred = self._deferred
        if deferred is not None and isinstance(key, str):
            found = deferred.find(key)
            if found is not None:
                return found is not ABSENT
        return key in self.message

    @classmethod
    def field_keys(cls) -> dict[str, str]:
        """Attribute name -> wire key (or key prefix, for a snapshot) of the typed fields."""
        return {name: key for name, (key, _) in cls._FIELDS.items() if name not in _BASE_FIELDS}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypedEvent):
            return NotImplemented
        return type(self) is type(other) and self.message == other.message

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.message))

    def __repr__(self) -> str:
        cls = type(self)
        plan = _REPR_PLANS.get(cls) or _repr_plan(
            cls, {name: key for name, (key, _) in cls._FIELDS.items()}, CREDENTIAL_KEYS
        )
        return _shared_repr(self, plan)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (and deep-copied) as what it is a view of: its class and its message. The
        # converted fields are caches (and some are read-only mappings, which do not pickle).
        return (type(self).from_message, (self.message,))


@attrs.frozen(kw_only=True, eq=False, repr=False)
class GenericEvent(TypedEvent):
    """An event with no typed class: a newer Asterisk's, a third-party module's, an event
    Asterisk does not document (``TestEvent``, ``QueueStatusComplete``...). Every field is in
    :attr:`message`; read them with :meth:`get`."""


# -- actions -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TypedAction:
    """Base class of every typed action. :meth:`to_action` gives the generic, validated
    :class:`~ami_client.Action` that the connection sends.

    Class attributes:
        ACTION_NAME: The action's name on the wire.
        SINCE: The Asterisk versions whose documentation says the action appeared.
        ITEM_EVENTS: For actions that answer with an event list: the typed classes of its
            items (empty when the items are not documented; see ``ITEM_EVENT_NAMES``).
        ITEM_EVENT_NAMES: The names of the list's item events.
        COMPLETE_EVENT: The typed class of the event that ends the list, if documented.
        COMPLETE_EVENT_NAME: The name of the event that ends the list, if known.
    """

    ACTION_NAME: ClassVar[str] = ""
    SINCE: ClassVar[tuple[str, ...]] = ()
    ITEM_EVENTS: ClassVar[tuple[type[TypedEvent], ...]] = ()
    ITEM_EVENT_NAMES: ClassVar[tuple[str, ...]] = ()
    COMPLETE_EVENT: ClassVar[type[TypedEvent] | None] = None
    COMPLETE_EVENT_NAME: ClassVar[str | None] = None
    #: (attribute, wire key) of each parameter, in the documentation's order. A key holding
    #: ``000000`` or ``(0)`` is numbered per item of a sequence (UpdateConfig, AOCMessage);
    #: the key ``*`` stands for headers of the caller's choosing, one per mapping item
    #: (UserEvent's ``headers``).
    _PARAMS: ClassVar[tuple[tuple[str, str], ...]] = ()

    action_id: str | None = None
    """An ``ActionID`` of your own; normally left out, and the client assigns one."""

    @classmethod
    def parameter_keys(cls) -> tuple[tuple[str, str], ...]:
        """Each parameter as ``(attribute, wire key)``, in the documentation's order.

        A wire key holding ``000000`` or ``(0)`` is numbered per item of a sequence; ``*``
        stands for headers of the caller's own, one line per item (UserEvent's ``headers``).
        ``action_id`` is not listed.
        """
        return cls._PARAMS

    @classmethod
    def is_list(cls) -> bool:
        """True if the action answers with an event list (``EventList: start``...)."""
        return cls.COMPLETE_EVENT_NAME is not None or bool(cls.ITEM_EVENT_NAMES)

    def to_action(self) -> Action:
        """The generic action to send. Raises LocalProtocolError for unsafe values."""
        fields: list[tuple[str, object]] = []
        for attr, key in self._PARAMS:
            value = getattr(self, attr)
            if value is None:
                continue
            if key == "*":
                fields.extend(self._own_headers(value))
            elif "000000" in key or "(0)" in key:
                for index, item in enumerate(value):
                    numbered = (
                        key.replace("000000", f"{index:06d}")
                        if "000000" in key
                        else key.replace("(0)", f"({index})")
                    )
                    fields.append((numbered, item))
            else:
                fields.append((key, value))
        if self.action_id is not None:
            fields.append(("ActionID", self.action_id))
        return Action(self.ACTION_NAME, fields)

    def __repr__(self) -> str:
        # Secret and Key hidden, as the generic Action's repr hides them (SECRET_KEYS).
        cls = type(self)
        plan = _REPR_PLANS.get(cls) or _repr_plan(cls, dict(cls._PARAMS), SECRET_KEYS)
        return _shared_repr(self, plan)

    def _own_headers(self, headers: Mapping[str, object]) -> list[tuple[str, object]]:
        # A header of the caller's may not stand in for a parameter: `ActionID` would
        # escape the client's correlation, and a second `UserEvent` would rename the event.
        taken = {"action", "actionid"} | {key.lower() for _, key in self._PARAMS}
        out: list[tuple[str, object]] = []
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() in taken:
                raise LocalProtocolError(
                    f"{self.ACTION_NAME}: {key!r} is a parameter of the action, not a header "
                    "of your own (use its argument)"
                )
            out.append((key, value))
        return out
