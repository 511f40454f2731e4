"""Every service logs through the library's one setup: a line it writes while serving a request is a JSON object
naming the service and carrying that request's trace id (what a log collector joins to the trace)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from pathlib import Path

import httpx
import pytest

from verbinding_common.telemetry import TRACE_ID_HEADER
from verbinding_devstack.stack import ServiceSpec, discover_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = discover_services(ROOT / "services")


@pytest.mark.parametrize("service", SERVICES, ids=[service.name for service in SERVICES])
async def test_a_services_log_line_is_json_with_its_name_and_the_requests_trace_id(
        service: ServiceSpec, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in [name for name in list(os.environ) if name.startswith("VERBINDING_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VERBINDING_ENVIRONMENT", "development")
    monkeypatch.syspath_prepend(str(service.import_root))
    module_name = service.app.split(":", 1)[0]
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    app = module.create_app()
    probe = f"{service.name}.probe"

    @app.get("/log-probe/{case_id}")
    async def log_probe(case_id: str) -> None:
        logging.getLogger(probe).info("probe")

    capsys.readouterr()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/log-probe/V-123456")

    written = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [line] = [line for line in written if line["logger"] == probe]
    assert line["service"] == service.name and line["level"] == "INFO"
    assert line["trace_id"] == response.headers[TRACE_ID_HEADER]
