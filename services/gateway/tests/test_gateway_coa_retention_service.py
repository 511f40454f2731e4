"""COA receipts hold COA numbers: they are purged once past their retention, by the gateway itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.coa.models import CoaReceipt
from gateway.coa.service import purge_receipts
from gateway.main import create_app
from sqlalchemy import insert, select

from verbinding_testing.fixtures import eventually, running_app


async def test_receipts_past_their_retention_are_purged_and_recent_ones_kept(make_settings) -> None:
    app = create_app(make_settings(coa_receipt_retention_days=30))
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(insert(CoaReceipt), [
            {"coa_registration_number": "V-OLD-1", "event_id": "e-1", "first_received_at": now - timedelta(days=90),
             "last_received_at": now - timedelta(days=31)},
            {"coa_registration_number": "V-NEW-1", "event_id": "e-2", "first_received_at": now - timedelta(days=90),
             "last_received_at": now - timedelta(days=29)},
        ])
    async with app.state.sessionmaker() as session, session.begin():
        purged = await purge_receipts(session=session, retention=timedelta(days=30))
        kept = (await session.scalars(select(CoaReceipt.coa_registration_number))).all()
    await app.state.engine.dispose()
    assert purged == 1 and kept == ["V-NEW-1"]


async def test_the_running_gateway_purges_old_receipts_by_itself(make_settings) -> None:
    app = create_app(make_settings(coa_receipt_retention_days=1, coa_receipt_purge_interval_s=0.2))
    old = datetime.now(UTC) - timedelta(days=2)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(insert(CoaReceipt).values(coa_registration_number="V-OLD-2", event_id="e-3",
                                                        first_received_at=old, last_received_at=old))

    async def gone() -> bool:
        async with app.state.sessionmaker() as session:
            return await session.scalar(select(CoaReceipt).where(CoaReceipt.coa_registration_number == "V-OLD-2")) \
                is None

    async with running_app(app):
        assert await eventually(gone, timeout=20, what="the old receipt to be purged")
