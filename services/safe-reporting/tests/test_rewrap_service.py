"""Key rotation re-wraps every old data key under the new key-encryption key, and resumes where it was stopped."""

from __future__ import annotations

import base64
import os

from safe_reporting.main import create_app
from safe_reporting.reports.models import Report
from safe_reporting.rewrap import left_to_rewrap, rewrap_data_keys
from safe_support import a_report, safe_reporting_settings
from sqlalchemy import select

from verbinding_common import sealing


async def test_rotation_rewraps_old_data_keys_resumably_and_the_old_key_can_then_go(
        service_database, identity_keys, as_role, sessionmaker) -> None:
    import httpx

    old_key, new_key = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    before = create_app(safe_reporting_settings(service_database, identity_keys[1], report_key=old_key,
                                                report_key_id="k0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=before), base_url="http://s") as api:
        for n in range(3):
            answer = await api.post("/reports", json=a_report(description=f"report {'abc'[n]}"),
                                    headers=as_role("reporter", "anonymous-reporter"))
            assert answer.status_code == 201
    await before.state.engine.dispose()
    await before.state.shared_limits.engine.dispose()

    rotated = safe_reporting_settings(service_database, identity_keys[1], report_key=new_key, report_key_id="k1",
                                      previous_report_keys={"k0": old_key}).report_keyring()
    assert await left_to_rewrap(sessionmaker=sessionmaker, keyring=rotated) == 3
    # Stopped after one batch of two: the next run takes up the one left.
    assert await rewrap_data_keys(sessionmaker=sessionmaker, keyring=rotated, batch=2, max_batches=1) == 2
    assert await left_to_rewrap(sessionmaker=sessionmaker, keyring=rotated) == 1
    assert await rewrap_data_keys(sessionmaker=sessionmaker, keyring=rotated, batch=2) == 1
    assert await rewrap_data_keys(sessionmaker=sessionmaker, keyring=rotated, batch=2) == 0

    only_new = sealing.Keyring(keys={"k1": base64.b64decode(new_key)}, current="k1")
    async with sessionmaker() as session:
        reports = list(await session.scalars(select(Report)))
    assert {report.kek_id for report in reports} == {"k1"}
    from safe_reporting.reports.sealed import open_text

    texts = {open_text(sealing.unwrap(only_new, wrapped=r.wrapped_key, kek_id=r.kek_id, owner_id=str(r.id)),
                       r.description_sealed, owner_id=str(r.id), field="description") for r in reports}
    assert texts == {"report a", "report b", "report c"}
