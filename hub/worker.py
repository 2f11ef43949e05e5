"""Starting a worker: the Faust app with its agents and the HTTP API on the same loop."""

from __future__ import annotations

import faust
from faust.contrib.asgi import serve_asgi

from hub.agents import register_agents
from hub.api import create_api
from hub.app import Runtime, create_runtime
from hub.settings import Settings


def build_worker_runtime(settings: Settings) -> Runtime:
    rt = create_runtime(settings)
    register_agents(rt)
    serve_asgi(rt.app, create_api(rt), host=settings.web.host, port=settings.web.port)
    return rt


def run_worker(settings: Settings, *, loglevel: str = "info") -> None:
    rt = build_worker_runtime(settings)
    worker = faust.Worker(rt.app, loglevel=loglevel, override_logging=True)
    worker.execute_from_commandline()
