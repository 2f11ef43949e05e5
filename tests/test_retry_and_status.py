"""Backoff decisions and the status fold, without Kafka."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.errors import (
    PermanentDeliveryError,
    RateLimitedError,
    RecipientRejectedError,
    TransientDeliveryError,
)
from hub.outcomes import Outcome, OutcomeStatus
from hub.retry import GiveUp, RetryAt, backoff_seconds, decide, seconds_until
from hub.settings import RetrySettings
from hub.status import fold, summary

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


def outcome(delivery: str, status: OutcomeStatus, attempt: int = 0, lang: str = "fr") -> Outcome:
    return Outcome(
        event_id="e1",
        status=status,
        at=NOW.isoformat(),
        delivery_id=delivery,
        channel="email",
        recipient_id=f"r-{delivery}",
        language=lang,
        attempt=attempt,
        reason="451 busy" if status is OutcomeStatus.RETRYING else "550 unknown user",
    )


def replay(outcomes: list[Outcome]) -> dict[str, object]:
    status = None
    states: dict[str, dict[str, object]] = {}
    for item in outcomes:
        status, state = fold(status, states.get(item.delivery_id), item)
        if state is not None:
            states[item.delivery_id] = state
    assert status is not None
    return status


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
    assert summary(status) == {  # type: ignore[arg-type]
        "planned": 2,
        "pending": 0,
        "retrying": 0,
        "sent": 1,
        "failed": 1,
        "retries": 2,
    }
    failures = status["failures"]
    assert isinstance(failures, dict)
    assert [f["reason"] for f in failures.values()] == ["550 unknown user"]


def test_redriven_failure_that_is_sent_leaves_the_failure_list() -> None:
    status = replay([outcome("d1", OutcomeStatus.FAILED), outcome("d1", OutcomeStatus.SENT)])
    assert status["failures"] == {}
    assert summary(status)["sent"] == 1 and summary(status)["failed"] == 0  # type: ignore[arg-type]


def test_skipped_event_records_its_reason() -> None:
    status, _ = fold(None, None, Outcome.skipped("e1", NOW, "no subscriber in the audience"))
    assert status["skipped"] == ["no subscriber in the audience"]


statuses = st.sampled_from(
    [OutcomeStatus.PLANNED, OutcomeStatus.RETRYING, OutcomeStatus.SENT, OutcomeStatus.FAILED]
)


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), statuses, st.integers(0, 3)), min_size=1)
)
def test_fold_is_idempotent_and_counts_add_up(items: list[tuple[str, OutcomeStatus, int]]) -> None:
    outcomes = [outcome(d, s, a) for d, s, a in items]
    once = replay(outcomes)
    # Every outcome read twice (redelivery after a restart) gives the same status.
    twice = replay([o for item in outcomes for o in (item, item)])
    assert summary(once) == summary(twice)  # type: ignore[arg-type]
    totals = summary(once)  # type: ignore[arg-type]
    assert totals["planned"] == len({d for d, _s, _a in items})
    assert totals["planned"] == sum(totals[k] for k in ("pending", "retrying", "sent", "failed"))
