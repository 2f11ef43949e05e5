"""Delay tiers for retries: which tier, when it is handed on, and that no wait holds up another."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.delivery.retry import HAND_OFF_HEADER, Hop, hand_off_at, next_hop, tier_for, tier_label
from hub.kafka.topics import TopicNames
from hub.model.deliveries import ChannelKey
from hub.settings import RetrySettings

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
TIERS = [5.0, 30.0, 300.0, 1800.0]


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_a_retry_goes_to_the_largest_tier_not_exceeding_its_wait() -> None:
    assert [tier_for(r, TIERS) for r in (5, 29.9, 30, 299, 300, 1799, 1800, 86400)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    # Shorter than every tier: the smallest, handed on when due rather than after 5 s.
    assert tier_for(0.2, TIERS) == 0
    assert next_hop(at(0.2).isoformat(), NOW, TIERS) == Hop(0, at(0.2))


def test_a_tier_hands_a_retry_on_after_its_delay_never_past_when_it_is_due() -> None:
    assert next_hop(at(40).isoformat(), NOW, TIERS) == Hop(1, at(30))
    assert next_hop(at(30).isoformat(), NOW, TIERS) == Hop(1, at(30))
    # Handed on at 30 s with 10 s left: the 5 s tier, twice, then the channel.
    assert next_hop(at(40).isoformat(), at(30), TIERS) == Hop(0, at(35))
    assert next_hop(at(40).isoformat(), at(40), TIERS) == Hop(None)


def test_a_due_retry_or_one_without_a_time_goes_to_its_channel() -> None:
    assert next_hop(None, NOW, TIERS) == Hop(None)
    assert next_hop(at(-3).isoformat(), NOW, TIERS) == Hop(None)
    assert Hop(None).headers() == {}


def test_the_hand_off_time_travels_in_a_header() -> None:
    hop = next_hop(at(600).isoformat(), NOW, TIERS)
    headers = hop.headers()
    assert hand_off_at(headers, at(600).isoformat()) == at(300).isoformat()
    # A record without the header (or with one that does not read) waits until it is due.
    assert hand_off_at({}, at(600).isoformat()) == at(600).isoformat()
    assert hand_off_at({HAND_OFF_HEADER: b"soon"}, at(600).isoformat()) == at(600).isoformat()
    assert hand_off_at({HAND_OFF_HEADER: b"2026-11-29T09:00:00"}, None) is None


def test_tier_names() -> None:
    assert [tier_label(t) for t in (*TIERS, 0.5, 90, 1.5)] == [
        "5s",
        "30s",
        "5m",
        "30m",
        "500ms",
        "90s",
        "1500ms",
    ]
    assert TopicNames("hub").retry_tier(ChannelKey.EMAIL, "30s") == "hub.retries.email.30s.v1"


def test_tiers_must_ascend() -> None:
    assert RetrySettings().tiers == TIERS
    for wrong in ([30, 5], [5, 5], [0, 5], []):
        with pytest.raises(ValidationError):
            RetrySettings(tiers=wrong)


@dataclass
class Waiting:
    name: str
    due: datetime
    hand_off: datetime


def simulate(arrivals: list[tuple[float, float]], tiers: list[float]) -> dict[str, datetime]:
    """Retries arriving at (time, wait) through the tiers, each tier read strictly in order and
    its head held until its hand-off time, as the agents do: when each reaches its channel."""
    queues: list[deque[Waiting]] = [deque() for _ in tiers]
    pending = sorted((at(t), f"r{i}", at(t + wait)) for i, (t, wait) in enumerate(arrivals))
    sent: dict[str, datetime] = {}
    now = NOW

    def forward(name: str, due: datetime) -> None:
        hop = next_hop(due.isoformat(), now, tiers)
        if hop.tier is None:
            sent[name] = now
        else:
            assert hop.hand_off_at is not None
            queues[hop.tier].append(Waiting(name, due, hop.hand_off_at))

    while pending or any(queues):
        heads = [(q[0].hand_off, i) for i, q in enumerate(queues) if q]
        if pending and (not heads or pending[0][0] <= min(heads)[0]):
            when, name, due = pending.pop(0)
            now = max(now, when)
            forward(name, due)
            continue
        when, tier = min(heads)
        now = max(now, when)
        head = queues[tier].popleft()
        forward(head.name, head.due)
    return sent


def test_a_long_wait_does_not_delay_a_short_one_behind_it() -> None:
    sent = simulate([(0, 1700), (1, 40), (2, 6)], TIERS)
    assert sent == {"r0": at(1700), "r1": at(41), "r2": at(8)}


@given(
    st.lists(
        st.tuples(st.floats(0, 600), st.floats(0, 4000)),
        min_size=1,
        max_size=40,
    )
)
def test_every_retry_goes_out_when_due_and_late_by_less_than_the_smallest_tier(
    arrivals: list[tuple[float, float]],
) -> None:
    sent = simulate(arrivals, TIERS)
    assert len(sent) == len(arrivals)
    for i, (t, wait) in enumerate(arrivals):
        lateness = (sent[f"r{i}"] - at(t + wait)).total_seconds()
        assert -1e-3 <= lateness < TIERS[0], (i, t, wait, lateness)
