"""The reducer on hand-made event sequences: guarantees, violations, seeding, memory."""

from __future__ import annotations

from typing import Any

import pytest

from ami_client.events import ChannelState, from_message
from ami_client.protocol import Event
from ami_client.tracking import (
    BridgeChange,
    CallChange,
    ChannelChange,
    DialChange,
    Reducer,
    TransferChange,
    Violation,
)


def ev(name: str, **fields: str) -> Any:
    return from_message(
        Event([("Event", name), *((k.replace("_", "-"), v) for k, v in fields.items())])
    )


def chan(
    uid: str, name: str = "", state: str = "6", linked: str | None = None, prefix: str = ""
) -> dict[str, str]:
    return {
        f"{prefix}Channel": name or f"PJSIP/{uid}",
        f"{prefix}ChannelState": state,
        f"{prefix}ChannelStateDesc": "Up",
        f"{prefix}CallerIDNum": "100",
        f"{prefix}CallerIDName": "<unknown>",
        f"{prefix}Context": "ami-test",
        f"{prefix}Exten": "s",
        f"{prefix}Priority": "1",
        f"{prefix}Uniqueid": uid,
        f"{prefix}Linkedid": linked or uid,
    }


def bridge(bid: str, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}BridgeUniqueid": bid,
        f"{prefix}BridgeType": "basic",
        f"{prefix}BridgeTechnology": "simple_bridge",
        f"{prefix}BridgeCreator": "<unknown>",
        f"{prefix}BridgeName": "<unknown>",
        f"{prefix}BridgeNumChannels": "0",
    }


def synced(**kw: Any) -> Reducer:
    r = Reducer(**kw)
    r.begin_sync(channels_action_id="c", bridges_action_id="b")
    r.feed(ev("BridgeListComplete", ActionID="b"))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c"))
    assert r.synced
    assert not r.syncing
    return r


def call(r: Reducer) -> None:
    """Two channels of one call, dialled and bridged."""
    r.feed(ev("Newchannel", **chan("a", state="4")))
    r.feed(ev("Newchannel", **chan("b", state="0", linked="a")))
    r.feed(ev("DialBegin", **chan("a"), **chan("b", linked="a", prefix="Dest"), DialString="b"))
    r.feed(ev("Newstate", **chan("b", linked="a")))
    r.feed(ev("DialEnd", **chan("a"), **chan("b", linked="a", prefix="Dest"), DialStatus="ANSWER"))
    r.feed(ev("BridgeCreate", **bridge("X")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("a")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("b", linked="a")))


def hangup(r: Reducer) -> None:
    r.feed(ev("BridgeLeave", **bridge("X"), **chan("a")))
    r.feed(ev("BridgeLeave", **bridge("X"), **chan("b", linked="a")))
    r.feed(ev("BridgeDestroy", **bridge("X")))
    r.feed(ev("Hangup", **chan("b", linked="a"), Cause="16", Cause_txt="Normal Clearing"))
    r.feed(ev("Hangup", **chan("a"), Cause="16", Cause_txt="Normal Clearing"))


def test_a_call_from_start_to_end() -> None:
    r = synced(history=5)
    call(r)
    state = r.state()
    assert set(state.channels) == {"a", "b"}
    assert state.channels["a"].state is ChannelState.UP
    assert state.channels["a"].caller_id_name is None  # "<unknown>"
    assert state.channels["a"].dial_status == "ANSWER"
    assert state.bridges["X"].members == ("a", "b")
    assert state.channels["b"].bridge_id == "X"
    assert list(state.calls) == ["a"]
    assert [c.unique_id for c in state.calls["a"].channels] == ["a", "b"]
    assert [b.unique_id for b in state.calls["a"].bridges] == ["X"]
    hangup(r)
    assert not r.channels
    assert not r.bridges
    assert not r.dials
    assert not r.state().calls
    assert [c.unique_id for c in r.ended] == ["b", "a"]
    assert r.ended[-1].hangup_cause == 16
    assert r.ended[-1].ended
    assert not r.violations
    # Earlier states never move.
    assert state.bridges["X"].members == ("a", "b")


