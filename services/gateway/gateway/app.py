"""What the gateway adds to the shared plumbing: tokens, allow-lists, the COA push and the composed views."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from verbinding_common.app import Lifespan
from verbinding_common.auth import IdentitySigner, generate_signing_key
from verbinding_common.downstream import Downstream
from verbinding_common.jobs import Job, JobContext
from verbinding_common.limits import SharedLimits, bucket_secret, shared_limits_purge

from .access import views as access_views
from .access.service import CredentialStore, FailureThrottle
from .access.tokens import build_token_authority
from .coa import views as coa_views
from .coa.service import purge_receipts
from .mounted import declarations
from .mounted import router as mounted_router
from .openapi import document_every_answer
from .persons import views as person_views
from .reports.limiter import AnonymousLimiter
from .settings import GatewaySettings

log = logging.getLogger(__name__)

# The services the gateway's own routes ask (the person overview, the COA status).
COMPOSED = frozenset({"intake", "case-plan", "employment"})

DESCRIPTION = """The one door for every client of Verbinding.

Get a bearer token at `POST /oauth/token` (client credentials for systems such as the COA and NGOs; the password
grant for the embedded stack's demo users) and send it as `Authorization: Bearer <token>`. Every route names the
roles it allows: 401 without a valid token, 403 for another role. Every response carries `X-Trace-Id`.
"""

DEMO_CREDENTIALS = """
**Embedded stack (development) only:** clients `coa` / `coa-demo-secret` and `ngo-hvo-querido` / `hvo-demo-secret`;
users `cm-anna`, `cm-bram` (case managers), `jh-eva` (job hunter), `tl-carla` (team lead of team west, the team
she adds case managers to), `tl-dirk` (team lead of team oost), `ops-dave` (ops), `pc-pieter` (LVV programme
coordinator), `hc-hana` (safe-reporting hub counsellor), password `demo`.
"""


def description(settings: GatewaySettings) -> str:
    """The OpenAPI description; the demo credentials only where they work (development)."""
    return DESCRIPTION + (DEMO_CREDENTIALS if settings.environment == "development" else "")


def routers(settings: GatewaySettings) -> list[APIRouter]:
    """The gateway's own routes, then every service's public routes mounted from their declarations."""
    routers = [coa_views.router, person_views.router, mounted_router(declarations())]
    if not settings.external_issuer:  # with an external OIDC issuer the built-in endpoint does not exist (404)
        routers.insert(0, access_views.router)
    return routers


def jobs(settings: GatewaySettings) -> list[Job]:
    """The gateway's periodic work: purge COA receipts past their retention, and spent buckets of the shared limits."""
    retention = timedelta(days=settings.coa_receipt_retention_days)

    async def purge_old_receipts(context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await purge_receipts(session=session, retention=retention)

    return [Job(name="coa-receipt-purge", run=purge_old_receipts, interval_s=settings.coa_receipt_purge_interval_s),
            shared_limits_purge()]


def setup(app: FastAPI) -> None:
    """What the routes find on app.state from the start (token authority, credentials, identity signer, the shared
    throttle and report limiter); the OpenAPI document lists every answer."""
    settings: GatewaySettings = app.state.settings
    token_issuer, token_verifier = build_token_authority(settings)
    app.state.token_issuer = token_issuer
    app.state.token_verifier = token_verifier
    app.state.credentials = CredentialStore(clients=settings.clients or [], demo_users=settings.demo_users or [])
    identity_signing_key = _identity_signing_key(settings)
    app.state.identity_signer = IdentitySigner(identity_signing_key)
    # The throttle and the limiter count in the gateway's database: every replica shares them, a restart keeps them.
    app.state.shared_limits = SharedLimits.on(settings.database_url, timeout_s=settings.shared_limits_timeout_s)
    secret = bucket_secret(identity_signing_key)
    app.state.token_throttle = FailureThrottle(limits=app.state.shared_limits, secret=secret,
                                               limit=settings.token_failure_limit)
    app.state.report_limiter = AnonymousLimiter(limits=app.state.shared_limits, secret=secret,
                                                per_hour=settings.report_submissions_per_hour)
    document_every_answer(app, declarations())


def lifespan_of(settings: GatewaySettings) -> Lifespan:
    """The gateway's own start-up: HTTP clients to the services behind it; the shared limits' pool closes at
    shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(contextlib.aclosing(app.state.shared_limits))

            # Every service behind the door (those that publish routes, and those the overview and the COA status
            # ask), each at the URL its settings name (VERBINDING_<SERVICE>_URL).
            names = {declaration["service"] for declaration in declarations()} | COMPOSED
            app.state.downstreams = {
                name: await Downstream.open(stack, name, getattr(settings, f"{name.replace('-', '_')}_url"),
                                            signer=app.state.identity_signer, timeout_s=settings.downstream_timeout_s,
                                            public_url=settings.public_urls.get(name))
                for name in sorted(names)}
            yield

    return lifespan


def _identity_signing_key(settings: GatewaySettings) -> str:
    pem = settings.identity_signing_key_pem()
    if pem is not None:
        return pem
    if settings.environment == "production":
        raise ValueError("set VERBINDING_IDENTITY_SIGNING_KEY_FILE: services accept only identities it signs")
    log.warning("no identity signing key configured: using one of this process only; services will refuse it")
    return generate_signing_key()[0]
