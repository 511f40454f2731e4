"""`make metrics`: a service's Prometheus text folded into one screen, only what it has."""

from __future__ import annotations

from verbinding_devstack.metrics_summary import summary

SCRAPE = """# HELP verbinding_dead_letters_total Events set aside
# TYPE verbinding_dead_letters_total counter
verbinding_dead_letters_total{consumer_group="intake",topic="coa.status-recognitions.v1"} 2.0
verbinding_dead_letters_total{consumer_group="intake",topic="case-plan.cases.v1"} 1.0
http_server_request_duration_seconds_count{method="GET",http_response_status_code="200",http_route="/a"} 5.0
http_server_request_duration_seconds_count{method="POST",http_response_status_code="200",http_route="/b"} 2.0
http_server_request_duration_seconds_count{method="GET",http_response_status_code="503",http_route="/a"} 1.0
verbinding_outbox_backlog 3.0
"""


def test_a_services_screen_totals_requests_by_status_and_dead_letters_by_topic() -> None:
    lines = summary("intake", SCRAPE)
    assert lines[0] == "intake"
    assert "  requests                 200 7, 503 1" in lines
    assert "  dead letters             case-plan.cases.v1 1, coa.status-recognitions.v1 2" in lines
    assert "  outbox backlog           3" in lines
    assert not any("free beds" in line for line in lines)


def test_a_service_without_metrics_says_so() -> None:
    assert summary("gateway", "") == ["gateway: no metrics yet"]
