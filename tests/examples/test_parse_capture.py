"""examples/parse_capture.py runs and reports what the capture holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
TRANSCRIPT = ROOT / "tests" / "data" / "transcripts" / "originate.ami"


def test_parse_capture_summarises_a_real_transcript() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "parse_capture.py"), str(TRANSCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = run.stdout.splitlines()
    assert lines[0] == "server: Asterisk Call Manager 11.0.0"
    assert "1 calls (by Linkedid); channels per call: {4: 1}" in lines
    newchannels = TRANSCRIPT.read_bytes().count(b"Event: Newchannel\r\n")
    assert any(line.split() == ["Newchannel", str(newchannels)] for line in lines)
