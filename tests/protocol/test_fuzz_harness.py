"""The long fuzz run (`nox -s fuzz`) works: its command, read from noxfile.py, passes.

It once did not: the command disabled pytest-timeout (`-p no:timeout`), and the suite's own
``timeout`` setting then became an unknown option, which ``filterwarnings = error`` turns into
a failure before any test ran.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from . import test_fuzz
from .test_fuzz import DEFAULT_EXAMPLES

ROOT = Path(__file__).resolve().parents[2]


def fuzz_command() -> list[str]:
    """``FUZZ_COMMAND`` from noxfile.py, without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "FUZZ_COMMAND"
        ):
            command = ast.literal_eval(node.value)
            assert isinstance(command, list)
            assert all(isinstance(arg, str) for arg in command)
            return command
    raise AssertionError("noxfile.py has no FUZZ_COMMAND")


def test_the_long_fuzz_run_passes() -> None:
    command = fuzz_command()
    assert command[0] == "python"
    # A count just over the default: the long-run settings apply, and it stays quick.
    env = {**os.environ, "AMI_FUZZ_EXAMPLES": str(DEFAULT_EXAMPLES + 20)}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, *command[1:], "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout


def load_fuzz_module(name: str) -> ModuleType:
    """A fresh copy of test_fuzz.py, imported under ``name`` (in this package)."""
    spec = importlib.util.spec_from_file_location(name, test_fuzz.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_long_run_has_no_per_test_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # 200,000 examples take far longer than the suite's 300 s per test.
    monkeypatch.setenv("AMI_FUZZ_EXAMPLES", "200000")
    long = load_fuzz_module("tests.protocol._fuzz_long_copy")
    assert long.EXAMPLES == 200_000
    assert long.pytestmark.name == "timeout"
    assert long.pytestmark.args == (0,)
    # The ordinary run keeps the suite's timeout: a hang there still fails.
    monkeypatch.delenv("AMI_FUZZ_EXAMPLES")
    ordinary = load_fuzz_module("tests.protocol._fuzz_default_copy")
    assert ordinary.EXAMPLES == DEFAULT_EXAMPLES
    assert not hasattr(ordinary, "pytestmark")
