"""S5: publish → delivered latency of events with small audiences published at a steady rate,
half the rate S1 measured (bench/results/s1_fanout.json; BENCH_S5_RATE overrides)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx

from bench import people
from bench.stack import RESULTS, Result, Sink, Target, load, worker
from tests.helpers import load_example
from tests.hubprocess import TOKEN, HubProcess

AUDIENCE = 10  # subscribers per event: every one of them follows all public news
SECONDS = float(os.environ.get("BENCH_S5_SECONDS", "30"))
MARK = re.compile(r"Benchlat(\d+)x")


def rate() -> float:
    """Emails per second to aim at: half of S1's, from its last result."""
    if "BENCH_S5_RATE" in os.environ:
        return float(os.environ["BENCH_S5_RATE"])
    s1 = RESULTS / "s1_fanout.json"
    if s1.exists():
        return float(json.loads(s1.read_text())["figures"]["hub_emails_per_s"]) / 2
    return 50.0


def numbered(n: int) -> dict[str, object]:
    """The example event with a title the sink's dumps can be matched on."""
    document = load_example()
    for content in document["content"].values():
        content["title"] = f"Benchlat{n}x {content['title']}"
    return document


async def publish_steadily(hub: HubProcess, events: int, per_second: float) -> dict[int, float]:
    """Publish `events` events, one every 1/per_second s; when each was sent (wall clock)."""
    sent: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=hub.base_url, headers=headers, timeout=60) as client:
        start = time.monotonic()
        for n in range(events):
            await asyncio.sleep(max(0.0, start + n / per_second - time.monotonic()))
            document = numbered(n)
            sent[n] = time.time()
            response = await client.post("/api/v1/events", json=document)
            response.raise_for_status()
    return sent


def arrivals(folder: Path) -> list[tuple[int, float]]:
    """(event number, wall-clock arrival) of every message smtp-sink dumped."""
    found = []
    for path in folder.iterdir():
        # The subject may be RFC 2047-encoded (accented titles): read it decoded.
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        match = MARK.search(str(message["Subject"] or ""))
        if match:
            found.append((int(match.group(1)), path.stat().st_mtime))
    if not found:
        raise RuntimeError(f"no message in {folder} names its event")
    return found


def dump_folder(workdir: Path) -> Path:
    """A folder smtp-sink, running as nobody, can reach and write to."""
    dumps = workdir / "dumps"
    dumps.mkdir()
    workdir.chmod(0o755)
    dumps.chmod(0o777)
    return dumps


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> None:
    per_second = rate()
    events = max(5, round(SECONDS * per_second / AUDIENCE))
    expected = events * AUDIENCE
    with tempfile.TemporaryDirectory(prefix="hub-bench-s5-") as folder:
        workdir = Path(folder)
        dumps = dump_folder(workdir)
        sink = Sink(expected, dump=dumps)
        try:
            async with worker(workdir / "hub", sink.port) as hub:
                path = people.write(
                    workdir / "people.json", [people.person(i) for i in range(AUDIENCE)]
                )
                await load(hub, path, AUDIENCE)
                sent = await publish_steadily(hub, events, per_second / AUDIENCE)
                await sink.done(within=600 + events)
                got = arrivals(dumps)
        finally:
            sink.stop()
    latencies = [arrived - sent[n] for n, arrived in got]
    p95 = percentile(latencies, 0.95)
    result = Result(
        "s5_latency",
        {
            "emails_per_s_offered": per_second,
            "events": events,
            "audience_per_event": AUDIENCE,
            "emails": len(latencies),
            "p50_s": statistics.median(latencies),
            "p95_s": p95,
            "max_s": max(latencies),
        },
        [Target("S5 publish → delivered p95", p95, "<=", 1.0, "s")],
    )
    result.save()
    result.print()


if __name__ == "__main__":
    asyncio.run(main())
