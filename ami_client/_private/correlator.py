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
RESPONSE       Response (error)              the response itself (done)
RESPONSE       Response with EventList:start LIST (STREAM kind: :class:`ListStarted`)
RESPONSE       Response (other)              the response itself (ORIGINATE: wait for event)
RESPONSE       OriginateResponse (ORIGINATE) the first one kept, until the response comes
RESPONSE       other event                   ignored (e.g. UserEvent echoes its ActionID)
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
    "COLLECT",
    "EVENTLIST_CASINGS",
    "INITIAL_STATE",
    "ORIGINATE",
    "STREAM",
    "ActionKind",
    "Correlator",
    "ListDone",
    "ListFailed",
    "ListItem",
    "ListOverflow",
    "ListStarted",
    "OriginateDone",
    "Outcome",
    "Pending",
    "answers_plainly",
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


# Reading an enum member through its class (`_State.LIST`) costs about 190 ns on Python 3.11
# (EnumType's attribute hook and a Python-level descriptor), several times per action: the
# per-message paths compare with these module-level names instead.
_RESPONSE: Final = _State.RESPONSE
_LIST: Final = _State.LIST
_ORIGINATE: Final = _State.ORIGINATE
COLLECT: Final = ActionKind.COLLECT
STREAM: Final = ActionKind.STREAM
ORIGINATE: Final = ActionKind.ORIGINATE
#: The state of a new entry (for a Pending subclass that sets every field in its own __init__).
INITIAL_STATE: Final = _RESPONSE


# An action answered by a plain response (success or error) has that Response as its outcome:
# no wrapper, for the commonest answer of all. The other outcomes are read-only by convention,
# not frozen: a frozen attrs class sets each field through object.__setattr__, which cost an
# outcome 0.7 us, more than the rest of its dispatch.


@attrs.define
class ListStarted:
    """(STREAM kind) The response started an EventList; items follow as :class:`ListItem`."""

    action_id: str
    response: Response


@attrs.define
class ListItem:
    """(STREAM kind) One item of an EventList."""

    action_id: str
    event: Event


@attrs.define
class ListDone:
    """The EventList completed. ``items`` is empty for the STREAM kind (they were handed out)."""

    action_id: str
    response: Response
    items: tuple[Event, ...]
    complete: Event


@attrs.define
class ListFailed:
    """The EventList ended with ``EventList: cancelled`` (in ``event``, or in the response)."""

    action_id: str
    response: Response
    items: tuple[Event, ...]
    event: Event | None


@attrs.define
class ListOverflow:
    """The EventList exceeded ``max_items``; the action is given up (later items ignored)."""

    action_id: str
    response: Response
    max_items: int


@attrs.define
class OriginateDone:
    """The ``OriginateResponse`` event of an async Originate arrived (after its response)."""

    action_id: str
    response: Response
    event: Event


Outcome = Union[  # noqa: UP007 (runtime alias on 3.10)
    Response, ListStarted, ListItem, ListDone, ListFailed, ListOverflow, OriginateDone
]


class Pending:
    """The correlator's entry for one action in flight: its kind, and how far its answer got.

    A caller may pass its own subclass to :meth:`Correlator.add` to keep its state in the same
    object (the client keeps how to wake the action's sender there). Slotted, every field set
    by ``__init__``: Python 3.11 then reads and writes them by specialized instructions (class-
    level defaults instead made every write take the generic path and gave each entry a dict).
    """

    __slots__ = ("action_id", "early", "items", "kind", "response", "state")

    def __init__(self, action_id: str = "", kind: ActionKind = COLLECT) -> None:
        self.action_id = action_id
        self.kind = kind
        self.state = _RESPONSE
        self.response: Response | None = None  # once the response came (lists, Originate)
        self.items: list[Event] | None = None  # COLLECT: the list's items, from its start
        self.early: Event | None = None  # an OriginateResponse that overtook its response


def every_casing(word: str) -> frozenset[str]:
    """Every casing of an ASCII ``word``: whether a message has that key in *some* casing is
    then one C-level set test of its keys (no Python loop, no lowered copies), for the common
    message that has none. (No character outside ASCII lowers to a letter of ``actionid`` or
    ``eventlist``: the Kelvin sign lowers to ``k``, and ``İ`` to two characters.)"""
    return frozenset(
        "".join(letters) for letters in itertools.product(*({c, c.upper()} for c in word))
    )


#: Every casing of ``EventList``: a message has none of them as a key if
#: ``EVENTLIST_CASINGS.isdisjoint(message)``.
EVENTLIST_CASINGS: Final = every_casing("eventlist")
_dict_get: Final = dict.get


def answers_plainly(response: Response) -> bool:
    """Whether ``response``, as the first answer to a COLLECT action, is that action's whole
    outcome whatever the entry's state: ``Response: Success`` as Asterisk writes it, and no
    ``EventList`` key in any casing (the first rule of :meth:`Correlator.on_response`).

    So a caller may keep no entry for a COLLECT action until its response comes, and
    :meth:`~Correlator.add` one only if this is false (the client does, on asyncio).
    """
    return _dict_get(response, "Response") == "Success" and EVENTLIST_CASINGS.isdisjoint(response)


def _eventlist(message: Message) -> str | None:
    """The message's ``EventList`` in any casing, or None. Asterisk writes exactly that casing
    (manager.c astman_send_listack); another is looked for only if a key is one of them, so a
    plain answer or a list item costs two C look-ups, not a scan of its keys."""
    value = _dict_get(message, "EventList")
    if value is None and not EVENTLIST_CASINGS.isdisjoint(message):
        value = message.get("EventList")
    return value


