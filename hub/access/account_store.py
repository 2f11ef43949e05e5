"""Console accounts in Kafka: created, reset, disabled, each audited (never a password)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hub.access import accounts
from hub.access.accounts import Account, AccountIndex
from hub.kafka import follower
from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.client import send_records
from hub.kafka.topics import TopicNames
from hub.model import audit
from hub.settings import Settings


async def topic(settings: Settings) -> str:
    name = TopicNames(settings.kafka.topic_prefix).accounts
    await ensure_topics(settings.kafka, [name], COMPACTED, partitions=1)
    return name


async def load(settings: Settings) -> AccountIndex:
    """Every account as the topic has it now."""
    index = AccountIndex()
    await follower.load(settings.kafka, await topic(settings), index, "accounts")
    return index


async def save(settings: Settings, account: Account, action: str, by: str, now: datetime) -> None:
    """Write the account's new state, then its audit entry (roles, never the hash)."""
    key = account.name.encode()
    await send_records(settings.kafka, await topic(settings), [(key, account.as_record())])
    entry = audit.record(by, action, account.name, now, roles=sorted(account.roles))
    names = TopicNames(settings.kafka.topic_prefix)
    await send_records(settings.kafka, names.audit, [(key, entry)])


async def change(
    settings: Settings,
    name: str,
    action: str,
    how: Callable[[Account | None], Account],
    by: str,
    now: datetime,
) -> Account:
    """Read the account as it is, apply `how` (AccountError if refused), write the result."""
    index = await load(settings)
    changed = how(index.get(name))
    await save(settings, changed, action, by, now)
    return changed


async def reset_password(
    settings: Settings, name: str, password: str, by: str, now: datetime
) -> Account:
    return await change(
        settings,
        name,
        "account.password-reset",
        lambda a: accounts.reset(a, name, password, now),
        by,
        now,
    )
