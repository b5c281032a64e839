"""Compare event streams the way the fidelity suite does: per channel, event types and field
names in order (values such as Uniqueids and timestamps aside)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ami_client.protocol import Event, Message

# Events that exist only because Debian builds Asterisk with TEST_FRAMEWORK (originate.ami).
IGNORED = frozenset({"TestEvent"})
_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])")


def channel_key(event: Event) -> str:
    """Which channel (or bridge, or none) an event belongs to, numbering removed."""
    for key in ("Channel", "DestChannel", "LocalOneChannel", "TransfererChannel"):
        value = event.get(key)
        if value and event.name != "OriginateResponse":
            # The Dial events of a caller are part of that caller's story.
            return _SUFFIX.sub(r"\1", value)
    if event.name.startswith("Bridge"):
        return "<bridge>"
    return "<none>"


def shape(event: Event) -> tuple[str, tuple[str, ...]]:
    names = tuple(re.sub(r"^ChanVariable\(.*\)$", "ChanVariable(<channel>)", k)
                  for k, _ in event.fields)  # fmt: skip
    return event.name, names


def per_channel(messages: Iterable[Message]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for m in messages:
        if isinstance(m, Event) and m.name not in IGNORED:
            out.setdefault(channel_key(m), []).append(shape(m))
    return out


def diff(
    real: dict[str, list[tuple[str, tuple[str, ...]]]],
    sim: dict[str, list[tuple[str, tuple[str, ...]]]],
) -> list[str]:
    """Human-readable differences (empty when the two agree)."""
    problems = []
    for key in sorted(set(real) | set(sim)):
        a, b = real.get(key, []), sim.get(key, [])
        if a != b:
            names_a = [n for n, _ in a]
            names_b = [n for n, _ in b]
            if names_a != names_b:
                problems.append(f"{key}: events\n  real {names_a}\n  sim  {names_b}")
            else:
                for (n, fa), (_, fb) in zip(a, b, strict=True):
                    if fa != fb:
                        problems.append(f"{key} {n}: fields\n  real {fa}\n  sim  {fb}")
    return problems


def only_call(
    messages: Iterable[Message], channel_prefix: str, action_ids: set[str]
) -> list[Message]:
    """The events of one call on a shared server: those whose Linkedid is that of the first
    channel named ``channel_prefix...``, the bridges they entered, and OriginateResponses to
    ``action_ids``. Other engineers' sessions and calls on the same Asterisk are left out."""
    msgs = [m for m in messages if isinstance(m, Event)]
    linked = next(
        (
            m["Linkedid"]
            for m in msgs
            if m.name == "Newchannel" and m["Channel"].startswith(channel_prefix)
        ),
        None,
    )
    if linked is None:
        return [m for m in msgs if m.name == "OriginateResponse" and m.action_id in action_ids]

    def of_call(m: Event) -> bool:
        return any(k.endswith("Linkedid") and v == linked for k, v in m.fields)

    bridges = {m["BridgeUniqueid"] for m in msgs if m.name == "BridgeEnter" and of_call(m)}
    return [
        m
        for m in msgs
        if of_call(m)
        or (m.name.startswith("Bridge") and m.get("BridgeUniqueid") in bridges)
        or (m.name == "OriginateResponse" and m.action_id in action_ids)
    ]
