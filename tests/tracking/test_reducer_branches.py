"""The reducer on the event sequences its other tests do not reach: malformed events, events
of what a seeding dropped, snapshot changes, repeated events, and the lists' corner cases."""

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

from .test_reducer import bridge, call, chan, ev, synced


def view(r: Reducer) -> tuple[Any, ...]:
    s = r.state()
    return dict(s.channels), dict(s.bridges), dict(s.dials), dict(s.calls)


def reseed(r: Reducer, channels: list[dict[str, str]], bridges: list[dict[str, str]]) -> Any:
    """A complete seeding listing these channels and bridges; the changes it made."""
    r.begin_sync(channels_action_id="cx", bridges_action_id="bx")
    out = []
    for b in bridges:
        out += r.feed(ev("BridgeListItem", ActionID="bx", **b))
    out += r.feed(ev("BridgeListComplete", ActionID="bx"))
    for c in channels:
        out += r.feed(ev("CoreShowChannel", ActionID="cx", **c))
    out += r.feed(ev("CoreShowChannelsComplete", ActionID="cx"))
    assert not r.syncing
    return out


# -- malformed events ------------------------------------------------------------------------


def _without(fields: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k != key}


MALFORMED = {
    "Newchannel": (_without(chan("n"), "Uniqueid"), "Uniqueid"),
    "Hangup": (_without(chan("a"), "Uniqueid"), "Uniqueid"),
    "BridgeCreate": (_without(bridge("Z"), "BridgeUniqueid"), "BridgeUniqueid"),
    "BridgeDestroy": (_without(bridge("X"), "BridgeUniqueid"), "BridgeUniqueid"),
    "BridgeEnter": ({**_without(bridge("X"), "BridgeUniqueid"), **chan("c")}, "BridgeUniqueid"),
    "BridgeLeave": ({**_without(bridge("X"), "BridgeUniqueid"), **chan("a")}, "BridgeUniqueid"),
    "BridgeMerge": (
        {**_without(bridge("X", "To"), "ToBridgeUniqueid"), **bridge("Y", "From")},
        "ToBridgeUniqueid",
    ),
    "DialBegin": ({**chan("a"), **_without(chan("c", prefix="Dest"), "DestUniqueid")}, "Dest"),
    "DialState": ({**chan("a"), **_without(chan("c", prefix="Dest"), "DestUniqueid")}, "Dest"),
    "DialEnd": ({**chan("a"), **_without(chan("c", prefix="Dest"), "DestUniqueid")}, "Dest"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_an_event_without_its_identifier_is_malformed_and_changes_nothing(name: str) -> None:
    r = synced()
    call(r)
    r.feed(ev("Newchannel", **chan("c")))
    r.feed(ev("BridgeCreate", **bridge("Y")))
    before = view(r)
    fields, missing = MALFORMED[name]
    seen: list[Violation] = []
    r.on_violation = seen.append
    assert r.feed(ev(name, **fields)) == []
    assert view(r) == before
    assert [v.kind for v in seen] == ["malformed"]
    assert seen[0].message.startswith(f"{name} without {missing}")


def test_event_names_and_keys_in_another_case_are_understood() -> None:
    r = synced()
    assert r.feed(from_message(Event([("Channel", "PJSIP/x")]))) == []  # no Event at all
    assert r.events == 3  # counted all the same (two were the seeding's)
    shouted = {"CHANNEL": "PJSIP/x", "uniqueid": "x", "channelstate": "4", "LinkedID": "x"}
    r.feed(ev("NEWCHANNEL", **shouted))
    ch = r.channels["x"]
    assert (ch.name, ch.state, ch.linked_id) == ("PJSIP/x", ChannelState.RING, "x")
    r.feed(ev("hangup", uniqueid="x", cause="16"))
    assert not r.channels
    assert not r.violations


# -- channels outside the usual shape ----------------------------------------------------------


def test_a_channel_without_linkedid_is_tracked_in_no_call() -> None:
    # Asterisk 22 always sends Linkedid; events of older versions or other servers may not.
    r = synced()
    out = r.feed(ev("Newchannel", **_without(chan("solo"), "Linkedid")))
    assert [type(c) for c in out] == [ChannelChange]
    assert r.channels["solo"].linked_id is None
    assert dict(r.state().calls) == {}
    out = r.feed(ev("Hangup", **_without(chan("solo"), "Linkedid"), Cause="16"))
    assert [type(c) for c in out] == [ChannelChange]  # and no CallChange
    final = out[0].final if isinstance(out[0], ChannelChange) else None
    assert final is not None
    assert final.hangup_cause == 16
    assert not r.violations


def test_an_unknown_channel_is_created_from_a_newexten_without_application() -> None:
    # Before the first seeding, events of older channels are normal: the channel is taken
    # from the snapshot, even when the event's own fields (Application) are missing.
    r = Reducer()
    r.feed(ev("Newexten", **chan("old"), Extension="s"))
    assert r.channels["old"].application is None
    assert r.channels["old"].name == "PJSIP/old"
    assert not r.violations


def test_varset_without_variable_changes_no_variable() -> None:
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    r.feed(ev("VarSet", **chan("a"), Variable="X", Value="1"))
    assert r.feed(ev("VarSet", **chan("a"), Value="2")) == []
    assert dict(r.channels["a"].variables) == {"X": "1"}
    assert not r.violations


def test_repeated_dial_state_and_local_bridge_change_nothing() -> None:
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    r.feed(ev("Newchannel", **chan("b", linked="a")))
    dial = {**chan("a"), **chan("b", linked="a", prefix="Dest")}
    r.feed(ev("DialBegin", **dial, DialString="b"))
    assert len(r.feed(ev("DialState", **dial, DialStatus="RINGING"))) == 1
    assert r.feed(ev("DialState", **dial, DialStatus="RINGING")) == []
    assert r.dials[("a", "b")].status == "RINGING"
    pair = {**chan("a", prefix="LocalOne"), **chan("b", linked="a", prefix="LocalTwo")}
    assert len(r.feed(ev("LocalBridge", **pair))) == 2  # each learns its peer
    assert r.feed(ev("LocalBridge", **pair)) == []
    assert (r.channels["a"].local_peer, r.channels["b"].local_peer) == ("b", "a")
    r.feed(ev("LocalBridge", **chan("a", prefix="LocalOne")))  # the other half missing
    assert (r.channels["a"].local_peer, r.channels["b"].local_peer) == ("b", "a")
    assert not r.violations


# -- bridges -----------------------------------------------------------------------------------


def test_bridge_snapshot_changes_are_followed() -> None:
    # A third party turns a two-party bridge into a conference: Asterisk 22 swaps the
    # technology (simple_bridge -> softmix) and the next event's snapshot shows it.
    r = synced()
    call(r)
    r.feed(ev("Newchannel", **chan("c", linked="a")))
    out = r.feed(ev("BridgeEnter", **{**bridge("X"), "BridgeTechnology": "softmix"}, **chan("c")))
    changed = [c for c in out if isinstance(c, BridgeChange)]
    assert changed[0].old is not None
    assert changed[0].old.technology == "simple_bridge"
    assert r.bridges["X"].technology == "softmix"
    assert r.bridges["X"].members == ("a", "b", "c")
    video = {**bridge("X"), "BridgeTechnology": "softmix", "BridgeVideoSourceMode": "talker"}
    out = r.feed(ev("BridgeVideoSourceUpdate", **video, BridgePreviousVideoSource="a"))
    assert [type(c) for c in out] == [BridgeChange]
    assert r.bridges["X"].video_source_mode == "talker"
    assert not r.violations


def test_enter_without_leave_during_a_seeding_is_not_reported() -> None:
    # The BridgeLeave may have been lost with the link: the channel just moves.
    r = synced()
    call(r)
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("BridgeCreate", **bridge("Y")))
    r.feed(ev("BridgeEnter", **bridge("Y"), **chan("a")))
    assert r.channels["a"].bridge_id == "Y"
    assert r.bridges["X"].members == ("b",)
    assert r.bridges["Y"].members == ("a",)
    assert not r.violations


# -- late events of what a seeding dropped ---------------------------------------------------


def test_late_events_of_a_dropped_channel_change_nothing() -> None:
    r = synced()
    call(r)
    r.feed(ev("Newchannel", **chan("gone")))
    in_x = [{**chan("a"), "BridgeId": "X"}, {**chan("b", linked="a"), "BridgeId": "X"}]
    reseed(r, in_x, [bridge("X")])
    assert "gone" not in r.channels
    # Its events written before its Hangup, arriving after the list:
    for name, extra in (
        ("DTMFBegin", {"Digit": "1", "Direction": "Received"}),
        ("BridgeEnter", bridge("X")),
        ("BridgeLeave", bridge("X")),
        ("LocalBridge", {}),
    ):
        fields = (
            {**chan("gone", prefix="LocalOne"), **chan("a", prefix="LocalTwo")}
            if name == "LocalBridge"
            else {**chan("gone"), **extra}
        )
        assert r.feed(ev(name, **fields)) == [], name
    out = r.feed(
        ev(
            "BlindTransfer",
            **chan("gone", prefix="Transferer"),
            **chan("b", linked="a", prefix="Transferee"),
            Result="Success",
            BridgeUniqueid="X",
            Extension="100",
            Context="ami-test",
        )
    )
    # The transfer is recorded where it can be: on b and the bridge, not on "gone".
    assert isinstance(out[-1], TransferChange)
    assert r.channels["b"].transfers[0].transferer == "gone"
    assert r.bridges["X"].transfers[0].kind == "blind"
    assert "gone" not in r.channels
    assert r.bridges["X"].members == ("a", "b")
    assert r.channels["a"].local_peer is None
    assert not r.violations


# -- the lists ---------------------------------------------------------------------------------


def test_list_items_without_an_identifier_are_ignored() -> None:
    r = synced()
    call(r)
    out = reseed(
        r,
        [
            {**chan("a"), "BridgeId": "X"},
            {**chan("b", linked="a"), "BridgeId": "X"},
            _without(chan("z"), "Uniqueid"),
        ],
        [bridge("X"), _without(bridge("W"), "BridgeUniqueid")],
    )
    assert out == []  # nothing changed: the broken items add nothing, drop nothing
    assert set(r.channels) == {"a", "b"}
    assert set(r.bridges) == {"X"}
    assert not r.violations


def test_listed_bridge_destroyed_since_and_changed_bridge_refreshed() -> None:
    r = synced()
    call(r)
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("BridgeListItem", ActionID="b2", **{**bridge("X"), "BridgeTechnology": "softmix"}))
    r.feed(ev("BridgeListItem", ActionID="b2", **bridge("Y")))
    r.feed(ev("BridgeDestroy", **bridge("Y")))  # listed, but gone before the list completed
    out = r.feed(ev("BridgeListComplete", ActionID="b2"))
    assert [
        (c.old and c.old.technology, c.new and c.new.technology, c.reason)
        for c in out
        if isinstance(c, BridgeChange)
    ] == [("simple_bridge", "softmix", "sync")]
    assert len(out) == 1
    assert set(r.bridges) == {"X"}
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("a"), BridgeId="X"))
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("b", linked="a"), BridgeId="X"))
    r.feed(ev("CoreShowChannelsComplete", ActionID="c2"))
    assert r.bridges["X"].members == ("a", "b")
    assert not r.violations


