"""Backoff decisions and the status fold (also across crashes), without Kafka."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.delivery.retry import GiveUp, RetryAt, backoff_seconds, decide, seconds_until
from hub.delivery.status import advance, delivery_states, fold, split, stuck, summarise
from hub.errors import (
    PermanentDeliveryError,
    RateLimitedError,
    RecipientRejectedError,
    TransientDeliveryError,
)
from hub.model.outcomes import Outcome, OutcomeBatch, OutcomeStatus, read_outcomes
from hub.model.status import DeliveryState
from hub.settings import RetrySettings

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
POLICY = RetrySettings(base_seconds=5, factor=2, max_delay_seconds=600, max_attempts=8, jitter=0.2)


def test_transient_errors_back_off_exponentially_within_jitter() -> None:
    rng = random.Random(7)
    for attempt, nominal in enumerate([5, 10, 20, 40, 80, 160, 320]):
        delay = backoff_seconds(POLICY, attempt, rng)
        assert nominal * 0.8 <= delay <= nominal * 1.2


def test_delay_is_capped() -> None:
    assert backoff_seconds(POLICY, 30, random.Random(1)) <= 600 * 1.2


def test_smtp_4xx_is_retried_and_5xx_is_not() -> None:
    retried = decide(TransientDeliveryError("451 try later", code=451), 0, NOW, POLICY)
    assert isinstance(retried, RetryAt) and retried.attempt == 1 and retried.when > NOW
    for permanent in (PermanentDeliveryError("554"), RecipientRejectedError("550 no such user")):
        assert isinstance(decide(permanent, 0, NOW, POLICY), GiveUp)


def test_retry_after_is_honoured() -> None:
    decision = decide(RateLimitedError("429", retry_after=90), 0, NOW, POLICY)
    assert isinstance(decision, RetryAt)
    assert decision.when >= NOW + timedelta(seconds=90)


def test_attempts_run_out() -> None:
    decision = decide(TransientDeliveryError("421"), POLICY.max_attempts - 1, NOW, POLICY)
    assert isinstance(decision, GiveUp) and "8 attempts" in decision.reason


def test_default_schedule_is_eight_tries_over_about_half_an_hour() -> None:
    default = RetrySettings(jitter=0)
    rng = random.Random(0)
    total = sum(backoff_seconds(default, a, rng) for a in range(default.max_attempts - 1))
    assert default.max_attempts == 8
    assert 25 * 60 <= total <= 35 * 60


def test_seconds_until() -> None:
    assert seconds_until(None, NOW) == 0
    assert seconds_until((NOW - timedelta(seconds=5)).isoformat(), NOW) == 0
    assert seconds_until((NOW + timedelta(seconds=5)).isoformat(), NOW) == 5


def outcome(
    delivery: str, status: OutcomeStatus, attempt: int = 0, lang: str = "fr", at: datetime = NOW
) -> Outcome:
    return Outcome(
        event_id="e1",
        status=status,
        at=at.isoformat(),
        delivery_id=delivery,
        channel="email",
        recipient_id=f"r-{delivery}",
        language=lang,
        attempt=attempt,
        reason="451 busy" if status is OutcomeStatus.RETRYING else "550 unknown user",
    )


def records_of(outcomes: list[Outcome], size: int = 1) -> list[list[Outcome]]:
    """The outcomes as records of the outcomes topic, `size` to a record; offset = index."""
    return [outcomes[start : start + size] for start in range(0, len(outcomes), size)]


def apply_all(
    table: dict[str, dict[str, object]], outcomes: list[Outcome], size: int = 1, first: int = 0
) -> None:
    for position, batch in enumerate(records_of(outcomes, size), start=first):
        for key, record in fold(batch, table, position):
            table[key] = record


def replay(outcomes: list[Outcome], size: int = 1) -> dict[str, object]:
    table: dict[str, dict[str, object]] = {}
    apply_all(table, outcomes, size)
    return summarise("e1", *split(sorted(table.items()), "e1"))


def test_status_counts_a_delivery_through_retries_to_sent() -> None:
    status = replay(
        [
            outcome("d1", OutcomeStatus.PLANNED),
            outcome("d2", OutcomeStatus.PLANNED),
            outcome("d1", OutcomeStatus.RETRYING, 0),
            outcome("d1", OutcomeStatus.RETRYING, 1),
            outcome("d1", OutcomeStatus.SENT, 2),
            outcome("d2", OutcomeStatus.FAILED),
        ]
    )
    assert status["totals"] == {
        "planned": 2,
        "pending": 0,
        "retrying": 0,
        "sent": 1,
        "failed": 1,
        "retries": 2,
    }
    failures = status["failures"]
    assert isinstance(failures, list)
    assert [f["reason"] for f in failures] == ["550 unknown user"]


def test_redriven_failure_that_is_sent_leaves_the_failure_list() -> None:
    status = replay([outcome("d1", OutcomeStatus.FAILED), outcome("d1", OutcomeStatus.SENT)])
    assert status["failures"] == []
    totals = status["totals"]
    assert isinstance(totals, dict) and totals["sent"] == 1 and totals["failed"] == 0


def test_a_duplicate_counts_as_sent_when_the_sent_outcome_was_lost() -> None:
    # The worker sent, recorded it in the ledger and died before the outcome was written: the
    # message read again is a duplicate, and that is what tells the status it was sent.
    status = replay([outcome("d1", OutcomeStatus.PLANNED), outcome("d1", OutcomeStatus.DUPLICATE)])
    assert status["totals"] == {
        "planned": 1,
        "pending": 0,
        "retrying": 0,
        "sent": 1,
        "failed": 0,
        "retries": 0,
    }


def test_planned_after_sent_changes_nothing() -> None:
    status = replay([outcome("d1", OutcomeStatus.SENT), outcome("d1", OutcomeStatus.PLANNED)])
    totals = status["totals"]
    assert isinstance(totals, dict) and totals["sent"] == 1 and totals["pending"] == 0


def test_skipped_event_records_its_reason_once() -> None:
    table: dict[str, dict[str, object]] = {}
    skipped = Outcome.skipped("e1", NOW, "no subscriber in the audience")
    apply_all(table, [skipped, skipped])
    assert summarise("e1", *split(table.items(), "e1"))["not_delivered"] == [
        "no subscriber in the audience"
    ]


def test_stuck_lists_open_deliveries_older_than_the_threshold() -> None:
    old = NOW - timedelta(minutes=20)
    table: dict[str, dict[str, object]] = {}
    apply_all(
        table,
        [
            outcome("old", OutcomeStatus.PLANNED, at=old),
            outcome("new", OutcomeStatus.PLANNED, at=NOW),
            outcome("done", OutcomeStatus.PLANNED, at=old),
            outcome("done", OutcomeStatus.SENT, at=old),
        ],
    )
    states = delivery_states(table.items())
    found = stuck(states, NOW, timedelta(minutes=10))
    assert [s["delivery_id"] for s in found] == ["old"]
    assert stuck(states, NOW, timedelta(0)) == sorted(
        stuck(states, NOW, timedelta(0)), key=lambda s: str(s["at"])
    )
    assert {s["delivery_id"] for s in stuck(states, NOW, timedelta(0))} == {"old", "new"}


statuses = st.sampled_from(
    [
        OutcomeStatus.PLANNED,
        OutcomeStatus.RETRYING,
        OutcomeStatus.SENT,
        OutcomeStatus.FAILED,
        OutcomeStatus.DUPLICATE,
    ]
)
histories = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), statuses, st.integers(0, 3)), min_size=1
)


@given(histories)
def test_fold_is_idempotent_and_counts_add_up(items: list[tuple[str, OutcomeStatus, int]]) -> None:
    outcomes = [outcome(d, s, a) for d, s, a in items]
    once = replay(outcomes)
    # Every outcome read twice (redelivery after a restart) gives the same status.
    twice = replay([o for item in outcomes for o in (item, item)])
    assert once == twice
    totals = once["totals"]
    assert isinstance(totals, dict)
    assert totals["planned"] == len({d for d, _s, _a in items})
    assert totals["planned"] == sum(totals[k] for k in ("pending", "retrying", "sent", "failed"))
    assert all(value >= 0 for value in totals.values())


@given(histories, st.data())
def test_a_crash_anywhere_converges_to_the_same_status(
    items: list[tuple[str, OutcomeStatus, int]], data: st.DataObject
) -> None:
    """A crash: outcomes records up to `committed` are safe; each key of the table comes back as
    any value it had between the commit and the crash (its changelog and local store disagree),
    and the records from `committed` on are read again. The status must be the one without a
    crash, whether outcomes come one to a record or in batches."""
    size = data.draw(st.integers(1, 3), label="outcomes per record")
    outcomes = [outcome(d, s, a) for d, s, a in items]
    records = records_of(outcomes, size)
    expected = replay(outcomes)
    committed = data.draw(st.integers(0, len(records)), label="committed")
    crashed = data.draw(st.integers(committed, len(records)), label="crashed")
    table: dict[str, dict[str, object]] = {}
    apply_all(table, outcomes[: committed * size], size)
    history: dict[str, list[dict[str, object] | None]] = {k: [v] for k, v in table.items()}
    for position in range(committed, crashed):
        for key, record in fold(records[position], table, position):
            table[key] = record
            history.setdefault(key, [None]).append(record)
    recovered: dict[str, dict[str, object]] = {}
    for key, values in sorted(history.items()):
        value = data.draw(st.sampled_from(values), label=key)
        if value is not None:
            recovered[key] = value
    apply_all(recovered, outcomes[committed * size :], size, first=committed)
    assert summarise("e1", *split(sorted(recovered.items()), "e1")) == expected


def test_an_outcomes_record_read_again_writes_its_delta_again_for_the_changelog() -> None:
    # After a crash the local store can already hold a delta while the changelog lost that
    # write: the record read again must write it again, or the changelog (the CLI, the next
    # owner of the partition) never has it.
    table: dict[str, dict[str, object]] = {}
    apply_all(table, [outcome("d1", OutcomeStatus.PLANNED), outcome("d1", OutcomeStatus.SENT)])
    assert fold([outcome("d1", OutcomeStatus.SENT)], table, 1) == [
        ("e1/@000000000000001", table["e1/@000000000000001"])
    ]


def test_a_batch_of_outcomes_is_one_status_record() -> None:
    planned = [outcome(f"d{n}", OutcomeStatus.PLANNED) for n in range(500)]
    writes = fold(planned, {}, 7)
    assert [key for key, _record in writes] == ["e1/@000000000000007"]
    sent = [outcome(f"d{n}", OutcomeStatus.SENT) for n in range(0, 500, 2)]
    table = dict(writes) | dict(fold(sent, dict(writes), 9))
    totals = summarise("e1", *split(sorted(table.items()), "e1"))["totals"]
    assert totals == {
        "planned": 500,
        "pending": 250,
        "retrying": 0,
        "sent": 250,
        "failed": 0,
        "retries": 0,
    }


def test_states_kept_per_delivery_by_an_earlier_version_still_count() -> None:
    # An earlier version wrote `<event id>/<delivery id>` states: deltas apply over them.
    old: dict[str, dict[str, object]] = {}
    for item in [outcome("d1", OutcomeStatus.PLANNED), outcome("d2", OutcomeStatus.PLANNED)]:
        state = {"v": 1, "event_id": "e1", "delivery_id": item.delivery_id, "channel": "email"}
        state |= {"language": "fr", "recipient_id": item.recipient_id, "status": "planned"}
        old[f"e1/{item.delivery_id}"] = state | {"at": NOW.isoformat(), "planned_at": ""}
    apply_all(old, [outcome("d1", OutcomeStatus.SENT)], first=100)
    totals = summarise("e1", *split(sorted(old.items()), "e1"))["totals"]
    assert isinstance(totals, dict)
    assert (totals["planned"], totals["pending"], totals["sent"]) == (2, 1, 1)


def test_outcomes_records_of_either_version_read() -> None:
    single = outcome("d1", OutcomeStatus.SENT)
    batch = OutcomeBatch(event_id="e1", outcomes=[single, outcome("d2", OutcomeStatus.FAILED)])
    assert read_outcomes(single.dump(), "test") == [single]
    assert batch.dump()["v"] == 2
    assert [o.delivery_id for o in read_outcomes(batch.dump(), "test")] == ["d1", "d2"]
    assert read_outcomes({"outcomes": [{"no": "event"}]}, "test") == []


def test_a_merged_state_is_a_delivery_state_as_the_model_writes_it() -> None:
    planned = advance(None, outcome("d1", OutcomeStatus.PLANNED))
    retrying = advance(planned, outcome("d1", OutcomeStatus.RETRYING, 2))
    for state in (planned, retrying):
        assert state is not None and DeliveryState.parse(state).dump() == state
    assert retrying is not None and retrying["retries"] == 3
