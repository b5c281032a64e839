"""Actions to send to the server: the generic :class:`Action` and a typed class for every
action Asterisk 22 documents.

:class:`Action` is the generic action: any name, any fields, validated against AMI injection.
Typed actions (``Originate``, ``CoreShowChannels``...) check their parameters at construction
and give the generic action with :meth:`TypedAction.to_action`; the connection accepts either.
Actions that answer with an event list name their item and completion events
(``ITEM_EVENTS``, ``COMPLETE_EVENT``). See docs/catalogue.md.
"""

from typing import TYPE_CHECKING

from ami_client._private.catalogue import _generated_actions
from ami_client._private.catalogue._base import TypedAction
from ami_client._private.catalogue._generated_actions import ACTION_CLASSES as ACTION_CLASSES
from ami_client._private.catalogue._lazy import module_getattr
from ami_client._private.serializer import Action

if TYPE_CHECKING:
    # Each typed class is imported when first used (see _private/catalogue/_lazy.py).
    from ami_client._private.catalogue._generated_actions import *  # noqa: F403

__all__ = [
    "Action",
    "TypedAction",
    *_generated_actions.__all__,
]

if not TYPE_CHECKING:  # (type checkers see every class, and only those)
    __getattr__ = module_getattr(__name__, globals(), ACTION_CLASSES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
