"""The newcomer's steps of `make demo`: from the COA's recognition to a case manager and an action plan, a job hunter,
a match and lasting work with its retention checks."""

from __future__ import annotations

from datetime import date, timedelta

from demo_support import StepFailed, Tour, ok, say, until

COA_PREFIX = "V-DEMO-"  # every recognition the demo pushes: how it knows its own cases again in a later run


class NewcomerSteps(Tour):
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
