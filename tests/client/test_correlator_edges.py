"""The correlator's less travelled rows, and the reconnect/keepalive policies' bad values."""

from __future__ import annotations

import pytest

from ami_client import Event, Keepalive, Message, ReconnectPolicy, Response
from ami_client._private.correlator import (
    COLLECT,
    ORIGINATE,
    STREAM,
    Correlator,
    ListDone,
    ListItem,
)


def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items must be positive"):
        Correlator(max_items=0)


def test_receive_with_the_action_id_looked_up_already() -> None:
    correlator = Correlator()
    correlator.start("a-1")
    # The caller passes the ActionID it read (say, in another casing): no look-up again.
    answer = Response([("Response", "Success"), ("actionid", "a-1")])
    assert correlator.receive(answer, "a-1") is answer
    assert "a-1" not in correlator


def test_a_message_that_is_neither_response_nor_event_answers_nothing() -> None:
    correlator = Correlator()
    correlator.start("a-1")
    stray = Message([("Shrug", "x"), ("ActionID", "a-1")])
    assert correlator.receive(stray) is None
    assert "a-1" in correlator  # still waiting for its real answer
    answer = Response([("Response", "Success"), ("ActionID", "a-1")])
    assert correlator.receive(answer) is answer


@pytest.mark.parametrize("kind", [COLLECT, STREAM])
def test_a_second_response_to_a_list_in_progress_is_ignored(kind: object) -> None:
    correlator = Correlator()
    correlator.start("l-1", kind)  # type: ignore[arg-type]
    start = Response([("Response", "Success"), ("ActionID", "l-1"), ("EventList", "start")])
    correlator.receive(start)
    # Not something Asterisk does: the list goes on, and its items are not lost.
    assert correlator.receive(Response([("Response", "Error"), ("ActionID", "l-1")])) is None
    item = Event([("Event", "Item"), ("ActionID", "l-1")])
    outcome = correlator.receive(item)
    if kind is STREAM:
        assert outcome == ListItem("l-1", item)
    else:
        assert outcome is None
    done = Event([("Event", "Done"), ("ActionID", "l-1"), ("EventList", "Complete")])
    finished = correlator.receive(done)
    assert isinstance(finished, ListDone)
    assert finished.response is start
    assert finished.items == (() if kind is STREAM else (item,))


def test_an_item_with_an_eventlist_value_that_ends_nothing_is_an_item() -> None:
    # Only `Complete` and `cancelled` end a list; any other EventList value on an event with
    # the list's ActionID is one more item, kept, not dropped.
    correlator = Correlator()
    correlator.start("l-1")
    correlator.receive(
        Response([("Response", "Success"), ("ActionID", "l-1"), ("EventList", "start")])
    )
    odd = Event([("Event", "Item"), ("ActionID", "l-1"), ("EventList", "start")])
    assert correlator.receive(odd) is None
    done = correlator.receive(
        Event([("Event", "Done"), ("ActionID", "l-1"), ("EventList", "complete")])
    )
    assert isinstance(done, ListDone)
    assert done.items == (odd,)


def test_an_originate_response_for_another_kind_of_action_is_not_its_answer() -> None:
    correlator = Correlator()
    correlator.start("o-1", ORIGINATE)
    correlator.start("c-1")
    stray = Event([("Event", "OriginateResponse"), ("ActionID", "c-1")])
    assert correlator.receive(stray) is None
    assert "c-1" in correlator


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"initial_delay": -1}, "initial_delay must be a number >= 0, not -1"),
        ({"max_delay": "3"}, "max_delay must be a number >= 0, not '3'"),
        ({"multiplier": 0}, "multiplier must be a number > 0, not 0"),
        ({"multiplier": True}, "multiplier must be a number > 0, not True"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1, not 1.5"),
        ({"max_attempts": 0}, "max_attempts must be None or an int >= 1, not 0"),
        ({"max_attempts": 2.0}, "max_attempts must be None or an int >= 1, not 2.0"),
    ],
)
def test_a_reconnect_policy_refuses_bad_values(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match.replace(".", r"\.")):
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_keepalive_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="timeout must be a number > 0, not 0"):
        Keepalive(timeout=0)
    with pytest.raises(ValueError, match="interval must be a number > 0, not -5"):
        Keepalive(interval=-5)


def test_a_policy_with_max_attempts_ends_and_its_delays_stay_bounded() -> None:
    policy = ReconnectPolicy(
        initial_delay=1, max_delay=4, multiplier=3, jitter=0, max_attempts=4, random=lambda: 0.9
    )
    assert list(policy.delays()) == [1, 3, 4, 4]


@pytest.mark.parametrize("value", ["Complete", "maybe", ""])
def test_a_response_with_an_eventlist_that_starts_nothing_is_a_plain_answer(value: str) -> None:
    # Only `start` begins a list (and `cancelled` ends one at once): any other EventList value
    # in a successful response answers the action plainly, so it is not left waiting.
    correlator = Correlator()
    correlator.start("c-1")
    correlator.start("o-1", ORIGINATE)
    plain = Response([("Response", "Success"), ("ActionID", "c-1"), ("EventList", value)])
    assert correlator.receive(plain) is plain
    assert "c-1" not in correlator
    # An Originate so answered still waits for its OriginateResponse.
    queued = Response([("Response", "Success"), ("ActionID", "o-1"), ("EventList", value)])
    assert correlator.receive(queued) is None
    event = Event([("Event", "OriginateResponse"), ("ActionID", "o-1"), ("Response", "Success")])
    done = correlator.receive(event)
    assert done is not None
    assert done.response is queued  # type: ignore[union-attr]


@pytest.mark.parametrize("response_first", [True, False])
def test_of_two_originate_responses_the_first_is_the_outcome(response_first: bool) -> None:
    # Asterisk sends one per async Originate; should a second come, the outcome must not
    # depend on whether the response came before the events or after them.
    correlator = Correlator()
    correlator.start("o-1", ORIGINATE)
    ack = Response([("Response", "Success"), ("ActionID", "o-1")])
    first = Event([("Event", "OriginateResponse"), ("ActionID", "o-1"), ("Reason", "4")])
    second = Event([("Event", "OriginateResponse"), ("ActionID", "o-1"), ("Reason", "5")])
    order = [ack, first, second] if response_first else [first, second, ack]
    outcomes = [correlator.receive(message) for message in order]
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == 1
    assert done[0].event is first  # type: ignore[union-attr]
    assert done[0].response is ack  # type: ignore[union-attr]
    assert "o-1" not in correlator
