"""Which incoming message answers which action: a sans-IO state machine (no I/O, no anyio).

The client registers each action it sends under its ActionID, then feeds every parsed
message to :meth:`Correlator.receive`; the correlator says when an action has its answer.
It knows three shapes of answer, all seen on Asterisk 22 (tests/data/transcripts/):

* a plain ``Response`` (``Ping``, ``Command``; ``Logoff`` answers ``Response: Goodbye``);
* an EventList: ``Response: Success`` with ``EventList: start``, item events carrying the same
  ActionID, then a completion event with ``EventList: Complete`` (``core_show_channels.ami``);
  or ``EventList: cancelled`` instead; or a plain ``Response: Error``;
* ``Originate`` with ``Async: true``: a ``Response`` at once, and later an ``OriginateResponse``
  event with the same ActionID (``originate.ami``). Asterisk's manager.c starts the originate
  thread *before* it writes the ack, so the event can overtake the response: both orders work.

Each action is a small state machine, written as a table (state, input) -> state:

============== ============================= ================================================
state          input                         result
============== ============================= ================================================
RESPONSE       Response (error)              :class:`Answered` (done)
RESPONSE       Response with EventList:start LIST (STREAM kind: :class:`ListStarted`)
RESPONSE       Response (other)              :class:`Answered` (ORIGINATE kind: wait for event)
RESPONSE       event (ORIGINATE kind)        kept, until the response comes
RESPONSE       event (other kinds)           ignored (e.g. UserEvent echoes its ActionID)
LIST           event, EventList: Complete    :class:`ListDone` (done)
LIST           event, EventList: cancelled   :class:`ListFailed` (done)
LIST           other event                   item: kept (COLLECT) or :class:`ListItem` (STREAM)
LIST           item beyond ``max_items``     :class:`ListOverflow` (done; COLLECT kind)
ORIGINATE      OriginateResponse event       :class:`OriginateDone` (done)
any            Response once done/forgotten  ignored (a late answer to a cancelled send)
============== ============================= ================================================
"""

from __future__ import annotations

import enum
import itertools
from typing import Final, Union

import attrs

from ami_client._private.errors import LocalProtocolError
from ami_client._private.message import Event, Message, Response

__all__ = [
    "ActionKind",
    "Answered",
    "Correlator",
    "ListDone",
    "ListFailed",
    "ListItem",
    "ListOverflow",
    "ListStarted",
    "OriginateDone",
    "Outcome",
]


class ActionKind(enum.Enum):
    """How the caller wants the answer to an action."""

    #: A response; if it starts an EventList, collect every item and the completion.
    COLLECT = "collect"
    #: A response; if it starts an EventList, hand out each item as it arrives.
    STREAM = "stream"
    #: ``Originate`` with ``Async: true``: the response, then its ``OriginateResponse`` event.
    ORIGINATE = "originate"


class _State(enum.Enum):
    RESPONSE = "response"
    LIST = "list"
    ORIGINATE = "originate"


@attrs.frozen
class Answered:
    """The action's final answer is this response (success or error)."""

    action_id: str
    response: Response


@attrs.frozen
class ListStarted:
    """(STREAM kind) The response started an EventList; items follow as :class:`ListItem`."""

    action_id: str
    response: Response


@attrs.frozen
class ListItem:
    """(STREAM kind) One item of an EventList."""

    action_id: str
    event: Event


@attrs.frozen
class ListDone:
    """The EventList completed. ``items`` is empty for the STREAM kind (they were handed out)."""

    action_id: str
    response: Response
    items: tuple[Event, ...]
    complete: Event


@attrs.frozen
class ListFailed:
    """The EventList ended with ``EventList: cancelled`` (in ``event``, or in the response)."""

    action_id: str
    response: Response
    items: tuple[Event, ...]
    event: Event | None


@attrs.frozen
class ListOverflow:
    """The EventList exceeded ``max_items``; the action is given up (later items ignored)."""

    action_id: str
    response: Response
    max_items: int


@attrs.frozen
class OriginateDone:
    """The ``OriginateResponse`` event of an async Originate arrived (after its response)."""

    action_id: str
    response: Response
    event: Event


Outcome = Union[  # noqa: UP007 (runtime alias on 3.10)
    Answered, ListStarted, ListItem, ListDone, ListFailed, ListOverflow, OriginateDone
]


class _Pending:
    __slots__ = ("early", "items", "kind", "response", "state")

    def __init__(self, kind: ActionKind) -> None:
        self.kind = kind
        self.state = _State.RESPONSE
        self.response: Response | None = None
        self.items: list[Event] = []
        self.early: Event | None = None  # an OriginateResponse that overtook its response


def every_casing(word: str) -> frozenset[str]:
    """Every casing of an ASCII ``word``: whether a message has that key in *some* casing is
    then one C-level set test of its keys (no Python loop, no lowered copies), for the common
    message that has none. (No character outside ASCII lowers to a letter of ``actionid`` or
    ``eventlist``: the Kelvin sign lowers to ``k``, and ``İ`` to two characters.)"""
    return frozenset(
        "".join(letters) for letters in itertools.product(*({c, c.upper()} for c in word))
    )


