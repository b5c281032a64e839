"""examples/typed_events.py runs on a real transcript and reports typed events."""

from __future__ import annotations

import subprocess
import sys

from .helpers import ROOT, TRANSCRIPTS


def test_typed_events_example_reports_the_originate_transcript() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "typed_events.py"),
            str(TRANSCRIPTS / "originate.ami"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert sum(line.startswith("hangup ") for line in lines) == 4
    assert all("cause 16 (Normal Clearing)" in ln for ln in lines if ln.startswith("hangup "))
    assert any(
        line.startswith("origin ") and "'AMI_TEST_VAR': 'from-originate'" in line for line in lines
    )
    assert "Action: Originate" in lines
    assert "Variable: AMI_TEST_VAR=from-example" in lines
