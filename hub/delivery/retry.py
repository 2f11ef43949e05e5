"""Backoff policy (an error and the attempt number -> retry at a time, or give up) and the delay
tier a waiting retry goes to next. Pure."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.errors import BadRecord, DeliveryError, RateLimitedError, TransientDeliveryError
from hub.model.deliveries import RetryHeader
from hub.settings import RetrySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryAt:
    when: datetime
    attempt: int  # the attempt number the retry will be


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


def backoff_seconds(settings: RetrySettings, attempt: int, rng: random.Random) -> float:
    """Exponential delay after the given (0-based) attempt, capped, with +/- jitter."""
    delay = min(settings.base_seconds * settings.factor**attempt, settings.max_delay_seconds)
    spread = delay * settings.jitter
    return max(0.0, delay + rng.uniform(-spread, spread))


def decide(
    error: DeliveryError,
    attempt: int,
    now: datetime,
    settings: RetrySettings,
    rng: random.Random | None = None,
) -> RetryAt | GiveUp:
    """Transient errors are retried with backoff (honouring retry_after) until attempts run out."""
    if not isinstance(error, TransientDeliveryError):
        return GiveUp(f"permanent: {type(error).__name__}: {error}")
    if attempt + 1 >= settings.max_attempts:
        return GiveUp(f"gave up after {attempt + 1} attempts: {type(error).__name__}: {error}")
    delay = backoff_seconds(settings, attempt, rng or random.Random())  # noqa: S311 (jitter)
    if isinstance(error, RateLimitedError):
        delay = max(delay, error.retry_after)
    return RetryAt(now + timedelta(seconds=delay), attempt + 1)


def seconds_until(not_before: str | None, now: datetime) -> float:
    """How long a scheduled retry still has to wait (0 when due, or when no time was set)."""
    if not not_before:
        return 0.0
    return max(0.0, (datetime.fromisoformat(not_before) - now).total_seconds())


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A retry as the retry agent reads it: the recipient's key and when it is due."""

    key: bytes
    not_before: str | None


def scheduled(message: object) -> Scheduled:
    """Whom a retry is for and when it is due. One that does not read is due now: the
    dispatcher, which reads all of it, then keeps it as a dead letter with the reason."""
    try:
        header = RetryHeader.parse(message)
    except BadRecord as exc:
        log.error("retry passed on unread to be dead-lettered: %s", exc)
        return Scheduled(b"", None)
    return Scheduled(header.recipient.id.encode(), header.not_before)


# On a retry in a delay tier: when its tier agent looks at it again (ISO time with its offset).
HAND_OFF_HEADER = "hub-hand-off-at"


def tier_label(seconds: float) -> str:
    """A tier's delay as a topic name part: 5s, 30s, 5m, 30m, 500ms."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def tier_for(remaining: float, tiers: Sequence[float]) -> int:
    """The largest tier not exceeding the remaining wait; the smallest when every tier does.

    Every record in a tier but the smallest is handed off exactly that tier's delay after it was
    written, so each tier's records come due in the order they were written: its agent only
    ever waits for its head. In the smallest tier a retry due sooner than the tier's delay may
    wait behind one written before it, by less than that delay.
    """
    fitting = [i for i, delay in enumerate(tiers) if delay <= remaining]
    return fitting[-1] if fitting else 0


@dataclass(frozen=True, slots=True)
class Hop:
    """Where a retry goes now: to its channel (tier None) or to a tier until `hand_off_at`."""

    tier: int | None
    hand_off_at: datetime | None = None

    def headers(self) -> dict[str, bytes]:
        if self.hand_off_at is None:
            return {}
        return {HAND_OFF_HEADER: self.hand_off_at.isoformat().encode()}


def next_hop(not_before: str | None, now: datetime, tiers: Sequence[float]) -> Hop:
    """A due retry goes to its channel; one still waiting to the tier for its remaining wait,
    to be looked at again after that tier's delay (never later than when it is due)."""
    remaining = seconds_until(not_before, now)
    if remaining <= 0:
        return Hop(None)
    tier = tier_for(remaining, tiers)
    return Hop(tier, now + timedelta(seconds=min(tiers[tier], remaining)))


def hand_off_at(headers: Mapping[str, object], not_before: str | None) -> str | None:
    """When a tier's agent hands a retry on: its header, else (a record without one) when due."""
    raw = headers.get(HAND_OFF_HEADER)
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if isinstance(text, str):
        try:
            if datetime.fromisoformat(text).tzinfo is not None:
                return text
        except ValueError:
            pass
        log.warning("retry with an unreadable %s header %r: waits until due", HAND_OFF_HEADER, raw)
    return not_before