def test_changes_describe_what_happened() -> None:
    r = synced()
    changes = r.feed(ev("Newchannel", **chan("a")))
    assert changes == [
        CallChange(linked_id="a", started=True),
        ChannelChange(old=None, new=r.channels["a"], reason="event"),
    ]
    assert r.feed(ev("Newstate", **chan("a"))) == []  # nothing changed
    changes = r.feed(ev("Hangup", **chan("a"), Cause="16"))
    removed = [c for c in changes if isinstance(c, ChannelChange)]
    assert removed[0].new is None
    assert removed[0].final is not None
    assert removed[0].final.hangup_cause == 16
    assert CallChange(linked_id="a", started=False) in changes


def test_parallel_dials_pair_up() -> None:
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    for d in ("b", "c"):
        r.feed(ev("Newchannel", **chan(d, linked="a")))
        r.feed(ev("DialBegin", **chan("a"), **chan(d, linked="a", prefix="Dest"), DialString=d))
    assert set(r.dials) == {("a", "b"), ("a", "c")}
    r.feed(
        ev("DialState", **chan("a"), **chan("b", linked="a", prefix="Dest"), DialStatus="RINGING")
    )
    assert r.dials[("a", "b")].status == "RINGING"
    changes = r.feed(
        ev("DialEnd", **chan("a"), **chan("c", linked="a", prefix="Dest"), DialStatus="ANSWER")
    )
    ended = [c for c in changes if isinstance(c, DialChange)]
    assert ended[0].new.ended
    assert ended[0].new.status == "ANSWER"
    changes = r.feed(
        ev("DialEnd", **chan("a"), **chan("b", linked="a", prefix="Dest"), DialStatus="CANCEL")
    )
    assert not r.dials
    assert not r.violations


def test_violations_go_to_the_hook_and_counters_never_raise() -> None:
    seen: list[Violation] = []

    def hook(v: Violation) -> None:
        seen.append(v)
        raise RuntimeError("a broken hook must not break tracking")

    r = synced(on_violation=hook)
    call(r)
    r.feed(ev("Hangup", **chan("a"), Cause="16"))  # still in bridge X
    r.feed(ev("Newstate", **chan("zz")))  # never announced
    r.feed(ev("DialEnd", **chan("b", linked="a"), **chan("q", prefix="Dest"), DialStatus="ANSWER"))
    r.feed(ev("BridgeDestroy", **bridge("nope")))
    assert r.violations["hangup-in-bridge"] == 1
    assert r.violations["unknown-channel"] >= 1
    assert r.violations["unmatched-dial-end"] == 1
    assert r.violations["unknown-bridge"] == 1
    assert {v.kind for v in seen} == set(r.violations)
    assert "a" not in r.channels
    assert r.bridges["X"].members == ("b",)
    assert "zz" in r.channels  # repaired from the event's snapshot


def test_seeding_drops_stale_keeps_born_and_skips_died() -> None:
    r = synced()
    call(r)
    r.feed(ev("Newchannel", **chan("gone")))
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("Newchannel", **chan("born")))  # after the list's snapshot
    r.feed(ev("BridgeListItem", ActionID="b2", **bridge("X")))
    r.feed(ev("BridgeListItem", ActionID="b2", **bridge("Y")))
    r.feed(ev("BridgeListComplete", ActionID="b2"))
    r.feed(ev("Hangup", **chan("died"), Cause="16"))  # listed, but hung up since
    for uid, bid in (("a", "X"), ("b", "Y"), ("died", ""), ("new", "")):
        r.feed(
            ev(
                "CoreShowChannel",
                ActionID="c2",
                **chan(uid, linked="a" if uid == "b" else uid),
                BridgeId=bid,
                Application="Wait",
                ApplicationData="60",
            )
        )
    r.feed(ev("CoreShowChannel", ActionID="other", **chan("not-ours")))  # someone else's list
    r.feed(ev("CoreShowChannelsComplete", ActionID="c2"))
    assert set(r.channels) == {"a", "b", "born", "new"}
    assert r.channels["b"].bridge_id == "Y"
    assert r.bridges["Y"].members == ("b",)
    assert r.bridges["X"].members == ("a",)
    assert r.channels["new"].application == "Wait"
    # Late events of what the seeding settled are not violations.
    r.feed(ev("Hangup", **chan("gone"), Cause="16"))
    r.feed(ev("Newchannel", **chan("new")))
    assert not r.violations


