"""Telegram's flood limits for bots as sliding windows over an injectable monotonic clock."""

from __future__ import annotations

import math
import time
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


@dataclass(frozen=True)
class Flood:
    """A message refused by a limit: which window, and the whole seconds to wait (at least 1)."""

    window: str
    retry_after: int


@dataclass
class _Log:
    """The send times still inside one window, oldest first."""

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
        self._overall.times.append(now)
        self._chat_log(chat_id, group).times.append(now)

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
