"""Admission control for new reports: a bounded number in flight; past it, 503 + Retry-After before any work.

A submission costs a deliberately slow hash (the receipt's scrypt). Taking in more than the hashing pool can finish
within the gateway's patience only makes every one of them late: the gateway answers 503 while the service goes on
and stores reports whose receipts nobody receives. So a submission is admitted only while fewer than
`report_submissions_in_flight` are in flight in this process; otherwise it is refused at once, before its body is
read, anything is hashed or anything is stored, and the reporter's app sends it again after `Retry-After` (with the
same Idempotency-Key, so a report stored meanwhile answers with its receipt instead of being stored twice).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from fastapi import Request

from verbinding_common.errors import Unavailable

RETRY_AFTER_S = 1


class SubmissionGate:
    """At most `limit` submissions in flight; the rest are refused at the door."""

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a place for one submission, or raise Unavailable (503, Retry-After) when none is free."""
        if self.in_flight >= self.limit:
            raise Unavailable("too many reports are being taken in right now; send it again in a moment "
                              "(with the same Idempotency-Key)", retry_after_s=RETRY_AFTER_S)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


async def admitted(request: Request) -> AsyncIterator[None]:
    """Route dependency: the submission holds its place until its transaction has committed or rolled back."""
    gate: SubmissionGate = request.app.state.submission_gate
    with gate.admit():
        yield
