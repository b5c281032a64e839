"""The real-Asterisk scenarios, replayed from their recordings (tests/data/scenarios/)."""

from __future__ import annotations

import json

import pytest

from .harness import SCENARIO_DIR, replay

NAMES = sorted(p.stem for p in SCENARIO_DIR.glob("*.ami"))


def test_recordings_exist() -> None:
    assert {"dial_bridge", "bridge_action"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_replay_matches_every_checkpoint(name: str) -> None:
    reducer, results, meta = replay(name)
    assert len(results) == len(meta["checkpoints"]) >= 2
    for (expected, got), cp in zip(results, meta["checkpoints"], strict=False):
        assert got == expected, cp["label"]
    assert not reducer.violations
    assert not reducer.syncing
    assert reducer.synced


@pytest.mark.parametrize("name", NAMES)
def test_replay_ends_where_the_server_ended(name: str) -> None:
    reducer, _, meta = replay(name)
    end = meta["checkpoints"][-1]
    assert end["label"] == "end"
    assert set(reducer.channels) == set(end["channels"])
    assert set(reducer.bridges) == set(end["bridges"])
    # The scenario's own calls left nothing behind (other clients' calls on the shared test
    # server may still be up; a quiet server leaves the reducer empty).
    assert meta["linked_ids"]
    assert not [c for c in reducer.channels.values() if c.linked_id in meta["linked_ids"]]
    assert not [lid for lid in reducer.state().calls if lid in meta["linked_ids"]]
    if not end["channels"]:
        assert not reducer.channels
        assert not reducer.dials
        assert not reducer.state().calls


def test_recordings_say_what_they_hold() -> None:
    for name in NAMES:
        meta = json.loads((SCENARIO_DIR / f"{name}.json").read_text())
        assert meta["scenario"] == name
        assert meta["description"]
