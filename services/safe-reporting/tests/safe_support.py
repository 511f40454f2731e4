"""Helpers of safe-reporting's tests (a module of its own: conftest modules of several services collide)."""

from __future__ import annotations

import base64
import os

from safe_reporting.settings import SafeReportingSettings

REPORT_KEY = base64.b64encode(os.urandom(32)).decode()
PEPPER = base64.b64encode(os.urandom(32)).decode()


def safe_reporting_settings(database_url: str, public_key: str, **overrides: object) -> SafeReportingSettings:
    values: dict[str, object] = {
        "environment": "test", "database_url": database_url, "kafka_bootstrap_servers": "127.0.0.1:9",
        "identity_public_key": public_key, "report_key": REPORT_KEY, "receipt_pepper": PEPPER,
    }
    values.update(overrides)
    return SafeReportingSettings(**values)  # type: ignore[arg-type]


def a_report(**overrides: object) -> dict[str, object]:
    report: dict[str, object] = {
        "role": "victim", "category": "labour_exploitation", "district": "nieuw_west", "occurred_on": "2026-11-20",
        "part_of_day": "evening", "description": "My employer keeps my wages and threatens me.",
        "answer_language": "ar",
    }
    report.update(overrides)
    return report
