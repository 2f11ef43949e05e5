"""Telegram's flood limits for bots as sliding windows over an injectable monotonic clock."""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# The figures Telegram documents in the Bots FAQ ("My bot is hitting limits, how do I avoid
# this?", https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
#   - in a single chat, avoid sending more than one message per second;
#   - in a group, the bot cannot send more than 20 messages per minute;
#   - for bulk notifications, not more than about 30 messages per second overall.
# Past a limit Telegram answers 429 "Too Many Requests: retry after N" with
# parameters.retry_after = N, a whole number of seconds.


@dataclass(frozen=True)
class Window:
    """At most `limit` messages in any `period` seconds."""

    name: str
    limit: int
    period: float


PRIVATE_CHAT = Window("private_chat", 1, 1.0)
GROUP_CHAT = Window("group_chat", 20, 60.0)
OVERALL = Window("overall", 30, 1.0)

# A message that arrives this much before the window has fully passed still counts as on time,
# so a client pacing itself with sleep(1.0) is not punished for timer jitter.
DEFAULT_TOLERANCE = 0.05
# Float slack, so a time computed as "a period after" counts as a period after.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Flood:
    """A message refused by a limit: which window, and the whole seconds to wait (at least 1)."""

    window: str
    retry_after: int


@dataclass(frozen=True)
class Slot:
    """A time taken for one message, on the limiter's clock, and the seconds until it."""

    at: float
    wait: float


@dataclass
class _Log:
    """The send times still inside one window, and those reserved for later, in order."""

    window: Window
    times: deque[float] = field(default_factory=deque)

    def expire(self, now: float, tolerance: float) -> None:
        while self.times and self.times[0] <= now - self.window.period + tolerance:
            self.times.popleft()

    def wait(self, now: float, tolerance: float) -> float:
        """Seconds until one more message fits (0.0 if it fits now)."""
        self.expire(now, tolerance)
        if len(self.times) < self.window.limit:
            return 0.0
        oldest = self.times[len(self.times) - self.window.limit]
        return max(oldest + self.window.period - tolerance - now, 0.0)

    def earliest(self, start: float, tolerance: float) -> float:
        """The earliest time from `start` at which one more message keeps every window within
        the limit, counting messages reserved for later too: any `limit + 1` messages in a
        row must span at least the period."""
        times, limit = list(self.times), self.window.limit
        span = self.window.period - tolerance - _EPSILON
        at = start
        while True:
            k = bisect_right(times, at)  # where a message at `at` goes
            merged = [*times[max(0, k - limit) : k], at, *times[k : k + limit]]
            here = min(k, limit)  # its index in `merged`
            moved = at
            for first in range(max(0, here - limit), here + 1):
                last = first + limit
                if last >= len(merged) or merged[last] - merged[first] >= span:
                    continue
                # Too many within one period: after the first of them by a period when the new
                # message would end the run, else past the run's end.
                moved = merged[first] + span + _EPSILON if last == here else merged[last]
                break
            if moved == at:
                return at
            at = moved

    def reserve(self, at: float) -> None:
        self.times.insert(bisect_right(self.times, at), at)

    def move(self, slot: float, at: float) -> None:
        """Count a message reserved for `slot` at `at` instead (if the window has already let
        the slot go, the message still counts at `at`)."""
        i = bisect_left(self.times, slot)
        if i < len(self.times) and self.times[i] == slot:
            del self.times[i]
        self.reserve(at)


