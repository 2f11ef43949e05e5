"""Outcomes and their audit entries written in batches, and read back one by one. No Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from hub.delivery.status import fold, split, summarise
from hub.model import audit
from hub.model.outcomes import Outcome, OutcomeStatus, read_outcomes
from hub.privacy.export import deliveries_of
from hub.runtime.agents.outcomes import MAX_BATCH, record_outcomes
from hub.runtime.app import Runtime

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


class Topic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    async def send(self, *, key: bytes, value: Any) -> None:
        self.sent.append((key, value))


def runtime() -> tuple[Runtime, Topic, Topic]:
    outcomes, trail = Topic(), Topic()
    return cast(Runtime, SimpleNamespace(outcomes=outcomes, audit=trail)), outcomes, trail


def outcome(n: int, status: OutcomeStatus, event_id: str = "e1") -> Outcome:
    return Outcome(
        event_id=event_id,
        status=status,
        at=NOW.isoformat(),
        delivery_id=f"d{n}",
        channel="email",
        recipient_id=f"r{n}",
        language="en",
        reason="550 no such user" if status is OutcomeStatus.FAILED else "",
    )


def test_a_batch_is_one_outcomes_record_and_one_audit_record_per_event() -> None:
    rt, outcomes, trail = runtime()
    batch = [outcome(n, OutcomeStatus.SENT) for n in range(64)]
    batch += [outcome(n, OutcomeStatus.FAILED, "e2") for n in range(3)]
    asyncio.run(record_outcomes(rt, batch))
    assert [key for key, _value in outcomes.sent] == [b"e1", b"e2"]
    assert [key for key, _value in trail.sent] == [b"e1", b"e2"]
    read = [o for _key, value in outcomes.sent for o in read_outcomes(value, "test")]
    assert read == batch
    entries = [e for _key, value in trail.sent for e in audit.expand(value)]
    assert len(entries) == 67
    assert entries[0]["action"] == "delivery.sent" and entries[0]["subject"] == "d0"
    assert entries[0]["detail"] == {
        "event_id": "e1",
        "recipient_id": "r0",
        "channel": "email",
        "reason": "",
    }
    assert entries[-1]["action"] == "delivery.failed"
    assert entries[-1]["detail"]["reason"] == "550 no such user"


def test_an_expanded_entry_is_the_entry_a_single_outcome_writes() -> None:
    rt, _outcomes, trail = runtime()
    asyncio.run(record_outcomes(rt, [outcome(1, OutcomeStatus.FAILED)]))
    asyncio.run(record_outcomes(rt, [outcome(1, OutcomeStatus.FAILED)] * 2))
    alone = trail.sent[0][1]
    assert alone["v"] == 1 and audit.expand(alone) == [alone]
    from_batch = audit.expand(trail.sent[1][1])
    assert [{**e, "at": alone["at"]} for e in from_batch] == [alone, alone]


def test_plans_and_duplicates_are_not_audited_and_batches_are_capped() -> None:
    rt, outcomes, trail = runtime()
    planned = [outcome(n, OutcomeStatus.PLANNED) for n in range(MAX_BATCH * 2 + 1)]
    asyncio.run(record_outcomes(rt, [*planned, outcome(0, OutcomeStatus.DUPLICATE)]))
    assert len(outcomes.sent) == 3 and trail.sent == []
    assert sum(len(read_outcomes(v, "test")) for _k, v in outcomes.sent) == len(planned) + 1


def test_a_fan_out_costs_one_status_record_per_outcomes_record() -> None:
    rt, outcomes, _trail = runtime()
    asyncio.run(record_outcomes(rt, [outcome(n, OutcomeStatus.PLANNED) for n in range(200)]))
    for start in range(0, 200, 50):
        sent = [outcome(n, OutcomeStatus.SENT) for n in range(start, start + 50)]
        asyncio.run(record_outcomes(rt, sent))
    table: dict[str, Any] = {}
    writes = 0
    for offset, (_key, value) in enumerate(outcomes.sent):
        for key, record in fold(read_outcomes(value, "test"), table, offset):
            table[key] = record
            writes += 1
    assert writes == len(outcomes.sent) == 5
    totals = summarise("e1", *split(sorted(table.items()), "e1"))["totals"]
    assert isinstance(totals, dict) and totals["sent"] == totals["planned"] == 200


def test_the_export_reads_a_person_out_of_batches() -> None:
    rt, outcomes, trail = runtime()
    asyncio.run(record_outcomes(rt, [outcome(n, OutcomeStatus.PLANNED) for n in range(5)]))
    asyncio.run(record_outcomes(rt, [outcome(n, OutcomeStatus.SENT) for n in range(5)]))
    [mine] = deliveries_of((value for _key, value in outcomes.sent), "r3")
    assert mine["delivery_id"] == "d3" and mine["status"] == "sent"
    assert [step["status"] for step in mine["history"]] == ["planned", "sent"]
    about = [e for _k, v in trail.sent for e in audit.expand(v) if audit.concerns(e, "r3")]
    assert [e["subject"] for e in about] == ["d3"]
    assert not any(audit.concerns(v, "r3") for _k, v in trail.sent)
