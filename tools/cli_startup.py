"""How long `sf` takes to start: the median wall time of N runs of a few commands.

    uv run python tools/cli_startup.py [--runs 20]

`sf list-jobs` and `sf new-job` need a database: DATABASE_URL, or a running `sf dev` in this
directory. Targets (issue 14): `sf --help` <= 250 ms, `sf list-jobs` and `sf new-job` <= 400 ms,
on a quiet machine with a warm cache. Prints one line per command; exits 1 when a target is missed.

A warm cache includes Python's bytecode: the children run without PYTHONDONTWRITEBYTECODE, so the
first (untimed) run writes the __pycache__ files an installed `sf` has (the images compile them
at build time); otherwise every run would spend a few hundred ms compiling the same sources.
`sf health` (every container's HEALTHCHECK, every 30 s) is measured too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SF = Path(sys.executable).parent / "sf"
TARGETS_MS = {
    ("--help",): 250.0,
    ("health",): 250.0,
    ("list-jobs", "--limit", "5"): 400.0,
    ("new-job", "--topic", "startup benchmark"): 400.0,
}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_ms(args: tuple[str, ...], runs: int) -> float:
    subprocess.run([str(SF), *args], capture_output=True, check=args != ("health",), env=ENV)  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        # `sf health` fails without a running role: its start-up time is what is measured here.
        subprocess.run([str(SF), *args], capture_output=True, check=args != ("health",), env=ENV)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    missed = 0
    for args, target in TARGETS_MS.items():
        median = median_ms(args, options.runs)
        verdict = "ok" if median <= target else "SLOW"
        missed += verdict == "SLOW"
        print(f"sf {' '.join(args):40} median {median:7.1f} ms  target {target:5.0f} ms  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
