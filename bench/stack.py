"""What the benchmarks share: Postfix's test tools, a worker of their own, Kafka counts, results."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.conftest import free_port
from tests.helpers import wait_until
from tests.hubprocess import TOKEN, HubProcess
from tests.kafka_probe import delete_topics_named, topics_naming

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "results"
BROKER = os.environ.get("HUB_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"


def recipients(default: int = 100_000) -> int:
    """BENCH_RECIPIENTS scales every benchmark down (the machine is shared)."""
    return int(os.environ.get("BENCH_RECIPIENTS", default))


# --- Postfix's smtp-sink: it exits once it has accepted the count it was told to wait for ------


class Sink:
    """smtp-sink on a free loopback port, told to exit after `count` messages; `done()` waits
    for that and gives the moment (time.monotonic) it exited: the last message accepted."""

    def __init__(self, count: int, dump: Path | None = None) -> None:
        self.port = free_port()
        self.count = count
        # As root smtp-sink must drop privileges; -M: exit after `count` messages; -d: one file
        # per message in `dump` (which nobody must be able to write).
        argv = [SINK, "-u", "nobody", "-M", str(count)]
        if dump is not None:
            argv += ["-d", f"{dump}/%H%M%S."]
        argv += [f"127.0.0.1:{self.port}", "1000"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_port(self.port)

    async def done(self, within: float) -> float:
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"smtp-sink got fewer than {self.count} in {within:.0f} s")
            await asyncio.sleep(0.005)
        return time.monotonic()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


# --- A worker of the benchmark's own: topic prefix, app id, data dir ----------------------------


@asynccontextmanager
async def worker(workdir: Path, smtp_port: int, **env: str) -> AsyncIterator[HubProcess]:
    """A worker as the tests start it (tests/hubprocess.py); stopped, its topics deleted after."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    hub = HubProcess(workdir, smtp_port, **env)
    try:
        await asyncio.to_thread(_start, hub)
        yield hub
    except BaseException:
        kept = Path(tempfile.gettempdir()) / f"hub-bench-worker-{run_marker(hub)}.log"
        await asyncio.to_thread(shutil.copyfile, hub.log_path, kept)
        print(f"the worker failed; its log: {kept}", file=sys.stderr)
        raise
    finally:
        await asyncio.to_thread(hub.stop)
        await delete_topics(run_marker(hub))
        shutil.rmtree(workdir / "data", ignore_errors=True)


async def load(hub: HubProcess, path: Path, count: int) -> float:
    """`hub subscribers load` until the worker holds them all: seconds. A load that fails is
    tried again (it writes by subscriber id, so again is harmless): on a busy shared broker a
    topic can be missing from the metadata for a while after it was created."""
    started = time.monotonic()
    argv = [sys.executable, "-m", "hub.cli", "subscribers", "load", str(path)]
    for attempt in range(5):
        done = await asyncio.to_thread(
            subprocess.run, argv, env=hub.env, capture_output=True, text=True, timeout=1800
        )
        if done.returncode == 0:
            break
        print(f"subscribers load failed (try {attempt + 1}): {done.stderr[-300:]}", file=sys.stderr)
        await asyncio.sleep(5)
    else:
        raise RuntimeError("hub subscribers load kept failing")
    while (await asyncio.to_thread(_count, hub)) < count:
        if time.monotonic() - started > 1800:
            raise TimeoutError("subscribers not loaded in 30 minutes")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


def _count(hub: HubProcess) -> int:
    """Subscribers the worker holds; 0 while it is too busy to answer (a rebalance)."""
    try:
        return hub.subscriber_count()
    except httpx.HTTPError:
        return 0


async def publish(hub: HubProcess, document: dict[str, Any]) -> None:
    """POST an event; a busy machine gets longer than the tests' 30 s to answer."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=hub.base_url, headers=headers, timeout=300) as client:
        response = await client.post("/api/v1/events", json=document)
    if response.status_code != 202:
        raise RuntimeError(f"publish refused: {response.status_code} {response.text}")


def _start(hub: HubProcess) -> None:
    """hub.start() with room for a busy shared machine (the tests' own wait is 2 minutes)."""
    hub.start(wait=False)

    def healthy() -> bool:
        assert hub.process is not None
        if hub.process.poll() is not None:
            raise RuntimeError(f"worker exited with {hub.process.returncode}")
        try:
            return httpx.get(f"{hub.base_url}/api/v1/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=1500, what="the worker's health check")
    wait_until(
        lambda: hub.get("/api/v1/credentials/me").status_code == 200,
        timeout=300,
        what="the worker to have read its credentials",
    )


def run_marker(hub: HubProcess) -> str:
    """The run id in every topic of this worker: its prefix and its app id's changelogs."""
    return hub.prefix[1:]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in found]


# --- Kafka: end offsets of every topic of a run -----------------------------------------------


async def topics_of(marker: str) -> list[str]:
    return sorted(await topics_naming(marker, BROKER))


async def end_offsets(topics: Sequence[str]) -> dict[str, int]:
    """Records written so far to each topic (summed over partitions)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BROKER)
    await consumer.start()
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        if not parts:  # metadata not fetched yet for these topics
            await consumer._client.force_metadata_update()
            parts = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
        ends = await consumer.end_offsets(parts)
    finally:
        await consumer.stop()
    totals = dict.fromkeys(topics, 0)
    for part, offset in ends.items():
        totals[part.topic] += offset
    return totals


async def settled_offsets(marker: str, quiet: float = 3.0, within: float = 120) -> dict[str, int]:
    """End offsets of the run's topics once nothing has been written for `quiet` seconds."""
    deadline = time.monotonic() + within
    last = await end_offsets(await topics_of(marker))
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = await end_offsets(await topics_of(marker))
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
    return last


async def delete_topics(marker: str) -> None:
    await delete_topics_named(marker, BROKER)


# --- Results: targets, PASS/MISS, the JSON file and the table ----------------------------------


@dataclass
class Target:
    """One figure against one target of the issue: `value` must be `op` `limit` ('<=' or '>=')."""

    name: str
    value: float | None
    op: str
    limit: float
    unit: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value <= self.limit if self.op == "<=" else self.value >= self.limit
        return "PASS" if ok else "MISS"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "target": f"{self.op} {self.limit:g}",
            "unit": self.unit,
            "verdict": self.verdict,
        }


@dataclass
class Result:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        document = {
            "name": self.name,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "figures": self.figures,
            "targets": [t.as_json() for t in self.targets],
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path

    def print(self) -> None:
        print(f"\n== {self.name} ==")
        for key, value in self.figures.items():
            print(f"  {key:<40} {_fmt(value)}")
        print_targets(self.targets)


def print_targets(targets: Sequence[Target]) -> None:
    if not targets:
        return
    print(f"  {'target':<44} {'measured':>12} {'wanted':>10}  verdict")
    for t in targets:
        print(f"  {t.name:<44} {_fmt(t.value):>12} {t.op + ' ' + f'{t.limit:g}':>10}  {t.verdict}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def machine() -> str:
    cpus = os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()[0]
    system = f"{platform.machine()} {cpus} cores{memory}, {platform.system()}"
    return f"{system}, 1-min load {load:.1f} when saved"