def test_channel_in_a_bridge_newer_than_the_bridge_list() -> None:
    # BridgeList is answered first; a bridge created before CoreShowChannels' snapshot shows
    # up only in a channel's BridgeId. It is added as a placeholder, and its BridgeCreate,
    # still on its way, is then no duplicate.
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    r.begin_sync(channels_action_id="c2", bridges_action_id="b2")
    r.feed(ev("BridgeListComplete", ActionID="b2"))
    r.feed(ev("CoreShowChannel", ActionID="c2", **chan("a"), BridgeId="NEW"))
    out = r.feed(ev("CoreShowChannelsComplete", ActionID="c2"))
    assert r.bridges["NEW"].members == ("a",)
    assert r.channels["a"].bridge_id == "NEW"
    assert {c.reason for c in out if isinstance(c, (BridgeChange, ChannelChange))} == {"sync"}
    r.feed(ev("BridgeCreate", **bridge("NEW")))
    r.feed(ev("BridgeEnter", **bridge("NEW"), **chan("a")))
    assert r.bridges["NEW"].technology == "simple_bridge"  # the real snapshot, at last
    assert r.bridges["NEW"].members == ("a",)
    assert not r.violations
    assert not any(isinstance(c, CallChange) and not c.started for c in out)


def test_rename_to_the_same_name_or_without_a_new_name_changes_nothing() -> None:
    r = synced()
    r.feed(ev("Newchannel", **chan("a", name="Local/x@ami-test-0001;1")))
    name = "Local/x@ami-test-0001;1"
    assert r.feed(ev("Rename", Channel=name, Newname=name, Uniqueid="a")) == []
    assert r.feed(ev("Rename", Channel="Local/x@ami-test-0001;1", Uniqueid="a")) == []
    assert r.feed(ev("Rename", Newname="PJSIP/moved", Uniqueid="a")) != []
    assert r.channels["a"].name == "PJSIP/moved"
    assert not r.violations