def test_late_dial_events_of_a_channel_the_seeding_dropped_leave_nothing() -> None:
    # Found by test_reducer_properties.py. A seeding drops "gone" (the list lacks it: it is
    # hanging up); its DialBegin, written before its Hangup, arrives after the list. The dial
    # must not be recorded: "gone"'s Hangup then finds nothing to remove, and the dial would
    # outlive it for as long as any other channel lives.
    r = synced()
    r.feed(ev("Newchannel", **chan("live")))
    r.feed(ev("Newchannel", **chan("gone")))
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("BridgeListComplete", ActionID="b2"))
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("live"), Application="Wait"))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c2"))
    assert set(r.channels) == {"live"}
    dest = chan("gone", prefix="Dest")
    r.feed(ev("DialBegin", **dest, DialString="gone"))  # no caller
    r.feed(ev("DialState", **dest, DialStatus="RINGING"))
    r.feed(ev("DialEnd", **chan("live"), **dest, DialStatus="CANCEL"))
    r.feed(ev("Hangup", **chan("gone"), Cause="16"))
    assert not r.dials
    assert not r.state().dials
    assert set(r.channels) == {"live"}
    assert not r.violations  # late events of what the seeding settled are expected


def test_a_listed_bridge_destroyed_since_the_list_is_not_joined() -> None:
    # Found by test_reducer_properties.py. CoreShowChannels lists "a" in bridge X; X is
    # destroyed before the list completes. Joining X then left "a" pointing at a bridge that
    # no longer exists (and its Hangup reported a spurious hangup-in-bridge).
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("BridgeListComplete", ActionID="b2"))
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("a"), BridgeId="X", Application="Dial"))
    r.feed(ev("BridgeDestroy", **bridge("X")))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c2"))
    assert r.channels["a"].bridge_id is None
    assert "X" not in r.bridges
    r.feed(ev("Hangup", **chan("a"), Cause="16"))
    assert not r.channels
    assert not r.violations


def test_bridge_moves_since_the_seeding_began_win_over_the_list() -> None:
    # The list says "a" is in X and "b" in no bridge, but after its snapshot "a" left X and
    # "b" entered it. Applying the list's membership at its completion would undo both moves
    # (and X's BridgeDestroy would then report a spurious destroy-with-members).
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    r.feed(ev("Newchannel", **chan("b")))
    r.feed(ev("BridgeCreate", **bridge("X")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("a")))
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("BridgeListItem", ActionID="b2", **bridge("X")))
    r.feed(ev("BridgeListComplete", ActionID="b2"))
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("a"), BridgeId="X", Application="Dial"))
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("b"), BridgeId="", Application="Dial"))
    r.feed(ev("BridgeLeave", **bridge("X"), **chan("a")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("b")))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c2"))
    assert r.channels["a"].bridge_id is None
    assert r.channels["b"].bridge_id == "X"
    assert r.bridges["X"].members == ("b",)
    r.feed(ev("BridgeLeave", **bridge("X"), **chan("b")))
    r.feed(ev("BridgeDestroy", **bridge("X")))
    assert not r.violations
    # The next seeding applies the list's membership again.
    r.begin_sync(channels_action_id="c3", bridges_action_id="b3")
    r.feed(ev("BridgeListItem", ActionID="b3", **bridge("Y")))
    r.feed(ev("BridgeListComplete", ActionID="b3"))
    r.feed(ev("CoreShowChannel", ActionID="c3", **chan("a"), BridgeId="Y", Application="Dial"))
    r.feed(ev("CoreShowChannel", ActionID="c3", **chan("b"), BridgeId="", Application="Dial"))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c3"))
    state = r.state()
    assert state.channels["a"].bridge_id == "Y"
    assert state.bridges["Y"].members == ("a",)


def reseed(r: Reducer, n: int, channels: list[str], bridges: list[str]) -> None:
    """A seeding after a hole in the events (a reconnect): the lists as they stand now."""
    r.begin_sync(channels_action_id=f"c{n}", bridges_action_id=f"b{n}")
    for bid in bridges:
        r.feed(ev("BridgeListItem", ActionID=f"b{n}", **bridge(bid)))
    r.feed(ev("BridgeListComplete", ActionID=f"b{n}"))
    for uid in channels:
        r.feed(ev("CoreShowChannel", ActionID=f"c{n}", **chan(uid), Application="Dial"))
    r.feed(ev("CoreShowChannelsComplete", ActionID=f"c{n}"))


