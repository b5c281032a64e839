"""Real Asterisk 22 bytes (tests/data/transcripts, the shared corpus) parse completely."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ami_client.protocol import Banner, ConnectionClosed, Event, Message, Parser, Response

from .helpers import bytewise, feed

DATA = Path(__file__).parent.parent / "data" / "transcripts"
CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "asterisk22-300calls.ami.gz"
TRANSCRIPTS = sorted(DATA.glob("*.ami"))


def parse(data: bytes) -> list[object]:
    parser = Parser()
    items: list[object] = []
    for start in range(0, len(data), 65536):
        parser.receive_data(data[start : start + 65536])
        items += parser.next_events()
    parser.receive_data(b"")
    items += parser.next_events()
    return items


def test_transcripts_are_there() -> None:
    assert {p.stem for p in TRANSCRIPTS} >= {
        "login_ping_logoff", "core_show_channels", "command", "originate", "login_bad_secret",
    }  # fmt: skip


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
def test_transcript_parses_whole_and_byte_by_byte(path: Path) -> None:
    data = path.read_bytes()
    items = parse(data)
    assert isinstance(items[0], Banner)
    assert items[0].version == "11.0.0"
    messages = [i for i in items if isinstance(i, Message)]
    assert messages
    assert all(isinstance(m, (Event, Response)) for m in messages)
    # Nothing lost: every `Key: Value` line of the transcript is a field of some message.
    lines = [ln for ln in data.split(b"\r\n")[1:] if ln]
    assert sum(len(m.fields) for m in messages) == len(lines)
    assert feed(bytewise(data[:4000])) == feed([data[:4000]])


def test_login_ping_logoff_shapes() -> None:
    items = parse((DATA / "login_ping_logoff.ami").read_bytes())
    responses = [i for i in items if isinstance(i, Response)]
    assert [r.status for r in responses] == ["Success", "Success", "Goodbye"]
    assert responses[1]["Ping"] == "Pong"
    assert isinstance(items[-1], ConnectionClosed)


def test_core_show_channels_is_an_event_list() -> None:
    items = parse((DATA / "core_show_channels.ami").read_bytes())
    start = next(i for i in items if isinstance(i, Response) and i.get("EventList") == "start")
    list_id = start.action_id
    entries = [i for i in items if isinstance(i, Event) and i.action_id == list_id]
    assert [e.name for e in entries[:-1]] == ["CoreShowChannel"] * (len(entries) - 1)
    done = entries[-1]
    assert done.name == "CoreShowChannelsComplete"
    assert done["EventList"] == "Complete"
    assert int(done["ListItems"]) == len(entries) - 1


def test_command_output_fields() -> None:
    items = parse((DATA / "command.ami").read_bytes())
    outputs = [i for i in items if isinstance(i, Response) and "Output" in i]
    assert any(o.get_all("Output")[0].startswith("Asterisk 22") for o in outputs)
    assert any(len(o.get_all("Output")) > 1 for o in outputs)


def test_originate_response_is_an_event_with_a_response_field() -> None:
    items = parse((DATA / "originate.ami").read_bytes())
    originate = [i for i in items if isinstance(i, Event) and i.name == "OriginateResponse"]
    assert len(originate) == 1
    assert originate[0]["Response"] == "Success"
    assert originate[0].action_id


def test_corpus_parses_completely() -> None:
    if not CORPUS.exists():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    data = gzip.decompress(CORPUS.read_bytes())
    items = parse(data)
    messages = [i for i in items if isinstance(i, Message)]
    assert len(messages) == 25_222
    assert sum(len(m.fields) for m in messages) == data.count(b"\r\n") - 1 - 25_222
