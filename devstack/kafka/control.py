"""start, wait, stop, status and kill: the commands, each safe to repeat, for one node or three."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from devstack.kafka.config import HOST, DevstackError, say
from devstack.kafka.install import check_java_version, install, java_executable, kafka_version
from devstack.kafka.layout import Cluster, Node
from devstack.kafka.probe import ClusterInfo, ProtocolError, port_is_open, probe, try_probe
from devstack.kafka.process import (
    command_line,
    exclusive_lock,
    is_our_broker,
    launch,
    listener_pid,
    log_tail,
    running_pid,
    wait_for_exit,
)
from devstack.kafka.storage import cluster_id, format_storage, server_properties


def _logs(cluster: Cluster) -> str:
    return "\n".join(log_tail(n, max(8, 25 // len(cluster.nodes))) for n in cluster.nodes)


def _complete(cluster: Cluster, node: Node) -> ClusterInfo:
    """The node's metadata, once it lists every broker of the cluster; raises before."""
    info = probe(HOST, node.ports.broker)
    if len(info.brokers) < len(cluster.nodes):
        raise ProtocolError(f"{node.address} lists {len(info.brokers)} of {len(cluster.nodes)}")
    return info


def _all_complete(cluster: Cluster) -> ClusterInfo:
    """The first node's metadata, once every node answers and lists all brokers."""
    first, *_ = [_complete(cluster, node) for node in cluster.nodes]
    return first


def ready(cluster: Cluster) -> ClusterInfo | None:
    try:
        return _all_complete(cluster)
    except (OSError, ProtocolError):
        return None


def wait_ready(
    cluster: Cluster, timeout: float, still_running: Callable[[], bool] | None
) -> ClusterInfo:
    """Metadata round trips until every node lists every broker, a process dies, or time is up."""
    deadline = time.monotonic() + timeout
    last_error = "no attempt yet"
    while True:
        try:
            return _all_complete(cluster)
        except (OSError, ProtocolError) as exc:
            last_error = str(exc) or type(exc).__name__
        if still_running is not None and not still_running():
            raise DevstackError(f"a Kafka process exited during startup\n{_logs(cluster)}")
        if time.monotonic() >= deadline:
            raise DevstackError(
                f"Kafka on {cluster.bootstrap} not ready within {timeout:.0f}s "
                f"(last error: {last_error})\n{_logs(cluster)}"
            )
        time.sleep(0.5)


def _describe(info: ClusterInfo) -> str:
    listed = ", ".join(f"{b.host}:{b.port} (node {b.node_id})" for b in info.brokers)
    return f"brokers {listed}; cluster id {info.cluster_id}"


def _refuse_foreign_listeners(node: Node) -> None:
    for name, port in (("broker", node.ports.broker), ("controller", node.ports.controller)):
        if port_is_open(port):
            raise DevstackError(
                f"{HOST}:{port} ({name} port of node {node.node_id}) is taken by something that "
                "is not a ready Kafka broker of this checkout; free it or choose other ports "
                "(HUB_KAFKA_PORT / HUB_KAFKA_CONTROLLER_PORT, or HUB_CLUSTER_PORT / "
                "HUB_CLUSTER_CONTROLLER_PORT)"
            )


def _launch_missing(cluster: Cluster, missing: list[Node]) -> None:
    for node in missing:
        _refuse_foreign_listeners(node)
    java = java_executable()
    check_java_version(java)
    install()
    say(f"Kafka {kafka_version()}")
    shared_id = cluster_id(cluster)
    for node in missing:
        for folder in (node.data, node.logs):
            folder.mkdir(parents=True, exist_ok=True)
        node.properties.write_text(server_properties(node, cluster))
        format_storage(java, node, shared_id)
    # All at once: a node of three waits for a quorum of controllers before it serves.
    for node in missing:
        process = launch(java, node, cluster.heap_mb)
        node.pid_file.write_text(f"{process.pid}\n")
        say(f"starting node {node.node_id} on {node.address} (pid {process.pid}), logs in logs/")


def start(cluster: Cluster, timeout: float) -> int:
    if (info := ready(cluster)) is not None:
        say(f"already running on {cluster.bootstrap}, reusing it ({_describe(info)})")
        return 0
    with exclusive_lock(cluster):
        ours = {n: pid for n in cluster.nodes if (pid := running_pid(n)) is not None}
        missing = [
            n for n in cluster.nodes if n not in ours and try_probe(HOST, n.ports.broker) is None
        ]
        began = time.monotonic()
        if missing:
            say(f"{len(missing)} of {len(cluster.nodes)} node(s) to start")
            _launch_missing(cluster, missing)
            ours.update({n: pid for n in missing if (pid := running_pid(n)) is not None})
        else:
            say(f"nodes {', '.join(str(n.node_id) for n in ours)} still starting; waiting")
        try:
            info = wait_ready(
                cluster, timeout, lambda: all(is_our_broker(pid) for pid in ours.values())
            )
        except DevstackError:
            for node, pid in ours.items():
                if is_our_broker(pid):
                    say(f"node {node.node_id} (pid {pid}) left running to inspect; `stop` ends it")
                else:
                    node.pid_file.unlink(missing_ok=True)
            raise
    say(f"ready on {cluster.bootstrap} in {time.monotonic() - began:.1f}s ({_describe(info)})")
    say(f"data under {cluster.home}; each node's log in its logs/server.log")
    return 0


