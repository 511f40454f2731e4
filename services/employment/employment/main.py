"""The employment app: `app` for the stack (settings from VERBINDING_* variables), `create_app` for tests."""

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .errors import EmploymentError, employment_error_response
from .job_seekers.consumers import people_events
from .job_seekers.views import router as job_seekers_router
from .monitoring.views import router as monitoring_router
from .placements.views import router as placements_router
from .settings import EmploymentSettings
from .vacancies.views import router as vacancies_router


def create_app(settings: EmploymentSettings) -> FastAPI:
    app = create_service_app(
        settings=settings, title="employment",
        description="Job hunters and their job seekers, vacancies ranked by fit, placements, retention checks, "
                    "participation figures.",
        routers=[job_seekers_router, vacancies_router, placements_router, monitoring_router],
        consumers=[people_events])
    app.add_exception_handler(EmploymentError, employment_error_response)
    return app


app = create_app(EmploymentSettings())
