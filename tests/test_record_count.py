"""Kafka records written per email on the bulk path, counted at the broker for a real fan-out.

Per email: its delivery and its ledger entry; per outcomes record (a batch of outcomes of one
event): the record, its status delta and its audit entry. With the delivery agent handing
record_outcomes batches of B, that is 2 + 3/B records per email, plus a few per event.
"""

from __future__ import annotations

from typing import Any

import pytest

from devstack.mailcatcher import MailCatcher
from hub.model.outcomes import OutcomeStatus, read_outcomes
from hub.runtime.agents.planning import PLANNED_BATCH
from tests.conftest import read_outbox
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub
from tests.kafka_probe import consumer_lag, read_records
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

    def topic(name: str) -> int:
        return sum(count for t, count in written.items() if t.endswith(name))

    # What each email needs: its delivery and its ledger entry.
    assert topic(".deliveries.email.v1") == RECIPIENTS
    assert topic("-delivery-ledger-email-changelog") == RECIPIENTS
    # Everything else comes per outcomes record: the planner's are one per 500 deliveries, the
    # delivery agent's one per batch it hands record_outcomes (today a batch of one).
    records = [
        read_outcomes(v, "test")
        for v in read_records(outcomes)
        if v.get("event_id") == document["id"]
    ]
    planned = [r for r in records if r and r[0].status is OutcomeStatus.PLANNED]
    assert len(planned) == -(-RECIPIENTS // PLANNED_BATCH)
    assert sum(map(len, records)) == 2 * RECIPIENTS
    assert topic(".outcomes.v1") == len(records)
    assert topic("-delivery-status-changelog") == len(records)
    assert topic(".audit.v1") <= len(records) - len(planned) + 1  # + the publish
    # A few per event: the event, its document, its publisher, its planned-events entry, and for
    # each newsletter taking it an item record, the item's kept document and the newsletter's state.
    newsletters = topic(".newsletter.v1")
    assert (
        topic("-newsletter-items-changelog") == topic("-newsletter-state-changelog") == newsletters
    )
    per_event = 4 + 3 * newsletters
    assert sum(written.values()) <= 2 * RECIPIENTS + 3 * len(records) + per_event
