"""Benchmarks: they print figures and write them to .data/bench/<name>.json; they never fail on a timing.

Run with `python -m bench [--events N] [--only NAME]` from the repository root. Each benchmark is a module
in this package named in `bench.__main__.BENCHMARKS`, exposing `run(options) -> dict`.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / ".data" / "bench"
