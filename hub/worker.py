"""Starting a worker: the Faust app with its agents and the HTTP API on the same loop."""

from __future__ import annotations

import asyncio
import os

import faust
from faust.contrib.asgi import serve_asgi

from hub import faults
from hub.agents import register_agents
from hub.api import create_api
from hub.app import Runtime, create_runtime
from hub.kafka_admin import COMPACTED, KEEP_FOREVER, ensure_topics
from hub.settings import Settings


def build_worker_runtime(settings: Settings) -> Runtime:
    faults.arm(settings.fault_kill_at)
    rt = create_runtime(settings)
    if settings.trace_offsets:
        from hub.agents.offset_trace import OffsetTrace

        rt.app.sensors.add(OffsetTrace(".deliveries."))
    register_agents(rt)
    serve_asgi(rt.app, create_api(rt), host=settings.web.host, port=settings.web.port)
    return rt


def run_worker(settings: Settings, *, loglevel: str = "info") -> None:
    # python-telegram-bot 22 gives RetryAfter.retry_after as a timedelta with this set, and warns
    # about the old int form on every 429 without it.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    rt = build_worker_runtime(settings)
    asyncio.run(create_topics(rt))
    worker = faust.Worker(rt.app, loglevel=loglevel, override_logging=True)
    worker.execute_from_commandline()


async def create_topics(rt: Runtime) -> None:
    """Faust only creates its internal topics; the hub's own must exist before it subscribes."""
    await ensure_topics(rt.settings.kafka, rt.records_topic_names(), KEEP_FOREVER)
    await ensure_topics(rt.settings.kafka, rt.work_topic_names())
    await ensure_topics(rt.settings.kafka, [rt.names.subscribers], COMPACTED, partitions=1)
