"""Shared helpers of the catalogue tests: the extract, reading transcripts, expected values."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

import attrs

from ami_client import Event
from ami_client._private.catalogue._base import BridgeSnapshot, ChannelSnapshot, TypedAction
from ami_client._private.catalogue._convert import (
    ChannelState,
    as_bool,
    as_float,
    as_int,
    as_state,
    as_str,
)
from ami_client.protocol import Parser

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "tools" / "catalogue" / "asterisk-22.json"
TRANSCRIPTS = ROOT / "tests" / "data" / "transcripts"
CORPUS = ROOT.parent / "shared" / "corpus" / "asterisk22-300calls.ami.gz"


@cache
def facts() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXTRACT.read_text(encoding="utf-8"))
    return data


def parse_events(data: bytes) -> list[Event]:
    parser = Parser()
    parser.receive_data(data)
    parser.receive_data(b"")
    return [item for item in parser.next_events() if isinstance(item, Event)]


def transcript_events() -> list[Event]:
    out: list[Event] = []
    for path in sorted(TRANSCRIPTS.glob("*.ami")):
        out.extend(parse_events(path.read_bytes()))
    return out


@cache
def corpus_events() -> tuple[Event, ...]:
    return tuple(parse_events(gzip.decompress(CORPUS.read_bytes())))


def sample_text(converter: object) -> str:
    """A wire value that the converter reads as a non-None value."""
    if converter is as_int:
        return "42"
    if converter is as_float:
        return "1.5"
    if converter is as_bool:
        return "Yes"
    if converter is as_state:
        return "6"
    return "some text"


def expected(converter: object, raw: str) -> object:
    """What a field of this converter must read for ``raw``, computed independently."""
    if converter is as_str:
        return None if raw == "<unknown>" else raw
    if converter is as_int:
        try:
            return int(raw)
        except ValueError:
            return None
    if converter is as_float:
        try:
            return float(raw)
        except ValueError:
            return None
    if converter is as_bool:
        low = raw.strip().lower()
        if low in {"yes", "true", "1", "on", "y", "t"}:
            return True
        if low in {"no", "false", "0", "off", "n", "f"}:
            return False
        return None
    if converter is as_state:
        try:
            return ChannelState(int(raw.strip()))
        except ValueError:
            return None
    raise AssertionError(f"unknown converter {converter!r}")


SNAPSHOT_TYPES = (ChannelSnapshot, BridgeSnapshot)


def _sample_param(annotation: Any) -> object:
    text = str(annotation)
    if "Mapping" in text:
        return {"A": "1", "B": "two"}
    if "Sequence" in text:
        return ["x", "y"]
    if text.startswith("bool") or annotation is bool:
        return True
    if text.startswith("int") or annotation is int:
        return 7
    return "val"


def action_values(cls: type[TypedAction], every: bool) -> dict[str, object]:
    """Sample values for the parameters of ``cls``: every one, or only the required ones."""
    hints = get_type_hints(cls, localns={"Mapping": Mapping, "Sequence": Sequence})
    values = {}
    for field in attrs.fields(cls):
        if field.name == "action_id":
            continue
        if every or field.default is attrs.NOTHING:
            values[field.name] = _sample_param(hints[field.name])
    return values
