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
import contextlib
import io
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from demo_webhook_receiver import receiving
from httpx_sse import aconnect_sse

DEMO_PASSWORD = "demo"
COA_PREFIX = "V-DEMO-"  # every recognition the demo pushes: how it knows its own cases again in a later run
ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 90.0
T = TypeVar("T")


class StepFailed(Exception):
    """A step could not reach its end: what was expected, in words."""


def say(text: str = "") -> None:
    print(text, flush=True)


async def until(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = WAIT_S) -> T:
    """Ask again until `probe` answers something (events travel between services); StepFailed after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise StepFailed(f"no {what} after {timeout:.0f} s")
        await asyncio.sleep(0.3)


def ok(response: httpx.Response, *expected: int) -> Any:
    """The JSON of an answer with one of the `expected` statuses (201/200 by default)."""
    if response.status_code not in (expected or (200, 201)):
        raise StepFailed(f"{response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}: {response.text[:300]}")
    return response.json() if response.content else None


@dataclass
class Tour:
    api: httpx.AsyncClient
    run: str
    trace_file: Path
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    story: dict[str, Any] = field(default_factory=dict)

    def key(self) -> dict[str, str]:
        """An Idempotency-Key for one write: sent again, the write would be answered, not repeated."""
        return {"Idempotency-Key": str(uuid.uuid4())}

    async def post(self, who: str, path: str, body: Any, *expected: int) -> Any:
        return ok(await self.api.post(path, json=body, headers={**self.tokens[who], **self.key()}), *expected)

    async def get(self, who: str, path: str, *expected: int, **params: Any) -> Any:
        return ok(await self.api.get(path, headers=self.tokens[who], params=params), *expected)

    async def log_in(self) -> None:
        for user in ("tl-carla", "cm-anna", "cm-bram", "jh-eva", "pc-pieter", "hc-hana", "ops-dave"):
            self.tokens[user] = await self._token(grant_type="password", username=user, password=DEMO_PASSWORD)
        self.tokens["coa"] = await self._token(grant_type="client_credentials", client_id="coa",
                                               client_secret="coa-demo-secret")
        self.tokens["ngo"] = await self._token(grant_type="client_credentials", client_id="ngo-hvo-querido",
                                               client_secret="hvo-demo-secret")

    async def _token(self, **form: str) -> dict[str, str]:
        token = ok(await self.api.post("/oauth/token", data=form), 200)
        return {"Authorization": f"Bearer {token['access_token']}"}

    # 1 ---------------------------------------------------------------------------------------------------------
    async def case_manager_with_room(self) -> None:
        answer = await self.api.post("/api/v1/case-plan/case-managers", headers={**self.tokens["tl-carla"],
                                                                                  **self.key()},
                                     json={"subject": "cm-bram", "name": "Bram", "languages": ["fa", "ti", "nl"]})
        ok(answer, 201, 409)
        say(f"   Bram {'joins team west' if answer.status_code == 201 else 'is already on team west'}.")
        managers = await self.get("tl-carla", "/api/v1/case-plan/case-managers")
        for manager in managers:
            say(f"   {manager['name']:<12} {manager['active_cases']:>3} of at most {manager['capacity']} people")
        waiting = await self.get("tl-carla", "/api/v1/case-plan/waitlist")
        self.story["waiting"] = waiting
        # The waitlist goes in recognition-date order: a newcomer recognised before everyone waiting is first in line.
        recognised_on = date.today() - timedelta(days=30)
        if waiting:
            recognised_on = min(recognised_on, date.fromisoformat(min(w["recognised_on"] for w in waiting))
                                - timedelta(days=1))
        self.story["recognised_on"] = recognised_on
        say(f"   {len(waiting)} waiting for a case manager: the demo's newcomer, recognised on {recognised_on}, "
            "will be first in line." if waiting else "   Nobody waits for a case manager.")

    # 2 ---------------------------------------------------------------------------------------------------------
    async def recognition(self) -> None:
        number = f"{COA_PREFIX}{self.run}"
        recognition = {"coa_registration_number": number, "recognised_on": str(self.story["recognised_on"]),
                       "family_name": "Rahimi", "given_names": "Sara", "date_of_birth": "1991-04-02",
                       "gender": "female", "country_of_origin": "AF", "languages": ["fa"],
                       "reception_centre": "AZC Amsterdam"}
        first = await self.api.post("/api/v1/coa/status-recognitions", json=recognition,
                                    headers=self.tokens["coa"])
        accepted = ok(first, 202)
        self.story.update(number=number, trace_id=first.headers.get("x-trace-id"))
        again = ok(await self.api.post("/api/v1/coa/status-recognitions", json=recognition,
                                       headers=self.tokens["coa"]), 202)
        same = again["recognitions"][0]["event_id"] == accepted["recognitions"][0]["event_id"]
        say(f"   {number}: 202 Accepted, kept in the gateway's outbox; sent again: 202, same event "
            f"{'(so no second person)' if same else '(DIFFERENT)'}")
        if not same:
            raise StepFailed("a resend made a new event")

    # 3 ---------------------------------------------------------------------------------------------------------
    async def case_manager_assigned(self) -> None:
        status = await until(self._settled, "case for the demo's recognition")
        if status["status"] == "waitlisted":
            waiting = await self.get("tl-carla", "/api/v1/case-plan/waitlist")
            position = next((w["position"] for w in waiting if w["person_id"] == status.get("person_id")), "?")
            say(f"   waitlisted: every case manager is at capacity (50 at most); Sara is number {position} of "
                f"{len(waiting)} in line (recognised on {self.story['recognised_on']}).")
            await self._close_an_earlier_demo_case()
            status = await until(self._assigned, "case manager after room was made")
        self.story["person_id"] = person = status["person_id"]
        holder = None
        for user in ("cm-bram", "cm-anna"):
            answer = await self.api.get("/api/v1/case-plan/caseload", headers=self.tokens[user])
            if answer.status_code == 200 and any(c["person_id"] == person for c in answer.json()["cases"]):
                holder, caseload = user, answer.json()
        if holder is None:
            raise StepFailed("the case went to a case manager the demo cannot log in as (not cm-bram or cm-anna)")
        case = next(c for c in caseload["cases"] if c["person_id"] == person)
        self.story.update(holder=holder, case=case, holder_name=caseload["case_manager"]["name"])
        say(f"   COA sees {self.story['number']}: {status['status']}")
        say(f"   As {caseload['case_manager']['name']}, case manager: Sara Rahimi is in my caseload; I counsel "
            f"{caseload['case_manager']['active_cases']} of at most {caseload['case_manager']['capacity']}; "
            f"support until {case['support_until']}.")

    async def _status(self) -> dict:
        return (await self.api.get(f"/api/v1/coa/status-recognitions/{self.story['number']}",
                                   headers=self.tokens["coa"])).json()

    async def _settled(self) -> dict | None:
        status = await self._status()
        return status if status.get("status") in ("case_manager_assigned", "waitlisted") else None

    async def _assigned(self) -> dict | None:
        status = await self._status()
        return status if status.get("status") == "case_manager_assigned" else None

    async def _close_an_earlier_demo_case(self) -> None:
        """Close one case an earlier demo run opened (never anyone else's): the room it frees goes to the head of the
        waitlist, the demo's newcomer."""
        for user in ("cm-bram", "cm-anna"):
            answer = await self.api.get("/api/v1/case-plan/caseload", headers=self.tokens[user])
            if answer.status_code != 200:
                continue
            for case in answer.json()["cases"]:
                overview = await self.api.get(f"/api/v1/persons/{case['person_id']}/overview",
                                              headers=self.tokens[user])
                number = ((overview.json() if overview.status_code == 200 else {}).get("person") or {}).get(
                    "coa_registration_number", "")
                if number.startswith(COA_PREFIX) and number != self.story["number"]:
                    await self.post(user, f"/api/v1/case-plan/cases/{case['case_id']}/close",
                                    {"reason": "an earlier demo run's case, closed to make room"})
                    say(f"   {answer.json()['case_manager']['name']} closes {number}'s case (an earlier demo run): "
                        "the room it frees goes to the head of the waitlist.")
                    return
        raise StepFailed("every case manager is full and none holds an earlier demo run's case to close: "
                         "close a case or add a case manager, then run the demo again")

    # 4 ---------------------------------------------------------------------------------------------------------
    async def interview_and_action_plan(self) -> None:
        holder, person, case = self.story["holder"], self.story["person_id"], self.story["case"]
        interview = {"education_level": 6, "profession": "2221", "years_of_work_experience": 5, "dutch_level": "B1",
                     "domains_of_need": ["work", "language"]}

        async def recorded() -> dict | None:
            # Intake lets the holder in once case-plan's event has told it who holds the case.
            answer = await self.api.put(f"/api/v1/intake/persons/{person}/interview", json=interview,
                                        headers={**self.tokens[holder], **self.key()})
            if answer.status_code not in (200, 403, 404):
                ok(answer)
            return answer.json() if answer.status_code == 200 else None

        await until(recorded, "interview recorded by the case's holder")
        say(f"   As {self.story['holder_name']}: the intake interview: ISCED 6, nurse (ISCO 2221), 5 years, Dutch B1; "
            "needs: work, language.")
        target = str(date.today() + timedelta(days=180))
        plan = await self.post(holder, f"/api/v1/case-plan/cases/{case['case_id']}/action-plan", {"objectives": [
            {"domain": "work", "term": "short_term", "description": "work experience placement, 16 h/week",
             "target_date": target, "status": "active"},
            {"domain": "language", "term": "short_term", "description": "Dutch B2 course", "target_date": target,
             "status": "active"},
            {"domain": "education", "term": "long_term", "description": "nursing diploma recognised",
             "target_date": str(date.today() + timedelta(days=720)), "status": "planned"}]})
        for objective in plan["objectives"]:
            say(f"   [{objective['status']:>7}] {objective['domain']:<10} {objective['description']}")
        own = await self.api.post(
            f"/api/v1/case-plan/cases/{case['case_id']}/action-plan/versions/{plan['version']}/approve",
            headers={**self.tokens[holder], **self.key()})
        say(f"   approving my own plan: {own.status_code} (someone else must)")
        approved = await self.post(
            "tl-carla", f"/api/v1/case-plan/cases/{case['case_id']}/action-plan/versions/{plan['version']}/approve",
            None)
        say(f"   As Carla, team lead: version {plan['version']} approved by {approved.get('approved_by')}.")

    # 5 ---------------------------------------------------------------------------------------------------------
    async def job_hunter_and_match(self) -> None:
        person = self.story["person_id"]

        async def job_seeker() -> dict | None:
            answer = await self.api.get(f"/api/v1/employment/job-seekers/{person}", headers=self.tokens["tl-carla"])
            seeker = answer.json() if answer.status_code == 200 else {}
            return seeker if seeker.get("occupation") and seeker.get("case_open") else None

        seeker = await until(job_seeker, "job seeker in employment (from intake's and case-plan's events)")
        say(f"   As Carla: employment knows the job seeker by codes only: ISCED {seeker['education_level']}, "
            f"ISCO group {seeker['occupation']}, Dutch {seeker['dutch_level']} (no name, no birth date).")
        ok(await self.api.post("/api/v1/employment/job-hunters", json={"subject": "jh-eva", "name": "Eva"},
                               headers={**self.tokens["tl-carla"], **self.key()}), 201, 409)
        eva = next(h for h in await self.get("tl-carla", "/api/v1/employment/job-hunters") if h["subject"] == "jh-eva")
        ok(await self.api.put(f"/api/v1/employment/job-seekers/{person}/job-hunter",
                              json={"job_hunter_id": eva["job_hunter_id"]},
                              headers={**self.tokens["tl-carla"], **self.key()}), 200)
        say("   Carla gives the job seeker to Eva, job hunter.")
        employer = await self.post("jh-eva", "/api/v1/employment/employers",
                                   {"name": f"OLVG (demo {self.run})", "sector": "care"})
        common = {"employer_id": employer["employer_id"], "sector": "care", "location": "Amsterdam Oost",
                  "dutch_level": "B1", "hours_per_week": 32}
        quick = await self.post("jh-eva", "/api/v1/employment/vacancies", {
            **common, "title": f"care assistant, agency ({self.run})", "occupation": "5321", "education_level": 3,
            "contract_type": "temporary", "duration_months": 2, "starts_on": str(date.today())})
        lasting = await self.post("jh-eva", "/api/v1/employment/vacancies", {
            **common, "title": f"nurse ({self.run})", "occupation": "2221", "education_level": 6,
            "contract_type": "permanent", "starts_on": str(date.today() + timedelta(days=30))})
        ranked = await self.get("jh-eva", f"/api/v1/employment/job-seekers/{person}/matches")
        ours = {quick["vacancy_id"], lasting["vacancy_id"]}
        say("   As Eva: Sara's matches, best fit first (this run's two vacancies):")
        shown = [r for r in ranked if r["vacancy"]["vacancy_id"] in ours]
        for match in shown:
            score = match["score"]
            parts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in score.items() if k != "total")
            say(f"   #{match['rank']:<3} {match['vacancy']['title']:<34} {score['total']:>3}  ({parts})")
        if len(shown) != 2 or shown[0]["vacancy"]["vacancy_id"] != lasting["vacancy_id"]:
            raise StepFailed("the lasting, fitting vacancy did not rank above the quick one")
        self.story.update(employer=employer, vacancy=lasting)

    # 6 ---------------------------------------------------------------------------------------------------------
    async def placement_and_retention_checks(self) -> None:
        person, started_on = self.story["person_id"], date.today() - timedelta(days=200)
        placement = await self.post("jh-eva", f"/api/v1/employment/job-seekers/{person}/placements", {
            "employer_id": self.story["employer"]["employer_id"], "vacancy_id": self.story["vacancy"]["vacancy_id"],
            "contract_type": "permanent", "hours_per_week": 32, "sector": "care", "started_on": str(started_on)})
        say(f"   As Eva: Sara started as a nurse on {started_on} (permanent, 32 h/week); the retention checks it set:")
        checks = sorted(placement["retention_checks"], key=lambda c: c["months"])
        for check in checks:
            overdue = " (due: ask how it goes)" if date.fromisoformat(check["due_on"]) <= date.today() else ""
            say(f"   {check['months']:>2} months: due {check['due_on']}{overdue}")
        if [c["months"] for c in checks] != [6, 12, 24]:
            raise StepFailed(f"retention checks at {[c['months'] for c in checks]} months, not 6, 12 and 24")
        holder = self.story["holder"]

        async def employed() -> dict | None:
            answer = await self.api.get(f"/api/v1/persons/{person}/overview", headers=self.tokens[holder])
            case = (answer.json() if answer.status_code == 200 else {}).get("case") or {}
            return case if (case.get("employment") or {}).get("employed") else None

        case = await until(employed, "placement in the case (from employment's event)")
        say(f"   As {self.story['holder_name']}: the case is still {case['status']}, Sara employed since "
            f"{case['employment']['since']}, coaching continues: {case['employment']['coaching_continues']}.")

    # 7 ---------------------------------------------------------------------------------------------------------
    async def shelter_capacity_to_an_ngo(self) -> None:
        operator = f"Demo NGO {self.run}"  # a placement pool (operator x programme) of this run's own
        shelter = await self.post("pc-pieter", "/api/v1/shelter/shelters", {
            "name": f"Shelter Oost {self.run}", "neighbourhood": "Oost", "operator": operator, "capacity": 3})
        path = f"/api/v1/shelter/shelters/{shelter['shelter_id']}"
        await self.post("pc-pieter", f"{path}/consultation", {"held_on": str(date.today() - timedelta(days=14)),
                                                               "reference": f"neighbourhood evening {self.run}"})
        say(f"   As Pieter, LVV coordinator: {shelter['name']} (3 beds, run by {operator}) planned, the "
            "neighbourhood consulted.")
        async with receiving() as (receiver, url):
            hook = await self.post("ngo", "/api/v1/capacity/webhooks", {
                "url": url, "shelter_ids": [shelter["shelter_id"]], "description": f"make demo {self.run}"})
            receiver.secret = hook["secret"]
            say(f"   As HVO-Querido's system: a webhook to {url} (signing secret shown once) and an SSE stream, "
                "both for this shelter.")
            streamed: list[dict] = []
            snapshot = asyncio.Event()
            stream = asyncio.create_task(self._follow(shelter["shelter_id"], streamed, snapshot))
            try:
                await until(lambda: asyncio.sleep(0, snapshot.is_set() or stream.done()), "snapshot on the stream")
                if stream.done():
                    stream.result()  # the stream ended before its snapshot: say why
                await self.post("pc-pieter", f"{path}/status", {"status": "open"}, 200)
                resident = await self.post("pc-pieter", "/api/v1/shelter/residents", {
                    "pseudonym": f"K-{self.run}", "programme": "lvv", "operator": operator, "year_of_birth": 1987,
                    "languages": ["ar"], "vulnerability": "high"})
                placement = await self.post("pc-pieter", "/api/v1/shelter/placements",
                                            {"resident_id": resident["resident_id"]})
                if placement["status"] != "placed" or placement["shelter_id"] != shelter["shelter_id"]:
                    raise StepFailed(f"the resident was not placed in this run's shelter: {placement}")
                say(f"   As Pieter: {shelter['name']} opens; resident {resident['pseudonym']} (a pseudonym, no name) "
                    f"takes a bed from {placement['started_on']} until {placement['ends_on']} at the latest (LVV: 18 "
                    "months; a warning comes due 4 weeks before).")

                def opened_and_taken(changes: list[dict]) -> bool:
                    return any(c.get("status") == "open" and c.get("occupied") == 0 for c in changes) and \
                        any(c.get("occupied") == 1 for c in changes)

                try:
                    await receiver.wait_for(opened_and_taken, WAIT_S)
                except TimeoutError:
                    raise StepFailed(f"no verified webhook delivery of the opening and the placement after "
                                     f"{WAIT_S:.0f} s (received: {receiver.verified})") from None
                await until(lambda: asyncio.sleep(0, opened_and_taken(streamed)), "capacity change on the stream")
                attempts = await until(lambda: self._recorded(hook["endpoint_id"], len(receiver.verified)),
                                       "delivery attempts recorded by the hub")
            finally:
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stream
                ok(await self.api.delete(f"/api/v1/capacity/webhooks/{hook['endpoint_id']}",
                                         headers={**self.tokens["ngo"], **self.key()}), 200, 204)
        for source, changes in (("webhook (signature verified)", receiver.verified), ("SSE stream", streamed)):
            for change in changes:
                say(f"   {source:<28} {change['status']:<7} {change['available']} free of {change['capacity']} "
                    f"(change {change['sequence']})")
        if receiver.refused:
            raise StepFailed(f"{receiver.refused} deliveries failed their signature check")
        latencies = ", ".join(f"{a['status_code']} in {a['latency_ms']} ms" for a in reversed(attempts))
        say(f"   As HVO-Querido: the hub's record of its attempts: {latencies}; then the webhook is deleted.")

    async def _recorded(self, endpoint_id: str, delivered: int) -> list[dict] | None:
        """The endpoint's attempts once the hub has recorded every delivery the receiver took (deleting it before
        would leave the hub attempts to record for an endpoint that is gone)."""
        attempts = await self.get("ngo", f"/api/v1/capacity/webhooks/{endpoint_id}/attempts")
        return attempts if sum(a["delivered"] for a in attempts) >= delivered else None

    async def _follow(self, shelter_id: str, streamed: list[dict], snapshot: asyncio.Event) -> None:
        async with aconnect_sse(self.api, "GET", "/api/v1/capacity/stream", headers=self.tokens["ngo"],
                                params={"shelter_id": shelter_id}, timeout=None) as source:
            async for event in source.aiter_sse():
                snapshot.set()
                if event.event == "capacity":
                    streamed.append(json.loads(event.data))

    # 8 ---------------------------------------------------------------------------------------------------------
    async def anonymous_report(self) -> None:
        report = {"role": "witness", "category": "labour_exploitation", "district": "zuidoost",
                  "occurred_on": str(date.today() - timedelta(days=3)), "answer_language": "en",
                  "description": f"Demo {self.run.lower()}: workers locked in at night at a car wash"}
        refused = await self.api.post("/api/v1/safe-reporting/reports", json={**report, "residence_status": "none"})
        say(f"   As a witness, without an account: a report that names a residence status is refused "
            f"({refused.status_code}: nothing stored).")
        if refused.status_code != 422:
            raise StepFailed(f"a report with a residence status answered {refused.status_code}")
        receipt = ok(await self.api.post("/api/v1/safe-reporting/reports", json=report), 201)
        say(f"   Sent without it: 201, receipt {receipt['receipt']} ({receipt['receipt_entropy_bits']:.1f} bits, "
            "shown once).")
        reports = await self.get("hc-hana", "/api/v1/safe-reporting/reports", limit=20, state="new")
        for summary in reports:
            opened = await self.get("hc-hana", f"/api/v1/safe-reporting/reports/{summary['id']}")
            if opened["description"].startswith(f"Demo {self.run.lower()}"):
                break
        else:
            raise StepFailed("the hub did not find the report among the 20 newest")
        await self.post("hc-hana", f"/api/v1/safe-reporting/reports/{opened['id']}/messages",
                        {"text": "Thank you. We can talk in person or refer you to victim support, if you want."})
        say("   As Hana, hub counsellor: I open the report (the read is audited) and answer.")
        follow = ok(await self.api.post("/api/v1/safe-reporting/reports/follow-up",
                                        json={"receipt": receipt["receipt"]}), 200)
        say(f"   As the witness, with the receipt alone: state {follow['state']}; the hub wrote: "
            f"\"{follow['messages'][-1]['text']}\"")

    # 9 ---------------------------------------------------------------------------------------------------------
    async def statistics(self) -> None:
        report = await self.get("tl-carla", "/api/v1/employment/reports/participation")

        def figures(f: dict) -> str:
            if f["suppressed"]:
                return "suppressed (fewer than 5 people)"
            return f"{f['people']} people, {f['working']} working, {f['sustainable']} in sustainable work"

        say(f"   As Carla: participation on {report['as_of']}: {figures(report['overall'])}")
        for cohort in report["by_cohort"][-3:]:
            say(f"     cohort {cohort['cohort']}: {figures(cohort)}")
        weeks = await self.get("tl-carla", "/api/v1/safe-reporting/statistics", weeks=2)
        if not weeks:
            say("   Safe reporting: no week published yet (anonymous counts leave every few minutes).")
        for week in weeks:
            say(f"   Safe reporting, week {week['iso_week']}: {week['total'] if week['total'] is not None else '<5'} "
                f"reports; cells under {week['threshold']} suppressed.")

    # 10 --------------------------------------------------------------------------------------------------------
    async def trace(self) -> None:
        trace_id = self.story["trace_id"]
        say(f"   As Dave, ops: the COA push's trace {trace_id}")
        if not self.trace_file.is_file():
            say(f"   (no trace file at {self.trace_file}: paste the id into your tracing UI, e.g. Jaeger)")
            return
        from verbinding_devstack.traces import print_tree, read_traces

        def whole() -> list[dict] | None:
            spans = read_traces(self.trace_file).get(trace_id, [])
            services = {span.get("service") for span in spans}
            return spans if {"gateway", "intake", "case-plan"} <= services else None

        spans = await until(lambda: asyncio.to_thread(whole), "spans of gateway, intake and case-plan in the trace")
        tree = io.StringIO()
        with contextlib.redirect_stdout(tree):
            print_tree(trace_id, spans)
        for line in tree.getvalue().splitlines():
            say(f"   {line}")
        say(f"   (again: make traces TRACE={trace_id})")


