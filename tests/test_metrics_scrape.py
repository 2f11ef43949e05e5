"""A real Prometheus (Debian's) scrapes a real worker: what it stores is what the worker did."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from tests.conftest import free_port, read_outbox
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub
from tests.test_metrics_deploy import dashboard_expressions

pytestmark = pytest.mark.kafka

PROMETHEUS = Path("/usr/bin/prometheus")
METRICS_TOKEN = "a-scrape-token-0123456789"
PEOPLE = [
    {
        "id": "staff-en",
        "kind": "staff",
        "name": "Amina Okafor",
        "language": "en",
        "email": "amina@staff.example.org",
        "department": "DICP",
        "region": "west-africa",
    },
    {
        "id": "partner-fr",
        "kind": "partner",
        "name": "Yasmine Ben Salah",
        "language": "fr-TN",
        "email": "yasmine@partner.example.net",
    },
    {
        "id": "media-en",
        "kind": "media",
        "name": "Press Desk",
        "language": "en",
        "email": "desk@media.example.com",
    },
]

stack = shared_hub(PEOPLE, HUB_METRICS__TOKEN=METRICS_TOKEN, HUB_WORKER_NAME="scraped-worker")


class Prometheus:
    """Debian's prometheus, scraping one worker every second, its data in a temporary folder."""

    def __init__(self, workdir: Path, target_port: int) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "hub",
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "authorization": {"type": "Bearer", "credentials": METRICS_TOKEN},
                    "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
                }
            ],
        }
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")

    @contextlib.contextmanager
    def running(self) -> Iterator[Prometheus]:
        if not PROMETHEUS.exists():
            pytest.fail(
                "Debian's prometheus is missing: `make test` installs it"
                " (apt-get install prometheus)"
            )
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        try:
            wait_until(
                lambda: self._ready(process),
                timeout=60,
                what=f"prometheus ready\n{self.log_tail()}",
            )
            yield self
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _ready(self, process: subprocess.Popen[bytes]) -> bool:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited with {process.returncode}\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.base_url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of a query (Prometheus's HTTP API); AssertionError if refused."""
        answer = httpx.get(f"{self.base_url}/api/v1/query", params={"query": promql}, timeout=10)
        body = answer.json()
        assert answer.status_code == 200 and body["status"] == "success", (promql, body)
        return list(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        """The single value a query answers, or None while it has no series."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def test_prometheus_stores_what_the_worker_sent(
    stack: tuple[HubProcess, MailCatcher], tmp_path: Path
) -> None:
    hub, catcher = stack
    # The endpoint wants the token; Prometheus is given it.
    assert httpx.get(f"{hub.base_url}/metrics", timeout=10).status_code == 401
    with Prometheus(tmp_path, hub.port).running() as prometheus:
        wait_until(
            lambda: prometheus.value('up{job="hub"}') == 1,
            timeout=60,
            what=f"a successful scrape of the worker\n{prometheus.log_tail()}",
        )
        document = load_example(DEMO_ANNOUNCEMENT)
        response = hub.publish(document)
        assert response.status_code == 202, response.text
        emails = wait_until(
            lambda: (
                (
                    found := [
                        m
                        for m in read_outbox(catcher.outbox)
                        if m["X-Hub-Event-Id"] == document["id"]
                    ]
                )
                and len(found) >= len(PEOPLE)
                and found
            ),
            what=f"{len(PEOPLE)} emails\n{hub.log_tail()}",
        )
        sent = len(emails)
        assert sent == len(PEOPLE)

        # Every email the SMTP server received (the event's, and any confirmation) is one
        # Prometheus counts as sent.
        sent_ever = 'sum(hub_deliveries_total{channel="email",outcome="sent"})'
        counted = wait_until(
            lambda: (
                (total := len(read_outbox(catcher.outbox))) > 0
                and prometheus.value(sent_ever) == total
                and total
            ),
            timeout=60,
            what=f"Prometheus to count every email sent\n{prometheus.log_tail()}",
        )
        # Each of them with its latency from publication; the event's as bulk email.
        assert counted >= sent
        every = (
            'sum(hub_delivery_latency_seconds_count) - sum(hub_deliveries_total{outcome="sent"})'
        )
        assert prometheus.value(every) == 0
        bulk = 'sum(hub_delivery_latency_seconds_count{channel="email",kind="bulk"})'
        assert (prometheus.value(bulk) or 0) >= sent
        assert (
            prometheus.value(
                f'sum(hub_events_published_total{{type="{document["type"]}",publisher="api"}})'
            )
            == 1
        )
        assert (prometheus.value("sum(hub_fanout_recipients_sum)") or 0) >= sent
        assert prometheus.value("sum(hub_fanout_duration_seconds_count)") == 1
        (info,) = prometheus.query("hub_worker_info")
        assert info["metric"]["worker"] == "scraped-worker"
        # The consumer's figures come from a timer: the worker holds partitions, and has read
        # (sooner or later) everything of the deliveries topic.
        deliveries = hub.topic("deliveries", "email")
        wait_until(
            lambda: (prometheus.value(f'hub_partitions_owned{{topic="{deliveries}"}}') or 0) > 0,
            timeout=60,
            what="hub_partitions_owned of the email deliveries topic",
        )
        wait_until(
            lambda: prometheus.value(f'hub_consumer_lag{{topic="{deliveries}"}}') == 0,
            timeout=60,
            what="no lag left on the email deliveries topic",
        )
        assert prometheus.value('sum(hub_retries_pending{channel="email"})') == 0

        # Every query of the Grafana dashboard is one Prometheus accepts.
        for expr in dashboard_expressions():
            concrete = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
            prometheus.query(concrete)

        # Nothing about the people: no address, no name, in what Prometheus stored.
        labels = httpx.get(f"{prometheus.base_url}/api/v1/labels", timeout=10).json()["data"]
        values = {
            label: httpx.get(
                f"{prometheus.base_url}/api/v1/label/{label}/values", timeout=10
            ).json()["data"]
            for label in labels
        }
        stored = json.dumps(values)
        for person in PEOPLE:
            assert person["email"] not in stored and person["name"] not in stored
        assert not re.search(r"[\w.]+@[\w.]+\.\w+", stored)
