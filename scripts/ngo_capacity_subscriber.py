"""An NGO system following shelter capacity on Kafka with a consumer group of its own (an example to copy).

    .venv/bin/python scripts/ngo_capacity_subscriber.py --group ngo-hvo-querido-capacity [--programme lvv]

Each record of `shelter.capacity.v1` is a CloudEvents envelope (JSON) keyed by shelter id; `data` holds the
shelter's capacity, occupied and available places and a per-shelter `sequence`. Delivery is at least once: keep
the highest sequence seen per shelter and ignore anything not newer. Offsets are committed after a record is
applied, so a restart continues where the group left off.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aiokafka import AIOKafkaConsumer

TOPIC = "shelter.capacity.v1"


async def follow(bootstrap_servers: str, group: str, programmes: set[str]) -> None:
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap_servers, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    latest: dict[str, int] = {}
    try:
        while True:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=500)).values():
                for record in records:
                    shelter = json.loads(record.value)["data"]
                    if programmes and shelter["programme"] not in programmes:
                        continue
                    if shelter["sequence"] <= latest.get(shelter["shelter_id"], 0):
                        continue  # a redelivery: already applied
                    latest[shelter["shelter_id"]] = shelter["sequence"]
                    print(f"{shelter['changed_at']}  {shelter['shelter_name']:<24} {shelter['programme']:<9} "
                          f"{shelter['status']:<8} {shelter['available']:>3} free of {shelter['capacity']:>3}")
            await consumer.commit()
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--group", default="ngo-example-capacity", help="your organisation's own consumer group")
    parser.add_argument("--programme", action="append", default=[], help="only this programme (repeatable)")
    options = parser.parse_args()
    try:
        asyncio.run(follow(options.bootstrap_servers, options.group, set(options.programme)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
