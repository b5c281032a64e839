"""The sans-IO correlator: recorded Asterisk 22 transcripts, and every interleaving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ami_client import Event, LocalProtocolError, Message, Response
from ami_client._private.correlator import (
    ActionKind,
    Correlator,
    ListDone,
    ListFailed,
    ListItem,
    ListOverflow,
    ListStarted,
    OriginateDone,
    Outcome,
    answers_plainly,
)
from ami_client.protocol import Parser

TRANSCRIPTS = Path(__file__).parent.parent / "data" / "transcripts"


def transcript(name: str) -> tuple[list[Message], dict[str, str]]:
    """The messages of a recorded session, and {ActionID: action name} of what was sent."""
    parser = Parser()
    parser.receive_data((TRANSCRIPTS / f"{name}.ami").read_bytes())
    parser.receive_data(b"")
    messages = [m for m in parser.next_events() if isinstance(m, Message)]
    sent = json.loads((TRANSCRIPTS / f"{name}.json").read_text())["sent"]
    actions = {}
    for item in sent:
        fields = dict(line.split(": ", 1) for line in item["data"].split("\r\n") if ": " in line)
        actions[fields["ActionID"]] = fields["Action"]
    return messages, actions


def feed(correlator: Correlator, messages: list[Message]) -> list[Outcome]:
    return [o for o in map(correlator.receive, messages) if o is not None]


def test_core_show_channels_transcript_collects_items_and_completion() -> None:
    messages, actions = transcript("core_show_channels")
    correlator = Correlator()
    for action_id in actions:
        correlator.start(action_id)
    outcomes = feed(correlator, messages)
    lists = [o for o in outcomes if isinstance(o, ListDone)]
    assert len(lists) == 1
    done = lists[0]
    assert done.action_id == "channels-1"
    assert [e.name for e in done.items] == ["CoreShowChannel"] * 4
    assert done.complete.name == "CoreShowChannelsComplete"
    assert done.complete["ListItems"] == str(len(done.items))
    # A plain answer's outcome is the response itself.
    answered = {o.action_id: o.status for o in outcomes if isinstance(o, Response)}
    assert answered == {"login-1": "Success", "logoff-1": "Goodbye"}
    assert len(correlator) == 0


def test_originate_transcript_waits_for_originate_response() -> None:
    messages, actions = transcript("originate")
    correlator = Correlator()
    for action_id, name in actions.items():
        kind = ActionKind.ORIGINATE if name == "Originate" else ActionKind.COLLECT
        correlator.start(action_id, kind)
    outcomes = feed(correlator, messages)
    done = [o for o in outcomes if isinstance(o, OriginateDone)]
    assert len(done) == 1
    assert done[0].response["Message"] == "Originate successfully queued"
    assert done[0].event.name == "OriginateResponse"
    assert done[0].event["Response"] == "Success"
    # Nothing else answered the Originate: its own response alone did not end it.
    assert [o.action_id for o in outcomes if isinstance(o, Response)] == ["login-1", "logoff-1"]


def test_restricted_transcript_errors_and_empty_list() -> None:
    messages, actions = transcript("restricted_permission_denied")
    correlator = Correlator()
    for action_id in actions:
        correlator.start(action_id)
    outcomes = feed(correlator, messages)
    errors = [o["Message"] for o in outcomes if isinstance(o, Response) and o.is_error]
    assert errors == ["Permission denied", "Permission denied"]
    (empty,) = [o for o in outcomes if isinstance(o, ListDone)]
    assert empty.items == ()
    assert empty.complete["ListItems"] == "0"


def test_command_transcript_plain_responses_with_output() -> None:
    messages, actions = transcript("command")
    correlator = Correlator()
    for action_id in actions:
        correlator.start(action_id)
    outcomes = [o for o in feed(correlator, messages) if isinstance(o, Response)]
    by_id = {o.action_id: o for o in outcomes}
    outputs = [r for r in by_id.values() if r.get("Output") is not None]
    assert outputs, by_id
    assert any(r.is_error for r in outputs)  # 'core show nonsense'
    assert any(len(r.get_all("Output")) > 1 for r in outputs)


def test_duplicate_action_id_is_refused_and_forget_drops_late_answers() -> None:
    correlator = Correlator()
    correlator.start("a")
    with pytest.raises(LocalProtocolError):
        correlator.start("a")
    assert issubclass(LocalProtocolError, ValueError)
    correlator.forget("a")
    late = Response([("Response", "Success"), ("ActionID", "a")])
    assert correlator.receive(late) is None
    correlator.start("a")  # free again
    assert correlator.receive(late) is late


def test_stream_kind_hands_out_items_and_cancelled_list_fails() -> None:
    correlator = Correlator()
    correlator.start("s", ActionKind.STREAM)
    start = Response([("Response", "Success"), ("ActionID", "s"), ("EventList", "start")])
    item = Event([("Event", "Item"), ("ActionID", "s")])
    cancelled = Event([("Event", "ListComplete"), ("ActionID", "s"), ("EventList", "cancelled")])
    assert correlator.receive(start) == ListStarted("s", start)
    assert correlator.receive(item) == ListItem("s", item)
    assert correlator.receive(cancelled) == ListFailed("s", start, (), cancelled)
    assert "s" not in correlator


def test_list_items_are_bounded() -> None:
    correlator = Correlator(max_items=3)
    correlator.start("l")
    start = Response([("Response", "Success"), ("ActionID", "l"), ("EventList", "start")])
    assert correlator.receive(start) is None
    item = Event([("Event", "Item"), ("ActionID", "l")])
    assert [correlator.receive(item) for _ in range(3)] == [None] * 3
    assert correlator.receive(item) == ListOverflow("l", start, 3)
    assert len(correlator) == 0


@given(
    casing=st.lists(st.booleans(), min_size=9, max_size=9).map(
        lambda upper: "".join(
            c.upper() if u else c for c, u in zip("eventlist", upper, strict=True)
        )
    ),
    extra=st.sampled_from(["Timestamp", "Message", "EVENTLIST2", "Event-List", "Eventlis"]),
)
def test_eventlist_in_any_casing_starts_a_list_and_nothing_else_does(
    casing: str, extra: str
) -> None:
    correlator = Correlator()
    correlator.start("l")
    start = Response([("Response", "Success"), ("ActionID", "l"), (extra, "x"), (casing, "start")])
    assert correlator.receive(start) is None  # a list: wait for its items
    done = Event([("Event", "ItemsComplete"), ("ActionID", "l"), (casing, "Complete")])
    assert correlator.receive(done) == ListDone("l", start, (), done)
    correlator.start("p")
    plain = Response([("Response", "Success"), ("ActionID", "p"), (extra, "start")])
    assert correlator.receive(plain) is plain


_KEYS = st.sampled_from(
    [
        "Response",
        "response",
        "RESPONSE",
        "Message",
        "EventList",
        "eventlist",
        "EVENTLIST",
        "EventLisT",
        "Event-List",
        "ActionID",
        "Ping",
        "",
    ]
)
_VALUES = st.sampled_from(
    [
        "Success",
        "success",
        "Error",
        "Goodbye",
        "Follows",
        "start",
        "Start",
        "cancelled",
        "Complete",
        "",
        "x",
    ]
)


@given(
    fields=st.lists(st.tuples(_KEYS, _VALUES), max_size=5),
    kind=st.sampled_from(list(ActionKind)),
)
def test_a_plain_answer_by_answers_plainly_is_the_correlators_too(
    fields: list[tuple[str, str]], kind: ActionKind
) -> None:
    # The client keeps no correlator entry for an action sent by send() (COLLECT) until its
    # answer comes, and then makes one only if answers_plainly() is false: so wherever it is
    # true, the correlator must say that the response is the whole outcome.
    # The ActionID first: a field of the drawn ones may be another `ActionID`, and a message's
    # ActionID is its first (as the client's dispatch reads it too).
    response = Response([("ActionID", "a"), *fields])
    correlator = Correlator()
    correlator.start("a", kind)
    outcome = correlator.receive(response)
    if answers_plainly(response):
        if kind is ActionKind.ORIGINATE:  # (why only COLLECT actions are kept bare)
            assert outcome is None
            assert "a" in correlator  # waits for its OriginateResponse
        else:
            assert outcome is response
            assert "a" not in correlator


def test_answers_plainly_takes_exactly_success_without_an_eventlist() -> None:
    assert answers_plainly(Response([("Response", "Success"), ("Ping", "Pong")]))
    assert not answers_plainly(Response([("Response", "Error"), ("Message", "x")]))
    assert not answers_plainly(Response([("Response", "success")]))  # another casing: the
    # correlator decides (it reads it case-insensitively)
    assert not answers_plainly(Response([("Response", "Success"), ("EventList", "start")]))
    assert not answers_plainly(Response([("Response", "Success"), ("eventLIST", "x")]))


# -- every interleaving -------------------------------------------------------------------------

KINDS = ["plain", "error", "list", "cancelled", "originate", "originate_early", "userevent"]


def script(action_id: str, kind: str, n_items: int) -> list[Message]:
    """The messages Asterisk sends for one action, in their own order."""
    ok = [("Response", "Success"), ("ActionID", action_id)]
    if kind == "plain":
        return [Response([*ok, ("Ping", "Pong")])]
    if kind == "error":
        return [Response([("Response", "Error"), ("ActionID", action_id), ("Message", "No")])]
    if kind == "userevent":  # UserEvent copies the ActionID into its event (filtered_events.ami)
        return [Event([("Event", "UserEvent"), ("ActionID", action_id)]), Response(ok)]
    if kind in ("list", "cancelled"):
        items = [
            Event([("Event", "Item"), ("ActionID", action_id), ("N", str(i))])
            for i in range(n_items)
        ]
        end = "Complete" if kind == "list" else "cancelled"
        tail = Event([("Event", "ItemsComplete"), ("ActionID", action_id), ("EventList", end)])
        return [Response([*ok, ("EventList", "start")]), *items, tail]
    event = Event(
        [("Event", "OriginateResponse"), ("ActionID", action_id), ("Response", "Success")]
    )
    if kind == "originate_early":  # the event overtakes the ack (manager.c starts the thread first)
        return [event, Response(ok)]
    return [Response(ok), event]


def expected(action_id: str, kind: str, messages: list[Message]) -> Outcome:
    if kind in ("plain", "error"):
        return messages[0]  # type: ignore[return-value]
    if kind == "userevent":
        return messages[1]  # type: ignore[return-value]
    if kind == "list":
        return ListDone(action_id, messages[0], tuple(messages[1:-1]), messages[-1])  # type: ignore[arg-type]
    if kind == "cancelled":
        return ListFailed(action_id, messages[0], tuple(messages[1:-1]), messages[-1])  # type: ignore[arg-type]
    response = next(m for m in messages if isinstance(m, Response))
    event = next(m for m in messages if isinstance(m, Event))
    return OriginateDone(action_id, response, event)


@settings(max_examples=300, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(0, 4), st.booleans()), min_size=1, max_size=8
    ),
    noise=st.integers(0, 6),
    data=st.data(),
)
def test_any_interleaving_gives_each_action_its_own_answer(
    plan: list[tuple[str, int, bool]], noise: int, data: st.DataObject
) -> None:
    correlator = Correlator()
    queues: list[list[Message]] = []
    wanted: dict[str, Outcome] = {}
    forgotten: set[str] = set()
    for i, (kind, n_items, forget) in enumerate(plan):
        action_id = f"id-{i}"
        messages = script(action_id, kind, n_items)
        correlator.start(
            action_id, ActionKind.ORIGINATE if kind.startswith("originate") else ActionKind.COLLECT
        )
        queues.append(messages)
        if forget:
            correlator.forget(action_id)  # a cancelled send: its answers must change nothing
            forgotten.add(action_id)
        else:
            wanted[action_id] = expected(action_id, kind, messages)
    # Unrelated events, some with ActionIDs nobody sent.
    queues.append([Event([("Event", "Newchannel"), ("N", str(i))]) for i in range(noise)])
    queues.append([Event([("Event", "Item"), ("ActionID", "nobody")])])
    # Merge the queues in an order hypothesis picks, keeping each queue's own order.
    got: dict[str, Outcome] = {}
    live = [q for q in queues if q]
    while live:
        queue = live[data.draw(st.integers(0, len(live) - 1))]
        outcome = correlator.receive(queue.pop(0))
        if outcome is not None:
            answered = outcome.action_id
            assert answered is not None
            assert answered not in got
            got[answered] = outcome
        live = [q for q in live if q]
    assert got == wanted
    for action_id, outcome in wanted.items():  # a plain answer: that very response
        assert not isinstance(outcome, Response) or got[action_id] is outcome
    assert not forgotten & set(got)
    assert len(correlator) == 0
