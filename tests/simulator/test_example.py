"""The simulator example runs and shows a whole call."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.anyio


async def test_quickstart_example(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parents[2] / "examples" / "simulator_quickstart.py"
    spec = importlib.util.spec_from_file_location("simulator_quickstart", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = await module.main()
    assert lines[0] == "Login: Authentication accepted"
    assert "Originate: Originate successfully queued" in lines
    assert sum(1 for line in lines if line.split()[:2] == ["event", "Hangup"]) == 4
    assert "Ping: Error (Simulated outage)" in lines
    assert "Login: Authentication accepted" in capsys.readouterr().out
