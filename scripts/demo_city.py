"""The city's other steps of `make demo`: shelter capacity reaching an NGO's webhook and stream, an anonymous report
followed up by its receipt, the figures a team lead sees, one journey's trace."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from datetime import date, timedelta

from demo_support import WAIT_S, StepFailed, Tour, ok, say, until
from demo_webhook_receiver import receiving
from httpx_sse import aconnect_sse


class CitySteps(Tour):
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
        # The gateway checks the caller and hands the stream off to the capacity hub (307 with a ticket): follow it.
        async with aconnect_sse(self.api, "GET", "/api/v1/capacity/stream", headers=self.tokens["ngo"],
                                params={"shelter_id": shelter_id}, timeout=None, follow_redirects=True) as source:
            async for event in source.aiter_sse():
                snapshot.set()
                if event.event == "capacity":
                    streamed.append(json.loads(event.data))

    # 8 ---------------------------------------------------------------------------------------------------------
    async def find_report(self, report: dict) -> dict:
        for offset in range(0, 10_000, 100):
            page = await self.get("hc-hana", "/api/v1/safe-reporting/reports", limit=100, offset=offset, state="new")
            for summary in page:
                if (summary["category"], summary["district"]) != (report["category"], report["district"]):
                    continue
                opened = await self.get("hc-hana", f"/api/v1/safe-reporting/reports/{summary['id']}")
                if opened["description"] == report["description"]:
                    return opened
            if len(page) < 100:
                break
        raise StepFailed("the hub did not find the report among the new ones")

    async def anonymous_report(self) -> None:
        report = {"role": "witness", "category": "labour_exploitation", "district": "weesp",
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
        # Reports are kept by the day only (nothing finer to join with a proxy log), so "newest" has no order within a
        # day: Hana reads the new reports' metadata and opens only those that could be this one (each read is audited).
        opened = await self.find_report(report)
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
        say(f"   The COA push's trace {trace_id}")
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
