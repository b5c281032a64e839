"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``bench``, ``fuzz``, ``regen``.

Every session installs what it needs into its own virtual environment, so a fresh machine
with only Python needs nothing but ``pip install nox``.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "regen-check", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
LINT_TOOLS = ["ruff>=0.6"]
TYPE_TOOLS = ["mypy>=1.11"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, on asyncio and trio, with the real Asterisk when it can be had.

    Tests that need the real Asterisk 22 provision it (tests/asterisk/server.py, root and
    Debian's mirrors needed) and are skipped with the reason when it cannot be had -- except
    under ``CI=true``, where that is an error.
    """
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install(*LINT_TOOLS)
    paths = ["ami_client", "tests", "examples", "benchmarks", "tools", "noxfile.py"]
    existing = [p for p in paths if (ROOT / p).exists()]
    session.run("ruff", "check", *existing)
    session.run("ruff", "format", "--check", *existing)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, its tests, examples and benchmarks."""
    session.install("-e", ".[test]", *TYPE_TOOLS, "nox")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each prints its figure beside a baseline measured in the same run."""
    session.install("-e", ".[test]")
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", "-m", f"benchmarks.{path.stem}", *session.posargs)


@nox.session
def regen(session: nox.Session) -> None:
    """Regenerate the typed catalogue from tools/catalogue/asterisk-22.json (offline)."""
    session.install("-e", ".")
    session.run("python", "tools/catalogue/generate.py")


@nox.session(name="regen-check")
def regen_check(session: nox.Session) -> None:
    """Fail if the committed catalogue modules differ from what the generator writes."""
    session.install("-e", ".")
    session.run("python", "tools/catalogue/generate.py", "--check")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs-material + mkdocstrings), warnings as errors."""
    session.install("-e", ".", "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings-python>=1.10")
    out = session.posargs[0] if session.posargs else "site"
    session.run("mkdocs", "build", "--strict", "-d", out, env={"NO_MKDOCS_2_WARNING": "1"})


# The long fuzz run. A plain literal: tests/protocol/test_fuzz_harness.py reads it from this file
# and runs it (with fewer examples), so the harness cannot break unnoticed.
FUZZ_COMMAND = ["python", "-m", "pytest", "tests/protocol/test_fuzz.py"]


@nox.session
def fuzz(session: nox.Session) -> None:
    """The parser fuzz test with many more examples (AMI_FUZZ_EXAMPLES, default 200,000).

    A run that long has no per-test timeout: test_fuzz.py lifts it above its default count.
    """
    session.install("-e", ".[test]")
    env = {"AMI_FUZZ_EXAMPLES": os.environ.get("AMI_FUZZ_EXAMPLES", "200000")}
    session.run(*FUZZ_COMMAND, *session.posargs, env=env)
