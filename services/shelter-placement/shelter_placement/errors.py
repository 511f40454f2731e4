"""Domain errors the service layer raises, and the one handler that turns them into {"detail": …} responses."""

from fastapi import Request
from fastapi.responses import JSONResponse


class ShelterPlacementError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ShelterPlacementError):
    status_code = 404


class Forbidden(ShelterPlacementError):
    status_code = 403


class Conflict(ShelterPlacementError):
    status_code = 409


async def shelter_placement_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShelterPlacementError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
