"""A real worker's logs: quiet when idle (the Telegram sandbox long-polled, as `make run` does), one
line per fan-out whatever its audience, and with HUB_LOG_FORMAT=json one JSON object a line,
carrying the event's id, holding no address."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from devstack.run import _sandbox_command
from hub.settings import Settings
from tests.conftest import free_port
from tests.helpers import load_example, wait_until
from tests.hubprocess import HubProcess, hub_with_mail

pytestmark = pytest.mark.kafka

ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
BOT_TOKEN = "424242:test-bot-token"


def partners(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"quiet-{i:03d}",
            "kind": "partner",
            "name": f"Partner {i}",
            "language": "en",
            "email": f"quiet.{i:03d}@partner.example.net",
        }
        for i in range(first, first + count)
    ]


def log_lines(hub: HubProcess) -> list[str]:
    return hub.log_path.read_text(errors="replace").splitlines()


def sent(hub: HubProcess, event_id: str) -> int:
    answer = hub.get(f"/api/v1/events/{event_id}/status")
    return int(answer.json()["totals"]["sent"]) if answer.status_code == 200 else 0


def fan_out(hub: HubProcess, recipients: int) -> tuple[str, list[str]]:
    """Publish an event to everyone loaded; the lines the worker logged until all of it was sent."""
    document = load_example()
    before = len(log_lines(hub))
    assert hub.publish(document).status_code == 202
    wait_until(
        lambda: sent(hub, document["id"]) >= recipients,
        timeout=120,
        what=f"{recipients} emails of {document['id']} sent\n{hub.log_tail()}",
    )
    return document["id"], log_lines(hub)[before:]


@pytest.mark.timeout(400)
def test_info_lines_do_not_grow_with_the_audience_and_are_json_objects(
    kafka_broker: str, tmp_path: Path
) -> None:
    small, large = 3, 60
    env = {"HUB_LOG_FORMAT": "json", "HUB_TELEGRAM__ENABLED": "false"}
    with hub_with_mail(tmp_path, partners(0, small), **env) as (hub, _catcher):
        first_id, first = fan_out(hub, small)
        more = tmp_path / "more.yaml"
        more.write_text(yaml.safe_dump({"subscribers": partners(small, large - small)}), "utf-8")
        hub.cli("subscribers", "load", str(more))
        wait_until(lambda: hub.subscriber_count() >= large, what=f"{large} subscribers loaded")
        second_id, second = fan_out(hub, large)
        whole = log_lines(hub)

    records = [json.loads(line) for line in whole]  # every line, start to stop, is one object
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    for lines, event_id, count in ((first, first_id, small), (second, second_id, large)):
        parsed = [json.loads(line) for line in lines]
        summary = [
            r for r in parsed if r.get("event_id") == event_id and "fanned out" in r["message"]
        ]
        assert len(summary) == 1, lines
        assert f"{count} email" in summary[0]["message"]
    # A line per message would add 57 here: allow for a periodic line landing in one window.
    assert len(second) <= len(first) + 2, (len(first), len(second), second)
    assert not ADDRESS.findall("\n".join(whole))


@pytest.mark.timeout(300)
def test_an_idle_worker_polling_telegram_logs_less_than_a_line_a_second(
    kafka_broker: str, tmp_path: Path
) -> None:
    """`make run`'s shape: the sandbox started as devstack/run.py starts it, a worker long-polling
    it. Once both are up, each poll is a second or so: the lines both write meanwhile must be
    fewer than the seconds that pass (they were about three a second)."""
    port = free_port()
    sandbox_log = tmp_path / "sandbox.log"
    command = _sandbox_command(
        Settings(), "--port", str(port), "--token", BOT_TOKEN, "--record-dir", str(tmp_path / "tg")
    )
    with sandbox_log.open("ab") as out:
        sandbox = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def polls() -> int:
        try:
            stats = httpx.get(f"{base}/sandbox/stats", timeout=2).json()
        except httpx.HTTPError:
            return 0
        return int(stats["per_method"].get("getUpdates", 0))

    def up() -> bool:
        if sandbox.poll() is not None:
            pytest.fail(f"the sandbox exited: {sandbox_log.read_text()}")
        try:
            return httpx.get(f"{base}/sandbox/stats", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=30, what="the Telegram sandbox")
        catcher = MailCatcher(tmp_path / "outbox", port=free_port())
        catcher.start()
        relay_up = True
        hub = HubProcess(
            tmp_path,
            catcher.controller.port,
            HUB_TELEGRAM__BASE_URL=f"{base}/bot",
            HUB_TELEGRAM__TOKEN=BOT_TOKEN,
            HUB_TELEGRAM__POLL_UPDATES="true",
        )
        try:
            hub.start()
            # Settled: ready (broker, partitions, tables, SMTP, the bot's token), and polling.
            ready = wait_until(
                lambda: (
                    (r := httpx.get(f"{hub.base_url}/api/v1/ready", timeout=10)).status_code == 200
                    and r.json()
                ),
                timeout=60,
                what=f"the worker to be ready\n{hub.log_tail()}",
            )
            assert ready["checks"]["telegram"] == "ok" and ready["checks"]["smtp"] == "ok"
            wait_until(lambda: polls() >= 3, timeout=60, what="the worker's first polls")
            started_polls = polls()
            lines_before = len(log_lines(hub)) + len(sandbox_log.read_text().splitlines())
            started = time.monotonic()
            wait_until(lambda: polls() >= started_polls + 8, timeout=60, what="8 more polls")
            elapsed = time.monotonic() - started
            lines_after = len(log_lines(hub)) + len(sandbox_log.read_text().splitlines())
            new = lines_after - lines_before
            assert new < elapsed, f"{new} lines in {elapsed:.1f} s:\n{hub.log_tail(new + 1)}"
            assert "overlapping" not in hub.log_path.read_text(errors="replace")

            # The relay gone: not ready, and the answer names the SMTP check (after the few
            # seconds a probe's answer is kept).
            catcher.stop()
            relay_up = False
            answer = wait_until(
                lambda: (
                    (r := httpx.get(f"{hub.base_url}/api/v1/ready", timeout=10)).status_code == 503
                    and r.json()
                ),
                timeout=30,
                what="the worker to be not ready without its SMTP relay",
            )
            assert answer["ready"] is False
            assert answer["checks"]["smtp"] != "ok" and answer["checks"]["kafka"] == "ok"
            assert httpx.get(f"{hub.base_url}/api/v1/health", timeout=10).status_code == 200
        finally:
            hub.stop()
            if relay_up:
                catcher.stop()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
