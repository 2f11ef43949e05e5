"""Giving topics that already exist the compaction settings erasure needs (hub.privacy.erasure)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from hub.kafka.security import client_options
from hub.settings import KafkaSettings

log = logging.getLogger(__name__)


async def align_topic_configs(
    settings: KafkaSettings, names: Iterable[str], config: dict[str, str]
) -> None:
    """Set `config` on each existing topic of `names` (created before, or by an older version).

    Topic settings are given only at creation; a deployment that predates the erasure window, or
    changes it, gets the settings here at every start. A refusal is logged, not fatal: the hub
    runs, and the log says why erasures may take longer.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, name, configs=dict(config))
            for name in names
            if name in existing
        ]
        if not resources:
            return
        for response in await admin.alter_configs(resources):
            for error_code, message, _kind, name in response.resources:
                if error_code:
                    log.error("topic %s: settings refused (%s): %s", name, error_code, message)
    except KafkaError as exc:
        log.error("topic settings not applied to %s: %r", list(names), exc)
    finally:
        await admin.close()
