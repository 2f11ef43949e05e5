"""Backoff decisions and the status fold (also across crashes), without Kafka."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.delivery.retry import GiveUp, RetryAt, backoff_seconds, decide, seconds_until
from hub.delivery.status import fold, split, stuck, summarise
from hub.errors import (
    PermanentDeliveryError,
    RateLimitedError,
    RecipientRejectedError,
    TransientDeliveryError,
)
from hub.model.outcomes import Outcome, OutcomeStatus
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


def apply_all(table: dict[str, dict[str, object]], outcomes: list[Outcome]) -> None:
    for item in outcomes:
        for key, record in fold(item, table):
            table[key] = record


def replay(outcomes: list[Outcome]) -> dict[str, object]:
    table: dict[str, dict[str, object]] = {}
    apply_all(table, outcomes)
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
    found = stuck(table.values(), NOW, timedelta(minutes=10))
    assert [s["delivery_id"] for s in found] == ["old"]
    assert stuck(table.values(), NOW, timedelta(0)) == sorted(
        stuck(table.values(), NOW, timedelta(0)), key=lambda s: str(s["at"])
    )
    assert {s["delivery_id"] for s in stuck(table.values(), NOW, timedelta(0))} == {"old", "new"}


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
    """A crash: outcomes up to `committed` are safe; each key of the table comes back as any
    value it had between the commit and the crash (its changelog and local store disagree), and
    the outcomes from `committed` on are read again. The status must be the one without a crash."""
    outcomes = [outcome(d, s, a) for d, s, a in items]
    expected = replay(outcomes)
    committed = data.draw(st.integers(0, len(outcomes)), label="committed")
    crashed = data.draw(st.integers(committed, len(outcomes)), label="crashed")
    history: dict[str, list[dict[str, object] | None]] = {}
    table: dict[str, dict[str, object]] = {}
    apply_all(table, outcomes[:committed])
    for key in {"e1/a", "e1/b", "e1/c"}:
        history[key] = [table.get(key)]
    for item in outcomes[committed:crashed]:
        for key, record in fold(item, table):
            table[key] = record
            history[key].append(record)
    recovered: dict[str, dict[str, object]] = {}
    for key, values in sorted(history.items()):
        value = data.draw(st.sampled_from(values), label=key)
        if value is not None:
            recovered[key] = value
    apply_all(recovered, outcomes[committed:])
    assert summarise("e1", *split(sorted(recovered.items()), "e1")) == expected


def test_an_outcome_read_again_writes_its_state_again_for_the_changelog() -> None:
    # After a crash the local store can already hold `sent` while the changelog lost that write:
    # the outcome read again must write it again, or the changelog (the CLI, the next owner of
    # the partition) keeps `planned` for ever.
    table: dict[str, dict[str, object]] = {}
    apply_all(table, [outcome("d1", OutcomeStatus.PLANNED), outcome("d1", OutcomeStatus.SENT)])
    assert fold(outcome("d1", OutcomeStatus.SENT), table) == [("e1/d1", table["e1/d1"])]
    assert fold(outcome("d1", OutcomeStatus.DUPLICATE), table) == [("e1/d1", table["e1/d1"])]
