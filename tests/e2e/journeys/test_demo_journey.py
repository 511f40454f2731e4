"""`make demo` against the shared stack, twice in a row, as a new user runs it: every step reaches its end both times.
The demo keeps to its own COA numbers (`V-DEMO-<run>`), shelter operator and employer per run."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from verbinding_testing.stack import RunningStack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
DEMO = Path(__file__).resolve().parents[3] / "scripts" / "demo.py"
STEPS = 10


async def run_demo(stack: RunningStack) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(DEMO), "--gateway", stack.url("gateway"),
        "--trace-file", str(stack.data_dir / "traces.jsonl"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 280)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, output.decode(errors="replace")


async def test_the_demo_tells_the_whole_story_twice_on_one_stack(stack: RunningStack) -> None:
    for attempt in ("first", "second"):
        code, output = await run_demo(stack)
        print(output)  # each step's time, for `pytest -s`
        done = [int(n) for n in re.findall(r"^   step (\d+) done \([\d.]+ s\)\.$", output, re.MULTILINE)]
        assert (code, done) == (0, list(range(1, STEPS + 1))), f"{attempt} run:\n{output}"
        assert f"All {STEPS} steps reached their end" in output, output
        # What a reader is shown: the rules and the outcomes, not only that nothing failed.
        for seen in ("Rule: a case manager counsels at most 50 people", "approved by tl-carla",
                     "12 months: due", "webhook (signature verified)", "SSE stream", "Free in, Free out",
                     "the hub wrote:", "case-plan  intake.persons.v1 process"):
            assert seen in output, f"{attempt} run shows no {seen!r}:\n{output}"
    assert "Bram is already on team west" in output, "the second run finds the room the first one made"
