"""Who may see whom, through the gateway with the real intake and case-plan: every person, case and plan route
against every kind of caller; the audit where the record lives; one audience per service; four eyes on approval,
none on a closed case.

Intake and case-plan run in-process with their relays and consumers and serve HTTP on real ports; their databases,
the gateway's and a broker of this module's own are real. The person's case reaches its holder the way it does in
production: COA push → intake → case-plan assigns → intake learns the holder from case-plan's events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from case_plan import main as case_plan_main
from case_plan.audit.models import AccessAuditTable as CasePlanAudit
from case_plan.settings import CasePlanSettings
from fastapi import FastAPI
from gateway.main import create_app
from gateway_support import ALEMBIC_INI, bearer, gateway_settings, serving
from intake import main as intake_main
from intake.audit.models import AccessAuditTable as IntakeAudit
from intake.settings import IntakeSettings
from sqlalchemy import Table, select

from verbinding_common.auth import Identity, IdentitySigner, Role
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.db import create_engine
from verbinding_devstack.infra.broker import EmbeddedBroker
from verbinding_devstack.infra.ports import free_port
from verbinding_testing.fixtures import create_migrated_database, drop_database, eventually, running_app

pytestmark = [pytest.mark.timeout(240)]

SERVICES = Path(__file__).resolve().parents[2]
API = "/api/v1"
# Where the gateway publishes each service's routes; the paths below are the services' own (the overview and the
# COA routes are the gateway's).
PREFIXES = {"/cases": "/case-plan", "/case-managers": "/case-plan", "/persons/{person}/interview": "/intake"}


def public(path: str) -> str:
    """The gateway's path for a route of the matrix."""
    return API + next((prefix for start, prefix in PREFIXES.items() if path.startswith(start)), "") + path

# Every kind of caller: (role, subject, team); None is a request without a token.
CALLERS: dict[str, tuple[Role, str, str | None] | None] = {
    "holder": (Role.case_manager, "cm-anna", "west"),
    "other_manager": (Role.case_manager, "cm-bram", "west"),
    "other_teams_lead": (Role.team_lead, "tl-dirk", "oost"),
    "own_team_lead": (Role.team_lead, "tl-carla", "west"),
    "coa": (Role.coa_integration, "coa", None),
    "ops": (Role.ops, "ops-dave", None),
    "job_hunter": (Role.job_hunter, "jh-eva", "west"),
    "no_token": None,
}
# The expected answer per caller. 404 for "not yours", exactly as for "does not exist".
READ = {"holder": 200, "other_manager": 404, "other_teams_lead": 404, "own_team_lead": 200, "coa": 403,
        "ops": 403, "job_hunter": 403, "no_token": 401}
HOLDER_WRITES = {**READ, "other_teams_lead": 403, "own_team_lead": 403}

INTERVIEW = {"education_level": 3, "years_of_work_experience": 2, "dutch_level": "A1",
             "other_languages": [], "domains_of_need": ["work", "language"], "consent_partners": []}
OBJECTIVES = {"objectives": [{"domain": "language", "term": "short_term", "description": "Dutch A2 course",
                              "target_date": "2026-06-01", "status": "active"}]}

# In order: the interview is recorded before it is read. Nothing here changes who may do what.
MATRIX: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("GET", "/persons/{person}/overview", None, READ),
    ("PUT", "/persons/{person}/interview", INTERVIEW, HOLDER_WRITES),
    ("GET", "/persons/{person}/interview", None, READ),
    ("GET", "/cases/{case}", None, READ),
    ("GET", "/cases/{case}/action-plan", None, READ),
    ("GET", "/cases/{case}/action-plan/versions", None, READ),
    ("GET", "/cases/{case}/action-plan/versions/1", None, READ),
    ("POST", "/cases/{case}/action-plan", OBJECTIVES, {**HOLDER_WRITES, "holder": 201}),
]


