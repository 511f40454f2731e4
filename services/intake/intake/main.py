"""The intake app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .holders.consumers import case_holders_consumer, job_hunters_consumer
from .households.views import router as households_router
from .interviews.views import router as interviews_router
from .persons.consumers import recognitions_consumer
from .persons.views import router as persons_router
from .privacy.consumers import access_answers
from .privacy.jobs import retention_job
from .privacy.views import router as privacy_router
from .recognitions.views import router as recognitions_router
from .settings import IntakeSettings
from .working_names.views import router as working_names_router


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Intake on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or IntakeSettings()
    return create_service_app(
        settings=settings,
        title="Verbinding intake",
        description="Newcomers the COA recognised as refugees: taken into intake while still in a reception "
                    "centre, with their households, intake interviews and consent.",
        routers=[persons_router, recognitions_router, households_router, interviews_router, privacy_router,
                 working_names_router],
        consumers=[recognitions_consumer(settings.erasure_pepper_bytes()), case_holders_consumer, job_hunters_consumer,
                   access_answers],
        jobs=[retention_job(settings)],
    )


app = create_app()
