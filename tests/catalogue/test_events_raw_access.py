"""Typed events keep the generic event's item access to raw fields."""

from __future__ import annotations

import pytest

from ami_client import Event, events


def test_item_access_reads_raw_fields_case_insensitively() -> None:
    message = Event([("Event", "Hangup"), ("Channel", "Local/a;1"), ("Cause", "16")])
    event = events.from_message(message)
    assert isinstance(event, events.Hangup)
    assert event["channel"] == "Local/a;1"
    assert event["Cause"] == "16"
    assert event.cause == 16
    assert "CAUSE" in event
    assert "Nope" not in event
    with pytest.raises(KeyError, match="Nope"):
        event["Nope"]