@dataclass
class Stack:
    gateway: FastAPI
    client: httpx.AsyncClient
    case_plan_url: str
    databases: dict[str, str]
    person_id: str
    case_id: str
    signer: IdentitySigner

    def headers(self, caller: str) -> dict[str, str]:
        who = CALLERS[caller]
        if who is None:
            return {}
        role, subject, team = who
        return bearer(self.gateway, role, subject=subject, team=team,
                      kind="client" if role == Role.coa_integration else "user")

    async def call(self, caller: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        url = public(path).format(person=self.person_id, case=self.case_id)
        return await self.client.request(method, url, json=body, headers=self.headers(caller))

    async def audit(self, service: str, table: Table, record_id: str) -> set[tuple[str, str]]:
        engine = create_engine(self.databases[service])
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(table.c.subject, table.c.outcome)
                                          .where(table.c.record_id == uuid.UUID(record_id)))
                return {(row.subject, row.outcome) for row in rows}
        finally:
            await engine.dispose()


def _service_settings(cls: type, *, database_url: str, broker: EmbeddedBroker, public_key: str) -> Any:
    return cls(environment="test", database_url=database_url, kafka_bootstrap_servers=broker.bootstrap_servers,
               identity_public_key=public_key, kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000,
               kafka_request_timeout_ms=5_000, relay_poll_interval_s=0.05, consumer_retry_backoff_s=0.05,
               shutdown_drain_s=0.0)


@pytest.fixture(scope="module")
async def stack(postgres_server_url: str, identity_keys: tuple[str, str],
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("matrix") / "broker.log")
    broker.start()
    names = {service: f"t_{service}_{uuid.uuid4().hex[:8]}" for service in ("gateway", "intake", "case_plan")}
    inis = {"gateway": ALEMBIC_INI, "intake": SERVICES / "intake" / "alembic.ini",
            "case_plan": SERVICES / "case-plan" / "alembic.ini"}
    databases = {service: await create_migrated_database(postgres_server_url, name, inis[service])
                 for service, name in names.items()}
    try:
        intake = intake_main.create_app(_service_settings(IntakeSettings, database_url=databases["intake"],
                                                          broker=broker, public_key=identity_keys[1]))
        case_plan = case_plan_main.create_app(_service_settings(CasePlanSettings, database_url=databases["case_plan"],
                                                                broker=broker, public_key=identity_keys[1]))
        async with running_app(intake), serving(intake) as intake_url, running_app(case_plan), \
                serving(case_plan) as case_plan_url:
            gateway = create_app(gateway_settings(
                database_url=databases["gateway"], bootstrap_servers=broker.bootstrap_servers,
                private_identity_pem=identity_keys[0], intake_url=intake_url, case_plan_url=case_plan_url,
                coa_topic=StatusRecognised.topic))
            async with running_app(gateway) as client:
                stack = Stack(gateway, client, case_plan_url, databases, "", "", IdentitySigner(identity_keys[0]))
                await _a_person_whose_case_anna_holds(stack)
                yield stack
    finally:
        broker.stop()
        for name in names.values():
            await drop_database(postgres_server_url, name)


async def _a_person_whose_case_anna_holds(stack: Stack) -> None:
    """Team west (Carla) has Anna, who shares the newcomer's language; Bram joins after the case is Anna's."""
    added = await stack.call("own_team_lead", "POST", "/case-managers",
                             {"subject": "cm-anna", "name": "Anna", "languages": ["ar"]})
    assert added.status_code == 201, added.text
    number = f"V-{uuid.uuid4().hex[:10].upper()}"
    pushed = await stack.call("coa", "POST", "/coa/status-recognitions", {
        "coa_registration_number": number, "recognised_on": "2025-03-01", "family_name": "Haddad",
        "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female", "country_of_origin": "SY",
        "languages": ["ar"], "reception_centre": "AZC Amsterdam-Zuid"})
    assert pushed.status_code == 202, pushed.text

    async def assigned() -> dict | None:
        status = (await stack.call("coa", "GET", f"/coa/status-recognitions/{number}")).json()
        return status if status.get("status") == "case_manager_assigned" else None

    status = await eventually(assigned, timeout=60, what="the case to be assigned")
    stack.person_id, stack.case_id = status["person_id"], status["case"]["case_id"]
    added = await stack.call("own_team_lead", "POST", "/case-managers",
                             {"subject": "cm-bram", "name": "Bram", "languages": ["fa"]})
    assert added.status_code == 201, added.text

    async def intake_knows_the_holder() -> bool:
        return (await stack.call("holder", "GET", "/persons/{person}/overview")).status_code == 200

    await eventually(intake_knows_the_holder, timeout=60, what="intake to learn who holds the case")
    assert (await stack.call("holder", "POST", "/cases/{case}/action-plan", OBJECTIVES)).status_code == 201


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX,
                         ids=[f"{method} {path}" for method, path, _, _ in MATRIX])
