"""The planner agent and the embargo release timer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

from faust.types import StreamT

from hub import metrics
from hub.delivery import faults
from hub.delivery.inflight import InFlight
from hub.model.deliveries import Delivery, EventAt, EventDeadLetter
from hub.model.events import Event, topic_name
from hub.model.newsletters import NewsletterItem
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.model.records import as_json
from hub.model.subscribers import Subscriber
from hub.model.tables import Embargo
from hub.partners.registry import PartnerRegistry
from hub.planning.encoding import (
    Batch,
    Roster,
    encode_batches,
    is_subscriber,
    recipient_ids,
    rosters,
)
from hub.planning.planner import due_embargoes, plan_event
from hub.privacy.sealing import KeyLookup, Keys
from hub.runtime.agents.channels import broadcast_to
from hub.runtime.agents.guard import ContiguousStream, Taken, acknowledge, run_in_flight
from hub.runtime.agents.newsletters import newsletters_for
from hub.runtime.agents.outcomes import record_outcome, record_outcomes
from hub.runtime.app import Runtime, utc_now

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Planned outcomes per record on the outcomes topic (and per status record).
PLANNED_BATCH = 500
# Recipients' keys looked up between two yields to the event loop: the API answers meanwhile.
EMIT_SLICE = 100
# Deliveries encoded at a time, off the loop: bounds what is held at once.
ENCODE_CHUNK = 4000
# Audiences up to this size are planned on the loop: a few milliseconds at most.
INLINE_AUDIENCE = 200
# Events planned at once (one large audience among them at most).
PLANS_IN_FLIGHT = 8


def register_planning_agents(rt: Runtime) -> None:
    app = rt.app
    events = ContiguousStream(rt, "hub.plan")

    large_plans = asyncio.Semaphore(1)

    @app.agent(rt.event_topics, name="hub.plan", concurrency=1)
    async def plan(stream: StreamT[Any]) -> None:
        """Turn accepted events into deliveries, one per recipient and channel.

        Up to PLANS_IN_FLIGHT events are planned at once: most of an event's time goes to
        waiting for Kafka (its document acknowledged, its records written), so a stream of small
        events would otherwise queue behind each round trip. Copies of one event (same key) are
        planned one after the other, and offsets are acknowledged in order per partition, once
        every event up to there is planned (hub.delivery.inflight).
        """

        async def settle(finished: Sequence[tuple[Taken, None]]) -> None:
            for taken, _ in finished:
                await acknowledge(stream, taken)

        def plan_taken(taken: Taken) -> Awaitable[None]:
            # The record's Kafka timestamp: when the event was published (hub.metrics).
            return plan_or_keep(rt, taken.record.value, large_plans, taken.record.timestamp)

        window: InFlight[Taken, None] = InFlight(PLANS_IN_FLIGHT, plan_taken, settle)
        await run_in_flight(events, stream, window, lambda taken: [(taken.record.key, taken)])

    @app.timer(interval=rt.settings.embargo_check_seconds)  # type: ignore[untyped-decorator]
    async def release_embargoes() -> None:
        """Send held events back to the planner once their embargo has passed.

        Every worker checks the embargoes of its own partitions; sending one twice is harmless
        (the planner fans an event out once), so restarts and rebalances need no coordination.
        """
        try:
            due = due_embargoes(list(rt.embargoed.items()), rt.planned, utc_now())
            for event_id, embargo in due:
                log.info(
                    "event %s: embargo over, releasing", event_id, extra={"event_id": event_id}
                )
                await rt.app.producer.send_and_wait(
                    embargo.topic,
                    event_id.encode(),
                    json.dumps(embargo.document, ensure_ascii=False).encode(),
                    None,
                    None,
                    [("hub-released-from-embargo", b"1")],
                )
        except Exception:  # an exception escaping a timer would stop the whole worker
            log.exception("embargo release failed; will try again")


async def plan_or_keep(
    rt: Runtime, document: Any, large_plans: asyncio.Semaphore, published: float | None = None
) -> None:
    """Plan one event; one that cannot be planned is kept as a dead letter."""
    try:
        await plan_one(rt, document, large_plans, published)
    except Exception as exc:
        # Last resort: an event never leaves here without a recorded outcome (an escaped
        # exception would acknowledge it and skip it in silence).
        log.exception("event could not be planned")
        await unplannable(rt, document, f"{type(exc).__name__}: {exc}")


async def plan_one(
    rt: Runtime,
    document: Any,
    large_plans: asyncio.Semaphore | None = None,
    published: float | None = None,
) -> None:
    """Plan one event: hold it, skip it with a reason, or fan it out to the channels.

    Who could be in the audience comes from the directory's indexes, here on the loop; the rest
    (the rules, each recipient's deliveries, the rosters naming them) is pure work on immutable
    values, done in a thread when the audience is large so that it does not hold up the loop.
    The deliveries then go out many to a record; their senders look up addresses and sign links.
    """
    try:
        event = Event.from_document(document)
        partners = rt.partners.registry()
        candidates = rt.directory.candidates(event, partners)
    except (KeyError, TypeError, ValueError) as exc:
        await unplannable(rt, document, repr(exc))
        return
    # One large audience at a time, whatever else is in flight: each holds its deliveries in
    # memory until they are written.
    large = len(candidates) > INLINE_AUDIENCE
    async with large_plans if large and large_plans is not None else contextlib.nullcontext():
        await fan_out(rt, document, event, candidates, partners, large, published)


async def fan_out(
    rt: Runtime,
    document: Any,
    event: Event,
    candidates: list[Subscriber],
    partners: PartnerRegistry,
    large: bool,
    published: float | None = None,
) -> None:
    """Plan an event for its candidate recipients and write what the plan says (`published`:
    when the event was, carried by its deliveries for their latency, hub.metrics)."""
    started = time.monotonic()
    # Subscribers loaded since the worker started are out of the collector's way before a
    # fan-out allocates enough to start a full pass over them.
    rt.heap.settle(len(rt.directory))
    try:
        seen = rt.planned.get(event.id)
        result = await off_the_loop_if(
            large,
            plan_event,
            document,
            candidates,
            {} if seen is None else {event.id: seen},
            utc_now(),
            languages=rt.renderer.languages,
            broadcast=broadcast_to(rt),
            channels=set(rt.channels),
            partners=partners,
        )
    except (KeyError, TypeError, ValueError) as exc:
        await unplannable(rt, document, repr(exc))
        return
    if result.held_until is not None:
        # Kept in a table on this event's partition; the release timer fans it out.
        topic = topic_name(
            rt.settings.kafka.topic_prefix, result.event.type, result.event.schema_version
        )
        held = Embargo(until=result.held_until.isoformat(), topic=topic, document=document)
        rt.embargoed[result.event.id] = held.dump()
    if not result.repeated and result.held_until is None:
        for name in newsletters_for(rt, result.event):
            item = NewsletterItem(event=result.event.document)
            await rt.newsletter_records.send(key=name.encode(), value=item.dump())
    await record_outcomes(
        rt, [Outcome.of(d, OutcomeStatus.SKIPPED, utc_now(), why) for d, why in result.switched_off]
    )
    for delivery, _why in result.switched_off:
        metrics.delivery_recorded(delivery.channel, "skipped", "switched_off")
    if result.skipped_reason:
        log.info(
            "event %s (%s): not fanned out: %s",
            result.event.id,
            result.event.type,
            result.skipped_reason,
            extra={"event_id": result.event.id},
        )
        await record_outcome(rt, Outcome.skipped(result.event.id, utc_now(), result.skipped_reason))
        return
    # The document first, acknowledged by every replica: each delivery points to it.
    at = await write_document(rt, result.event)
    topics = {key: channel.deliveries.get_topic_name() for key, channel in rt.channels.items()}
    partitions = {key: partition_count(rt, topic) for key, topic in topics.items()}
    planned: list[Outcome] = []
    acknowledged: list[Awaitable[Any]] = []
    headers = metrics.published_header(published) or None

    async def write(records: Sequence[Roster | Batch]) -> None:
        nonlocal planned
        for record in records:
            # Many deliveries to a record, on the partition of their recipients' retries and
            # ledger entries; flushed before any offset is committed.
            written = await rt.app.producer.send(
                topics[record.channel], record.key, record.value, record.partition, None, headers
            )
            acknowledged.append(written)
            planned += record.planned
            if len(planned) >= PLANNED_BATCH:
                await record_outcomes(rt, planned)
                planned = []
            for _ in record.planned:
                faults.reached("plan.delivery")

    people = [delivery for delivery in result.deliveries if is_subscriber(delivery)]
    for start in range(0, len(people), ENCODE_CHUNK):
        chunk = people[start : start + ENCODE_CHUNK]
        large_chunk = len(chunk) > INLINE_AUDIENCE
        await write(await off_the_loop_if(large_chunk, rosters, chunk, at, utc_now(), partitions))
    destinations = [delivery for delivery in result.deliveries if not is_subscriber(delivery)]
    if destinations:  # configured channels and groups: a few, sealed like any message
        found = await looked_up(rt.keys, recipient_ids(destinations))
        await write(encode_batches(destinations, at, found, utc_now(), partitions))
    # Each delivery was sent before its planned outcome: a status never counts one that is not
    # on its way (and a crash before this re-plans the event, the ledger stopping repeats).
    await record_outcomes(rt, planned)
    # Every delivery acknowledged by the brokers before the event counts as planned: a worker
    # killed with a record still unacknowledged (its partition's leader slow or down) plans the
    # event again, where an entry written first would have it skipped and the record lost.
    await asyncio.gather(*acknowledged)
    rt.planned[result.event.id] = result.event.fingerprint
    rt.embargoed.pop(result.event.id, None)
    log_fan_out(result.event, result.deliveries, time.monotonic() - started)
    metrics.fan_out_planned(time.monotonic() - started, len(result.deliveries))


def log_fan_out(event: Event, deliveries: Sequence[Delivery], seconds: float) -> None:
    """The one line a fan-out logs: nothing per recipient, whatever the audience."""
    per_channel = Counter(str(delivery.channel) for delivery in deliveries)
    planned = ", ".join(f"{per_channel[c]} {c}" for c in sorted(per_channel)) or "none"
    log.info(
        "event %s (%s): fanned out to %d deliveries (%s) in %.2f s",
        event.id,
        event.type,
        len(deliveries),
        planned,
        seconds,
        extra={"event_id": event.id},
    )


def partition_count(rt: Runtime, topic: str) -> int:
    """The partitions of a topic this worker consumes, as the group's metadata knows them."""
    return rt.app.consumer.topic_partitions(topic) or rt.settings.kafka.partitions


async def off_the_loop_if(
    large: bool, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Large work in a thread, so the loop keeps answering; small work here, where a thread's
    round trip (a wait for the GIL, a wake-up of the loop) would cost more than the work."""
    if large:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)


async def looked_up(keys: Keys, recipients: Iterable[str]) -> dict[str, KeyLookup]:
    """Every recipient's sealing key, read in slices that yield to the loop."""
    found: dict[str, KeyLookup] = {}
    for index, recipient_id in enumerate(recipients):
        if index % EMIT_SLICE == EMIT_SLICE - 1:
            await asyncio.sleep(0)
        found[recipient_id] = keys(recipient_id)
    return found


async def write_document(rt: Runtime, event: Event) -> EventAt:
    """Keep the event's document where its deliveries will read it; where that is."""
    value = json.dumps(event.document, ensure_ascii=False).encode()
    metadata = await rt.app.producer.send_and_wait(
        rt.names.event_documents, event.id.encode(), value, None, None, None
    )
    at = EventAt(partition=metadata.partition, offset=metadata.offset)
    if rt.event_documents is not None:
        rt.event_documents.remember(event.id, at.partition, at.offset, event.document, len(value))
    return at


async def unplannable(rt: Runtime, document: Any, cause: str) -> None:
    """Keep an event that cannot be planned as a dead letter, and record why."""
    event_id = str(document.get("id", "")) if isinstance(document, dict) else ""
    reason = f"unplannable event: {cause}"
    log.error("event %s: %s", event_id, reason, extra={"event_id": event_id})
    letter = EventDeadLetter(
        reason=reason, failed_at=utc_now().isoformat(), event=as_json(document)
    )
    await rt.event_dead_letters.send(key=event_id.encode(), value=letter.dump())
    metrics.dead_letter_kept("events")
    await record_outcome(rt, Outcome.skipped(event_id, utc_now(), reason))