class RateLimiter:
    """One bot's limits: overall, per private chat and per group, supergroup or channel."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        overall: Window = OVERALL,
        private_chat: Window = PRIVATE_CHAT,
        group_chat: Window = GROUP_CHAT,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        self._clock = clock
        self._private_chat = private_chat
        self._group_chat = group_chat
        self._tolerance = tolerance
        self._overall = _Log(overall)
        self._chats: dict[int, _Log] = {}

    def check(self, chat_id: int, *, group: bool) -> Flood | None:
        """The limit a message to `chat_id` sent now would break, or None."""
        now = self._clock()
        logs = [self._overall, self._chat_log(chat_id, group)]
        waits = [(log.wait(now, self._tolerance), log.window.name) for log in logs]
        wait, name = max(waits)
        if wait <= 0:
            return None
        return Flood(name, max(1, math.ceil(wait)))

    def wait_time(self, chat_id: int, *, group: bool) -> float:
        """Seconds until a message to `chat_id` fits every limit (0.0: send now)."""
        now = self._clock()
        logs = [self._overall, self._chat_log(chat_id, group)]
        return max(log.wait(now, self._tolerance) for log in logs)

    def record(self, chat_id: int, *, group: bool) -> None:
        """Count a message sent to `chat_id` now."""
        now = self._clock()
        self._overall.reserve(now)
        self._chat_log(chat_id, group).reserve(now)

    def reserve(self, chat_id: int, *, group: bool) -> float:
        """Take the earliest slot at which a message to `chat_id` fits every limit, and return
        the seconds until it (0.0: send now).

        The slot is counted at once, so callers sending concurrently never share one, and they
        get slots in the order they ask. A chat that must wait takes an overall slot at its own
        time, not now: a message for another chat is never held up behind it.
        """
        return self.reserve_slot(chat_id, group=group).wait

    def reserve_slot(self, chat_id: int, *, group: bool) -> Slot:
        """As `reserve`, with the slot itself on the limiter's clock (for `sent`)."""
        now = self._clock()
        self._overall.expire(now, self._tolerance)
        chat = self._chat_log(chat_id, group)
        chat.expire(now, self._tolerance)
        at = now
        while True:  # a time both the chat's window and the overall one accept
            at = self._overall.earliest(chat.earliest(at, self._tolerance), self._tolerance)
            if chat.earliest(at, self._tolerance) == at:
                break
        self._overall.reserve(at)
        chat.reserve(at)
        return Slot(at, at - now)

    def sent(self, chat_id: int, slot: float, *, group: bool) -> None:
        """The message reserved for `slot` has gone out now. Count it now instead: a loop busy
        elsewhere or a full connection pool can send it well after its slot, and a chat's next
        slot taken from the reserved time could then come less than its interval after what
        Telegram saw."""
        now = max(self._clock(), slot)
        self._overall.move(slot, now)
        self._chat_log(chat_id, group).move(slot, now)

    @property
    def overall(self) -> Window:
        return self._overall.window

    def set_overall(self, window: Window) -> None:
        """Change the overall budget (a worker's share of the bot's), keeping what was sent."""
        self._overall.window = window

    def acquire(self, chat_id: int, *, group: bool) -> Flood | None:
        """Count a message to `chat_id` if every limit allows it; else the limit it breaks."""
        flood = self.check(chat_id, group=group)
        if flood is None:
            self.record(chat_id, group=group)
        return flood

    def _chat_log(self, chat_id: int, group: bool) -> _Log:
        self._forget_idle_chats()
        log = self._chats.get(chat_id)
        if log is None:
            log = self._chats[chat_id] = _Log(self._group_chat if group else self._private_chat)
        return log

    def _forget_idle_chats(self) -> None:
        """Drop chats with nothing left in their window, so memory follows recent traffic."""
        if len(self._chats) < 1024:
            return
        now = self._clock()
        for chat_id, log in list(self._chats.items()):
            log.expire(now, self._tolerance)
            if not log.times:
                del self._chats[chat_id]


def worker_budget(rate: float, assigned: int, total: int) -> Window:
    """One worker's part of a bot's overall budget of `rate` messages a second, shared by the
    workers in proportion to the partitions of the Telegram deliveries topic each is assigned:
    together they never send faster than `rate`. A worker with none (it should send nothing)
    keeps one partition's part, for a message still in flight at a rebalance."""
    share = max(1, min(assigned, total)) / max(1, total)
    per_second = rate * share
    # Whole messages in a window stretched to match: 25/s over 3 workers is 8 per 0.96 s.
    limit = max(1, math.floor(per_second))
    return Window("overall", limit, limit / per_second)
