"""Kafka records written per email on the bulk path, counted at the broker for a real fan-out.

Per email: its ledger entry, and a share of a delivery record (the planner writes a batch of
deliveries per partition); per outcomes record (a batch of outcomes of one event): the record,
its status delta and its audit entry. With the delivery agent handing record_outcomes batches of
B, that is about 1 + 3/B records per email, plus a few per event.
"""

from __future__ import annotations

from typing import Any

import pytest

from devstack.mailcatcher import MailCatcher
from hub.kafka.partitioning import partition_of
from hub.model.deliveries import messages_in
from hub.model.outcomes import OutcomeStatus, read_outcomes
from hub.planning.encoding import BATCH_ITEMS
from hub.runtime.agents.planning import PLANNED_BATCH
from hub.settings import KafkaSettings
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

    # What each email needs: its ledger entry, and its place in a batch of deliveries (one
    # record per partition its recipients' keys map to).
    partitions = {partition_of(p["id"], KafkaSettings().partitions) for p in PEOPLE}
    assert RECIPIENTS <= BATCH_ITEMS  # so each partition's share fits one record
    assert topic(".deliveries.email.v1") == len(partitions)
    messages = [
        m
        for v in read_records(f"{hub.prefix}.deliveries.email.v1")
        for m in messages_in(v)
        if isinstance(m, dict) and m.get("event_id") == document["id"]
    ]
    assert sorted(m["recipient"]["id"] for m in messages) == sorted(p["id"] for p in PEOPLE)
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
    assert sum(written.values()) <= RECIPIENTS + len(partitions) + 3 * len(records) + per_event
