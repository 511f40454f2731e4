"""Kafka clients can authenticate to a production broker (SASL/SCRAM over TLS), and stay plain in the embedded one."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from verbinding_common.kafka import new_admin, new_consumer, new_producer, security_options, topic_config
from verbinding_testing.fixtures import test_settings


def settings(**overrides: object):
    return test_settings(database_url="postgresql://x@127.0.0.1:1/x", bootstrap_servers="127.0.0.1:9", **overrides)


def test_the_embedded_stack_needs_no_security_options() -> None:
    assert security_options(settings()) == {}


async def test_sasl_scram_over_tls_reaches_producer_consumer_and_admin(tmp_path: Path) -> None:
    password = tmp_path / "kafka-password"
    password.write_text("s3cret-from-a-file\n")
    secure = settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="intake",
                      kafka_sasl_password_file=password)
    options = security_options(secure)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "intake" and options["sasl_plain_password"] == "s3cret-from-a-file"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    producer, consumer, admin = new_producer(secure), new_consumer(secure, group_id="g"), new_admin(secure)
    assert producer.client._security_protocol == "SASL_SSL"
    assert producer.client._sasl_mechanism == "SCRAM-SHA-512"
    assert consumer._client._security_protocol == "SASL_SSL"
    assert admin._client._security_protocol == "SASL_SSL"


def test_sasl_without_a_user_or_password_file_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="VERBINDING_KAFKA_SASL_USERNAME"):
        security_options(settings(kafka_security_protocol="SASL_SSL"))
    with pytest.raises(ValidationError):
        settings(kafka_sasl_mechanism="GSSAPI")


def test_dead_letter_topics_are_created_with_a_retention() -> None:
    assert topic_config("coa.status-recognitions.v1.dlq", settings(dead_letter_retention_hours=48)) == {
        "retention.ms": str(48 * 3_600_000)}
    assert topic_config("coa.status-recognitions.v1", settings()) == {}


def test_a_topic_carrying_personal_data_to_one_consumer_keeps_it_and_its_dead_letters_a_day() -> None:
    day = {"retention.ms": str(24 * 3_600_000)}
    assert topic_config("intake.access-answers.v1", settings()) == day
    assert topic_config("intake.access-answers.v1.dlq", settings(dead_letter_retention_hours=48)) == day
    assert topic_config("intake.access-answers.v1.dlq", settings(dead_letter_retention_hours=2)) == {
        "retention.ms": str(2 * 3_600_000)}
