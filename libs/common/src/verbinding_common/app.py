"""The one function that turns a service's routers and consumers into a FastAPI app with the shared plumbing."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from . import health
from .auth import IdentityVerifier
from .consumer import ConsumerSpec, IdempotentConsumer
from .db import create_engine, create_sessionmaker
from .errors import DomainError, ErrorResponses, domain_error_response
from .idempotency import purge_expired
from .input_guard import install_input_guard
from .jobs import Job, JobContext, JobRunner
from .kafka import cluster_id, new_admin, new_producer, start_with_retry
from .logs import setup_logging
from .metrics import RequestMetrics, outbox_gauges, setup_metrics
from .metrics import router as metrics_router
from .relay import Relay
from .settings import ServiceSettings
from .streaming import ServiceApp
from .telemetry import setup_telemetry

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Connections for the relay, the consumers and the jobs (create_engine: up to twice this many).
BACKGROUND_POOL_SIZE = 3

log = logging.getLogger(__name__)


class ServiceRuntime:
    """The background parts of a service: one producer, the outbox relay, the consumers and the jobs (the library's
    purge of expired idempotency keys, then the service's own)."""

    def __init__(self, *, settings: ServiceSettings, engine: AsyncEngine,
                 sessionmaker: async_sessionmaker[AsyncSession], consumers: Sequence[ConsumerSpec],
                 jobs: Sequence[Job] = ()) -> None:
        self.settings = settings
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.consumer_specs = tuple(consumers)
        self.job_specs = (idempotency_key_purge(settings), outbox_gauges(), *jobs)
        self.producer: AIOKafkaProducer | None = None
        self.relay: Relay | None = None
        self.consumers: list[IdempotentConsumer] = []
        self.jobs = JobRunner(self.job_specs)

    async def start(self) -> None:
        self.producer = new_producer(self.settings)
        await start_with_retry(self.producer)
        self.relay = Relay(engine=self.engine, settings=self.settings, producer=self.producer)
        await self.relay.start()
        # Started together: members of one group that join one by one make the group rebalance once per member.
        self.consumers = [IdempotentConsumer(spec=spec, sessionmaker=self.sessionmaker, settings=self.settings,
                                             producer=self.producer) for spec in self.consumer_specs]
        await asyncio.gather(*(consumer.start() for consumer in self.consumers))

    def start_jobs(self, state: Any) -> None:
        """Start every job; `state` (the app's) holds what the service's setup and lifespan made for them."""
        self.jobs.start(JobContext(settings=self.settings, engine=self.engine, sessionmaker=self.sessionmaker,
                                   state=state))

    async def stop_jobs(self) -> None:
        await self.jobs.stop(within_s=self.settings.shutdown_drain_s)

    async def stop(self) -> None:
        """Producers first (a final relay flush), then let consumers drain, then close connections."""
        await self.stop_jobs()
        if self.relay is not None:
            await self.relay.stop()
        # Together: one after another, three consumers could take three drain periods, past the pod's grace period.
        await asyncio.gather(*(consumer.stop(drain_seconds=self.settings.shutdown_drain_s)
                               for consumer in self.consumers))
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        await self.engine.dispose()
        provider = trace.get_tracer_provider()
        if hasattr(provider, "force_flush"):
            provider.force_flush()

    async def broker_reachable(self) -> None:
        """Raises unless the broker answers: over the running relay's connection, else a short-lived one."""
        if self.relay is not None:
            await self.relay.broker_epoch()
            return
        admin = new_admin(self.settings)
        await admin.start()
        try:
            await cluster_id(admin)
        finally:
            await admin.close()


def consumers_of(app: FastAPI) -> tuple[ConsumerSpec, ...]:
    """The consumers `app` starts in its lifespan, read without starting anything: the event catalogue, the AsyncAPI
    file and the Kafka ACLs are built from these, so a consumer is declared once, where the app is made."""
    return app.state.runtime.consumer_specs


def jobs_of(app: FastAPI) -> tuple[Job, ...]:
    """The jobs `app` runs while it is up (the library's first), read without starting anything."""
    return app.state.runtime.job_specs


def idempotency_key_purge(settings: ServiceSettings) -> Job:
    """Every service deletes its expired Idempotency-Key answers every `idempotency_purge_interval_s`."""

    async def purge(context: JobContext) -> None:
        if purged := await purge_expired(context.engine):
            log.info("purged %d expired idempotency key(s)", purged)

    return Job(name="idempotency-key-purge", run=purge, interval_s=settings.idempotency_purge_interval_s)


def create_service_app(*, settings: ServiceSettings, title: str, routers: Sequence[APIRouter] = (),
                       consumers: Sequence[ConsumerSpec] = (), jobs: Sequence[Job] = (), description: str = "",
                       setup: Callable[[FastAPI], None] | None = None, lifespan: Lifespan | None = None) -> FastAPI:
    """A FastAPI app with health, telemetry, error handling, the outbox relay and the given consumers and jobs.

    `consumers` are every consumer the service runs (`consumers_of(app)` gives them back to the tooling): a consumer
    started any other way would be missing from the event catalogue and from the service's Kafka rights.

    `jobs` are its periodic work and long-running workers (`verbinding_common.jobs.Job`): started once the service's
    `lifespan` has started (they may use what it puts on app.state), cancelled on shutdown before it ends, each
    given at most `shutdown_drain_s` to stop; /readyz shows when each last succeeded.

    `setup(app)` runs once the app is built (put what routes need on app.state); `lifespan` (the service's own
    start-up, e.g. HTTP clients) runs inside the shared one: after the relay and consumers start, ends before they stop.
    """
    setup_logging(service_name=settings.service_name, log_format=settings.log_format, level=settings.log_level,
                  otlp_endpoint=settings.otlp_endpoint)
    # Requests and background work use pools of their own: a request's statements are bounded (its caller waits, see
    # get_session); the relay's, the consumers' and the jobs' are not.
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size,
                           statement_timeout_ms=settings.request_statement_timeout_ms)
    sessionmaker = create_sessionmaker(engine, event_source=settings.service_name)
    background = create_engine(settings.database_url, pool_size=BACKGROUND_POOL_SIZE)
    runtime = ServiceRuntime(settings=settings, engine=background,
                             sessionmaker=create_sessionmaker(background, event_source=settings.service_name),
                             consumers=consumers, jobs=jobs)

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            async with lifespan(app) if lifespan is not None else contextlib.nullcontext():
                runtime.start_jobs(app.state)
                try:
                    with settled_heap(settings):
                        yield
                finally:
                    await runtime.stop_jobs()
        finally:
            await runtime.stop()
            await engine.dispose()

    app = ServiceApp(title=title, description=description, lifespan=run)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.runtime = runtime
    public_key = settings.identity_public_key_pem()
    app.state.identity_verifier = IdentityVerifier(public_key, audience=settings.audience()) if public_key else None
    app.include_router(health.router)
    app.include_router(metrics_router)
    for router in routers:
        app.include_router(router)
    _handle_errors(app, settings)
    # Outside the error answers: a 500 they make is counted as one.
    app.add_middleware(RequestMetrics)
    if setup is not None:
        setup(app)
    # Before the tracing instrumentation: the HTTP server metrics bind to the meter provider there is then.
    setup_metrics(service_name=settings.service_name, otlp_endpoint=settings.otlp_endpoint)
    setup_telemetry(service_name=settings.service_name, otlp_endpoint=settings.otlp_endpoint,
                    trace_file=settings.trace_file, app=app, engine=engine,
                    trace_file_max_bytes=settings.trace_file_max_bytes,
                    trace_file_max_age_s=settings.trace_file_max_age_hours * 3600)
    setup_telemetry(service_name=settings.service_name, engine=background)
    return app


