"""Safe reporting through the gateway: anonymous reporters (no token), hub counsellors, and anonymous statistics.

On the reporters' routes the gateway passes on nothing that could identify a sender: the service is called with
an anonymous identity and the JSON body only (no address, no user agent, no forwarded headers); the receipt only
ever travels in a body, never in a URL.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response

from verbinding_common.auth import Identity, Role
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, public, require
from ..downstream import SafeReportingDep, client_headers, passed_through

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1", tags=["safe reporting"])

JsonBody = Annotated[dict[str, Any], Body()]
ANONYMOUS = Identity(subject="anonymous-reporter", kind="client", roles=[Role.reporter])
HUB = [Depends(require(Role.hub_counsellor))]


async def _as_reporter(request: Request, safe_reporting: SafeReportingDep, path: str,
                       body: dict[str, Any]) -> Response:
    answer = await safe_reporting.request("POST", path, identity=ANONYMOUS, json=body,
                                          headers=client_headers(request))
    return passed_through(answer, safe_reporting.name)


@router.post("/safe-reports", dependencies=[Depends(public)], status_code=status.HTTP_201_CREATED,
             summary="Report a crime as a victim or witness: no account, no immigration status",
             description="Answers with a receipt code, shown once: with it the reporter follows the report up. "
                         "Fields that could carry immigration status, identity or file numbers are refused.")
async def submit(body: JsonBody, request: Request, safe_reporting: SafeReportingDep) -> Response:
    if not await request.app.state.report_limiter.allow(request.client.host if request.client else None):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many reports from here; try again later",
                            headers={"Retry-After": "600"})
    return await _as_reporter(request, safe_reporting, "/reports", body)


@router.post("/safe-reports/follow-up", dependencies=[Depends(public)],
             summary="The report's state and the hub's messages (body: {receipt})")
async def follow_up(body: JsonBody, request: Request, safe_reporting: SafeReportingDep) -> Response:
    return await _as_reporter(request, safe_reporting, "/reports/follow-up", body)


@router.post("/safe-reports/follow-up/messages", dependencies=[Depends(public)], status_code=status.HTTP_201_CREATED,
             summary="Reply to the hub (body: {receipt, text})")
async def reply(body: JsonBody, request: Request, safe_reporting: SafeReportingDep) -> Response:
    return await _as_reporter(request, safe_reporting, "/reports/follow-up/messages", body)


@router.post("/safe-reports/follow-up/consents", dependencies=[Depends(public)], status_code=status.HTTP_201_CREATED,
             summary="Consent to a referral and the fields it may carry (body: {receipt, kind, fields})")
async def consent(body: JsonBody, request: Request, safe_reporting: SafeReportingDep) -> Response:
    return await _as_reporter(request, safe_reporting, "/reports/follow-up/consents", body)


@router.post("/safe-reports/follow-up/consents/withdraw", dependencies=[Depends(public)],
             summary="Withdraw consent until the referral is made (body: {receipt, kind})")
async def withdraw(body: JsonBody, request: Request, safe_reporting: SafeReportingDep) -> Response:
    return await _as_reporter(request, safe_reporting, "/reports/follow-up/consents/withdraw", body)


@router.get("/safe-reports", dependencies=HUB, summary="Reports, metadata only (hub counsellors)")
async def reports(request: Request, caller: CallerDep, safe_reporting: SafeReportingDep) -> Response:
    answer = await safe_reporting.request("GET", "/reports", identity=caller,
                                          params=list(request.query_params.multi_items()) or None)
    return passed_through(answer, safe_reporting.name)


@router.get("/safe-reports/{report_id}", dependencies=HUB, summary="Open a report (audited)")
async def open_report(report_id: UUID, caller: CallerDep, safe_reporting: SafeReportingDep) -> Response:
    return passed_through(await safe_reporting.request("GET", f"/reports/{report_id}", identity=caller),
                          safe_reporting.name)


@router.post("/safe-reports/{report_id}/{action}", dependencies=HUB,
             summary="Write to the reporter (messages), move the report on (state), or refer it (referrals)")
async def act_on_report(report_id: UUID, action: Annotated[str, Path(pattern="^(messages|state|referrals)$")],
                        body: JsonBody, request: Request, caller: CallerDep,
                        safe_reporting: SafeReportingDep) -> Response:
    answer = await safe_reporting.request("POST", f"/reports/{report_id}/{action}", identity=caller, json=body,
                                          headers=client_headers(request))
    return passed_through(answer, safe_reporting.name)


@router.get("/safe-reporting/statistics", dependencies=[Depends(require(Role.team_lead, Role.ops))],
            summary="Reports per category and district for the most recent ISO weeks; small counts suppressed")
async def statistics(caller: CallerDep, safe_reporting: SafeReportingDep,
                     weeks: Annotated[int, Query(ge=1, le=52)] = 4) -> Response:
    return passed_through(await safe_reporting.request("GET", "/statistics", identity=caller,
                                                       params={"weeks": weeks}), safe_reporting.name)


@router.get("/safe-reporting/statistics/weeks/{iso_week}", dependencies=[Depends(require(Role.team_lead, Role.ops))],
            summary="One ISO week's reports per category and district; small counts suppressed")
async def week(iso_week: Annotated[str, Path(pattern=r"^\d{4}-W\d{2}$")], caller: CallerDep,
               safe_reporting: SafeReportingDep) -> Response:
    return passed_through(await safe_reporting.request("GET", f"/statistics/weeks/{iso_week}", identity=caller),
                          safe_reporting.name)