STEPS: list[tuple[str, str, Callable[[Tour], Awaitable[None]]]] = [
    ("Carla, team lead: who has room",
     "a case manager counsels at most 50 people; when nobody has room a case waits, in recognition-date order.",
     Tour.case_manager_with_room),
    ("the COA: a status recognition",
     "each recognition is taken in exactly once per COA number: sending it again changes nothing.",
     Tour.recognition),
    ("the COA, then the case manager: a case",
     "every person gets a case, with a case manager who has room (never more than 50).",
     Tour.case_manager_assigned),
    ("the case manager: interview and action plan",
     "a plan runs objectives in several domains at once; every revision is a version; someone else approves it.",
     Tour.interview_and_action_plan),
    ("Carla and Eva, job hunter: the job hunt",
     "vacancies are ranked by fit for lasting work, never by speed, with the score of each part.",
     Tour.job_hunter_and_match),
    ("Eva: a placement",
     "retention is checked 6, 12 and 24 months after the start; work does not close the case.",
     Tour.placement_and_retention_checks),
    ("an NGO's system and Pieter, coordinator: shelter capacity",
     "every capacity change reaches subscribers (signed webhooks, SSE); an LVV stay is at most 18 months.",
     Tour.shelter_capacity_to_an_ngo),
    ("a witness and Hana, hub counsellor: a safe report",
     "Free in, Free out: no account, no immigration status, no network identifier; the receipt is the only key.",
     Tour.anonymous_report),
    ("Carla: the figures",
     "statistics leave as counts only, and cells under 5 are suppressed.",
     Tour.statistics),
    ("Dave, ops: one journey's trace",
     "one trace follows a request through every service and every Kafka hop.",
     Tour.trace),
]


async def main(gateway_url: str, trace_file: Path) -> int:
    run = uuid.uuid4().hex[:6].upper()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, trust_env=False) as api:
        try:
            await api.get("/healthz")
        except httpx.TransportError:
            say(f"No gateway answers at {gateway_url}. Start the stack first: `make run` (in another terminal).")
            return 1
        tour = Tour(api=api, run=run, trace_file=trace_file)
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
