"""The employment app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .applications.views import router as applications_router
from .job_seekers.consumers import people_events
from .job_seekers.views import router as job_seekers_router
from .monitoring.views import router as monitoring_router
from .placements.service import retention_announcements
from .placements.views import internal as placements_internal_router
from .placements.views import router as placements_router
from .privacy.consumers import privacy_events
from .privacy.jobs import retention_job
from .settings import EmploymentSettings
from .vacancies.views import router as vacancies_router


def create_app(settings: EmploymentSettings | None = None) -> FastAPI:
    """Employment on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or EmploymentSettings()
    return create_service_app(
        settings=settings,
        title="employment",
        description="Job hunters and their job seekers, vacancies ranked by fit, placements, retention checks, "
                    "participation figures.",
        routers=[job_seekers_router, vacancies_router, applications_router, placements_router, monitoring_router,
                 placements_internal_router],
        consumers=[people_events, privacy_events],
        jobs=[retention_announcements(settings), retention_job(settings)],
    )


app = create_app()
