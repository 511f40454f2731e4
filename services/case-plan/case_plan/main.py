"""The case-plan app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .action_plans.views import router as action_plans_router
from .case_managers.views import router as case_managers_router
from .cases.consumers import person_events
from .cases.views import internal as cases_internal_router
from .cases.views import router as cases_router
from .employment.consumers import placement_events
from .metrics import caseload_gauges
from .privacy.consumers import privacy_events
from .privacy.jobs import retention_job
from .settings import CasePlanSettings


def create_app(settings: CasePlanSettings | None = None) -> FastAPI:
    """Case-plan on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or CasePlanSettings()
    return create_service_app(
        settings=settings,
        title="case-plan",
        description="Case managers and their caseloads (at most 50 each), cases, the waitlist, action plans.",
        routers=[case_managers_router, cases_router, action_plans_router, cases_internal_router],
        consumers=[person_events, placement_events, privacy_events],
        jobs=[caseload_gauges, retention_job(settings)],
    )


app = create_app()
