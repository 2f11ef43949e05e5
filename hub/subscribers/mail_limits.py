"""How often the public subscribe form may cause an email to one address. Pure.

The form answers anyone, so without a limit it could mail-bomb a stranger's inbox. The times of
the emails it caused are kept in the address's own subscriber record (and go with it on erasure);
the subscriber agent, the one consumer of the one-partition subscribers topic, decides, so the limit
holds across workers and repeated requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FIELD = "notices_sent"  # ISO times of the emails the form caused in the last day
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AddressLimit:
    interval: timedelta  # at most one email per interval ...
    per_day: int  # ... and at most this many a day


def recent(record: Mapping[str, Any] | None, now: datetime) -> list[str]:
    """The stamps of a stored record still inside the last day (unreadable ones dropped)."""
    kept: list[str] = []
    for stamp in (record or {}).get(FIELD, ()) or ():
        try:
            at = datetime.fromisoformat(str(stamp))
        except ValueError:
            continue
        if at.tzinfo is not None and now - at < DAY:
            kept.append(at.isoformat())
    return kept


def may_send(stamps: Sequence[str], now: datetime, limit: AddressLimit) -> bool:
    """Whether one more email may go to the address now."""
    if len(stamps) >= limit.per_day:
        return False
    times = [datetime.fromisoformat(s) for s in stamps]
    return not times or now - max(times) >= limit.interval
