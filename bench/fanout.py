"""S1, S4 and memory: one N-recipient email fan-out against smtp-source and a naive smtplib loop,
the Kafka records it wrote per email, a raw aiokafka consume → produce loop over the same
delivery records, and the worker's load time, RSS and planning time at N subscribers."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import people
from bench.rawloop import raw_loop
from bench.stack import (
    BROKER,
    Result,
    Sink,
    Target,
    load,
    publish,
    recipients,
    rss_mb,
    run_marker,
    settled_offsets,
    worker,
)
from bench.wire import ceiling, client_alone, naive, sample_message
from hub.model.deliveries import messages_in
from tests.helpers import load_example
from tests.hubprocess import HubProcess


@asynccontextmanager
async def tailing(topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of every partition of `topic`, from its end as it is now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BROKER, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        for part in parts:  # positions fixed now, before anything is published
            await consumer.position(part)
        yield consumer
    finally:
        await consumer.stop()


async def planned(consumer: AIOKafkaConsumer, count: int, started: float) -> float:
    """Seconds from publishing until the deliveries topic holds all `count` deliveries written
    since `consumer` was placed (a record may hold a batch of them)."""
    seen = 0
    while seen < count:
        batches = await consumer.getmany(timeout_ms=100)
        seen += sum(
            len(messages_in(json.loads(record.value)))
            for records in batches.values()
            for record in records
        )
    return time.monotonic() - started


async def api_worst(hub: HubProcess, stop: asyncio.Event) -> float:
    """The slowest answer of the health check, asked every 100 ms until `stop`."""
    worst = 0.0
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=60) as client:
        while not stop.is_set():
            asked = time.monotonic()
            await client.get("/api/v1/health")
            worst = max(worst, time.monotonic() - asked)
            await asyncio.sleep(0.1)
    return worst


async def peak_rss(pid: int, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.5)
    return peak


async def hub_fanout(count: int, workdir: Path) -> tuple[dict[str, float], dict[str, int], float]:
    """The hub's fan-out of one event to `count` subscribers; figures, records per topic and the
    raw loop's rate over the delivery records it wrote."""
    sink = Sink(count)
    figures: dict[str, float] = {}
    try:
        async with worker(workdir, sink.port) as hub:
            assert hub.process is not None
            path = people.write(workdir / "people.json", [people.person(i) for i in range(count)])
            figures["load_s"] = await load(hub, path, count)
            figures["rss_loaded_mb"] = rss_mb(hub.process.pid)
            marker = run_marker(hub)
            before = await settled_offsets(marker, quiet=2)
            deliveries = hub.topic("deliveries", "email")
            stop = asyncio.Event()
            pinging = asyncio.create_task(api_worst(hub, stop))
            sampling = asyncio.create_task(peak_rss(hub.process.pid, stop))
            async with tailing(deliveries) as tail:
                started = time.monotonic()
                await publish(hub, load_example())
                planning = asyncio.create_task(planned(tail, count, started))
                ended = await sink.done(within=max(600, count / 20))
                figures["planning_s"] = await planning
            stop.set()
            figures["api_worst_s"] = await pinging
            figures["rss_peak_mb"] = await sampling
            figures["fanout_s"] = ended - started
            figures["hub_per_s"] = count / (ended - started)
            after = await settled_offsets(marker)
            written = {t: after[t] - before.get(t, 0) for t in after if after[t] > before.get(t, 0)}
            raw_rate = await raw_loop(deliveries, count, marker)
    finally:
        sink.stop()
    return figures, written, raw_rate


async def main() -> None:
    count = recipients()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as folder:
        workdir = Path(folder)
        message = sample_message()
        # The references first, while the machine is quiet of the worker.
        source_rate = await ceiling(message, count, workdir)
        naive_rate = await naive(message, count)
        client_rate = await client_alone(message, count)
        print(
            f"references: smtp-source {source_rate:,.0f}/s, naive smtplib {naive_rate:,.0f}/s,"
            f" aiosmtplib alone over 8 connections {client_rate:,.0f}/s"
        )
        figures, written, raw_rate = await hub_fanout(count, workdir / "hub")
    hub_rate = figures["hub_per_s"]
    per_email = sum(written.values()) / count
    s1 = Result(
        "s1_fanout",
        {
            "recipients": count,
            "message_bytes": len(message),
            "hub_emails_per_s": hub_rate,
            "hub_fanout_s": figures["fanout_s"],
            "smtp_source_per_s": source_rate,
            "naive_smtplib_per_s": naive_rate,
            "aiosmtplib_alone_per_s": client_rate,
            "aiosmtplib_alone_over_ceiling": client_rate / source_rate,
            "hub_over_aiosmtplib_alone": hub_rate / client_rate,
            "hub_over_ceiling": hub_rate / source_rate,
            "hub_over_naive": hub_rate / naive_rate,
            "kafka_records_per_email": per_email,
            "records_per_topic": written,
        },
        [
            Target("S1 hub / smtp-source ceiling", hub_rate / source_rate, ">=", 0.25),
            Target("S1 hub / naive smtplib loop", hub_rate / naive_rate, ">=", 3),
            Target("Kafka records written per email", per_email, "<=", 2),
        ],
    )
    s4 = Result(
        "s4_kafka",
        {
            "records": count,
            "hub_deliveries_per_s": hub_rate,
            "raw_aiokafka_per_s": raw_rate,
            "hub_over_raw": hub_rate / raw_rate,
        },
    )
    memory = Result(
        "memory",
        {
            "subscribers": count,
            "load_s": figures["load_s"],
            "rss_loaded_mb": figures["rss_loaded_mb"],
            "rss_peak_mb": figures["rss_peak_mb"],
            "planning_s": figures["planning_s"],
            "api_worst_answer_during_fanout_s": figures["api_worst_s"],
        },
        [
            Target(f"planning one event to {count:,}", figures["planning_s"], "<=", 0.5, "s"),
            Target(f"loading {count:,} subscribers", figures["load_s"], "<=", 30, "s"),
            Target(f"worker RSS with {count:,} loaded", figures["rss_loaded_mb"], "<=", 400, "MB"),
            Target("API's slowest answer during fan-out", figures["api_worst_s"], "<=", 0.1, "s"),
        ],
    )
    for result in (s1, s4, memory):
        result.save()
        result.print()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
