"""Actions to send to the server: the generic :class:`Action` and a typed class for every
action Asterisk 22 documents.

:class:`Action` is the generic action: any name, any fields, validated against AMI injection.
Typed actions (``Originate``, ``CoreShowChannels``...) check their parameters at construction
and give the generic action with :meth:`TypedAction.to_action`; the connection accepts either.
Actions that answer with an event list name their item and completion events
(``ITEM_EVENTS``, ``COMPLETE_EVENT``). See docs/catalogue.md.
"""

from ami_client._private.catalogue import _generated_actions
from ami_client._private.catalogue._base import TypedAction
from ami_client._private.catalogue._generated_actions import *  # noqa: F403
from ami_client._private.serializer import Action

__all__ = [
    "Action",
    "TypedAction",
    *_generated_actions.__all__,
]