def wait(cluster: Cluster, timeout: float) -> int:
    pids = [pid for n in cluster.nodes if (pid := running_pid(n)) is not None]
    # Without pid files the brokers may be started by someone else: just poll.
    still_running = (lambda: all(is_our_broker(pid) for pid in pids)) if pids else None
    info = wait_ready(cluster, timeout, still_running)
    say(f"ready on {cluster.bootstrap} ({_describe(info)})")
    return 0


def _foreign(node: Node) -> str:
    """Who holds the node's port, for a broker this checkout did not start."""
    pid = listener_pid(node.ports.broker)
    if pid is None:
        return f"a Kafka broker this checkout did not start answers on {node.address}"
    args = command_line(pid)
    # kafka.Kafka's one argument is its server.properties, which names the other checkout.
    started_with = args[args.index("kafka.Kafka") + 1] if "kafka.Kafka" in args[:-1] else "?"
    return (
        f"the Kafka broker on {node.address} (pid {pid}, {started_with}) was not started by "
        f"this checkout (no live pid in {node.pid_file})"
    )


def stop(cluster: Cluster, timeout: float) -> int:
    with exclusive_lock(cluster):
        ours = {n: pid for n in cluster.nodes if (pid := running_pid(n)) is not None}
        for node in cluster.nodes:
            if node not in ours:
                node.pid_file.unlink(missing_ok=True)
        for node, pid in ours.items():
            say(f"stopping node {node.node_id} (pid {pid})...")
            # Controlled shutdown: flushes logs, no recovery at the next start.
            os.kill(pid, signal.SIGTERM)
        for node, pid in ours.items():
            if not wait_for_exit(pid, timeout):
                say(f"node {node.node_id} still alive after {timeout:.0f}s, sending SIGKILL")
                os.kill(pid, signal.SIGKILL)
                wait_for_exit(pid, 5.0)
            node.pid_file.unlink(missing_ok=True)
        foreign = [n for n in cluster.nodes if n not in ours and try_probe(HOST, n.ports.broker)]
    if ours:
        say(f"stopped node(s) {', '.join(str(n.node_id) for n in ours)}")
    if foreign:
        # Not a silent success: whoever asked for a stop would believe the broker is down.
        reasons = "; ".join(_foreign(n) for n in foreign)
        raise DevstackError(f"{reasons}: left running; stop it from the checkout that started it")
    if not ours:
        say("not running")
    return 0


def kill(cluster: Cluster, node_id: int) -> int:
    """SIGKILL one node of this checkout (a crash, for fault drills); `start` brings it back."""
    node = cluster.node(node_id)
    pid = running_pid(node)
    if pid is None:
        raise DevstackError(f"node {node_id} on {node.address} is not running from this checkout")
    os.kill(pid, signal.SIGKILL)
    if not wait_for_exit(pid, 10.0):
        raise DevstackError(f"node {node_id} (pid {pid}) still alive 10 s after SIGKILL")
    node.pid_file.unlink(missing_ok=True)
    say(f"killed node {node_id} (pid {pid})")
    return 0


def status(cluster: Cluster) -> int:
    healthy = True
    for node in cluster.nodes:
        pid = running_pid(node)
        name = f"node {node.node_id}" if len(cluster.nodes) > 1 else "Kafka"
        if (info := try_probe(HOST, node.ports.broker)) is not None:
            owner = f"pid {pid}" if pid is not None else "not started from here"
            seen = (
                _describe(info) if len(cluster.nodes) == 1 else f"sees {len(info.brokers)} brokers"
            )
            say(f"{name} running on {node.address} ({owner}; {seen})")
            healthy = healthy and len(info.brokers) >= len(cluster.nodes)
        elif pid is not None:
            say(f"{name} not ready: process {pid} is alive but {node.address} does not answer")
            healthy = False
        else:
            say(f"{name} not running ({node.address})")
            healthy = False
    if len(cluster.nodes) > 1 and healthy:
        say(
            f"hub settings: HUB_KAFKA__BROKER='{cluster.hub_broker}' "
            f"HUB_KAFKA__REPLICATION_FACTOR={cluster.replication_factor}"
        )
    return 0 if healthy else 1
