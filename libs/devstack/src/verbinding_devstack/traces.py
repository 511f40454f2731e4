"""Trace viewer for the local trace file: list recent traces, or print one as a tree of spans."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

Span = dict[str, Any]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verbinding_devstack.traces", description=__doc__)
    parser.add_argument("trace_id", nargs="?", help="trace id, or its first characters")
    parser.add_argument("--file", type=Path, help="default: $VERBINDING_TRACE_FILE or .data/traces.jsonl")
    parser.add_argument("--limit", type=int, default=20, help="how many recent traces to list")
    args = parser.parse_args(argv)

    path = args.file or Path(os.environ.get("VERBINDING_TRACE_FILE") or ".data/traces.jsonl")
    if not path.is_file():
        print(f"No trace file at {path} (set VERBINDING_TRACE_FILE or pass --file).", file=sys.stderr)
        return 1
    traces = read_traces(path)
    if args.trace_id is None:
        print_recent(traces, limit=args.limit)
        return 0

    matches = sorted(trace_id for trace_id in traces if trace_id.startswith(args.trace_id.lower()))
    if len(matches) != 1:
        problem = "No trace" if not matches else f"{len(matches)} traces"
        print(f"{problem} in {path} with an id starting {args.trace_id!r}.", file=sys.stderr)
        for trace_id in matches[:10]:
            print(f"  {trace_id}", file=sys.stderr)
        return 1
    print_tree(matches[0], traces[matches[0]])
    return 0


def read_traces(path: Path) -> dict[str, list[Span]]:
    """The spans in the file grouped by trace id; lines cut short by a crash are skipped."""
    traces: dict[str, list[Span]] = defaultdict(list)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                span = json.loads(line)
                if isinstance(span["start_ns"], int) and span["span_id"]:
                    traces[span["trace_id"]].append(span)
            except (ValueError, KeyError, TypeError):
                continue
    return traces


def print_recent(traces: dict[str, list[Span]], *, limit: int) -> None:
    recent = sorted(traces.items(), key=lambda item: _start(item[1]), reverse=True)[:limit]
    print(f"{'TRACE ID':32}  {'START':19}  {'DURATION':>10}  {'SPANS':>5}  ROOT  [SERVICES]")
    for trace_id, spans in recent:
        services = ", ".join(sorted({str(span.get("service")) for span in spans}))
        started = datetime.fromtimestamp(_start(spans) / 1e9).strftime("%Y-%m-%d %H:%M:%S")
        duration = f"{(_end(spans) - _start(spans)) / 1e6:>7.1f} ms"
        print(f"{trace_id}  {started}  {duration}  {len(spans):>5}  {_root(spans)['name']}  [{services}]")


def print_tree(trace_id: str, spans: list[Span]) -> None:
    span_ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[Span]] = defaultdict(list)
    for span in spans:
        parent = span.get("parent_span_id")
        children[parent if parent in span_ids else None].append(span)

    def show(span: Span, depth: int) -> None:
        duration = ((span.get("end_ns") or span["start_ns"]) - span["start_ns"]) / 1e6
        notes = ""
        if span.get("parent_span_id") and span["parent_span_id"] not in span_ids:
            notes += f"  (orphan: parent {span['parent_span_id']} not in file)"
        if span.get("status") == "ERROR":
            notes += "  ERROR"
        print(f"{'  ' * depth}{span.get('service')}  {span['name']}  {duration:.1f} ms{notes}")
        for child in sorted(children[span["span_id"]], key=lambda s: s["start_ns"]):
            show(child, depth + 1)

    print(f"trace {trace_id}  ({len(spans)} spans)")
    for span in sorted(children[None], key=lambda s: s["start_ns"]):
        show(span, 1)


def _start(spans: list[Span]) -> int:
    return min(span["start_ns"] for span in spans)


def _end(spans: list[Span]) -> int:
    return max(span.get("end_ns") or span["start_ns"] for span in spans)


def _root(spans: list[Span]) -> Span:
    roots = [span for span in spans if not span.get("parent_span_id")] or spans
    return min(roots, key=lambda span: span["start_ns"])


if __name__ == "__main__":
    raise SystemExit(main())
