"""A guided tour of a running stack (`make run` in another terminal): the COA pushes recognitions, case managers
get their caseload and write an action plan, and one recognition's journey is left as a trace to read."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import date, timedelta

import httpx

DEMO_PASSWORD = "demo"


def say(text: str = "") -> None:
    print(text, flush=True)


async def token(client: httpx.AsyncClient, **form: str) -> dict[str, str]:
    response = await client.post("/oauth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def recognitions(run: str) -> list[dict]:
    people = [("Haddad", "Lina", "female", "SY", ["ar", "en"]), ("Tesfaye", "Dawit", "male", "ER", ["ti", "en"]),
              ("Rahimi", "Sara", "female", "AF", ["fa"]), ("Osman", "Ahmed", "male", "SO", ["so", "ar"])]
    items = []
    for n, (family, given, gender, country, languages) in enumerate(people):
        recognised_on = str(date.today() - timedelta(days=9 - n))
        items.append({"coa_registration_number": f"V-{run}-{n}", "recognised_on": recognised_on,
                      "family_name": family, "given_names": given, "date_of_birth": "1991-04-02", "gender": gender,
                      "country_of_origin": country, "languages": languages, "reception_centre": "AZC Amsterdam"})
    items.append({**items[0], "coa_registration_number": f"V-{run}-P", "given_names": "Omar", "gender": "male",
                  "family_reunification_with": items[0]["coa_registration_number"]})
    return items


async def main(gateway_url: str) -> int:
    run = uuid.uuid4().hex[:6].upper()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=20, trust_env=False) as client:
        try:
            await client.get("/healthz")
        except httpx.TransportError:
            say(f"No gateway answers at {gateway_url}. Start the stack first: `make run` (in another terminal).")
            return 1
        coa = await token(client, grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
        lead = await token(client, grant_type="password", username="tl-carla", password=DEMO_PASSWORD)
        anna = await token(client, grant_type="password", username="cm-anna", password=DEMO_PASSWORD)

        say("1. As team lead Carla: make sure case managers Anna and Bram exist (50 places each).")
        for subject, name, languages in (("cm-anna", "Anna", ["ar", "en"]), ("cm-bram", "Bram", ["fa", "ti"])):
            response = await client.post("/api/v1/case-plan/case-managers", headers=lead,
                                         json={"subject": subject, "name": name, "languages": languages})
            say(f"   {name}: {'joined' if response.status_code == 201 else 'already here'}")

        batch = recognitions(run)
        say(f"\n2. As the COA: push {len(batch)} status recognitions (the last one a partner by family reunification).")
        response = await client.post("/api/v1/coa/status-recognitions", headers=coa, json={"recognitions": batch})
        response.raise_for_status()
        trace_id = response.headers["x-trace-id"]
        say(f"   202 Accepted: {response.json()['accepted']} recognitions, kept in the gateway's outbox")
        say("   sending the first one again (at-least-once delivery is harmless):",)
        again = await client.post("/api/v1/coa/status-recognitions", headers=coa, json=batch[0])
        say(f"   {again.status_code}, same event id: "
            f"{again.json()['recognitions'][0]['event_id'] == response.json()['recognitions'][0]['event_id']}")

        say("\n3. Where each recognition stands (as the COA sees it):")
        deadline = time.monotonic() + 60
        statuses: dict[str, dict] = {}
        while time.monotonic() < deadline:
            for item in batch:
                number = item["coa_registration_number"]
                statuses[number] = (await client.get(f"/api/v1/coa/status-recognitions/{number}", headers=coa)).json()
            if all(s.get("status") in ("case_manager_assigned", "waitlisted") for s in statuses.values()):
                break
            await asyncio.sleep(0.5)
        for number, status in statuses.items():
            say(f"   {number}: {status.get('status')}")

        say("\n4. As case manager Anna: my caseload.")
        caseload = (await client.get("/api/v1/case-plan/caseload", headers=anna)).json()
        mine = {str(s.get("person_id")) for s in statuses.values()}
        cases = [c for c in caseload.get("cases", []) if str(c["person_id"]) in mine]
        say(f"   Anna counsels {caseload['case_manager']['active_cases']} of at most "
            f"{caseload['case_manager']['capacity']} people; from this demo: {len(cases)}")
        if cases:
            case = cases[0]
            # Intake learns that Anna holds the case from case-plan's events: a moment after case-plan knows it.
            overview: dict = {}
            while time.monotonic() < deadline + 30 and "person" not in overview:
                overview = (await client.get(f"/api/v1/persons/{case['person_id']}/overview", headers=anna)).json()
                await asyncio.sleep(0.0 if "person" in overview else 0.5)
            person = overview["person"]
            say(f"   {person['given_names']} {person['family_name']}, in intake at {person['reception_centre']}, "
                f"support until {case['support_until']}")
            say("\n5. Anna writes an action plan with a dual trajectory (work experience and Dutch at once); "
                "Carla, her team lead, approves it (nobody approves their own plan).")
            target = str(date.today() + timedelta(days=180))
            plan = await client.post(f"/api/v1/case-plan/cases/{case['case_id']}/action-plan", headers=anna,
                                     json={"objectives": [
                {"domain": "work", "term": "short_term", "description": "work experience placement, 16 h/week",
                 "target_date": target, "status": "active"},
                {"domain": "language", "term": "short_term", "description": "Dutch A2 course", "target_date": target,
                 "status": "active"},
                {"domain": "education", "term": "long_term", "description": "diploma recognition",
                 "target_date": str(date.today() + timedelta(days=720)), "status": "planned"}]})
            plan.raise_for_status()
            version = plan.json()["version"]
            approved = await client.post(
                f"/api/v1/case-plan/cases/{case['case_id']}/action-plan/versions/{version}/approve",
                                         headers=lead)
            for objective in plan.json()["objectives"]:
                say(f"   [{objective['status']:>7}] {objective['domain']:<10} {objective['description']}")
            say(f"   version {version}, approved by {approved.json().get('approved_by')}")

        say(f"\n6. The push's trace id: {trace_id}")
        say(f"   Read its journey (gateway -> Kafka -> intake -> Kafka -> case-plan): make traces TRACE={trace_id}")
        say("   (spans reach the trace file within about 5 seconds)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    sys.exit(asyncio.run(main(parser.parse_args().gateway)))
