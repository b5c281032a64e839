"""Typing a received event: pick the class by event name, build the view."""

from __future__ import annotations

import logging
from typing import Final

from ami_client._private.catalogue._base import GenericEvent, TypedEvent
from ami_client._private.catalogue._generated_events import EVENT_CLASSES
from ami_client._private.message import Event
from ami_client._private.parser import DeferredEvent

__all__ = ["EVENT_CLASSES", "from_deferred", "from_message"]

logger = logging.getLogger("ami_client.events")

# The classes imported so far, by exact name: the fast path (see _class_of for the others).
_by_name: Final = EVENT_CLASSES.loaded.get
# AMI keys are case-insensitive and Asterisk's spellings drift between versions and the
# documentation (`NewExten` / `Newexten`).
_by_lower: Final = {name.lower(): name for name in EVENT_CLASSES}.get
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
        cls = _class_of(message.get("Event"))
    event: TypedEvent = _new(cls)
    _set_message(event, message)
    _set_deferred(event, None)
    return event


def from_deferred(deferred: DeferredEvent) -> TypedEvent:
    """The typed view of an event the parser deferred: what :func:`from_message` gives for
    its message, with the fields read only when asked for (see ``DeferredEvent``)."""
    cls = _by_name(deferred.name)
    if cls is None:
        cls = _class_of(deferred.name)
    event: TypedEvent = _new(cls)
    _set_deferred(event, deferred)
    return event


def _class_of(name: str | None) -> type[TypedEvent]:
    """The class of events called ``name``, the first time (its class is imported then), in
    another casing than Asterisk's, or unknown (:class:`GenericEvent`)."""
    if not name:
        return GenericEvent
    if name not in EVENT_CLASSES:
        documented = _by_lower(name.lower())
        if documented is None:
            return GenericEvent
        name = documented
    try:
        return EVENT_CLASSES[name]
    except Exception:
        # Its module did not import (left out of a frozen application, a package replaced
        # under a running process, no file descriptor left...). This runs in the client's
        # reader: raising would end the connection and fail every action in flight. The
        # event is delivered untyped, every field in it (the import is tried again next time).
        if name not in _import_failed:
            _import_failed.add(name)
            logger.warning(
                "typed class of %r events not imported; delivering them as GenericEvent",
                name,
                exc_info=True,
            )
        return GenericEvent


# Event names whose class failed to import (logged once each).
_import_failed: Final[set[str]] = set()
