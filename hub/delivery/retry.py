"""Backoff policy: an error and the attempt number -> retry at a time, or give up. Pure."""

from __future__ import annotations

import logging
import random
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
