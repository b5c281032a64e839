"""examples/ami_over_http.py runs against the real Asterisk over HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.asterisk.server import AsteriskServer

ROOT = Path(__file__).parents[2]


@pytest.mark.asterisk
def test_example_over_https(asterisk: AsteriskServer) -> None:
    url = f"https://{asterisk.host}:{asterisk.https_port}/"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "ami_over_http.py"),
            url,
            "admin",
            "--ca",
            str(asterisk.ca_file),
            "--seconds",
            "1.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "AMI_SECRET": "ami-admin-secret"},
    )
    lines = run.stdout.splitlines()
    assert lines[0] == "Ping: Pong"
    assert lines[1].startswith("channels: ")
    assert "event: UserEvent ami-over-http-example" in lines