_EVENTLIST_CASINGS: Final = every_casing("eventlist")


def _eventlist(message: Message) -> str | None:
    """The message's ``EventList`` in any casing, or None. Asterisk writes exactly that casing
    (manager.c astman_send_listack); another is looked for only if a key is one of them, so a
    plain answer or a list item costs two C look-ups, not a scan of its keys."""
    value = dict.get(message, "EventList")
    if value is None and not _EVENTLIST_CASINGS.isdisjoint(message):
        value = message.get("EventList")
    return value


class Correlator:
    """Matches responses and ActionID-carrying events to the actions in flight.

    Args:
        max_items: The most items one EventList may collect (or stream) before it is given up
            with :class:`ListOverflow`: a bound on the memory one list can take.
    """

    def __init__(self, *, max_items: int = 100_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be positive")
        self.max_items = max_items
        self._pending: dict[str, _Pending] = {}

    # -- the caller's side -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._pending

    def start(self, action_id: str, kind: ActionKind = ActionKind.COLLECT) -> None:
        """Register an action about to be sent.

        Raises:
            LocalProtocolError: if an action with this ActionID is still in flight (two
                answers could not be told apart).
        """
        if action_id in self._pending:
            raise LocalProtocolError(f"ActionID {action_id!r} is already in flight")
        self._pending[action_id] = _Pending(kind)

    def forget(self, action_id: str) -> None:
        """Stop waiting for ``action_id`` (its sender was cancelled); late answers are ignored."""
        self._pending.pop(action_id, None)

    def forget_all(self) -> list[str]:
        """Forget every action (the link died); returns their ActionIDs."""
        ids = list(self._pending)
        self._pending.clear()
        return ids

    # -- the server's side -----------------------------------------------------------------

    def receive(self, message: Message, action_id: str | None = None) -> Outcome | None:
        """Feed one message from the server; returns what it meant for an action, if anything.

        ``action_id`` is the message's ActionID when the caller has already looked it up.
        """
        if action_id is None:
            action_id = message.action_id
            if action_id is None:
                return None
        pending = self._pending.get(action_id)
        if pending is None:
            return None
        if isinstance(message, Response):
            return self._on_response(action_id, pending, message)
        if isinstance(message, Event):
            return self._on_event(action_id, pending, message)
        return None  # neither a response nor an event: nothing an action waits for

    def _on_response(self, action_id: str, pending: _Pending, response: Response) -> Outcome | None:
        if pending.state is not _State.RESPONSE:
            # A second response for one ActionID: not something Asterisk does; keep waiting
            # for what the action still needs rather than guess.
            return None
        # `Response: Success` exactly (as Asterisk writes it) settles it without the
        # case-insensitive look-up of `is_error`.
        if dict.get(response, "Response") != "Success" and response.is_error:
            del self._pending[action_id]
            return Answered(action_id, response)
        eventlist = _eventlist(response)
        if eventlist is None and pending.kind is not ActionKind.ORIGINATE:
            del self._pending[action_id]  # the common case: a plain answer
            return Answered(action_id, response)
        eventlist = (eventlist or "").lower()
        if eventlist == "start":
            pending.state = _State.LIST
            pending.response = response
            if pending.kind is ActionKind.STREAM:
                return ListStarted(action_id, response)
            return None
        if eventlist == "cancelled":
            del self._pending[action_id]
            return ListFailed(action_id, response, (), None)
        if pending.kind is ActionKind.ORIGINATE:
            if pending.early is not None:
                del self._pending[action_id]
                return OriginateDone(action_id, response, pending.early)
            pending.state = _State.ORIGINATE
            pending.response = response
            return None
        del self._pending[action_id]
        return Answered(action_id, response)

    def _on_event(self, action_id: str, pending: _Pending, event: Event) -> Outcome | None:
        state = pending.state
        if state is _State.LIST:
            response = pending.response
            assert response is not None
            eventlist = _eventlist(event)
            if eventlist is not None:
                low = eventlist.lower()
                if low == "complete":
                    del self._pending[action_id]
                    return ListDone(action_id, response, tuple(pending.items), event)
                if low == "cancelled":
                    del self._pending[action_id]
                    return ListFailed(action_id, response, tuple(pending.items), event)
            if pending.kind is ActionKind.STREAM:
                # Streamed items are not kept here: the consumer's bounded buffer holds them.
                return ListItem(action_id, event)
            if len(pending.items) >= self.max_items:
                del self._pending[action_id]
                return ListOverflow(action_id, response, self.max_items)
            pending.items.append(event)
            return None
        if pending.kind is ActionKind.ORIGINATE and event.name.lower() == "originateresponse":
            if state is _State.ORIGINATE:
                response = pending.response
                assert response is not None
                del self._pending[action_id]
                return OriginateDone(action_id, response, event)
            pending.early = event
        return None
