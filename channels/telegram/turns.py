"""One send at a time per chat, with a lock held only while a chat has sends waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class ChatTurns:
    """Sends to one chat take turns in the order they ask; sends to other chats never wait.

    A lock lives only while someone holds or waits for it, so memory follows the chats with
    sends in flight, not every chat ever sent to.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat, (asyncio.Lock(), 0))
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat]
            if users == 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users - 1)

    def __len__(self) -> int:
        """Chats with a send in flight or waiting."""
        return len(self._locks)
