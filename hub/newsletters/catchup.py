"""Which scheduled newsletter run a new leader still owes: one nobody asked for, not too late."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from hub.newsletters.config import Newsletter

# The crontab's own run goes first: a scheduled time is owed only once this has passed.
GRACE = timedelta(seconds=10)


def run_owed(
    newsletter: Newsletter, now: datetime, requested: Mapping[str, datetime], window: timedelta
) -> datetime | None:
    """The latest scheduled time of the newsletter if this worker has not asked for its edition
    and it passed between GRACE and `window` ago; None otherwise.

    A crontab fires only on the worker that is leader at that moment: during a rebalance, or
    while the group had no worker, nobody is, and the run is lost. Asking again when the old
    leader did ask is harmless: the edition is kept once per period. Older runs are not owed:
    a hub that was down for days sends the current period's edition at its next scheduled time
    (or on send-now), not a backlog.
    """
    due = newsletter.period_start(now)
    late = now - due
    if GRACE <= late < window and requested.get(newsletter.name) != due:
        return due
    return None
