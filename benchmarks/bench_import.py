"""Start-up cost: ``import ami_client`` in a fresh interpreter, beside what it cannot avoid.

Printed, best of 7 fresh interpreters each (bytecode already compiled, as in an installed
package; the first, compiling run is not counted):

* ``import ami_client``: what every program and every ``ami-client`` command pays;
* the same, then every typed class read (what importing paid before classes were imported on
  first use, docs/catalogue.md);
* ``import anyio, attrs`` and asyncio: the dependencies' own share, a floor.

Run: ``python -m benchmarks.bench_import`` (``nox -s bench``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CASES = {
    "import ami_client": "import ami_client",
    "  + every typed class": (
        "import ami_client\n"
        "from ami_client import actions, events\n"
        "list(events.EVENT_CLASSES.values()), list(actions.ACTION_CLASSES.values())"
    ),
    "dependencies alone": "import asyncio, anyio, attrs",
}


def seconds(code: str) -> float:
    """Wall seconds that ``code`` takes in a fresh interpreter (timed inside it)."""
    script = (
        "import time\n_t = time.perf_counter()\n" + code + "\nprint(time.perf_counter() - _t)\n"
    )
    # Bytecode written and read, as for an installed package (some machines turn it off).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    for code in CASES.values():
        seconds(code)  # compile what is not compiled yet
    best = {name: min(seconds(code) for _ in range(args.rounds)) for name, code in CASES.items()}
    print(f"start-up: best of {args.rounds} fresh interpreters")
    for name, value in best.items():
        print(f"  {name:<22} {value * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
