"""Settings of a worker among several: the address it advertises, the retention of the tables that
grow with every delivery, and which missed newsletter run a new leader still owes."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hub.newsletters.catchup import GRACE, run_owed
from hub.newsletters.config import Newsletter
from hub.runtime.app import expiring
from hub.settings import Settings, WebSettings

WEEKLY = Newsletter.model_validate(
    {
        "name": "weekly",
        "title": {"en": "Weekly"},
        "audience": "public",
        "schedule": "0 9 * * mon",
        "timezone": "UTC",
    }
)
MONDAY_NINE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_the_advertised_address_is_never_a_wildcard() -> None:
    assert WebSettings(host="127.0.0.1", port=7001).canonical_url() == "http://127.0.0.1:7001"
    everywhere = WebSettings(host="0.0.0.0", port=7002)  # noqa: S104 - bound, not advertised
    assert everywhere.canonical_url() == f"http://{socket.gethostname()}:7002"
    given = WebSettings(host="0.0.0.0", advertised_url="http://hub-2.internal:6066/")  # noqa: S104
    assert given.canonical_url() == "http://hub-2.internal:6066"


def test_per_delivery_tables_are_compacted_and_deleted_after_the_retention() -> None:
    config = expiring(Settings(tables={"retention_days": 10}))
    assert config["cleanup.policy"] == "compact,delete"
    assert config["retention.ms"] == str(10 * 86_400_000)


def test_a_retention_shorter_than_a_delivery_can_come_back_is_refused() -> None:
    settings = Settings()
    assert 7 < settings.retention_floor_seconds() / 86_400 < 8  # 7 days of topic, then retries
    with pytest.raises(ValidationError, match=r"tables\.retention_days"):
        Settings(tables={"retention_days": 7})
    # Longer retries need a longer ledger.
    with pytest.raises(ValidationError, match=r"tables\.retention_days"):
        Settings(tables={"retention_days": 8}, retry={"max_attempts": 200})


def test_a_missed_run_is_owed_once_within_the_window_only() -> None:
    after = MONDAY_NINE + GRACE
    assert run_owed(WEEKLY, after, {}, WINDOW) == MONDAY_NINE
    assert run_owed(WEEKLY, after, {"weekly": MONDAY_NINE}, WINDOW) is None  # asked already
    assert run_owed(WEEKLY, MONDAY_NINE + GRACE / 2, {}, WINDOW) is None  # the crontab's turn
    assert run_owed(WEEKLY, MONDAY_NINE + WINDOW, {}, WINDOW) is None  # too late: no backlog
    last_week = {"weekly": MONDAY_NINE - timedelta(days=7)}
    assert run_owed(WEEKLY, after, last_week, WINDOW) == MONDAY_NINE
