"""The event catalogue: every event type with its topic, key, producers and consumers, read from the code.

Producers come from the contracts (the service a topic is named after, or a contract's `producers`); consumers
come from each service's app, the `ConsumerSpec`s it passes to `create_service_app(consumers=...)`, that is from
what the service really starts, wherever in its package the spec is written. A consumer group receives every event
type on the topics it subscribes to: where a spec names the event contracts it applies, the others are listed as
delivered to it but skipped. A group may also read a topic's dead letters (`<topic>.dlq`); it then dead-letters
what it cannot apply to `<topic>.dlq.dlq`.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verbinding_common.app import consumers_of
from verbinding_common.consumer import ConsumerSpec
from verbinding_common.contracts import load_all
from verbinding_common.events import Contract
from verbinding_common.kafka import dlq_topic

from .stack import ServiceSpec, discover_services


class CatalogueError(Exception):
    """The contracts and the services disagree (a topic nobody declares, a key that is not a field)."""


@dataclass(frozen=True)
class Subscription:
    """One `ConsumerSpec` a service starts: the consumer group and the topics it reads."""

    service: str
    group: str
    topics: tuple[str, ...]
    module: str  # where the spec's handler is written
    event_types: tuple[str, ...] | None = None  # None: the spec does not say, so every type on its topics

    def applies(self, event_type: str, topic: str) -> bool:
        return topic in self.topics and (self.event_types is None or event_type in self.event_types)


@dataclass(frozen=True)
class EventEntry:
    type: str
    topic: str
    key_field: str | None
    producers: tuple[str, ...]
    consumers: tuple[str, ...]  # services that apply it
    contract: Contract
    skipped_by: tuple[str, ...] = ()  # services it is delivered to (they read the topic) that skip it


@dataclass(frozen=True)
class TopicEntry:
    """A topic and who may do what with it; the dead-letter topic is written by the topic's consumers, and its own
    dead letters by those who read it."""

    name: str
    event_types: tuple[str, ...]
    producers: tuple[str, ...]
    consumer_groups: dict[str, str]  # consumer group -> the service it belongs to
    dead_letter_groups: dict[str, str] = field(default_factory=dict)  # groups reading `dead_letters`

    @property
    def dead_letters(self) -> str:
        return dlq_topic(self.name)

    @property
    def dead_letters_of_dead_letters(self) -> str:
        return dlq_topic(self.dead_letters)


@dataclass(frozen=True)
class Catalogue:
    services: tuple[str, ...]
    events: dict[str, EventEntry]
    topics: dict[str, TopicEntry]
    subscriptions: tuple[Subscription, ...]

    def is_service(self, name: str) -> bool:
        return name in self.services


def producers_of(contract_: Contract) -> tuple[str, ...]:
    """Who publishes this event: the contract's `producers`, else the owner the topic is named after."""
    declared = tuple(getattr(contract_.model, "producers", ()) or ())
    return declared or (contract_.topic.split(".", 1)[0],)


def subscriptions(root: Path) -> list[Subscription]:
    """Every `ConsumerSpec` the apps of the services under `root`/services start (`consumers_of` their app)."""
    return [_subscription(spec, service=service.name)
            for service in discover_services(root / "services") for spec in consumers_of(_app_of(service))]


def _app_of(service: ServiceSpec) -> Any:
    """The app object [tool.verbinding] `app` names, as uvicorn would import it; building it connects to nothing.
    An app this process imported before (a test's) is read as it is."""
    module_name, attribute = service.app.split(":", 1)
    if str(service.import_root) not in sys.path:
        sys.path.insert(0, str(service.import_root))
    with _code_defaults():
        module = importlib.import_module(module_name)
    return getattr(module, attribute)


