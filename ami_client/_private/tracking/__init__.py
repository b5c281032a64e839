"""Lifetime trackers: channels, bridges, dials, transfers and calls from the event stream."""
