"""Request and response bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from verbinding_common.contracts.shelter import Programme

from .models import EndpointStatus, WebhookAttempt, WebhookEndpoint


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048, pattern=r"^[^\x00-\x20\x7f]+$")
    description: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    programmes: list[Programme] = Field(default_factory=list, max_length=3,
                                        description="only these programmes' shelters (empty: all)")
    shelter_ids: list[UUID] = Field(default_factory=list, max_length=200, description="only these shelters")


class WebhookEndpointRead(BaseModel):
    endpoint_id: UUID
    url: str
    description: str | None
    programmes: list[Programme]
    shelter_ids: list[UUID]
    status: EndpointStatus
    disabled_reason: str | None
    failures: int
    next_attempt_at: datetime | None
    rotating: bool = Field(description="a previous secret still signs too, until the rotation overlap ends")
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointRead:
        return cls(endpoint_id=endpoint.id, url=endpoint.url, description=endpoint.description,
                   programmes=[Programme(p) for p in endpoint.programmes], shelter_ids=list(endpoint.shelter_ids),
                   status=EndpointStatus(endpoint.status), disabled_reason=endpoint.disabled_reason,
                   failures=endpoint.failures, next_attempt_at=endpoint.next_attempt_at,
                   rotating=endpoint.previous_secret_sealed is not None, created_at=endpoint.created_at)


class WebhookEndpointCreated(WebhookEndpointRead):
    secret: str = Field(description="the signing secret (whsec_…): shown this once, keep it")


class WebhookSecret(BaseModel):
    endpoint_id: UUID
    secret: str = Field(description="the new signing secret: shown this once; the previous one keeps signing too "
                                    "until `previous_secret_until`")
    previous_secret_until: datetime


class WebhookReplay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_position: int = Field(ge=0, le=2**62, description="deliver again every change logged after this position "
                                "(a `webhook-id`'s change, or an SSE event id); 0: all the log still holds")


class WebhookAttemptRead(BaseModel):
    message_id: str
    position: int
    attempted_at: datetime
    delivered: bool
    status_code: int | None
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> WebhookAttemptRead:
        return cls(message_id=attempt.message_id, position=attempt.position, attempted_at=attempt.attempted_at,
                   delivered=attempt.delivered, status_code=attempt.status_code, latency_ms=attempt.latency_ms,
                   error=attempt.error)
