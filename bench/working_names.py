"""Working names: a job hunter's page of 50 job seekers named by intake, on a PostgreSQL migrated with intake's own
migrations and 5,000 persons, 50 of them served by the caller.

Each run is one `GET /working-names` for the page through intake's app in this process (identity check, the one
lookup statement, the audit rows in the read's transaction), measured as wall time and as this process's CPU time
per request (steadier than wall time on a loaded machine); then a page of 50 persons served by someone else, all
refused and audited in one transaction of their own. No target: figures beside the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from intake.holders.service import apply_job_hunters
from intake.persons.service import register_recognised_persons
from intake.settings import IntakeSettings

from bench.backbone import machine_facts, percentile
from verbinding_common.auth import Identity, IdentitySigner, Role, generate_signing_key
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.employment import JobHunterAssigned
from verbinding_devstack.infra.ports import free_port
from verbinding_devstack.infra.postgres import EmbeddedPostgres
from verbinding_testing.fixtures import create_database, migrate_database

NAME = "working_names"
ALEMBIC_INI = Path(__file__).resolve().parents[1] / "services" / "intake" / "alembic.ini"
PERSONS, PAGE, RUNS, WARMUP = 5_000, 50, 200, 20


def recognition(n: int) -> StatusRecognised:
    return StatusRecognised(coa_registration_number=f"V-BENCH-WN-{n:05d}", recognised_on="2025-01-06",
                            family_name=f"Family{n}", given_names=f"Given{n} Second", date_of_birth="1990-05-17",
                            gender="female", country_of_origin="SY", languages=["ar"], reception_centre="AZC Bench")


async def _measure(server_url: str) -> dict[str, Any]:
    # Imported here: intake.main builds its app from the environment at import, which verbinding_testing's fixtures
    # (imported above) default to the test environment.
    from intake.main import create_app

    database_url = await create_database(server_url, "intake_bench")
    await migrate_database(database_url, ALEMBIC_INI)
    private_pem, public_pem = generate_signing_key()
    app = create_app(IntakeSettings(environment="test", database_url=database_url, identity_public_key=public_pem,
                                    kafka_bootstrap_servers="127.0.0.1:9"))
    signer = IdentitySigner(private_pem)
    sessionmaker = app.state.sessionmaker
    persons: list[uuid.UUID] = []
    for start in range(0, PERSONS, 500):
        async with sessionmaker() as session, session.begin():
            persons += await register_recognised_persons(
                session=session, recognitions=[recognition(n) for n in range(start, start + 500)])
    async with sessionmaker() as session, session.begin():
        await apply_job_hunters(session=session, assignments=[
            JobHunterAssigned(person_id=person, job_hunter_id=uuid.uuid4(),
                              job_hunter_subject="jh-bench" if n < PAGE else f"jh-{n % 40}")
            for n, person in enumerate(persons)])
    caller = Identity(subject="jh-bench", kind="user", roles=[Role.job_hunter])
    mine = {"person_id": [str(p) for p in persons[:PAGE]]}
    theirs = {"person_id": [str(p) for p in persons[PAGE:2 * PAGE]]}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
            async def one(params: dict[str, list[str]], expected: int) -> tuple[float, float]:
                headers = signer.headers(caller, audience="intake")
                cpu, wall = time.process_time(), time.perf_counter()
                response = await client.get("/working-names", params=params, headers=headers)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                assert response.status_code == 200 and len(response.json()) == expected, response.text
                return wall, cpu

            for _ in range(WARMUP):
                await one(mine, PAGE)
                await one(theirs, 0)
            named = [await one(mine, PAGE) for _ in range(RUNS)]
            refused = [await one(theirs, 0) for _ in range(RUNS)]
    finally:
        await app.state.engine.dispose()

    def figures(runs: list[tuple[float, float]]) -> dict[str, float]:
        walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
        return {"p50_ms": round(percentile(walls, 0.5) * 1000, 2), "p99_ms": round(percentile(walls, 0.99) * 1000, 2),
                "cpu_ms_per_request": round(sum(cpus) / len(cpus) * 1000, 2)}

    return {"persons": PERSONS, "page": PAGE, "runs": RUNS, "named_page": figures(named),
            "refused_page": figures(refused)}


def run(options: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result: dict[str, Any] = {"benchmark": NAME, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": machine_facts()}
    with tempfile.TemporaryDirectory(prefix="verbinding-bench-") as folder:
        os.chmod(folder, 0o755)
        postgres = EmbeddedPostgres(Path(folder) / "pg", free_port(), durable=True)
        postgres.start()
        try:
            result.update(asyncio.run(_measure(postgres.url)))
        finally:
            postgres.stop()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    for label, key in (("a page of 50 named", "named_page"), ("a page of 50 refused", "refused_page")):
        figures = result[key]
        print(f"[{NAME}] {label}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
              f"{figures['cpu_ms_per_request']} ms of CPU a request (this process; PostgreSQL's not counted)")
    print(f"[{NAME}] load average {result['load_average_1m']} on {os.cpu_count()} cores")
    return result
