"""Kafka records written per email on the bulk path, counted at the broker for a real fan-out."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.mailcatcher import MailCatcher
from tests.conftest import read_outbox
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub
from tests.kafka_probe import consumer_lag
from tests.record_count import end_offsets, records_written, table

pytestmark = pytest.mark.kafka

RECIPIENTS = 200
PEOPLE: list[dict[str, Any]] = [
    {
        "id": f"staff-{n:04d}",
        "kind": "staff",
        "name": f"Staff {n}",
        "language": "en",
        "email": f"staff-{n:04d}@staff.example.org",
        "department": "DICP",
    }
    for n in range(RECIPIENTS)
]

stack = shared_hub(PEOPLE, HUB_TELEGRAM__ENABLED="false")


def test_records_written_per_email(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, catcher = stack
    app_id = hub.env["HUB_APP_ID"]
    before = end_offsets(hub.prefix, app_id)
    document = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(document).status_code == 202
    wait_until(
        lambda: (
            sum(m["X-Hub-Event-Id"] == document["id"] for m in read_outbox(catcher.outbox))
            >= RECIPIENTS
        ),
        timeout=180,
        what=f"{RECIPIENTS} emails\n{hub.log_tail()}",
    )
    outcomes = f"{hub.prefix}.outcomes.v1"
    wait_until(
        lambda: (
            hub.get(f"/api/v1/events/{document['id']}/status").json()["totals"]["sent"]
            == RECIPIENTS
        ),
        what="the status to count every email as sent",
    )
    wait_until(lambda: consumer_lag(app_id, [outcomes]) == 0, what="the status agent to catch up")
    written = records_written(before, end_offsets(hub.prefix, app_id))
    print(table(written, RECIPIENTS))