@contextlib.contextmanager
def _code_defaults() -> Iterator[None]:
    """Settings as the code declares them (development), not as this shell's VERBINDING_* variables would make them:
    the catalogue, the AsyncAPI file and the ACLs are the same on every machine. Start-up warnings of an app built
    only to be read (the gateway's missing signing key) are not for this reader."""
    saved = {name: value for name, value in os.environ.items() if name.startswith("VERBINDING_")}
    for name in saved:
        del os.environ[name]
    os.environ["VERBINDING_ENVIRONMENT"] = "development"
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        del os.environ["VERBINDING_ENVIRONMENT"]
        os.environ.update(saved)


def _subscription(spec: ConsumerSpec, *, service: str) -> Subscription:
    contracts = spec.events
    event_types = tuple(item.event_type for item in contracts) if contracts else None
    return Subscription(service=service, group=spec.group_id or service, topics=tuple(spec.subscribed_topics()),
                        module=getattr(spec.handler, "__module__", service), event_types=event_types)


def build(root: Path) -> Catalogue:
    """The catalogue of the repository at `root`, checked for consistency."""
    contracts = load_all()
    subs = subscriptions(root)
    services = tuple(service.name for service in discover_services(root / "services"))
    declared_topics = {item.topic for item in contracts.values()}
    dead_letters = {dlq_topic(topic): topic for topic in declared_topics}
    for sub in subs:
        unknown = sorted(set(sub.topics) - declared_topics - set(dead_letters))
        if unknown:
            raise CatalogueError(f"{sub.module} subscribes to {unknown}, which no contract declares")
    groups_of: dict[str, dict[str, str]] = {}
    dead_letter_groups_of: dict[str, dict[str, str]] = {}
    for sub in subs:
        for topic in sub.topics:
            if topic in dead_letters:
                dead_letter_groups_of.setdefault(dead_letters[topic], {})[sub.group] = sub.service
            else:
                groups_of.setdefault(topic, {})[sub.group] = sub.service
    events = {}
    for name, item in contracts.items():
        key_field = getattr(item.model, "key_field", None)
        if key_field is not None and key_field not in item.model.model_fields:
            raise CatalogueError(f"{name}: key_field {key_field!r} is not a field of {item.model.__name__}")
        consumers = tuple(sorted({sub.service for sub in subs if sub.applies(name, item.topic)}))
        receivers = set(groups_of.get(item.topic, {}).values())
        events[name] = EventEntry(type=name, topic=item.topic, key_field=key_field, producers=producers_of(item),
                                  consumers=consumers, contract=item,
                                  skipped_by=tuple(sorted(receivers - set(consumers))))
    topics = {}
    for topic in sorted(declared_topics):
        on_topic = [entry for entry in events.values() if entry.topic == topic]
        producers = tuple(dict.fromkeys(p for entry in on_topic for p in entry.producers))
        topics[topic] = TopicEntry(name=topic, event_types=tuple(entry.type for entry in on_topic),
                                   producers=producers, consumer_groups=dict(sorted(groups_of.get(topic, {}).items())),
                                   dead_letter_groups=dict(sorted(dead_letter_groups_of.get(topic, {}).items())))
    return Catalogue(services=services, events=events, topics=topics, subscriptions=tuple(subs))


def acl_map(catalogue: Catalogue) -> dict[str, dict[str, Any]]:
    """Per service or outside party: the topics it writes and reads, and its consumer groups (for broker ACLs)."""
    acl: dict[str, dict[str, Any]] = {}

    def entry(principal: str) -> dict[str, Any]:
        return acl.setdefault(principal, {"write": set(), "read": set(), "groups": set()})

    for topic in catalogue.topics.values():
        for producer in topic.producers:
            entry(producer)["write"].add(topic.name)
        for group, service in topic.consumer_groups.items():
            entry(service)["read"].add(topic.name)
            entry(service)["write"].add(topic.dead_letters)
            entry(service)["groups"].add(group)
        for group, service in topic.dead_letter_groups.items():
            entry(service)["read"].add(topic.dead_letters)
            entry(service)["write"].add(topic.dead_letters_of_dead_letters)
            entry(service)["groups"].add(group)
    return {name: {kind: sorted(values) for kind, values in rights.items()} for name, rights in sorted(acl.items())}
