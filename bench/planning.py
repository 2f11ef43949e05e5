"""Benchmark: planning one event at N subscribers inside one process, without Kafka.

The planner agent's `plan_one` runs against a stand-in runtime whose topics only serialise what
they are given, over a subscriber table that JSON-decodes on every read (as the RocksDB-backed
table does). Prints the CPU time of the plan, the longest the event loop went without running a
ticking task meanwhile, and the process RSS with the subscribers loaded.

    .venv/bin/python -m bench.planning 100000
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bench.subscribers import records
from hub.i18n.languages import DEFAULT_LANGUAGES
from hub.kafka.topics import TopicNames
from hub.model.deliveries import ChannelKey, messages_in
from hub.partners.registry import EMPTY
from hub.privacy.sealing import keys_from_records
from hub.rendering.links import LinkMaker
from hub.runtime.agents.planning import plan_one
from hub.runtime.heap import HeapKeeper
from hub.settings import REPO_ROOT
from hub.subscribers.directory import Directory
from hub.subscribers.tokens import Signer

EXAMPLE = (
    REPO_ROOT / "schemas/examples/announcement.published.v1/valid/partnership-west-africa.json"
)


class JsonTable(Mapping[str, Any]):
    """Records kept as JSON bytes and decoded on each read, like the worker's RocksDB table."""

    def __init__(self) -> None:
        self.raw: dict[str, bytes] = {}

    def __setitem__(self, key: str, value: Any) -> None:
        self.raw[key] = json.dumps(value).encode()

    def __getitem__(self, key: str) -> Any:
        return json.loads(self.raw[key])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.raw))

    def __len__(self) -> int:
        return len(self.raw)


class Topic:
    """Serialises each value as the Kafka codec would; counts what it was sent."""

    def __init__(self) -> None:
        self.sent = 0

    def get_topic_name(self) -> str:
        return "b.deliveries.email.v1"

    async def send(self, *, key: bytes, value: Any) -> None:
        json.dumps(value)
        self.sent += 1


class Producer:
    """Acknowledges each record at the next offset, as the broker would; counts deliveries."""

    def __init__(self) -> None:
        self.written = 0
        self.deliveries = 0

    async def send(self, topic: str, key: bytes, value: bytes, *_: Any) -> asyncio.Future[Any]:
        self.written += 1
        self.deliveries += len(messages_in(json.loads(value)))
        acknowledged: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged

    async def send_and_wait(self, topic: str, key: bytes, value: bytes, *_: Any) -> Any:
        self.written += 1
        return SimpleNamespace(topic=topic, partition=0, offset=self.written - 1)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def runtime(directory: Directory, directory_records: Mapping[str, Any]) -> SimpleNamespace:
    clock = lambda: datetime.now(UTC)  # noqa: E731
    links = LinkMaker(Signer(b"k" * 32), "https://hub.example.org", "hub.example.org", clock)
    email = SimpleNamespace(deliveries=Topic())
    return SimpleNamespace(
        app=SimpleNamespace(
            producer=Producer(), consumer=SimpleNamespace(topic_partitions=lambda _topic: 3)
        ),
        heap=HeapKeeper(),
        names=TopicNames("b"),
        directory=directory,
        planned={},
        event_documents=None,
        subscriber_records=directory_records,
        keys=keys_from_records(directory_records.get),
        embargoed={},
        settings=SimpleNamespace(kafka=SimpleNamespace(topic_prefix="b", partitions=3)),
        links=links,
        channels={ChannelKey.EMAIL: email},
        outcomes=Topic(),
        audit=Topic(),
        newsletters={},
        newsletter_records=Topic(),
        partners=SimpleNamespace(registry=lambda: EMPTY),
        renderer=SimpleNamespace(languages=DEFAULT_LANGUAGES),
    )


async def lag_monitor(worst: list[float], stop: asyncio.Event) -> None:
    """The longest gap between two wake-ups of a task that asks to wake every millisecond."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        worst[0] = max(worst[0], now - last - 0.001)
        last = now


async def measure(n: int) -> dict[str, Any]:
    table = JsonTable()
    for record in records(n):
        table[record["id"]] = record
    started = time.perf_counter()
    directory = Directory(table)
    build = getattr(directory, "build", None)
    if build is not None:
        await build()
    else:
        directory.current()  # the first plan parses and caches every record
    loaded = time.perf_counter() - started
    rt = runtime(directory, table)
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    worst = [0.0]
    stop = asyncio.Event()
    monitor = asyncio.create_task(lag_monitor(worst, stop))
    await asyncio.sleep(0.01)
    cpu, wall = time.process_time(), time.perf_counter()
    await plan_one(rt, document)  # type: ignore[arg-type]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stop.set()
    await monitor
    return {
        "subscribers": n,
        "deliveries": rt.app.producer.deliveries,
        "records": rt.app.producer.written,
        "index_build_s": round(loaded, 2),
        "plan_cpu_s": round(cpu, 2),
        "plan_wall_s": round(wall, 2),
        "longest_loop_stall_ms": round(worst[0] * 1000, 1),
        "rss_mb": round(rss_mb(), 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(json.dumps(asyncio.run(measure(n)), indent=2))


if __name__ == "__main__":
    main()
