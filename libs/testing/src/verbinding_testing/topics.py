"""Read what a stack's broker holds: where every partition ends, and every record up to there (no idle waiting)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from .stack import RunningStack


async def topic_ends(stack: RunningStack) -> dict[TopicPartition, int]:
    """Where every partition of every topic ends now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=f"127.0.0.1:{stack.ports.broker}", enable_auto_commit=False)
    await consumer.start()
    try:
        topics = await consumer.topics()
        return await consumer.end_offsets([TopicPartition(topic, partition) for topic in topics
                                           for partition in consumer.partitions_for_topic(topic) or ()])
    finally:
        await consumer.stop()


async def produced_since(stack: RunningStack, since: dict[TopicPartition, int]) -> list[tuple[str, str]]:
    """Every record produced on any topic after `since` (a topic created later, or all of them for `{}`: from its
    start), as (topic, text of its key, value and headers). Reads up to the ends found first, so it never waits for
    a fetch to come back empty."""
    ends = {tp: end for tp, end in (await topic_ends(stack)).items() if end > since.get(tp, 0)}
    if not ends:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=f"127.0.0.1:{stack.ports.broker}", enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, str]] = []
    try:
        consumer.assign(list(ends))
        for tp in ends:
            consumer.seek(tp, since.get(tp, 0))
        while [tp for tp in ends if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                found += [(tp.topic, " ".join([(r.key or b"").decode(errors="replace"),
                                               (r.value or b"").decode(errors="replace"),
                                               *(f"{k}={v.decode(errors='replace')}" for k, v in r.headers)]))
                          for r in records if r.offset < ends[tp]]
    finally:
        await consumer.stop()
    return found
