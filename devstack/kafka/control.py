"""start, wait, stop and status: the commands, each safe to repeat."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from devstack.kafka.config import (
    DATA,
    HOST,
    LOGS,
    PID_FILE,
    SERVER_LOG,
    SERVER_PROPERTIES,
    DevstackError,
    Ports,
    ports,
    say,
)
from devstack.kafka.install import check_java_version, install, java_executable, kafka_version
from devstack.kafka.probe import ClusterInfo, ProtocolError, port_is_open, probe, try_probe
from devstack.kafka.process import (
    exclusive_lock,
    is_our_broker,
    launch,
    log_tail,
    running_pid,
    wait_for_exit,
)
from devstack.kafka.storage import format_storage, server_properties


def wait_ready(
    configured: Ports, timeout: float, still_running: Callable[[], bool] | None
) -> ClusterInfo:
    """Metadata round trips until a broker is listed, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    last_error = "no attempt yet"
    while True:
        try:
            return probe(HOST, configured.broker)
        except (OSError, ProtocolError) as exc:
            last_error = str(exc) or type(exc).__name__
        if still_running is not None and not still_running():
            raise DevstackError(f"the Kafka process exited during startup\n{log_tail()}")
        if time.monotonic() >= deadline:
            raise DevstackError(
                f"no Kafka answered on {HOST}:{configured.broker} within {timeout:.0f}s "
                f"(last error: {last_error})\n{log_tail()}"
            )
        time.sleep(0.5)


def _describe(info: ClusterInfo) -> str:
    listed = ", ".join(f"{b.host}:{b.port} (node {b.node_id})" for b in info.brokers)
    return f"brokers {listed}; cluster id {info.cluster_id}"


def _refuse_foreign_listeners(configured: Ports) -> None:
    for name, port in (("broker", configured.broker), ("controller", configured.controller)):
        if port_is_open(port):
            raise DevstackError(
                f"{HOST}:{port} ({name} port) is taken by something that is not a ready "
                "Kafka broker; free it or set HUB_KAFKA_PORT / HUB_KAFKA_CONTROLLER_PORT"
            )


def start(timeout: float) -> int:
    configured = ports()
    if (info := try_probe(HOST, configured.broker)) is not None:
        say(f"already running on {HOST}:{configured.broker}, reusing it ({_describe(info)})")
        return 0
    with exclusive_lock():
        if (pid := running_pid()) is not None:
            say(f"Kafka (pid {pid}) is still starting; waiting for it")
            info = wait_ready(configured, timeout, lambda: is_our_broker(pid))
            say(f"ready on {HOST}:{configured.broker} ({_describe(info)})")
            return 0
        _refuse_foreign_listeners(configured)
        java = java_executable()
        check_java_version(java)
        install()
        for folder in (DATA, LOGS):
            folder.mkdir(parents=True, exist_ok=True)
        SERVER_PROPERTIES.write_text(server_properties(configured))
        format_storage(java)
        began = time.monotonic()
        process = launch(java)
        PID_FILE.write_text(f"{process.pid}\n")
        say(f"starting Kafka {kafka_version()} (pid {process.pid}); logs in {LOGS}")
        try:
            info = wait_ready(configured, timeout, lambda: process.poll() is None)
        except DevstackError:
            if process.poll() is None:
                say(f"Kafka (pid {process.pid}) left running for inspection; `stop` ends it")
            else:
                PID_FILE.unlink(missing_ok=True)
            raise
    elapsed = time.monotonic() - began
    say(f"ready on {HOST}:{configured.broker} in {elapsed:.1f}s ({_describe(info)})")
    say(f"data in {DATA}; broker log {SERVER_LOG}")
    return 0


def wait(timeout: float) -> int:
    configured = ports()
    pid = running_pid()
    # Without a pid file the broker may be started by someone else: just poll.
    still_running = (lambda: is_our_broker(pid)) if pid is not None else None
    info = wait_ready(configured, timeout, still_running)
    say(f"ready on {HOST}:{configured.broker} ({_describe(info)})")
    return 0


def stop(timeout: float) -> int:
    configured = ports()
    with exclusive_lock():
        pid = running_pid()
        if pid is None:
            PID_FILE.unlink(missing_ok=True)
            if try_probe(HOST, configured.broker) is not None:
                where = f"{HOST}:{configured.broker}"
                say(f"not started from here, left alone: a Kafka still answers on {where}")
            else:
                say("not running")
            return 0
        say(f"stopping Kafka (pid {pid})...")
        os.kill(pid, signal.SIGTERM)  # Controlled shutdown: flushes logs, no recovery next start.
        if not wait_for_exit(pid, timeout):
            say(f"still alive after {timeout:.0f}s, sending SIGKILL")
            os.kill(pid, signal.SIGKILL)
            wait_for_exit(pid, 5.0)
        PID_FILE.unlink(missing_ok=True)
    say("stopped")
    return 0


def status() -> int:
    configured = ports()
    pid = running_pid()
    info = try_probe(HOST, configured.broker)
    if info is not None:
        owner = f"pid {pid}" if pid is not None else "not started from here"
        say(f"running on {HOST}:{configured.broker} ({owner}; {_describe(info)})")
        return 0
    if pid is not None:
        where = f"{HOST}:{configured.broker}"
        say(f"not ready: process {pid} is alive but {where} does not answer; logs in {LOGS}")
        return 1
    say("not running")
    return 1
