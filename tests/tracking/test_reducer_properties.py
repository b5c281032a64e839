"""The reducer as a state machine, on event sequences hypothesis makes.

* Any calls that keep Asterisk's guarantees, interleaved in any order: no violation, the state
  consistent after every event, every channel ended exactly once, nothing left at the end.
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
