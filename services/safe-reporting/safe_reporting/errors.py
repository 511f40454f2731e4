"""safe-reporting's own refusals beyond the library's (which answers every DomainError, these included)."""

from http import HTTPStatus

from verbinding_common.errors import DomainError


class TooManyGuesses(DomainError):
    """The budget of failed receipt look-ups of this receipt's prefix is spent: 429, try again after `retry_after_s`."""

    status_code = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}
