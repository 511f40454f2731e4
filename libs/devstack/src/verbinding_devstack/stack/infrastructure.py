"""PostgreSQL and the broker while the stack runs: noticed when they stop, said what to do, started again."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable

from ..infra.broker import EmbeddedBroker
from ..infra.postgres import EmbeddedPostgres
from .config import StackConfig
from .console import Console, seconds

CHECK_EVERY_S = 1.0
BROKER_RETRY_S = 5.0
# Long enough for a deliberate stop-and-start by hand (an operator's maintenance) to finish undisturbed.
POSTGRES_RESTART_AFTER_S = 30.0
_START_ERRORS = (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError)


class InfrastructureWatch:
    """Checks every second that PostgreSQL and the broker still run. A broker that stopped is started again at
    once (it is memory only: the relays publish their retained events again); PostgreSQL is reported with what
    to do, and started again if nobody has after POSTGRES_RESTART_AFTER_S."""

    def __init__(self, config: StackConfig, postgres: EmbeddedPostgres, broker: EmbeddedBroker, console: Console,
                 on_change: Callable[[], None]) -> None:
        self.config, self.postgres, self.broker, self.console = config, postgres, broker, console
        self._on_change = on_change
        self._postgres_down_since: float | None = None
        self._broker_retry_at = 0.0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            await self._check_broker()
            await self._check_postgres()

    async def _check_broker(self) -> None:
        if self.broker.running() or time.monotonic() < self._broker_retry_at:
            return
        began = time.monotonic()
        self.console.say(
            f"The broker stopped unexpectedly (see {self.config.broker_log}); starting a new one on "
            f"{self.config.broker_address}. It starts empty: every service's relay publishes its retained "
            "events again, and consumers skip what they had already applied."
        )
        try:
            await asyncio.to_thread(self.broker.start)
        except _START_ERRORS as error:
            self._broker_retry_at = time.monotonic() + BROKER_RETRY_S
            self.console.say(f"The broker did not start again ({error}); trying again in {BROKER_RETRY_S:.0f} s. "
                             "If it keeps failing, stop the stack (Ctrl-C) and run it again.")
            return
        self._on_change()
        self.console.say(f"The broker is back ({seconds(began)}).")

    async def _check_postgres(self) -> None:
        running = await asyncio.to_thread(self.postgres.running)
        if running:
            if self._postgres_down_since is not None:
                self._postgres_down_since = None
                self.console.say("PostgreSQL is back: services answer again and their consumers catch up.")
            return
        now = time.monotonic()
        if self._postgres_down_since is None:
            self._postgres_down_since = now
            self.console.say(
                f"PostgreSQL stopped (see {self.postgres.log_file}). Meanwhile services answer 503 with Retry-After "
                "and their consumers wait; nothing they acknowledged is lost. If it was not stopped on purpose, the "
                f"stack starts it again in {POSTGRES_RESTART_AFTER_S:.0f} s; or stop the stack (Ctrl-C) and run it "
                "again."
            )
            return
        if now - self._postgres_down_since < POSTGRES_RESTART_AFTER_S:
            return
        self.console.say("PostgreSQL is still down: starting it again ...")
        try:
            await asyncio.to_thread(self.postgres.start)
        except _START_ERRORS as error:
            self._postgres_down_since = now
            self.console.say(f"PostgreSQL did not start ({error}); see {self.postgres.log_file}.")