def test_what_a_hole_in_the_events_breaks_is_not_a_violation() -> None:
    # Found by test_tracker_properties.py: after a reconnect, the tracker reported the events
    # lost with the link as broken guarantees of the server.
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    r.feed(ev("Newchannel", **chan("b")))
    r.feed(ev("DialBegin", **chan("a"), **chan("b", prefix="Dest"), DialString="b"))
    r.feed(ev("Newchannel", **chan("c")))
    r.feed(ev("Newchannel", **chan("d")))
    # The link drops: DialEnd a -> b, and the DialBegin c -> d, are lost. A seeding follows.
    reseed(r, 2, ["a", "b", "c", "d"], [])
    r.feed(ev("DialEnd", **chan("c"), **chan("d", prefix="Dest"), DialStatus="ANSWER"))
    r.feed(ev("Hangup", **chan("b"), Cause="16"))  # during the dial whose DialEnd was lost
    # A bridge, then another hole: a's BridgeLeave is lost; while the lists are being taken,
    # a hangs up and X goes.
    r.feed(ev("BridgeCreate", **bridge("X")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("a")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("c")))
    r.begin_sync(channels_action_id="c3", bridges_action_id="b3")
    r.feed(ev("BridgeLeave", **bridge("X"), **chan("c")))
    r.feed(ev("Hangup", **chan("a"), Cause="16"))
    r.feed(ev("BridgeDestroy", **bridge("X")))
    r.feed(ev("BridgeListComplete", ActionID="b3"))
    r.feed(ev("CoreShowChannel", ActionID="c3", **chan("c"), Application="Dial"))
    r.feed(ev("CoreShowChannel", ActionID="c3", **chan("d"), Application="Dial"))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c3"))
    assert not r.violations
    assert set(r.channels) == {"c", "d"}
    assert not r.bridges
    assert not r.dials
    # With no hole, the same breaks are the server's, and reported.
    r.feed(ev("Newchannel", **chan("e")))
    r.feed(ev("Newchannel", **chan("f")))
    r.feed(ev("DialBegin", **chan("e"), **chan("f", prefix="Dest"), DialString="f"))
    r.feed(ev("Hangup", **chan("f"), Cause="16"))
    assert dict(r.violations) == {"dial-without-end": 1}
    r.feed(ev("Newchannel", **chan("g")))
    r.feed(ev("DialEnd", **chan("e"), **chan("g", prefix="Dest"), DialStatus="ANSWER"))
    assert dict(r.violations) == {"dial-without-end": 1, "unmatched-dial-end": 1}


def test_memory_returns_to_zero() -> None:
    r = synced()
    for _i in range(50):
        call(r)
        hangup(r)
    assert not r.channels
    assert not r.bridges
    assert not r.dials
    assert not r._calls
    assert len(r.ended) == 0
    assert not r._born
    assert not r._died
    assert not r._seeded


def test_bridge_merge_then_members_move_with_leave_and_enter() -> None:
    # Asterisk 22's order (the attended_transfer scenario): BridgeMerge first, then each
    # member of From leaves it and enters To, then From is destroyed.
    r = synced()
    call(r)
    r.feed(ev("Newchannel", **chan("c")))
    r.feed(ev("BridgeCreate", **bridge("Y")))
    r.feed(ev("BridgeEnter", **bridge("Y"), **chan("c")))
    changes = r.feed(ev("BridgeMerge", **bridge("X", "To"), **bridge("Y", "From")))
    assert [c.new.merged_from for c in changes if isinstance(c, BridgeChange) and c.new] == [("Y",)]
    # Announced, not yet done: membership follows the events that do it.
    assert r.bridges["Y"].members == ("c",)
    assert r.channels["c"].bridge_id == "Y"
    r.feed(ev("BridgeLeave", **bridge("Y"), **chan("c")))
    r.feed(ev("BridgeEnter", **bridge("X"), **chan("c")))
    r.feed(ev("BridgeDestroy", **bridge("Y")))
    assert r.bridges["X"].members == ("a", "b", "c")
    assert r.bridges["X"].merged_from == ("Y",)
    assert r.channels["c"].bridge_id == "X"
    assert "Y" not in r.bridges
    assert not r.violations


