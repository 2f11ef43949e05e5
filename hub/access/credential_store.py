"""Credentials in Kafka: issuing and revoking them, and a worker's index that follows the topic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from hub.access.credentials import (
    Credential,
    CredentialIndex,
    issue,
    parse_roles,
    revoke,
    token_hash,
)
from hub.access.roles import Role
from hub.errors import BadRecord
from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.client import latest_by_key, send_records
from hub.kafka.security import client_options
from hub.kafka.topics import TopicNames
from hub.model import audit
from hub.settings import KafkaSettings, Settings

log = logging.getLogger(__name__)

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
    for name, record in (await latest_by_key(settings.kafka, await _topic(settings))).items():
        _apply(index, name, record)
    index.ready = True
    return index


def _apply(index: CredentialIndex, name: str, value: object) -> None:
    """One record; one that does not read is logged and skipped (no credential is made of it)."""
    try:
        index.apply(name, value)
    except BadRecord as exc:
        log.error("credential record %r skipped: %s", name, exc)


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


async def follow(settings: KafkaSettings, topic: str, index: CredentialIndex) -> None:
    """Keep `index` current with the credentials topic for as long as the worker runs.

    Each worker reads the whole (single-partition, compacted) topic itself, without a consumer
    group, so a revocation reaches every worker within a fetch, with no restart. While it
    cannot read the topic, the index is not ready and the API refuses calls (fails closed).
    """
    while True:
        try:
            await _follow(settings, topic, index)
        except KafkaError as exc:
            index.ready = False
            log.warning("reading credentials failed (%s); reading again", exc)
        except Exception:
            index.ready = False
            log.exception("reading credentials failed; reading again")
        await asyncio.sleep(1)  # before reading again from the start


@contextlib.asynccontextmanager
async def following(
    settings: KafkaSettings, topic: str, index: CredentialIndex
) -> AsyncIterator[None]:
    """Follow the credentials topic for as long as the web server runs (its ASGI lifespan).

    Started with the web server rather than as a Faust task: Faust starts tasks only once its
    tables are recovered, and API calls would be refused until then.
    """
    task = asyncio.create_task(follow(settings, topic, index), name="credentials-follower")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _follow(settings: KafkaSettings, topic: str, index: CredentialIndex) -> None:
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while True:
            if not index.ready and await consumer.position(tp) >= end:
                index.ready = True
                log.info("credentials read: %d known", len(index.all()))
            batches = await consumer.getmany(tp, timeout_ms=500)
            for message in batches.get(tp, []):
                name = (message.key or b"").decode()
                try:
                    value = None if message.value is None else json.loads(message.value)
                except ValueError as exc:
                    log.error("credential record %r skipped: not JSON: %s", name, exc)
                    continue
                _apply(index, name, value)
    finally:
        await consumer.stop()
