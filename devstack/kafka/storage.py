"""A node's server.properties (written on every start) and its storage (formatted once)."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import base64
import subprocess
import uuid

from devstack.kafka.config import HOST, REPO_ROOT, DevstackError, say
from devstack.kafka.layout import Cluster, Node
from devstack.kafka.process import classpath, log_options


def _properties_value(value: str) -> str:
    return value.replace("\\", "\\\\")


def server_properties(node: Node, cluster: Cluster) -> str:
    replicas = str(cluster.replication_factor)
    min_isr = str(cluster.min_insync_replicas)
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        # Static voters rather than a dynamic quorum (--standalone): the static
        # list is re-read on every start, so the controller ports may change
        # after the storage was formatted.
        "controller.quorum.voters": cluster.voters,
        "listeners": f"PLAINTEXT://{node.address},CONTROLLER://{HOST}:{node.ports.controller}",
        "advertised.listeners": f"PLAINTEXT://{node.address}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(node.data),
        "num.partitions": "1",
        # One node cannot hold the default three replicas of internal topics; on three, a
        # write needs two of them, so the cluster keeps taking writes with one broker down.
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        # Fewer internal partitions than the default 50: the first consumer group
        # and transaction coordinator come up in well under a second.
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        # No 3 s wait before the first rebalance: tests and workers join at once.
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "log.retention.hours": "87600",
    }
    if len(cluster.nodes) > 1:
        # A killed broker's partitions move to the others once the controller fences it:
        # after 6 s of silence rather than 9.
        settings["broker.session.timeout.ms"] = "6000"
        settings["broker.heartbeat.interval.ms"] = "1500"
    header = "# Written by `python -m devstack.kafka start` on every start: edits are lost.\n"
    return header + "".join(
        f"{key}={_properties_value(value)}\n" for key, value in settings.items()
    )


def new_cluster_id() -> str:
    # Same shape as Kafka's Uuid.randomUuid(): a random UUID as URL-safe base64
    # without padding, redrawn when it starts with '-' (unusable on command lines).
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def formatted_cluster_id(node: Node) -> str | None:
    """The cluster id the node's storage was formatted with, None if it is not formatted."""
    meta = node.data / "meta.properties"
    if not meta.is_file():
        return None
    for line in meta.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    raise DevstackError(f"{meta} names no cluster.id; delete {node.data} to start afresh")


def cluster_id(cluster: Cluster) -> str:
    """The id every node shares: the one already formatted on disk, else a new one."""
    found = {i for n in cluster.nodes if (i := formatted_cluster_id(n)) is not None}
    if len(found) > 1:
        raise DevstackError(
            f"the nodes under {cluster.home} belong to different clusters ({sorted(found)}); "
            "stop them and delete that folder to start afresh"
        )
    return found.pop() if found else new_cluster_id()


def format_storage(java: str, node: Node, cluster_id: str) -> None:
    """Format the node's data folder once; later starts keep its topics and offsets."""
    if formatted_cluster_id(node) is not None:
        return
    command = [
        java,
        "-Xmx256m",
        *log_options(node),
        "-cp",
        classpath(),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(node.properties),
    ]
    result = subprocess.run(command, cwd=node.home, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevstackError(
            f"formatting {node.data} failed (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    where = node.data.relative_to(REPO_ROOT) if node.data.is_relative_to(REPO_ROOT) else node.data
    say(f"formatted {where} (cluster id {cluster_id})")
