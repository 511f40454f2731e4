"""The case-plan app: `app` for the stack (settings from VERBINDING_* variables), `create_app` for tests."""

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .action_plans.views import router as action_plans_router
from .case_managers.views import router as case_managers_router
from .cases.consumers import person_events
from .cases.views import router as cases_router
from .errors import CasePlanError, case_plan_error_response
from .settings import CasePlanSettings


def create_app(settings: CasePlanSettings) -> FastAPI:
    app = create_service_app(
        settings=settings, title="case-plan",
        description="Case managers and their caseloads (at most 50 each), cases, the waitlist, action plans.",
        routers=[case_managers_router, cases_router, action_plans_router], consumers=[person_events])
    app.add_exception_handler(CasePlanError, case_plan_error_response)
    return app


app = create_app(CasePlanSettings())