def test_a_stale_channel_leaves_its_bridge_before_it_goes() -> None:
    # The list lacks "a" (it hung up while we were away, its BridgeLeave and Hangup lost):
    # it must not stay a member of the bridge it was in.
    r = synced()
    call(r)
    out = reseed(r, [{**chan("b", linked="a"), "BridgeId": "X"}], [bridge("X")])
    assert "a" not in r.channels
    assert r.bridges["X"].members == ("b",)
    left = [c for c in out if isinstance(c, BridgeChange)]
    assert [(c.new.members if c.new else None, c.reason) for c in left] == [(("b",), "stale")]
    gone = [c for c in out if isinstance(c, ChannelChange) and c.new is None]
    assert [(c.old.unique_id if c.old else None, c.reason) for c in gone] == [("a", "stale")]
    assert gone[0].final is not None
    assert gone[0].final.bridge_id is None
    assert not r.violations


def test_late_events_of_a_dropped_bridge_change_nothing() -> None:
    r = synced()
    call(r)
    r.feed(ev("BridgeCreate", **bridge("W")))
    in_x = [{**chan("a"), "BridgeId": "X"}, {**chan("b", linked="a"), "BridgeId": "X"}]
    reseed(r, in_x, [bridge("X")])
    assert "W" not in r.bridges
    r.feed(ev("Newchannel", **chan("c")))
    for name in ("BridgeEnter", "BridgeLeave"):
        assert r.feed(ev(name, **bridge("W"), **chan("c"))) == [], name
    assert r.feed(ev("BridgeVideoSourceUpdate", **bridge("W"))) == []
    assert r.feed(ev("BridgeDestroy", **bridge("W"))) == []
    assert "W" not in r.bridges
    assert r.channels["c"].bridge_id is None
    assert not r.violations