async def test_each_caller_gets_what_the_relationship_allows_and_not_yours_answers_as_does_not_exist(
        stack: Stack, method: str, path: str, body: dict[str, Any] | None, expected: dict[str, int]) -> None:
    answers = {caller: await stack.call(caller, method, path, body) for caller in CALLERS}
    assert {caller: answer.status_code for caller, answer in answers.items()} == expected
    unknown = public(path).format(person=uuid.uuid4(), case=uuid.uuid4())
    missing = await stack.client.request(method, unknown, json=body, headers=stack.headers("other_manager"))
    assert (missing.status_code, missing.json()) == (404, answers["other_manager"].json())


async def test_reads_and_refused_attempts_are_audited_where_the_record_lives(stack: Stack) -> None:
    for caller in ("holder", "other_manager", "own_team_lead", "other_teams_lead"):
        await stack.call(caller, "GET", "/persons/{person}/overview")
    expected = {("cm-anna", "allowed"), ("tl-carla", "allowed"), ("cm-bram", "refused"), ("tl-dirk", "refused")}
    # The overview asks intake and case-plan in parallel: each audits the attempt on the record it holds.
    assert await stack.audit("intake", IntakeAudit, stack.person_id) >= expected
    assert await stack.audit("case_plan", CasePlanAudit, stack.case_id) >= expected


async def test_an_identity_vouched_for_intake_is_refused_by_case_plan_with_a_generic_body(stack: Stack) -> None:
    anna = Identity(subject="cm-anna", kind="user", roles=[Role.case_manager], team="west")
    async with httpx.AsyncClient(base_url=stack.case_plan_url) as client:
        for_intake = await client.get(f"/cases/{stack.case_id}", headers=stack.signer.headers(anna, audience="intake"))
        for_case_plan = await client.get(f"/cases/{stack.case_id}",
                                         headers=stack.signer.headers(anna, audience="case-plan"))
    assert (for_intake.status_code, for_intake.json()) == (401, {"detail": "not authenticated"})
    assert for_case_plan.status_code == 200


async def test_the_author_may_not_approve_their_plan_and_a_closed_cases_plan_is_not_approved(stack: Stack) -> None:
    latest = (await stack.call("holder", "GET", "/cases/{case}/action-plan")).json()["version"]
    approve = f"/cases/{{case}}/action-plan/versions/{latest}/approve"
    assert (await stack.call("other_manager", "POST", approve)).status_code == 404
    assert (await stack.call("other_teams_lead", "POST", approve)).status_code == 404
    own = await stack.call("holder", "POST", approve)
    assert own.status_code == 403 and "author" in own.json()["detail"]
    approved = await stack.call("own_team_lead", "POST", approve)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "tl-carla"

    assert (await stack.call("holder", "POST", "/cases/{case}/action-plan", OBJECTIVES)).status_code == 201
    close = ("POST", "/cases/{case}/close", {"reason": "moved to another municipality"})
    assert (await stack.call("other_teams_lead", *close)).status_code == 404
    assert (await stack.call("other_manager", *close)).status_code == 404
    assert (await stack.call("own_team_lead", *close)).status_code == 200
    refused = await stack.call("own_team_lead", "POST", f"/cases/{{case}}/action-plan/versions/{latest + 1}/approve")
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]

    async def anna_no_longer_reaches_the_person() -> bool:
        return (await stack.call("holder", "GET", "/persons/{person}/overview")).status_code == 404

    await eventually(anna_no_longer_reaches_the_person, timeout=60, what="intake to learn the case closed")
    assert (await stack.call("own_team_lead", "GET", "/persons/{person}/overview")).status_code == 200