def test_bridge_merge_whose_members_never_move_is_reported_at_destroy() -> None:
    r = synced()
    call(r)
    r.feed(ev("Newchannel", **chan("c")))
    r.feed(ev("BridgeCreate", **bridge("Y")))
    r.feed(ev("BridgeEnter", **bridge("Y"), **chan("c")))
    r.feed(ev("BridgeMerge", **bridge("X", "To"), **bridge("Y", "From")))
    r.feed(ev("BridgeDestroy", **bridge("Y")))
    assert r.violations["destroy-with-members"] == 1
    assert r.channels["c"].bridge_id is None  # its bridge is gone: no dangling reference
    assert r.bridges["X"].members == ("a", "b")


def test_a_consultation_dial_end_without_caller_or_begin_is_not_a_violation() -> None:
    # Asterisk 22 ends an attended transfer's consultation dial with a DialEnd that has no
    # caller fields and no DialBegin before it.
    r = synced()
    r.feed(ev("Newchannel", **chan("t", name="Local/7000@ami-test-00000002;1")))
    changes = r.feed(ev("DialEnd", **chan("t", prefix="Dest"), DialStatus="ANSWER"))
    dials = [c.new for c in changes if isinstance(c, DialChange)]
    assert [(d.caller, d.dest, d.status, d.ended) for d in dials if d] == [
        (None, "t", "ANSWER", True)
    ]
    assert not r.dials
    assert not r.violations
    # A DialEnd *with* a caller and no DialBegin still is one.
    r.feed(ev("Newchannel", **chan("a")))
    r.feed(ev("DialEnd", **chan("a"), **chan("t", prefix="Dest"), DialStatus="ANSWER"))
    assert r.violations["unmatched-dial-end"] == 1


def test_transfers_local_pairs_dtmf_variables() -> None:
    r = synced()
    call(r)
    r.feed(
        ev(
            "BlindTransfer",
            Result="Success",
            **chan("a", prefix="Transferer"),
            **chan("b", linked="a", prefix="Transferee"),
            **bridge("X"),
            IsExternal="Yes",
            Context="ami-test",
            Extension="wait",
        )
    )
    assert r.channels["a"].transfers[0].transferee == "b"
    assert r.bridges["X"].transfers[0].extension == "wait"
    r.feed(ev("Newchannel", **chan("l1", name="Local/x@y-1;1")))
    r.feed(ev("Newchannel", **chan("l2", name="Local/x@y-1;2", linked="l1")))
    r.feed(
        ev(
            "LocalBridge",
            **chan("l1", name="Local/x@y-1;1", prefix="LocalOne"),
            **chan("l2", name="Local/x@y-1;2", linked="l1", prefix="LocalTwo"),
            Context="y",
            Exten="x",
            LocalOptimization="Yes",
        )
    )
    assert r.channels["l1"].local_peer == "l2"
    assert r.channels["l2"].local_peer == "l1"
    r.feed(
        ev(
            "LocalOptimizationBegin",
            **chan("l1", name="Local/x@y-1;1", prefix="LocalOne"),
            **chan("l2", name="Local/x@y-1;2", linked="l1", prefix="LocalTwo"),
            Id="1",
        )
    )
    assert r.channels["l1"].local_optimizing
    assert r.channels["l2"].local_optimizing
    r.feed(
        ev(
            "LocalOptimizationEnd",
            **chan("l1", name="Local/x@y-1;1", prefix="LocalOne"),
            **chan("l2", name="Local/x@y-1;2", linked="l1", prefix="LocalTwo"),
            Id="1",
            Success="Yes",
        )
    )
    after = r.channels["l1"]
    assert not after.local_optimizing
    r.feed(ev("DTMFBegin", **chan("a"), Digit="5", Direction="Received"))
    pressing = r.channels["a"].dtmf
    assert pressing is not None
    assert pressing.digit == "5"
    r.feed(ev("DTMFEnd", **chan("a"), Digit="5", DurationMs="100", Direction="Received"))
    released = r.channels["a"]
    assert released.dtmf is None
    r.feed(ev("VarSet", **chan("a"), Variable="FOO", Value="bar"))
    r.feed(ev("Newstate", **chan("a"), ChanVariable="AMI_TEST_VAR=x"))
    assert dict(r.channels["a"].variables) == {"FOO": "bar", "AMI_TEST_VAR": "x"}
    r.feed(ev("Rename", **chan("a"), Newname="PJSIP/renamed"))
    assert r.channels["a"].name == "PJSIP/renamed"
    assert not r.violations


