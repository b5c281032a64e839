"""The script that re-records tests/data/transcripts works against the real Asterisk.

It is run into a temporary folder (the committed transcripts stay as they are); what it writes
must parse completely and answer each scenario's actions as the committed transcripts do.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ami_client.protocol import Banner, Event, Message, Response
from tests.asterisk import record_transcripts
from tests.asterisk.server import AsteriskServer

from .test_transcripts import DATA, parse


def answers(data: bytes) -> list[tuple[str, str | None]]:
    """Each response's status and ActionID, in order: what a scenario's actions got."""
    return [(m.status, m.get("ActionID")) for m in parse(data) if isinstance(m, Response)]


def test_re_recording_gives_what_the_committed_transcripts_hold(
    asterisk: AsteriskServer, tmp_path: Path
) -> None:
    assert record_transcripts.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "README.md").is_file()
    for name in record_transcripts.SCENARIOS:
        meta = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        data = (tmp_path / meta["file"]).read_bytes()
        assert meta["received_bytes"] == len(data)
        assert meta["received_sha256"] == hashlib.sha256(data).hexdigest()
        assert meta["sent"], name
        assert all(0 <= sent["offset"] <= len(data) for sent in meta["sent"]), name
        if name == "http_rawman":
            assert data.startswith(b"HTTP/1.1 200"), data[:40]
            continue
        items = parse(data)
        assert isinstance(items[0], Banner), name
        messages = [i for i in items if isinstance(i, Message)]
        assert all(isinstance(m, (Event, Response)) for m in messages), name
        # Nothing lost: every `Key: Value` line is a field of some message.
        lines = [line for line in data.split(b"\r\n")[1:] if line]
        assert sum(len(m.fields) for m in messages) == len(lines), name
        # Same actions, same answers (values such as Uniqueids and times differ by run).
        assert answers(data) == answers((DATA / meta["file"]).read_bytes()), name
