"""The COA push (one recognition or a batch) and the status lookup the COA uses as its acknowledgement."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel

from verbinding_common.auth import Role
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, require
from ..downstream import IntakeDep
from . import service
from .models import RecognitionAccepted, RecognitionsAccepted, RecognitionStatus, request_body_schema

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1/coa", tags=["coa"])


class Detail(BaseModel):
    detail: str


@router.post(
    "/status-recognitions",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require(Role.coa_integration))],
    summary="Push one status recognition, or a batch of up to 1000",
    description="Every recognition is validated first (422 names each bad field, with its index in a batch; nothing "
                "is sent then). Each becomes a CloudEvent on `coa.status-recognitions.v1`, keyed by COA number, with "
                "an event id derived from the COA number and recognition date, so sending again is harmless. "
                "202 comes once the receipts and the events are committed to the gateway's database (its outbox: "
                "they reach the topic even if the broker is down now); 503 with Retry-After when the database "
                "is unavailable, and then nothing was taken in.",
    response_model=RecognitionsAccepted,
    responses={503: {"model": Detail, "description": "the gateway's database is unavailable: send again later"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": request_body_schema()}}}},
)
async def push_recognitions(request: Request, session: SessionDep) -> RecognitionsAccepted:
    recognitions = service.parse_recognitions(await request.body())
    produced = await service.accept_recognitions(session=session, recognitions=recognitions,
                                                 topic=request.app.state.settings.coa_topic)
    # The route's path resolved once (a COA number is letters, digits and dashes: nothing to escape), not for
    # each of up to 1000 recognitions.
    status_path = request.app.url_path_for("recognition_status", coa_registration_number="_")[:-1]
    return RecognitionsAccepted(accepted=len(produced), recognitions=[
        RecognitionAccepted(coa_registration_number=item.coa_registration_number, event_id=item.event_id,
                            status_url=status_path + item.coa_registration_number)
        for item in produced
    ])


@router.get(
    "/status-recognitions/{coa_registration_number}",
    name="recognition_status",
    dependencies=[Depends(require(Role.coa_integration, Role.team_lead))],
    summary="How far a recognition got: received, rejected, person registered, waitlisted, case manager assigned "
            "or case closed",
    description="Intake keeps the status from events (its registrations and rejections, case-plan's case facts) "
                "and only moves it forward; until intake has taken the number in or rejected it, the gateway's own "
                "receipt answers `received`. A rejection names its reason as a code, never the values.",
    response_model=RecognitionStatus,
    responses={404: {"model": Detail, "description": "never received here and unknown to intake"},
               503: {"model": Detail, "description": "the gateway's database or intake is unavailable"}},
)
async def get_recognition_status(coa_registration_number: str, request: Request, caller: CallerDep,
                                 intake: IntakeDep) -> RecognitionStatus:
    found = await service.recognition_status(sessionmaker=request.app.state.sessionmaker, intake=intake,
                                             identity=caller, coa_registration_number=coa_registration_number)
    if found is None:
        raise NotFound("no recognition with this COA registration number")
    return found
