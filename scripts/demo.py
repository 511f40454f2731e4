"""A guided tour of a running stack (`make run` in another terminal), through the gateway's public routes only: a
newcomer from the COA's recognition to a case manager, an action plan, a job hunter and lasting work; an NGO taking
shelter capacity in by webhook and server-sent events; an anonymous report followed up by its receipt; the figures a
team lead sees; the trace of one journey. Every step is printed as the person who does it sees it, with the rule it
shows. It makes the room it needs on a used stack (its own COA numbers, shelter operator and employer, unique per
run; an earlier demo run's case closed when every case manager is full) and can be run again and again; it exits
non-zero when a step fails."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from demo_city import CitySteps
from demo_newcomer import NewcomerSteps
from demo_support import StepFailed, say

ROOT = Path(__file__).resolve().parents[1]


class Demo(NewcomerSteps, CitySteps):
    """The whole tour: the newcomer's steps and the city's."""


STEPS: list[tuple[str, str, Callable[[Demo], Awaitable[None]]]] = [
    ("Carla, team lead: who has room",
     "a case manager counsels at most 50 people; when nobody has room a case waits, in recognition-date order.",
     Demo.case_manager_with_room),
    ("the COA: a status recognition",
     "each recognition is taken in exactly once per COA number: sending it again changes nothing.",
     Demo.recognition),
    ("the COA, then the case manager: a case",
     "every person gets a case, with a case manager who has room (never more than 50).",
     Demo.case_manager_assigned),
    ("the case manager: interview and action plan",
     "a plan runs objectives in several domains at once; every revision is a version; someone else approves it.",
     Demo.interview_and_action_plan),
    ("Carla and Eva, job hunter: the job hunt",
     "vacancies are ranked by fit for lasting work, never by speed, with the score of each part.",
     Demo.job_hunter_and_match),
    ("Eva: a placement",
     "retention is checked 6, 12 and 24 months after the start; work does not close the case.",
     Demo.placement_and_retention_checks),
    ("an NGO's system and Pieter, coordinator: shelter capacity",
     "every capacity change reaches subscribers (signed webhooks, SSE); an LVV stay is at most 18 months.",
     Demo.shelter_capacity_to_an_ngo),
    ("a witness and Hana, hub counsellor: a safe report",
     "Free in, Free out: no account, no immigration status, no network identifier; the receipt is the only key.",
     Demo.anonymous_report),
    ("Carla: the figures",
     "statistics leave as counts only, and cells under 5 are suppressed.",
     Demo.statistics),
    ("Dave, ops: one journey's trace",
     "one trace follows a request through every service and every Kafka hop.",
     Demo.trace),
]


async def main(gateway_url: str, trace_file: Path) -> int:
    run = uuid.uuid4().hex[:6].upper()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, trust_env=False) as api:
        try:
            await api.get("/healthz")
        except httpx.TransportError:
            say(f"No gateway answers at {gateway_url}. Start the stack first: `make run` (in another terminal).")
            return 1
        tour = Demo(api=api, run=run, trace_file=trace_file)
        say(f"make demo, run {run}, against {gateway_url}")
        try:
            await tour.log_in()
        except (StepFailed, httpx.HTTPError) as error:
            say(f"Logging in failed: {error} (the demo users exist only in a development stack).")
            return 1
        for number, (who, rule, step) in enumerate(STEPS, start=1):
            say(f"\n{number}. As {who}.")
            say(f"   Rule: {rule}")
            started = time.monotonic()
            try:
                await step(tour)
            except Exception as error:  # any failure ends the tour with its step named
                say(f"   STEP {number} FAILED: {type(error).__name__}: {error}")
                return 1
            say(f"   step {number} done ({time.monotonic() - started:.1f} s).")
    say(f"\nAll {len(STEPS)} steps reached their end (run {run}).")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--trace-file", type=Path, default=ROOT / ".data" / "traces.jsonl",
                        help="the embedded stack's trace file (default: .data/traces.jsonl)")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.gateway, options.trace_file)))
