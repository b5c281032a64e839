"""examples/call_dashboard.py against the simulator: it prints a call's life."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

import ami_client
from ami_client import Action
from ami_client.testing import Simulator

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the example runs in its own process; one loop for the test is enough


async def test_dashboard_prints_a_call(tmp_path: Path) -> None:
    async with Simulator(time_scale=0.05) as sim:
        host, port = await sim.listen()
        cmd = [
            sys.executable,
            str(ROOT / "examples" / "call_dashboard.py"),
            host,
            str(port),
            "--seconds",
            "4",
        ]
        with anyio.fail_after(30):
            async with await anyio.open_process(cmd) as proc:
                assert proc.stdout is not None
                head = b""
                while b"tracking" not in head:
                    head += await proc.stdout.receive()
                async with ami_client.connect(
                    host, port, username="admin", secret="ami-admin-secret"
                ) as ami:
                    result = await ami.originate(
                        Action(
                            "Originate",
                            Channel="Local/dial-short@ami-test",
                            Application="Wait",
                            Data="1",
                        )
                    )
                    assert result.success
                out = head
                async for chunk in proc.stdout:
                    out += chunk
                await proc.wait()
    text = out.decode()
    assert proc.returncode == 0, text
    lines = text.splitlines()
    assert lines[0].startswith("tracking")
    assert "0 channels up" in lines[0]
    assert sum(line.startswith("call ") and line.endswith(" started") for line in lines) == 1
    assert sum(line.startswith("call ") and line.endswith(" ended") for line in lines) == 1
    assert any("+ Local/dial-short@ami-test" in line for line in lines)
    assert any("dial " in line and ": ANSWER" in line for line in lines)
    assert any("bridge" in line and "created" in line for line in lines)
    assert lines[-1].startswith("0 channels, 0 bridges")
    assert "violations: none" in lines[-1]