class Correlator:
    """Matches responses and ActionID-carrying events to the actions in flight.

    Args:
        max_items: The most items one EventList may collect (or stream) before it is given up
            with :class:`ListOverflow`: a bound on the memory one list can take.

    Attributes:
        entries: ActionID -> :class:`Pending`, for every action in flight. Read it, but change
            it only through :meth:`start`, :meth:`add`, :meth:`forget` and :meth:`forget_all`.
    """

    def __init__(self, *, max_items: int = 100_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be positive")
        self.max_items = max_items
        self.entries: dict[str, Pending] = {}

    # -- the caller's side -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, action_id: object) -> bool:
        return action_id in self.entries

    def start(self, action_id: str, kind: ActionKind = COLLECT) -> Pending:
        """Register an action about to be sent; returns its entry.

        Raises:
            LocalProtocolError: if an action with this ActionID is still in flight (two
                answers could not be told apart).
        """
        entry = Pending(action_id, kind)
        self.add(entry)
        return entry

    def add(self, entry: Pending) -> None:
        """Register an action about to be sent, by an entry the caller made (a subclass).

        Raises:
            LocalProtocolError: as :meth:`start`.
        """
        if entry.action_id in self.entries:
            raise LocalProtocolError(f"ActionID {entry.action_id!r} is already in flight")
        self.entries[entry.action_id] = entry

    def forget(self, action_id: str) -> None:
        """Stop waiting for ``action_id`` (its sender was cancelled); late answers are ignored."""
        self.entries.pop(action_id, None)

    def forget_all(self) -> list[Pending]:
        """Forget every action (the link died); returns their entries."""
        entries = list(self.entries.values())
        self.entries.clear()
        return entries

    # -- the server's side -----------------------------------------------------------------

    def receive(self, message: Message, action_id: str | None = None) -> Outcome | None:
        """Feed one message from the server; returns what it meant for an action, if anything.

        ``action_id`` is the message's ActionID when the caller has already looked it up.
        """
        if action_id is None:
            action_id = message.action_id
            if action_id is None:
                return None
        entry = self.entries.get(action_id)
        if entry is None:
            return None
        if isinstance(message, Response):
            return self.on_response(entry, message)
        if isinstance(message, Event):
            return self.on_event(entry, message)
        return None  # neither a response nor an event: nothing an action waits for

    def on_response(self, entry: Pending, response: Response) -> Outcome | None:
        """:meth:`receive` for a response whose ActionID is ``entry``'s (the caller looked the
        entry up in :attr:`entries`)."""
        if entry.state is not _RESPONSE:
            # A second response for one ActionID: not something Asterisk does; keep waiting
            # for what the action still needs rather than guess.
            return None
        # `Response: Success` exactly (as Asterisk writes it) settles it without the
        # case-insensitive look-up of `is_error`; no key that is a casing of `EventList` (one
        # C-level test, see every_casing) makes it a plain answer.
        if (
            _dict_get(response, "Response") == "Success" or not response.is_error
        ) and EVENTLIST_CASINGS.isdisjoint(response):
            if entry.kind is not ORIGINATE:  # the common case: a plain answer
                del self.entries[entry.action_id]
                return response
            return self._originate_answered(entry, response)
        action_id = entry.action_id
        if response.is_error:
            del self.entries[action_id]
            return response
        eventlist = (response.get("EventList") or "").lower()
        if eventlist == "start":
            entry.state = _LIST
            entry.response = response
            if entry.kind is STREAM:
                return ListStarted(action_id, response)
            entry.items = []
            return None
        if eventlist == "cancelled":
            del self.entries[action_id]
            return ListFailed(action_id, response, (), None)
        if entry.kind is ORIGINATE:
            return self._originate_answered(entry, response)
        del self.entries[action_id]
        return response

    def _originate_answered(self, entry: Pending, response: Response) -> Outcome | None:
        if entry.early is not None:
            del self.entries[entry.action_id]
            return OriginateDone(entry.action_id, response, entry.early)
        entry.state = _ORIGINATE
        entry.response = response
        return None

    def on_event(self, entry: Pending, event: Event) -> Outcome | None:
        """:meth:`receive` for an event whose ActionID is ``entry``'s."""
        state = entry.state
        action_id = entry.action_id
        if state is _LIST:
            response = entry.response
            assert response is not None
            eventlist = _eventlist(event)
            if eventlist is not None:
                low = eventlist.lower()
                if low == "complete":
                    del self.entries[action_id]
                    return ListDone(action_id, response, tuple(entry.items or ()), event)
                if low == "cancelled":
                    del self.entries[action_id]
                    return ListFailed(action_id, response, tuple(entry.items or ()), event)
            items = entry.items
            if items is None:  # STREAM: the consumer's bounded buffer holds them, not this
                return ListItem(action_id, event)
            if len(items) >= self.max_items:
                del self.entries[action_id]
                return ListOverflow(action_id, response, self.max_items)
            items.append(event)
            return None
        if entry.kind is ORIGINATE and event.name.lower() == "originateresponse":
            if state is _ORIGINATE:
                response = entry.response
                assert response is not None
                del self.entries[action_id]
                return OriginateDone(action_id, response, event)
            if entry.early is None:
                # The first one is the call's outcome, as it is when the response comes first
                # (a second, not something Asterisk sends, reaches only the subscribers).
                entry.early = event
        return None
