"""Starting a worker: the Faust app with its agents and the HTTP API on the same loop."""

from __future__ import annotations

import asyncio
import logging
import os

import faust
from faust.contrib.asgi import serve_asgi

from hub import logsafety
from hub.delivery import faults
from hub.kafka.admin import COMPACTED, KEEP_FOREVER, ensure_topics
from hub.kafka.follower import following
from hub.kafka.security import topic_configs
from hub.privacy.erasure import compaction_config
from hub.privacy.erasure_topics import align_topic_configs
from hub.runtime.agents import register_agents
from hub.runtime.app import Runtime, create_runtime, expiring
from hub.runtime.services import web_services
from hub.settings import Settings
from hub.web.app import create_api


def build_worker_runtime(settings: Settings) -> Runtime:
    faults.arm(settings.fault_kill_at)
    rt = create_runtime(settings)
    if settings.trace_offsets:
        from hub.runtime.agents.offset_trace import OffsetTrace

        rt.app.sensors.add(OffsetTrace(".deliveries."))
    register_agents(rt)
    api = create_api(
        web_services(rt),
        # Credentials, accounts and console submissions are followed for as long as the web
        # server runs (its ASGI lifespan).
        lifespan=lambda _api: following(settings.kafka, rt.followed),
    )
    serve_asgi(rt.app, api, host=settings.web.host, port=settings.web.port)
    return rt


def run_worker(settings: Settings, *, loglevel: str | None = None) -> None:
    """Run a worker until it is stopped; `loglevel` (the CLI's --loglevel) overrides
    HUB_LOG_LEVEL."""
    # python-telegram-bot 22 gives RetryAfter.retry_after as a timedelta with this set, and warns
    # about the old int form on every 429 without it.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    level = loglevel or settings.log_level
    # Until faust sets up its own handlers (at start), in the same form: the settings' warnings
    # and the topics' creation come before that.
    logsafety.configure(logsafety.level_of(level), settings.log_format, secret_values(settings))
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    rt = build_worker_runtime(settings)
    asyncio.run(create_topics(rt))
    # quiet: faust's spinner and console messages are not log records (not JSON, not redacted).
    worker = SafeLoggingWorker(
        rt.app, loglevel=level, override_logging=True, quiet=settings.log_format == "json"
    )
    worker.secrets = secret_values(settings)
    worker.log_format = settings.log_format
    worker.execute_from_commandline()


def secret_values(settings: Settings) -> list[str]:
    """Every secret the worker holds, to be redacted wherever it might be logged."""
    return logsafety.secrets_of(settings)


class SafeLoggingWorker(faust.Worker):
    """Faust's worker, with the log handlers it sets up redacting secrets and addresses, the
    libraries' chatter left out above DEBUG, and JSON lines when HUB_LOG_FORMAT=json."""

    secrets: list[str] = []  # noqa: RUF012 - set once before start
    log_format: str = "text"

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        if self.log_format == "json":
            self.spinner = None  # faust's progress spinner (at WARNING and above) is no JSON
        super().on_setup_root_logger(logger, level)
        logging.captureWarnings(True)  # Python's warnings as log records: formatted, redacted
        logsafety.install(logger, self.secrets, level=level, log_format=self.log_format)


async def create_topics(rt: Runtime) -> None:
    """Faust only creates its internal topics; the hub's own must exist before it subscribes."""
    await ensure_topics(rt.settings.kafka, rt.records_topic_names(), KEEP_FOREVER)
    await ensure_topics(rt.settings.kafka, [*rt.work_topic_names(), rt.names.bounces])
    compacted = [rt.names.credentials, rt.names.partners, rt.names.accounts, rt.names.console]
    await ensure_topics(rt.settings.kafka, compacted, COMPACTED, partitions=1)
    await ensure_topics(rt.settings.kafka, [rt.names.event_documents], COMPACTED)
    # People's records: compacted within the erasure window, so an erasure completes
    # (hub.privacy.erasure).
    people = compaction_config(rt.settings.erasure.window_seconds)
    await ensure_topics(rt.settings.kafka, [rt.names.subscribers], people, partitions=1)
    changelog = rt.subscriber_records.changelog_topic.get_topic_name()  # Faust creates it if new
    await align_topic_configs(rt.settings.kafka, [rt.names.subscribers, changelog], people)
    # Tables made before they had a retention, or with another one, get it now.
    # alter_configs replaces a topic's whole configuration: the cluster's settings go too.
    kept = {**topic_configs(rt.settings.kafka), **expiring(rt.settings)}
    await align_topic_configs(rt.settings.kafka, rt.expiring_changelog_names(), kept)
