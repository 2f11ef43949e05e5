"""deploy/prometheus and deploy/grafana: Prometheus's own checker and rule tests, and that the
dashboard and the rules only ask for metrics the hub exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import metrics
from hub.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "hub.json"
PROMTOOL = Path("/usr/bin/promtool")
# Series Prometheus makes itself, not the hub.
PROMETHEUS_OWN = {"up"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(
            "Debian's promtool is missing: `make test` installs it (apt-get install prometheus)"
        )
    return subprocess.run(
        [str(PROMTOOL), *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "alerts.yml"),
        # alerts_test.yml: each alert fires on the series it is about, and only then
        ("test", "rules", "alerts_test.yml"),
    ],
)
def test_promtool_accepts_the_configuration_and_the_rules(args: tuple[str, ...]) -> None:
    done = promtool(*args)
    assert done.returncode == 0, done.stdout + done.stderr


def exported() -> set[str]:
    """Every series name the hub's registry can expose (histogram parts included)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{part}" for part in ("bucket", "sum", "count"))
    return names


def dashboard_expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


SERIES = re.compile(r"\b((?:hub|process|python)_[a-z0-9_]+|up)\b(?=\s*[{\[)])")


def test_the_dashboard_and_the_alerts_ask_only_for_exported_metrics() -> None:
    known = exported() | PROMETHEUS_OWN
    expressions = dashboard_expressions() + alert_expressions()
    asked = {name for expr in expressions for name in SERIES.findall(expr)}
    assert asked - known == set()
    # and every metric the brief names is on the dashboard
    wanted = {
        "hub_deliveries_total",
        "hub_delivery_latency_seconds_bucket",
        "hub_consumer_lag",
        "hub_retries_pending",
        "hub_dead_letters_total",
        "hub_smtp_pool_wait_seconds_bucket",
        "hub_telegram_rate_limited_total",
        "hub_events_published_total",
    }
    on_dashboard = {name for expr in dashboard_expressions() for name in SERIES.findall(expr)}
    assert wanted <= on_dashboard


def test_grafana_provisioning_points_at_the_compose_paths() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (datasource,) = source["datasources"]
    assert (datasource["type"], datasource["url"]) == ("prometheus", "http://prometheus:9090")
    providers = yaml.safe_load((provisioning / "dashboards" / "hub.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "comms-hub"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
