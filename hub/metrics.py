"""What a worker tells Prometheus: the hub's metrics on one registry, and small functions to
record them. Plain Python (prometheus-client only): the runtime, the web layer and the channels
all call it.

Every label is a short word from a fixed set (channel, outcome, reason class, kind, event type,
topic): an address, a name, an id or free text never becomes a label, whatever a caller passes
(anything outside a label's set is counted as "other" or "unknown"). `GET /metrics` serves
`exposition()` in Prometheus's text format.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    from hub.intake.publishing import Accepted
    from hub.services import EventPublisher, Placement

# The classic text format, which every Prometheus reads (prometheus-client's own server answers
# with it too when the scraper does not ask for another).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The header on every record a fan-out writes (and on their retries): when the event was
# published (the Kafka timestamp of its record on the events topic), in seconds since the epoch.
PUBLISHED_HEADER = "hub-published-at"

CHANNELS = frozenset({"email", "telegram", "newsletter", "events"})
OUTCOMES = frozenset({"sent", "duplicate", "failed", "retrying", "dead-lettered", "skipped"})
# Why a delivery did not simply go out, as a class (never the provider's text): "none" for a
# sent one or a duplicate.
REASONS = frozenset(
    {
        "none",
        "smtp_4xx",
        "smtp_5xx",
        "timeout",
        "connection",
        "rate_limited",
        "blocked",
        "moved",
        "rejected",
        "template",
        "configuration",
        "document",
        "bad_record",
        "erased",
        "withdrawn",
        "switched_off",
        "unknown",
    }
)
BULK, TRANSACTIONAL = "bulk", "transactional"
PUBLISHERS = frozenset({"api", "console", "cli"})
OTHER = "other"

REGISTRY = CollectorRegistry(auto_describe=True)
# The process's own figures (CPU, memory, open files, garbage collection), as any exporter has.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

DELIVERIES = Counter(
    "hub_deliveries",
    "Delivery attempts by channel, outcome and reason class.",
    ["channel", "outcome", "reason"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "hub_delivery_latency_seconds",
    "From an event's publication (or a transactional message's request) to its delivery.",
    ["channel", "kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "hub_dead_letters",
    "Deliveries (and events, channel=events) given up on and kept as dead letters.",
    ["channel"],
    registry=REGISTRY,
)
RETRIES_PENDING = Gauge(
    "hub_retries_pending",
    "Retries waiting in a channel's retry and delay-tier topics, on this worker's partitions.",
    ["channel"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "hub_consumer_lag",
    "Records not yet processed (highwater - committed), summed over this worker's partitions.",
    ["topic"],
    registry=REGISTRY,
)
PARTITIONS_OWNED = Gauge(
    "hub_partitions_owned",
    "Partitions of each topic assigned to this worker (table changelogs and standbys too).",
    ["topic"],
    registry=REGISTRY,
)
FANOUT_DURATION = Histogram(
    "hub_fanout_duration_seconds",
    "Planning one event: audience, deliveries written and acknowledged.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
FANOUT_RECIPIENTS = Histogram(
    "hub_fanout_recipients",
    "Deliveries planned for one event (every channel).",
    buckets=(0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
    registry=REGISTRY,
)
SMTP_POOL_WAIT = Histogram(
    "hub_smtp_pool_wait_seconds",
    "Time a send waited for a connection of the SMTP pool.",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
TELEGRAM_RATE_LIMITED = Counter(
    "hub_telegram_rate_limited",
    "Answers 429 (Too Many Requests) from the Telegram Bot API.",
    registry=REGISTRY,
)
TELEGRAM_PACING_WAIT = Histogram(
    "hub_telegram_pacing_wait_seconds",
    "Time a Telegram message waited for its slot under the flood limits.",
    buckets=(0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
EVENTS_PUBLISHED = Counter(
    "hub_events_published",
    "Events accepted and written to their topic, by type and by where they were published.",
    ["type", "publisher"],
    registry=REGISTRY,
)
WORKER_INFO = Gauge(
    "hub_worker_info",
    "Always 1: the hub's version and this worker's name.",
    ["version", "worker"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """Every metric, in the Prometheus text format (CONTENT_TYPE)."""
    return generate_latest(REGISTRY)


def _one_of(value: str, allowed: frozenset[str], otherwise: str) -> str:
    return value if value in allowed else otherwise


# --- deliveries -----------------------------------------------------------------------------

_SMTP_CODE = re.compile(r"(?<![\w.])([45])\d\d(?![\w.])")
# "gave up after 5 attempts: " or "permanent: " (hub.delivery.retry), then the error's type.
_PREFIX = re.compile(r"^(?:(?:gave up after \d+ attempts|permanent): )?(?:(\w+Error): )?")
_STARTS = (
    ("template", "template"),
    ("configuration", "configuration"),
    ("bad delivery data", "bad_record"),
    ("unreadable delivery", "bad_record"),
    ("recipient erased", "erased"),
    ("recipient not known", "erased"),
    ("no longer subscribed", "withdrawn"),
    ("moved to another chat", "moved"),
    ("unexpected", "unknown"),
)
_ERRORS = {"recipientblockederror": "blocked", "ratelimitederror": "rate_limited"}


def reason_class(channel: str, reason: str) -> str:
    """The class of a delivery outcome's reason text, as hub.delivery.dispatch words them
    ("TransientDeliveryError: 421 try later" is smtp_4xx): never the text itself."""
    text = reason.strip()
    if not text:
        return "none"
    found = _PREFIX.match(text)
    error = (found.group(1) or "").lower() if found else ""
    rest = text[found.end() :] if found else text
    lowered = rest.lower()
    if error in _ERRORS:
        return _ERRORS[error]
    for start, kind in _STARTS:
        if lowered.startswith(start):
            return kind
    if lowered.startswith("no ") and lowered.endswith("address any more"):
        return "withdrawn"
    if "event document" in lowered:
        return "document"
    if channel in ("email", "newsletter") and (code := _SMTP_CODE.search(rest)) is not None:
        return f"smtp_{code.group(1)}xx"
    if any(word in lowered for word in ("timed out", "timeout", "timedout")):
        return "timeout"
    if any(word in lowered for word in ("connection", "unreachable", "network")):
        return "connection"
    if error in ("permanentdeliveryerror", "recipientrejectederror"):
        return "rejected"
    if "cannot take this message" in lowered:
        return "rejected"
    return "unknown"


def outcome_label(status: str, *, dead_lettered: bool, reason: str) -> str:
    """An outcome's label: a failure kept as a dead letter is `dead-lettered`; one with nothing
    left to send (the recipient erased, unsubscribed, without an address) `skipped`."""
    if status == "failed":
        if dead_lettered:
            return "dead-lettered"
        return "skipped" if reason in ("erased", "withdrawn") else "failed"
    return _one_of(status, OUTCOMES, "unknown")


def delivery_kind(message: object) -> str:
    """`transactional` for a message rendered when it was requested (a confirmation, a notice:
    no personal links); `bulk` for an event's fan-out and a newsletter edition."""
    if not isinstance(message, Mapping) or not message.get("rendered"):
        return BULK
    newsletter = str(message.get("event_id", "")).startswith("newsletter:")
    return BULK if newsletter or message.get("links") else TRANSACTIONAL