@contextlib.contextmanager
def settled_heap(settings: ServiceSettings) -> Iterator[None]:
    """While the service runs, once started: what start-up made (modules, models, compiled statements, clients)
    is out of the cyclic collector's sight (`gc.freeze`), and the youngest generation is collected every
    `gc_gen0_threshold` allocations instead of 700. Every event allocates dozens of containers, and the collector
    walking the whole heap again and again was an eighth of intake's and case-plan's CPU under the recognitions
    benchmark."""
    gc.collect()
    gc.freeze()
    if not _settled:  # the first of the process's running apps (tests run several) keeps what was before
        _settled.append(gc.get_threshold())
    _settled.append(None)
    gc.set_threshold(settings.gc_gen0_threshold, *_settled[0][1:])
    try:
        yield
    finally:
        _settled.pop()
        if len(_settled) == 1:  # the last one stopped
            gc.set_threshold(*_settled.pop())
            gc.unfreeze()


_settled: list[Any] = []


def _handle_errors(app: FastAPI, settings: ServiceSettings) -> None:
    """Domain errors become problem+json 4xx; hostile input 4xx; outages 503 + Retry-After; the rest a generic 500.
    Each is answered inside the app, so no error closes the client's keep-alive connection."""
    app.add_exception_handler(DomainError, domain_error_response)
    # Middleware added later wraps what came before: the input guard (body size and depth before parsing and
    # authentication) sits inside ErrorResponses, so its own failures are answered too.
    install_input_guard(app, settings)
    app.add_middleware(ErrorResponses, retry_after_s=settings.unavailable_retry_after_s)
