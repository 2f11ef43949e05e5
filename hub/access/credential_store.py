"""Credentials in Kafka: issuing and revoking them (workers follow it: hub.kafka.follower)."""

from __future__ import annotations

from datetime import datetime

from hub.access.credentials import (
    Credential,
    CredentialIndex,
    issue,
    parse_roles,
    revoke,
    token_hash,
)
from hub.access.roles import Role
from hub.kafka import follower
from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.client import send_records
from hub.kafka.topics import TopicNames
from hub.model import audit
from hub.settings import Settings

FROM_ENVIRONMENT = "environment"


def environment_credentials(settings: Settings) -> list[Credential]:
    """HUB_CREDENTIALS (hashes, any roles); deprecated HUB_PUBLISHER_TOKENS (publisher only)."""
    found = [
        Credential(
            name,
            parse_roles([Role.PUBLISHER]),
            token_hash(secret.get_secret_value()),
            FROM_ENVIRONMENT,
            FROM_ENVIRONMENT,
        )
        for name, secret in settings.publisher_tokens.items()
    ]
    found += [
        Credential(name, parse_roles(entry.roles), entry.sha256, FROM_ENVIRONMENT, FROM_ENVIRONMENT)
        for name, entry in settings.credentials.items()
    ]
    return found


async def _topic(settings: Settings) -> str:
    topic = TopicNames(settings.kafka.topic_prefix).credentials
    await ensure_topics(settings.kafka, [topic], COMPACTED, partitions=1)
    return topic


async def load(settings: Settings) -> CredentialIndex:
    """Every credential as the topic has it now (with the environment's)."""
    index = CredentialIndex(environment_credentials(settings))
    await follower.load(settings.kafka, await _topic(settings), index, "credentials")
    return index


async def _write(
    settings: Settings, credential: Credential, action: str, by: str, now: datetime
) -> None:
    names = TopicNames(settings.kafka.topic_prefix)
    key = credential.name.encode()
    await send_records(settings.kafka, await _topic(settings), [(key, credential.as_record())])
    entry = audit.record(by, action, credential.name, now, roles=sorted(credential.roles))
    await send_records(settings.kafka, names.audit, [(key, entry)])


async def create(
    settings: Settings, name: str, roles: list[str], by: str, now: datetime
) -> tuple[Credential, str]:
    """Issue a credential: only its hash is written; the token is returned to be shown once."""
    index = await load(settings)
    credential, token = issue(name, roles, by, now, index.get(name))
    await _write(settings, credential, "credential.created", by, now)
    return credential, token


async def revoke_named(settings: Settings, name: str, by: str, now: datetime) -> Credential:
    index = await load(settings)
    revoked = revoke(index.get(name), name, by, now)
    await _write(settings, revoked, "credential.revoked", by, now)
    return revoked
