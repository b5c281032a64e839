"""Events the server sends: the generic :class:`Event` and a typed class for every event
Asterisk 22 documents.

:class:`Event` is the generic event: every field, in wire order, looked up case-insensitively.
:func:`from_message` turns one into its typed view (``DialBegin``, ``Hangup``...), or into a
:class:`GenericEvent` for a name with no class (a newer Asterisk's event, a third-party
module's); either way every field stays in ``.message``. See docs/catalogue.md.

    typed = events.from_message(message)
    if isinstance(typed, events.DialBegin):
        print(typed.dest.channel, typed.dial_string)
"""

from typing import TYPE_CHECKING

from ami_client._private.catalogue import _generated_events
from ami_client._private.catalogue._base import (
    BridgeSnapshot,
    ChannelSnapshot,
    GenericEvent,
    TypedEvent,
)
from ami_client._private.catalogue._convert import ChannelState
from ami_client._private.catalogue._lazy import module_getattr
from ami_client._private.catalogue._registry import EVENT_CLASSES, from_message
from ami_client._private.message import Event

if TYPE_CHECKING:
    # Each typed class is imported when first used (see _private/catalogue/_lazy.py).
    from ami_client._private.catalogue._generated_events import *  # noqa: F403

__all__ = [
    "Event",
    "TypedEvent",
    "GenericEvent",
    "ChannelSnapshot",
    "BridgeSnapshot",
    "ChannelState",
    "from_message",
    "EVENT_CLASSES",
    *_generated_events.__all__,
]

if not TYPE_CHECKING:  # (type checkers see every class, and only those)
    __getattr__ = module_getattr(__name__, globals(), EVENT_CLASSES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
