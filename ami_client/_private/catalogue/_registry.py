"""Typing a received event: pick the class by event name, build the view."""

from __future__ import annotations

from typing import Final

from ami_client._private.catalogue._base import GenericEvent, TypedEvent
from ami_client._private.catalogue._generated_events import EVENT_CLASSES
from ami_client._private.message import Event
from ami_client._private.parser import DeferredEvent

__all__ = ["EVENT_CLASSES", "from_deferred", "from_message"]

_by_name: Final = EVENT_CLASSES.get
# AMI keys are case-insensitive and Asterisk's spellings drift between versions and the
# documentation (`NewExten` / `Newexten`); the exact name is the fast path.
_by_lower: Final = {name.lower(): cls for name, cls in EVENT_CLASSES.items()}.get
_get_event: Final = dict.get
_new: Final = object.__new__
_set_message: Final = TypedEvent.__dict__["message"].__set__
_set_deferred: Final = TypedEvent.__dict__["_deferred"].__set__


def from_message(message: Event) -> TypedEvent:
    """The typed view of ``message``: its documented class, or :class:`GenericEvent`.

    A dict look-up and one object: the fields are converted only when read. Never raises on
    what the server sent (missing, extra or malformed fields).
    """
    name = _get_event(message, "Event")
    cls = _by_name(name) if name is not None else None
    if cls is None:
        name = message.get("Event")
        cls = _by_lower(name.lower(), GenericEvent) if name else GenericEvent
    event: TypedEvent = _new(cls)
    _set_message(event, message)
    _set_deferred(event, None)
    return event


def from_deferred(deferred: DeferredEvent) -> TypedEvent:
    """The typed view of an event the parser deferred: what :func:`from_message` gives for
    its message, with the fields read only when asked for (see ``DeferredEvent``)."""
    name = deferred.name
    cls = _by_name(name)
    if cls is None:
        cls = _by_lower(name.lower(), GenericEvent) if name else GenericEvent
    event: TypedEvent = _new(cls)
    _set_deferred(event, deferred)
    return event