def published_at(headers: Mapping[str, Any] | None, timestamp: float | None) -> float | None:
    """When what a delivery record carries was published (seconds since the epoch): the fan-out's
    header, else the record's own Kafka timestamp (a transactional message, a newsletter edition:
    written when it was asked for)."""
    raw = (headers or {}).get(PUBLISHED_HEADER)
    if isinstance(raw, bytes | str):
        try:
            published = float(raw)
        except ValueError:
            published = math.nan
        if math.isfinite(published):
            return published
    return timestamp if timestamp else None


def published_header(published: float | None) -> dict[str, bytes]:
    """The header carrying `published` on (a retry keeps its delivery's publication time)."""
    return {} if published is None else {PUBLISHED_HEADER: repr(float(published)).encode()}


def delivery_recorded(
    channel: str,
    outcome: str,
    reason: str = "none",
    latency: float | None = None,
    kind: str = BULK,
) -> None:
    """One delivery attempt's outcome; `latency` (seconds from publication) for a sent one."""
    channel = _one_of(channel, CHANNELS, OTHER)
    DELIVERIES.labels(
        channel, _one_of(outcome, OUTCOMES, "unknown"), _one_of(reason, REASONS, "unknown")
    ).inc()
    if latency is not None:
        kind = kind if kind in (BULK, TRANSACTIONAL) else BULK
        DELIVERY_LATENCY.labels(channel, kind).observe(max(0.0, latency))


