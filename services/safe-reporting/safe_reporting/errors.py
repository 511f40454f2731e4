"""Domain errors the service layer raises, and the one handler that turns them into {"detail": …} responses."""

from fastapi import Request
from fastapi.responses import JSONResponse


class SafeReportingError(Exception):
    status_code = 400

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFound(SafeReportingError):
    status_code = 404


class Conflict(SafeReportingError):
    status_code = 409


class Refused(SafeReportingError):
    status_code = 422


class TooManyGuesses(SafeReportingError):
    status_code = 429


async def safe_reporting_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SafeReportingError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
