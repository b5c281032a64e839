"""The tutorial's program, assembled from its ``tutorial.py`` blocks, runs against the simulator.

docs/tutorial.md marks the blocks that make up one complete program with the fence
```` ```python title="tutorial.py" ````; other blocks are illustrations. This test puts the
marked blocks together in order, checks that the result compiles, and runs its ``main()`` on
both anyio backends, checking what it prints, so the tutorial cannot silently rot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
_BLOCK = re.compile(r'^```python title="tutorial\.py"\n(.*?)^```$', re.S | re.M)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def tutorial_program() -> str:
    blocks = _BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))
    return "\n\n".join(blocks)


def test_the_tutorial_has_its_program() -> None:
    program = tutorial_program()
    compile(program, str(TUTORIAL), "exec")
    for step in ("send_actions", "read_lists", "watch_events", "follow_a_call", "track_calls"):
        assert f"async def {step}(ami: ami_client.AMIClient)" in program
    assert program.rstrip().endswith("anyio.run(main)")


@pytest.mark.anyio
async def test_the_tutorial_runs_against_the_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace: dict[str, Any] = {"__name__": "tutorial"}
    exec(compile(tutorial_program(), str(TUTORIAL), "exec"), namespace)  # noqa: S102
    with anyio.fail_after(60):
        await namespace["main"]()
    out = capsys.readouterr().out.splitlines()
    steps = [line for line in out if line.startswith("--- ")]
    assert steps == [
        "--- send_actions",
        "--- read_lists",
        "--- watch_events",
        "--- follow_a_call",
        "--- track_calls",
    ]
    assert "Success Pong" in out
    assert any(line.startswith("Asterisk 22.") for line in out)
    assert "refused: No such channel" in out
    assert any(line.startswith("True Invalid/unknown command: NoSuchAction") for line in out)
    # read_lists: the Local pair it originated, listed, then hung up from the stream.
    assert "2 channels; ListItems: 2" in out
    assert "streamed; ListItems: 2" in out
    assert "UserEvent Hello world" in out
    # follow_a_call: four channels appear and the same four hang up, normal clearing.
    new = [line.split()[1] for line in out if line.startswith("new ")]
    gone = [line.split()[1] for line in out if line.startswith("hangup ")]
    assert len(new) == 4
    assert sorted(new) == sorted(gone)
    assert all(line.split()[2:4] == ["16", "Normal"] for line in out if line.startswith("hangup "))
    assert "answered: True channel: " + new[0] in out
    # track_calls: a basic bridge of two channels, a call of four, four ended channels.
    assert any(line.startswith("bridge basic [") for line in out)
    assert any(line.startswith("call ") and line.endswith("has 4 channels") for line in out)
    ended = [line for line in out if line.startswith("ended ")]
    assert len(ended) == 4
