"""S6 and S7 against the devstack Telegram sandbox: the hub's pacing against Telegram's limits
(counted from the sandbox's record of sends, independently of the hub's limiter), and the email
fan-out time while the sandbox answers every sendMessage with 429, against without."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench import people
from bench.stack import Result, Sink, Target, load, publish, recipients, worker
from tests.helpers import load_example, wait_until
from tests.sandboxprocess import SandboxProcess

# Telegram's documented limits (Bots FAQ), counted here without the hub's RateLimiter class.
OVERALL_PER_SECOND = 30
CHAT_GAP_SECONDS = 1.0
JITTER = 0.05  # what the sandbox forgives too: a send this early still counts as on time
CHATS = int(os.environ.get("BENCH_TELEGRAM_CHATS", "200"))
EVENTS = int(os.environ.get("BENCH_TELEGRAM_EVENTS", "3"))


def sends(record_dir: Path) -> list[tuple[float, int]]:
    """(time, chat) of every message the sandbox recorded as sent, in time order."""
    found = []
    for path in record_dir.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["event"] == "sent":
                at = datetime.fromisoformat(record["recorded_at"]).timestamp()
                found.append((at, int(record["chat_id"])))
    return sorted(found)


def violations(sent: list[tuple[float, int]]) -> dict[str, int]:
    """Sends breaking the per-chat gap, and sends beyond 30 in any one second overall."""
    chat_too_soon = 0
    last: dict[int, float] = {}
    for at, chat in sent:
        if chat in last and at - last[chat] < CHAT_GAP_SECONDS - JITTER:
            chat_too_soon += 1
        last[chat] = at
    overall = 0
    times = [at for at, _chat in sent]
    for i, at in enumerate(times):
        if i >= OVERALL_PER_SECOND and at - times[i - OVERALL_PER_SECOND] < 1.0 - JITTER:
            overall += 1
    return {"per_chat": chat_too_soon, "overall": overall}


async def pacing(workdir: Path) -> Result:
    """S6: EVENTS events to CHATS private chats, Telegram only."""
    expected = CHATS * EVENTS
    sandbox = SandboxProcess(workdir)
    sink = Sink(1_000_000)  # nobody gets email here
    try:
        audience = [
            {**people.person(i, telegram_chat=700_000 + i), "subscriptions": [_telegram_only()]}
            for i in range(CHATS)
        ]
        async with worker(workdir / "hub", sink.port, **quiet(sandbox)) as hub:
            await load(hub, people.write(workdir / "people.json", audience), len(audience))
            for _ in range(EVENTS):
                await publish(hub, load_example())
            await asyncio.to_thread(
                wait_until,
                lambda: sandbox.stats()["messages_sent"] >= expected,
                timeout=120 + expected / 10,
                what=f"{expected} Telegram messages",
            )
            stats = sandbox.stats()
    finally:
        sink.stop()
        sandbox.stop()
    sent = sends(workdir / "telegram")
    counted = violations(sent)
    span = sent[-1][0] - sent[0][0]
    achieved = (len(sent) - 1) / span if span > 0 else float("inf")
    allowed = float(min(OVERALL_PER_SECOND, CHATS / CHAT_GAP_SECONDS))
    ours = counted["per_chat"] + counted["overall"]
    return Result(
        "s6_telegram_pacing",
        {
            "chats": CHATS,
            "messages": len(sent),
            "achieved_per_s": achieved,
            "allowed_per_s": allowed,
            "achieved_over_allowed": achieved / allowed,
            "violations_counted_here": counted,
            "sandbox_rate_limit_violations": stats["rate_limit_violations"],
            "sandbox_answered_429": stats["answered_429"],
        },
        [
            Target("S6 Telegram rate achieved / allowed", achieved / allowed, ">=", 0.95),
            Target("S6 violations (sandbox's record of sends)", ours, "<=", 0),
            Target("S6 violations (sandbox's own count)", stats["rate_limit_violations"], "<=", 0),
        ],
    )


def quiet(sandbox: SandboxProcess) -> dict[str, str]:
    """The sandbox's settings for the worker, without polling the bot for updates (no one
    writes to it here)."""
    return {**sandbox.hub_env, "HUB_TELEGRAM__POLL_UPDATES": "false"}


def _telegram_only() -> dict[str, list[str]]:
    return {"channels": ["telegram"]}


async def email_time(workdir: Path, count: int, *, storm: bool) -> float:
    """Seconds from publishing to the last of `count` emails accepted, subscribers on both
    channels; with `storm`, the sandbox answers every sendMessage 429 meanwhile."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    sandbox = SandboxProcess(workdir)
    sink = Sink(count)
    try:
        audience = [people.person(i, telegram_chat=800_000 + i) for i in range(count)]
        async with worker(workdir / "hub", sink.port, **quiet(sandbox)) as hub:
            await load(hub, people.write(workdir / "people.json", audience), len(audience))
            if storm:
                sandbox.control(
                    "POST",
                    "faults",
                    kind="too_many_requests",
                    method="sendMessage",
                    count=count * 100,
                    retry_after=5,
                )
            started = time.monotonic()
            await publish(hub, load_example())
            ended = await sink.done(within=600 + count / 5)
    finally:
        sink.stop()
        sandbox.stop()
    return ended - started


async def storm(workdir: Path) -> Result:
    """S7: the same fan-out without and with a 429 storm, each on a fresh worker."""
    count = min(recipients(), int(os.environ.get("BENCH_S7_RECIPIENTS", "5000")))
    calm = await email_time(workdir / "calm", count, storm=False)
    stormy = await email_time(workdir / "storm", count, storm=True)
    return Result(
        "s7_telegram_storm",
        {
            "recipients": count,
            "email_fanout_s_calm": calm,
            "email_fanout_s_during_429_storm": stormy,
            "storm_over_calm": stormy / calm,
        },
        [Target("S7 email fan-out time, 429 storm / calm", stormy / calm, "<=", 1.1)],
    )


async def main(which: list[str]) -> None:
    """Both benchmarks, or those named (`pacing`, `storm`)."""
    chosen = {"pacing": pacing, "storm": storm}
    for name in which or list(chosen):
        with tempfile.TemporaryDirectory(prefix=f"hub-bench-{name}-") as folder:
            result = await chosen[name](Path(folder))
        result.save()
        result.print()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
