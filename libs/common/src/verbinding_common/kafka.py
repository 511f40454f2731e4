"""Kafka clients configured the one way the backbone uses them, and topic creation."""

from __future__ import annotations

import logging
import ssl
import struct
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from .contracts import topic_retention_hours
from .settings import ServiceSettings

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 3


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def security_options(settings: ServiceSettings) -> dict[str, Any]:
    """What a production broker asks of every client (producer, consumer, admin): SASL/SCRAM and TLS, by setting."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        password = settings.kafka_sasl_password()
        if not settings.kafka_sasl_username or not password:
            raise ValueError(f"{protocol} needs VERBINDING_KAFKA_SASL_USERNAME and VERBINDING_KAFKA_SASL_PASSWORD_FILE")
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=password)
    return options


def topic_config(topic: str, settings: ServiceSettings | None) -> dict[str, str]:
    """Settings a topic is created with: dead letters hold whole events, so they expire; a topic whose contracts
    declare a shorter retention (`topic_retention_hours`) keeps its records, and its dead letters, no longer."""
    hours: list[int] = []
    if settings is not None and topic.endswith(".dlq"):
        hours.append(settings.dead_letter_retention_hours)
    base = topic.removesuffix(".dlq").removesuffix(".dlq")
    if (declared := topic_retention_hours(base)) is not None:
        hours.append(declared)
    return {"retention.ms": str(min(hours) * 3_600_000)} if hours else {}


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # acks=all, and idempotence only by setting: the embedded broker fails InitProducerId.
    return AIOKafkaProducer(
        **security_options(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-producer",
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
    )


def new_consumer(settings: ServiceSettings, *, group_id: str | None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **security_options(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-{uuid.uuid4().hex[:6]}",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 40_000),
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_interval_ms=300_000,
    )


def new_admin(settings: ServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        **security_options(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-admin",
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )


async def start_with_retry(client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient,
                           *, seconds: float = 60.0) -> None:
    """Start a client, retrying while the broker is not there yet (or rebalances fail on Tansu)."""
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(seconds),
        wait=wait_exponential(multiplier=0.2, max=3),
        retry=retry_if_exception_type(Exception),
        reraise=True,
    ):
        with attempt:
            try:
                await client.start()
            except Exception:
                log.warning("kafka client %s did not start, retrying", type(client).__name__)
                await _close_quietly(client)
                raise


async def _close_quietly(client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient) -> None:
    try:
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()
    except Exception:
        pass


async def ensure_topics(admin: AIOKafkaAdminClient, topics: list[str] | set[str],
                        partitions: int | None = None, *, settings: ServiceSettings | None = None) -> None:
    """Create the topics that do not exist yet (dead letters with a retention); existing ones are left as they are.
    Partitions: as given, else the settings' `kafka_topic_partitions`, else the default."""
    if partitions is None:
        partitions = settings.kafka_topic_partitions if settings is not None else DEFAULT_PARTITIONS
    existing = set(await admin.list_topics())
    missing = sorted(set(topics) - existing)
    if not missing:
        return
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=topic_config(name, settings))
                                   for name in missing])
    except TopicAlreadyExistsError:
        pass


async def cluster_id(admin: AIOKafkaAdminClient) -> str:
    """The broker's cluster id. The embedded broker gets a fresh one at each start (memory storage)."""
    description = await admin.describe_cluster()
    return str(description.get("cluster_id") or "unknown")


def key_partition(key: bytes, partitions: int) -> int:
    """The partition aiokafka's (and the Java client's) default partitioner picks for `key` among `partitions`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` (aiokafka.partitioner.murmur2's result), a word at a time: a relay hashes every key
    it publishes, and the byte-by-byte original was a tenth of the gateway relay's time."""
    length = len(data)
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = 0x9747B28C ^ length
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data) if words else ():
        k = (k * m) & mask
        k = ((k ^ (k >> 24)) * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[words * 4:]
    if tail:
        if len(tail) >= 3:
            h ^= tail[2] << 16
        if len(tail) >= 2:
            h ^= tail[1] << 8
        h = ((h ^ tail[0]) * m) & mask
    h = ((h ^ (h >> 13)) * m) & mask
    return h ^ (h >> 15)
