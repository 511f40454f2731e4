"""Report routes: anonymous reporters (through the gateway, with a receipt) and hub counsellors."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ValidationError

from verbinding_common.audit import AccessAudit, access_audit
from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import Conflict, NotFound, RuleViolated
from verbinding_common.routes import PublicRoute

from ..audit.models import AccessAuditTable
from . import referrals, sealed
from .admission import admitted
from .models import (
    ConsentGive,
    ConsentWithdraw,
    CounsellorMessageCreate,
    ReceiptBody,
    ReferralCreate,
    ReferralRead,
    ReportCreate,
    ReporterMessageCreate,
    ReportFollowUp,
    ReportRead,
    ReportReceipt,
    ReportState,
    ReportSummary,
    StateChange,
)
from .receipts import ENTROPY_BITS
from .screening import StatusRefused, status_fields
from .service import (
    Secrets,
    add_message,
    change_state,
    consents_of,
    data_key_of,
    get_report,
    list_reports,
    messages_of,
    report_by_receipt,
    submit_report,
    summary_of,
)
from .throttle import GuessThrottle

reporter = APIRouter(route_class=PublicRoute, prefix="/reports", tags=["reporters"],
                     dependencies=[Depends(allow(Role.reporter))])
hub = APIRouter(route_class=PublicRoute, prefix="/reports", tags=["hub"],
                dependencies=[Depends(allow(Role.hub_counsellor))])

ModelT = TypeVar("ModelT", bound=BaseModel)
# Every hub route on a report is audited under its route template: who opened, wrote to, moved or referred which
# report, when; and every refused attempt.
AuditDep = Annotated[AccessAudit, Depends(access_audit(AccessAuditTable))]

STATUS_REFUSAL = ("{fields}: immigration status, identity or file numbers are never asked for and never stored. "
                  "Please send the report without them.")


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema(
        ref_template="#/components/schemas/{model}")}}}}


async def parsed(request: Request, model: type[ModelT]) -> ModelT:
    """The body as `model`, after refusing any field that would carry immigration status (nothing is stored)."""
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise RuleViolated("the body must be a JSON object") from None
    found = status_fields(body)
    if found:
        raise RuleViolated(STATUS_REFUSAL.format(fields=", ".join(found)))
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: "
                             + ("not a field of a report: only the documented fields are accepted"
                                if e["type"] == "extra_forbidden" else e["msg"])
                             for e in exc.errors(include_input=False, include_url=False))
        raise RuleViolated(problems) from None


def _secrets(request: Request) -> Secrets:
    return request.app.state.report_secrets


def _throttle(request: Request) -> GuessThrottle:
    return request.app.state.guess_throttle


async def _follow_up(session: SessionDep, request: Request, receipt: str) -> ReportFollowUp:
    report = await report_by_receipt(session=session, receipt=receipt, secrets=_secrets(request),
                                     throttle=_throttle(request))
    return ReportFollowUp(state=report.state, category=report.category,  # type: ignore[arg-type]
                          messages=await messages_of(session=session, report=report,
                                                     data_key=data_key_of(report, _secrets(request))),
                          consents=await consents_of(session=session, report=report))


@reporter.post("", status_code=status.HTTP_201_CREATED, response_model=ReportReceipt,
               openapi_extra=_body_doc(ReportCreate), summary="Report a crime, anonymously",
               dependencies=[Depends(admitted, scope="function")],
               responses={503: {"description": "too many reports in flight: nothing was stored; send it again after "
                                               "`Retry-After` with the same Idempotency-Key"}})
async def create_report(request: Request, session: SessionDep) -> ReportReceipt:
    body = await parsed(request, ReportCreate)
    try:
        receipt = await submit_report(session=session, report=body, secrets=_secrets(request))
    except StatusRefused as exc:
        raise RuleViolated(str(exc)) from None
    return ReportReceipt(receipt=receipt, receipt_entropy_bits=round(ENTROPY_BITS, 1), state=ReportState.new)


@reporter.post("/follow-up", response_model=ReportFollowUp, openapi_extra=_body_doc(ReceiptBody),
               summary="The report's state and the hub's messages, by receipt")
async def follow_up(request: Request, session: SessionDep) -> ReportFollowUp:
    body = await parsed(request, ReceiptBody)
    return await _follow_up(session, request, body.receipt)


@reporter.post("/follow-up/messages", status_code=status.HTTP_201_CREATED, response_model=ReportFollowUp,
               openapi_extra=_body_doc(ReporterMessageCreate), summary="Reply to the hub, by receipt")
async def reply(request: Request, session: SessionDep) -> ReportFollowUp:
    body = await parsed(request, ReporterMessageCreate)
    report = await report_by_receipt(session=session, receipt=body.receipt, secrets=_secrets(request),
                                     throttle=_throttle(request))
    try:
        await add_message(session=session, report=report, author="reporter", text=body.text,
                          secrets=_secrets(request))
    except StatusRefused as exc:
        raise RuleViolated(str(exc)) from None
    return await _follow_up(session, request, body.receipt)


@reporter.post("/follow-up/consents", status_code=status.HTTP_201_CREATED, response_model=ReportFollowUp,
               openapi_extra=_body_doc(ConsentGive), summary="Consent to a referral, naming the fields it may carry")
async def consent(request: Request, session: SessionDep) -> ReportFollowUp:
    body = await parsed(request, ConsentGive)
    report = await report_by_receipt(session=session, receipt=body.receipt, secrets=_secrets(request),
                                     throttle=_throttle(request))
    await referrals.give_consent(session=session, report=report, kind=body.kind, fields=body.fields)
    return await _follow_up(session, request, body.receipt)


@reporter.post("/follow-up/consents/withdraw", response_model=ReportFollowUp,
               openapi_extra=_body_doc(ConsentWithdraw), summary="Withdraw consent, until the referral is made")
async def withdraw(request: Request, session: SessionDep) -> ReportFollowUp:
    body = await parsed(request, ConsentWithdraw)
    report = await report_by_receipt(session=session, receipt=body.receipt, secrets=_secrets(request),
                                     throttle=_throttle(request))
    await referrals.withdraw_consent(session=session, report=report, kind=body.kind)
    return await _follow_up(session, request, body.receipt)


@hub.get("", response_model=list[ReportSummary], summary="Reports, metadata only")
async def reports(session: SessionDep, state: ReportState | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[ReportSummary]:
    return await list_reports(session=session, state=state, limit=limit, offset=offset)


async def _opened(session: SessionDep, audit: AccessAudit, report_id: uuid.UUID, for_update: bool = False):
    try:
        report = await get_report(session=session, report_id=report_id, for_update=for_update)
    except NotFound:
        await audit.refused(kind="report", record_id=report_id, outcome="not_found")
        raise
    await audit.allowed(session, kind="report", record_ids=[report_id])
    return report


@hub.get("/{report_id}", response_model=ReportRead, summary="Open a report (every opening is audited)")
async def open_report(report_id: uuid.UUID, request: Request, session: SessionDep,
                      audit: AuditDep) -> ReportRead:
    report = await _opened(session, audit, report_id)
    key = data_key_of(report, _secrets(request))
    return ReportRead(
        **summary_of(report).model_dump(), occurred_on=report.occurred_on, part_of_day=report.part_of_day,
        description=sealed.open_text(key, report.description_sealed, owner_id=str(report.id),
                                     field="description") or "",
        contact=sealed.open_text(key, report.contact_sealed, owner_id=str(report.id), field="contact"),
        messages=await messages_of(session=session, report=report, data_key=key),
        consents=await consents_of(session=session, report=report))


@hub.post("/{report_id}/messages", status_code=status.HTTP_201_CREATED, summary="Write to the reporter")
async def write_to_reporter(report_id: uuid.UUID, body: CounsellorMessageCreate, request: Request,
                            session: SessionDep, audit: AuditDep) -> dict[str, str]:
    report = await _opened(session, audit, report_id, for_update=True)
    await add_message(session=session, report=report, author="counsellor", text=body.text, secrets=_secrets(request))
    return {"status": "sent"}


@hub.post("/{report_id}/state", response_model=ReportSummary, summary="Move the report to its next state")
async def move_report(report_id: uuid.UUID, body: StateChange, session: SessionDep,
                      audit: AuditDep) -> ReportSummary:
    report = await _opened(session, audit, report_id, for_update=True)
    await change_state(session=session, report=report, state=body.state)
    return summary_of(report)


@hub.post("/{report_id}/referrals", status_code=status.HTTP_201_CREATED, response_model=ReferralRead,
          summary="Refer the report, with exactly the fields the reporter consented to")
async def refer(report_id: uuid.UUID, body: ReferralCreate, request: Request, session: SessionDep,
                caller: CurrentIdentity, audit: AuditDep) -> ReferralRead:
    report = await _opened(session, audit, report_id, for_update=True)
    try:
        return await referrals.make_referral(session=session, report=report, kind=body.kind, actor=caller.subject,
                                             secrets=_secrets(request))
    except Conflict:
        await audit.refused(kind="report", record_id=report_id)
        raise