def test_history_is_bounded() -> None:
    with pytest.raises(ValueError, match="history"):
        Reducer(history=-1)
    r = synced(history=3)
    for i in range(10):
        r.feed(ev("Newchannel", **chan(str(i))))
        r.feed(ev("Hangup", **chan(str(i)), Cause="16"))
    assert [c.unique_id for c in r.ended] == ["7", "8", "9"]


def test_events_before_the_first_seeding_are_not_violations() -> None:
    r = Reducer()
    r.feed(ev("Newstate", **chan("old")))  # a call older than our connection
    r.feed(ev("Hangup", **chan("older"), Cause="16"))
    assert not r.violations
    assert "old" in r.channels


def test_attended_transfer_attaches_to_every_party() -> None:
    r = synced()
    call(r)  # a (transferer) and b in bridge X
    r.feed(ev("Newchannel", **chan("c", linked="c")))
    r.feed(ev("Newchannel", **chan("d", linked="c")))
    r.feed(ev("BridgeCreate", **bridge("Y")))
    r.feed(ev("BridgeEnter", **bridge("Y"), **chan("c", linked="c")))
    r.feed(ev("BridgeEnter", **bridge("Y"), **chan("d", linked="c")))
    changes = r.feed(
        ev(
            "AttendedTransfer",
            Result="Success",
            **chan("a", prefix="OrigTransferer"),
            **bridge("X", "Orig"),
            **chan("c", linked="c", prefix="SecondTransferer"),
            **bridge("Y", "Second"),
            **chan("b", linked="a", prefix="Transferee"),
            **chan("d", linked="c", prefix="TransferTarget"),
            DestType="Bridge",
            DestBridgeUniqueid="X",
        )
    )
    transfer = r.channels["a"].transfers[0]
    assert transfer.kind == "attended"
    assert (transfer.transferer, transfer.second_transferer) == ("a", "c")
    assert (transfer.transferee, transfer.target) == ("b", "d")
    assert transfer.bridges == ("X", "Y")
    assert transfer.dest_type == "Bridge"
    assert transfer.dest_bridge == "X"
    for uid in "abcd":
        assert r.channels[uid].transfers == (transfer,)
    assert r.bridges["X"].transfers == (transfer,)
    assert r.bridges["Y"].transfers == (transfer,)
    assert sum(isinstance(c, TransferChange) for c in changes) == 1
    assert not r.violations


def test_originate_timeout_ends_its_dial_quietly() -> None:
    # Asterisk 22 ends an Originate whose Timeout runs out while the channel rings with a
    # HangupRequest (Cause 19) and the Hangup, and no DialEnd (the ring_originate scenario of
    # tests/simulator/test_fidelity.py): no caller, so Asterisk dialled on its own.
    r = synced()
    r.feed(ev("Newchannel", **chan("o1", "Local/ring@ami-test-1;1", state="0")))
    r.feed(ev("Newchannel", **chan("o2", "Local/ring@ami-test-1;2", state="0")))
    r.feed(ev("DialBegin", **chan("o1", "Local/ring@ami-test-1;1", prefix="Dest"),
              DialString="ring@ami-test"))  # fmt: skip
    r.feed(ev("DialState", **chan("o1", "Local/ring@ami-test-1;1", prefix="Dest"),
              DialStatus="RINGING"))  # fmt: skip
    assert r.dials[(None, "o1")].status == "RINGING"
    r.feed(ev("HangupRequest", **chan("o2", "Local/ring@ami-test-1;2"), Cause="19"))
    changes = r.feed(ev("Hangup", **chan("o1", "Local/ring@ami-test-1;1"), Cause="19"))
    r.feed(ev("Hangup", **chan("o2", "Local/ring@ami-test-1;2"), Cause="19"))
    assert not r.violations
    assert not r.dials
    assert not r.channels
    ended = [c for c in changes if isinstance(c, DialChange)]
    assert len(ended) == 1
    assert ended[0].new is not None
    assert ended[0].new.ended
    # A dial with a caller that loses its DialEnd is still the server's break.
    r.feed(ev("Newchannel", **chan("a")))
    r.feed(ev("Newchannel", **chan("b")))
    r.feed(ev("DialBegin", **chan("a"), **chan("b", prefix="Dest"), DialString="b"))
    r.feed(ev("Hangup", **chan("b"), Cause="19"))
    assert dict(r.violations) == {"dial-without-end": 1}