def dispatched(
    channel: str,
    status: str,
    reason_text: str,
    *,
    dead_lettered: bool,
    message: object,
    published: float | None,
    now: float | None = None,
) -> None:
    """What the delivery agent records of one dispatched message (hub.delivery.dispatch)."""
    reason = reason_class(channel, reason_text) if status in ("retrying", "failed") else "none"
    outcome = outcome_label(status, dead_lettered=dead_lettered, reason=reason)
    latency = None
    if outcome == "sent" and published is not None:
        latency = (time.time() if now is None else now) - published
    delivery_recorded(channel, outcome, reason, latency, delivery_kind(message))
    if dead_lettered:
        dead_letter_kept(channel)


def dead_letter_kept(channel: str) -> None:
    DEAD_LETTERS.labels(_one_of(channel, CHANNELS, OTHER)).inc()


# --- planning -------------------------------------------------------------------------------


def fan_out_planned(seconds: float, deliveries: int) -> None:
    FANOUT_DURATION.observe(max(0.0, seconds))
    FANOUT_RECIPIENTS.observe(deliveries)


# --- channels -------------------------------------------------------------------------------


def smtp_pool_waited(seconds: float) -> None:
    SMTP_POOL_WAIT.observe(max(0.0, seconds))


def telegram_rate_limited() -> None:
    TELEGRAM_RATE_LIMITED.inc()


def telegram_paced(seconds: float) -> None:
    TELEGRAM_PACING_WAIT.observe(max(0.0, seconds))


# --- publishing -----------------------------------------------------------------------------

_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){0,3}$")


def event_published(event_type: str, publisher: str) -> None:
    """An event written to its topic; `publisher` is where (api, console, cli), not who."""
    kind = event_type if len(event_type) <= 64 and _EVENT_TYPE.match(event_type) else OTHER
    EVENTS_PUBLISHED.labels(kind, _one_of(publisher, PUBLISHERS, OTHER)).inc()


class CountedPublisher:
    """An EventPublisher that counts what it publishes (hub_events_published_total)."""

    def __init__(self, publisher: EventPublisher, via: str) -> None:
        self.publisher = publisher
        self.via = via

    async def publish(self, accepted: Accepted, published_by: str) -> Placement:
        placed = await self.publisher.publish(accepted, published_by)
        event_published(str(accepted.document.get("type", "")), self.via)
        return placed


# --- the worker -----------------------------------------------------------------------------


def worker_started(version: str, worker: str) -> None:
    WORKER_INFO.clear()
    WORKER_INFO.labels(version[:32], worker[:64]).set(1)


TopicPartition = tuple[str, int]


def lag_by_topic(
    assigned: Iterable[TopicPartition],
    highwaters: Mapping[TopicPartition, int | None],
    committed: Mapping[TopicPartition, int | None],
) -> dict[str, int]:
    """Per topic, the records past each assigned partition's committed offset (its next one to
    read), summed; a partition whose highwater or committed offset is not known yet counts 0."""
    lag: dict[str, int] = {}
    for tp in assigned:
        high, done = highwaters.get(tp), committed.get(tp)
        behind = max(0, high - done) if high is not None and done is not None else 0
        lag[tp[0]] = lag.get(tp[0], 0) + behind
    return lag


def assignment_observed(
    owned: Mapping[str, int], lag: Mapping[str, int], retry_topics: Mapping[str, Iterable[str]]
) -> None:
    """This worker's partitions and lag per topic, and each channel's retries waiting (the lag
    of its retry and delay-tier topics). Replaces what was there: topics no longer assigned go."""
    PARTITIONS_OWNED.clear()
    for topic, count in owned.items():
        PARTITIONS_OWNED.labels(topic).set(count)
    CONSUMER_LAG.clear()
    for topic, behind in lag.items():
        CONSUMER_LAG.labels(topic).set(behind)
    RETRIES_PENDING.clear()
    for channel, topics in retry_topics.items():
        RETRIES_PENDING.labels(_one_of(channel, CHANNELS, OTHER)).set(
            sum(lag.get(topic, 0) for topic in topics)
        )