def test_enter_without_leave_outside_a_seeding_is_reported_and_repaired() -> None:
    r = synced()
    call(r)
    r.feed(ev("BridgeCreate", **bridge("Y")))
    r.feed(ev("BridgeEnter", **bridge("Y"), **chan("a")))
    assert r.channels["a"].bridge_id == "Y"
    assert r.bridges["X"].members == ("b",)
    assert r.bridges["Y"].members == ("a",)
    assert dict(r.violations) == {"enter-without-leave": 1}


def test_a_forked_dial_cancelled_everywhere_ends_each_dial_once() -> None:
    # Dial(PJSIP/b&PJSIP/c) abandoned by the caller: Asterisk 22 ends both legs with CANCEL.
    r = synced()
    r.feed(ev("Newchannel", **chan("a")))
    for dest in ("b", "c"):
        r.feed(ev("Newchannel", **chan(dest, linked="a")))
        leg = {**chan("a"), **chan(dest, linked="a", prefix="Dest")}
        r.feed(ev("DialBegin", **leg, DialString=dest))
    ends = []
    for dest in ("b", "c"):
        leg = {**chan("a"), **chan(dest, linked="a", prefix="Dest")}
        ends.append(r.feed(ev("DialEnd", **leg, DialStatus="CANCEL")))
    assert [type(c) for c in ends[0]] == [DialChange, ChannelChange]  # a's dial_status set
    assert [type(c) for c in ends[1]] == [DialChange]  # already CANCEL: a is unchanged
    assert r.channels["a"].dial_status == "CANCEL"
    assert not r.dials
    assert not r.violations
