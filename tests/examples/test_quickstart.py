"""examples/quickstart.py (the README's program) runs against the simulator and real Asterisk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "examples" / "quickstart.py"


def run(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AMI_")} | env,
    )
    return done.stdout.splitlines()


def check(lines: list[str]) -> None:
    assert lines[0] == "ping: Success"
    assert "originate: answered" in lines
    new = [line.split()[-1] for line in lines if line.startswith("new:")]
    gone = [line.split()[1] for line in lines if line.startswith("hangup:")]
    assert len(new) == 4  # dial-short's Local pair dials a second Local pair
    assert sorted(new) == sorted(gone)


def test_quickstart_against_the_simulator() -> None:
    check(run({}))


@pytest.mark.asterisk
def test_quickstart_against_the_real_asterisk(asterisk: object) -> None:
    env = {"AMI_HOST": "127.0.0.1", "AMI_PORT": "15038", "AMI_USERNAME": "admin",
           "AMI_SECRET": "ami-admin-secret"}  # fmt: skip
    check(run(env))
