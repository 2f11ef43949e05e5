"""The broker's server.properties (written on every start) and its storage (formatted once)."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import base64
import subprocess
import uuid

from devstack.kafka.config import (
    DATA,
    HOST,
    REPO_ROOT,
    SERVER_PROPERTIES,
    VAR,
    DevstackError,
    Ports,
    say,
)
from devstack.kafka.process import classpath, log_options


def _properties_value(value: str) -> str:
    return value.replace("\\", "\\\\")


def server_properties(configured: Ports) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # Static voters rather than a dynamic quorum (--standalone): the static
        # list is re-read on every start, so HUB_KAFKA_CONTROLLER_PORT may change
        # after the storage was formatted.
        "controller.quorum.voters": f"1@{HOST}:{configured.controller}",
        "listeners": f"PLAINTEXT://{HOST}:{configured.broker},CONTROLLER://{HOST}:{configured.controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{configured.broker}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(DATA),
        "num.partitions": "1",
        "default.replication.factor": "1",
        # A single node cannot hold the default three replicas of internal topics.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
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


def format_storage(java: str) -> None:
    """Format var/kafka/data once; later starts keep its topics and offsets."""
    if (DATA / "meta.properties").is_file():
        return
    cluster_id = new_cluster_id()
    command = [
        java,
        "-Xmx256m",
        *log_options(),
        "-cp",
        classpath(),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(SERVER_PROPERTIES),
    ]
    result = subprocess.run(command, cwd=VAR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevstackError(
            f"formatting {DATA} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
    say(f"formatted {DATA.relative_to(REPO_ROOT)} (cluster id {cluster_id})")
