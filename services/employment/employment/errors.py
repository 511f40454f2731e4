"""Domain errors the service layer raises, and the one handler that turns them into {"detail": …} responses."""

from fastapi import Request
from fastapi.responses import JSONResponse


class EmploymentError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(EmploymentError):
    status_code = 404


class Conflict(EmploymentError):
    status_code = 409


class Unprocessable(EmploymentError):
    """The request names something that does not exist (an employer, a vacancy) or breaks a rule."""

    status_code = 422


async def employment_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EmploymentError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
