"""The reducer as a state machine, on event sequences hypothesis makes.

* Any calls that keep Asterisk's guarantees, interleaved in any order: no violation, the state
  consistent after every event, every channel ended exactly once, nothing left at the end.
* A seeding amid such calls, with call events between the lists' snapshot and their
  completion: once applied, the state is exactly what the events say.
* Any events at all, in any order (what a buggy proxy or a lost stretch of the stream gives):
  ``feed`` never raises, the state stays consistent, and once every channel has hung up and
  every bridge is destroyed nothing is left -- bad input cannot make the tracker grow.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ami_client.tracking import Reducer

from .test_reducer import bridge, chan, ev, synced


def check_consistent(r: Reducer) -> None:
    """Every cross-reference of the state points at something live, both ways."""
    state = r.state()
    for bid, b in state.bridges.items():
        assert b.unique_id == bid
        for uid in b.members:
            assert uid in state.channels, (bid, uid)
            assert state.channels[uid].bridge_id == bid, (bid, uid)
        assert len(set(b.members)) == len(b.members), b.members
    for uid, ch in state.channels.items():
        assert ch.unique_id == uid
        if ch.bridge_id is not None:
            assert ch.bridge_id in state.bridges, (uid, ch.bridge_id)
            assert uid in state.bridges[ch.bridge_id].members, (uid, ch.bridge_id)
    in_calls = [ch.unique_id for call in state.calls.values() for ch in call.channels]
    assert sorted(in_calls) == sorted(state.channels), (in_calls, list(state.channels))
    for lid, call in state.calls.items():
        assert call.channels, lid
    for (caller, dest), dial in state.dials.items():
        assert dest in state.channels or caller in state.channels, (caller, dest, dial)


def assert_empty(r: Reducer) -> None:
    state = r.state()
    assert not state.channels
    assert not state.bridges
    assert not state.dials
    assert not state.calls


# -- calls that keep Asterisk's guarantees ---------------------------------------------------


def one_call(n: int, answered: bool, draw: Any) -> list[Any]:
    """The events of call ``n``: a dials b; answered and bridged, or not."""
    a, b, x = f"a{n}", f"b{n}", f"X{n}"
    src, dst = chan(a), chan(b, linked=a, prefix="Dest")
    events = [
        ev("Newchannel", **chan(a, state="4")),
        ev("Newchannel", **chan(b, state="0", linked=a)),
        ev("DialBegin", **src, **dst, DialString=b),
        ev("DialState", **src, **dst, DialStatus="RINGING"),
    ]
    hangups = [
        ev("Hangup", **chan(b, linked=a), Cause="16", Cause_txt="Normal Clearing"),
        ev("Hangup", **chan(a), Cause="16", Cause_txt="Normal Clearing"),
    ]
    if draw(st.booleans()):
        hangups.reverse()
    if not answered:
        status = draw(st.sampled_from(["BUSY", "NOANSWER", "CANCEL", "CONGESTION"]))
        return [*events, ev("DialEnd", **src, **dst, DialStatus=status), *hangups]
    leaves = [
        ev("BridgeLeave", **bridge(x), **chan(a)),
        ev("BridgeLeave", **bridge(x), **chan(b, linked=a)),
    ]
    if draw(st.booleans()):
        leaves.reverse()
    return [
        *events,
        ev("Newstate", **chan(b, linked=a)),
        ev("DialEnd", **src, **dst, DialStatus="ANSWER"),
        ev("BridgeCreate", **bridge(x)),
        ev("BridgeEnter", **bridge(x), **chan(a)),
        ev("BridgeEnter", **bridge(x), **chan(b, linked=a)),
        ev("VarSet", **chan(b, linked=a), Variable="BRIDGEPEER", Value=f"PJSIP/{a}"),
        *leaves,
        ev("BridgeDestroy", **bridge(x)),
        *hangups,
    ]


@given(answered=st.lists(st.booleans(), min_size=1, max_size=5), data=st.data())
@settings(max_examples=150, deadline=None)
def test_calls_in_any_interleaving_end_clean(answered: list[bool], data: st.DataObject) -> None:
    scripts = [one_call(n, ok, data.draw) for n, ok in enumerate(answered)]
    r = synced(history=100)
    hung_up: list[str] = []
    most_in_a_bridge = 0
    while any(scripts):
        pick = data.draw(st.sampled_from([s for s in scripts if s]))
        event = pick.pop(0)
        r.feed(event)
        if event.message["Event"] == "Hangup":
            hung_up.append(event.message["Uniqueid"])
        check_consistent(r)
        sizes = [len(b.members) for b in r.state().bridges.values()]
        most_in_a_bridge = max(most_in_a_bridge, *sizes, 0)
    assert most_in_a_bridge == (2 if any(answered) else 0)  # the bridges were really tracked
    assert not r.violations, dict(r.violations)
    assert_empty(r)
    assert [ch.unique_id for ch in r.ended] == hung_up
    assert all(ch.ended for ch in r.ended)


class Truth:
    """What the events so far say is live: channels (with their bridge) and bridges."""

    def __init__(self) -> None:
        self.channels: dict[str, str | None] = {}  # uid -> bridge id
        self.linked: dict[str, str] = {}
        self.bridges: set[str] = set()

    def apply(self, event: Any) -> None:
        msg = event.message
        name = msg["Event"]
        if name == "Newchannel":
            self.channels[msg["Uniqueid"]] = None
            self.linked[msg["Uniqueid"]] = msg["Linkedid"]
        elif name == "Hangup":
            del self.channels[msg["Uniqueid"]]
        elif name == "BridgeCreate":
            self.bridges.add(msg["BridgeUniqueid"])
        elif name == "BridgeDestroy":
            self.bridges.discard(msg["BridgeUniqueid"])
        elif name == "BridgeEnter":
            self.channels[msg["Uniqueid"]] = msg["BridgeUniqueid"]
        elif name == "BridgeLeave":
            self.channels[msg["Uniqueid"]] = None

    def lists(self) -> list[Any]:
        """BridgeList and CoreShowChannels as Asterisk would answer them now (items first)."""
        items = [ev("BridgeListItem", ActionID="b2", **bridge(bid)) for bid in sorted(self.bridges)]
        items.append(ev("BridgeListComplete", ActionID="b2", EventList="Complete"))
        for uid, bid in self.channels.items():
            fields = chan(uid, linked=self.linked[uid])
            items.append(
                ev(
                    "CoreShowChannel",
                    ActionID="c2",
                    **fields,
                    BridgeId=bid or "",
                    Application="Dial",
                )
            )
        return items


@given(answered=st.lists(st.booleans(), max_size=3).map(lambda xs: [True, *xs]), data=st.data())
@settings(max_examples=200, deadline=None)
def test_a_seeding_amid_calls_agrees_with_the_events(
    answered: list[bool], data: st.DataObject
) -> None:
    # What the tracker does after a reconnect, here with no event lost: the lists describe the
    # moment they were taken, and events about what changed after it can come before their
    # completion. Once applied, the state must be what the events say, with no violation.
    scripts = [one_call(n, ok, data.draw) for n, ok in enumerate(answered)]
    total = sum(map(len, scripts))
    # Mostly mid-way, where calls are bridged: that is where membership races live.
    sync_at = data.draw(st.integers(0, total) | st.integers(total // 3, 2 * total // 3))
    lag = data.draw(st.integers(0, 8), label="events between the snapshot and the completion")
    r = synced(history=100)
    truth = Truth()
    done = 0
    complete_at: int | None = None
    while any(scripts) or complete_at is not None:
        if done == sync_at and complete_at is None and r.synced and not r.syncing:
            r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
            for item in truth.lists():
                r.feed(item)
            complete_at = done + lag
        if complete_at is not None and (done >= complete_at or not any(scripts)):
            r.feed(ev("CoreShowChannelsComplete", ActionID="c2", EventList="Complete"))
            complete_at = None
            sync_at = -1  # once
            state = r.state()
            assert {u: c.bridge_id for u, c in state.channels.items()} == truth.channels
            assert set(state.bridges) == truth.bridges
            continue
        pick = data.draw(st.sampled_from([s for s in scripts if s]))
        event = pick.pop(0)
        r.feed(event)
        truth.apply(event)
        done += 1
        check_consistent(r)
    assert not r.violations, dict(r.violations)
    assert_empty(r)


# -- anything at all ------------------------------------------------------------------------

UIDS = st.sampled_from(["a", "b", "c", "d"])
BIDS = st.sampled_from(["X", "Y"])


def _any_event(draw: Any) -> Any:
    kind = draw(
        st.sampled_from(
            [
                "Newchannel", "Newstate", "Hangup", "HangupRequest", "VarSet", "Rename",
                "DialBegin", "DialBeginNoCaller", "DialState", "DialEnd", "BridgeCreate",
                "BridgeEnter", "BridgeLeave", "BridgeDestroy", "BridgeMerge", "LocalBridge",
                "Hold", "Unhold", "DTMFBegin", "DTMFEnd", "BlindTransfer", "AttendedTransfer",
                "LocalOptimizationBegin", "LocalOptimizationEnd", "Newexten", "NewCallerid",
                # A seeding (what the tracker does after every (re)connect), in pieces.
                "BeginSync", "CoreShowChannel", "BridgeListItem", "CoreShowChannelsComplete",
                "BridgeListComplete",
            ]
        )
    )  # fmt: skip
    uid, other, bid = draw(UIDS), draw(UIDS), draw(BIDS)
    linked = draw(st.sampled_from([uid, other]))
    me = chan(uid, linked=linked)
    if kind == "BeginSync":
        return BEGIN_SYNC
    if kind == "CoreShowChannel":
        in_bridge = draw(st.sampled_from(["", bid]))
        return ev(
            kind, **me, ActionID="c", Application="Dial", ApplicationData="", BridgeId=in_bridge
        )
    if kind == "BridgeListItem":
        return ev(kind, **bridge(bid), ActionID="b")
    if kind == "CoreShowChannelsComplete":
        return ev(kind, ActionID="c", EventList="Complete", ListItems="0")
    if kind == "BridgeListComplete":
        return ev(kind, ActionID="b", EventList="Complete", ListItems="0")
    if kind in ("Newchannel", "Newstate", "HangupRequest", "Hold", "Unhold", "NewCallerid"):
        return ev(kind, **me)
    if kind == "Newexten":
        return ev(kind, **me, Extension="s", Application="Dial", AppData=f"PJSIP/{other}")
    if kind == "Hangup":
        return ev(kind, **me, Cause="16", Cause_txt="Normal Clearing")
    if kind == "VarSet":
        return ev(kind, **me, Variable="V", Value=other)
    if kind == "Rename":
        return ev(kind, Channel=f"PJSIP/{uid}", Newname=f"PJSIP/{other}", Uniqueid=uid)
    if kind in ("DTMFBegin", "DTMFEnd"):
        return ev(kind, **me, Digit="1", Direction="Received", DurationMs="80")
    dest = chan(other, linked=linked, prefix="Dest")
    if kind == "DialBegin":
        return ev(kind, **me, **dest, DialString=other)
    if kind == "DialBeginNoCaller":
        return ev("DialBegin", **dest, DialString=other)
    if kind == "DialState":
        return ev(kind, **me, **dest, DialStatus="RINGING")
    if kind == "DialEnd":
        return ev(kind, **me, **dest, DialStatus=draw(st.sampled_from(["ANSWER", "BUSY"])))
    if kind == "BridgeCreate":
        return ev(kind, **bridge(bid))
    if kind in ("BridgeEnter", "BridgeLeave"):
        return ev(kind, **bridge(bid), **me)
    if kind == "BridgeDestroy":
        return ev(kind, **bridge(bid))
    if kind == "BridgeMerge":
        return ev(kind, **bridge(bid, prefix="To"), **bridge("Y" if bid == "X" else "X", "From"))
    if kind in ("LocalOptimizationBegin", "LocalOptimizationEnd"):
        return ev(
            kind,
            **chan(uid, linked=linked, prefix="LocalOne"),
            **chan(other, linked=linked, prefix="LocalTwo"),
            Id="1",
        )
    if kind == "AttendedTransfer":
        return ev(
            kind,
            Result="Success",
            **chan(uid, linked=linked, prefix="OrigTransferer"),
            **bridge(bid, prefix="Orig"),
            **chan(other, linked=linked, prefix="SecondTransferer"),
            **bridge("Y" if bid == "X" else "X", "Second"),
            **chan(draw(UIDS), prefix="Transferee"),
            **chan(draw(UIDS), prefix="TransferTarget"),
            DestType="Bridge",
            DestBridgeUniqueid=bid,
            IsExternal="No",
        )
    if kind == "LocalBridge":
        return ev(
            kind,
            **chan(uid, linked=linked, prefix="LocalOne"),
            **chan(other, linked=linked, prefix="LocalTwo"),
            Context="ami-test",
            Exten="s",
            LocalOptimization="Yes",
        )
    return ev(  # BlindTransfer
        kind,
        Result="Success",
        **chan(uid, linked=linked, prefix="Transferer"),
        **bridge(bid, prefix="Bridge"),
        IsExternal="No",
        Context="ami-test",
        Extension="200",
    )


BEGIN_SYNC = object()  # not an event: begin_sync() at that point of the stream
any_event = st.composite(lambda draw: _any_event(draw))()


@given(events=st.lists(any_event, max_size=40), seeded=st.booleans())
@settings(max_examples=400, deadline=None)
def test_any_events_never_raise_and_leave_nothing_behind(events: list[Any], seeded: bool) -> None:
    r = synced() if seeded else Reducer()
    for event in events:
        if event is BEGIN_SYNC:
            r.begin_sync(channels_action_id="c", bridges_action_id="b")
        else:
            r.feed(event)
        check_consistent(r)
    # Whatever happened, once every channel hangs up and every bridge goes, nothing is left.
    for bid in ("X", "Y"):
        r.feed(ev("BridgeDestroy", **bridge(bid)))
        check_consistent(r)
    for uid in ("a", "b", "c", "d"):
        r.feed(ev("Hangup", **chan(uid), Cause="16", Cause_txt="Normal Clearing"))
        check_consistent(r)
    assert_empty(r)
    assert not r._calls  # (the index behind state.calls)
