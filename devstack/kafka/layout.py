"""The nodes of a local cluster: one under var/kafka, or three under var/cluster."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devstack.kafka.config import HOST, REPO_ROOT, VAR, DevstackError, Ports, ports

CLUSTER_VAR = REPO_ROOT / "var" / "cluster"
CLUSTER_SIZE = 3
DEFAULT_CLUSTER_PORT = 19092  # nodes listen on 19092, 19093, 19094 ...
DEFAULT_CLUSTER_CONTROLLER_PORT = 19192  # ... and their controllers on 19192, 19193, 19194


@dataclass(frozen=True)
class Node:
    """One broker+controller process: its id, its ports and the folder of its files."""

    node_id: int
    home: Path
    ports: Ports

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def console_log(self) -> Path:
        return self.logs / "kafka.out"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.ports.broker}"


@dataclass(frozen=True)
class Cluster:
    """Nodes forming one KRaft quorum (every node votes), with their topics' durability."""

    home: Path
    nodes: tuple[Node, ...]
    heap_mb: int

    @property
    def lock_file(self) -> Path:
        return self.home / ".lock"

    @property
    def replication_factor(self) -> int:
        return min(3, len(self.nodes))

    @property
    def min_insync_replicas(self) -> int:
        # Two of three: a write survives one lost broker, and one broker may be down for writes.
        return 1 if len(self.nodes) == 1 else 2

    @property
    def voters(self) -> str:
        return ",".join(f"{n.node_id}@{HOST}:{n.ports.controller}" for n in self.nodes)

    @property
    def bootstrap(self) -> str:
        """host:port,host:port for Kafka clients (aiokafka, kafka-*.sh)."""
        return ",".join(n.address for n in self.nodes)

    @property
    def hub_broker(self) -> str:
        """The same brokers as HUB_KAFKA__BROKER spells them (faust's ;-separated URLs)."""
        return ";".join(f"kafka://{n.address}" for n in self.nodes)

    def node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise DevstackError(f"no node {node_id} in this cluster (nodes {self.describe_ids()})")

    def describe_ids(self) -> str:
        return ", ".join(str(n.node_id) for n in self.nodes)


def single_node(home: Path = VAR, configured: Ports | None = None) -> Cluster:
    """The development broker: one node whose files are straight under `home` (var/kafka)."""
    return Cluster(home=home, nodes=(Node(1, home, configured or ports()),), heap_mb=512)


def _base_port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536 - CLUSTER_SIZE:
        raise DevstackError(f"{name}={raw!r} is not a TCP port")
    return int(raw)


def three_nodes(home: Path = CLUSTER_VAR) -> Cluster:
    """The local cluster: nodes 1-3 under home/node-N, on consecutive ports from the bases
    HUB_CLUSTER_PORT (19092) and HUB_CLUSTER_CONTROLLER_PORT (19192)."""
    broker = _base_port("HUB_CLUSTER_PORT", DEFAULT_CLUSTER_PORT)
    controller = _base_port("HUB_CLUSTER_CONTROLLER_PORT", DEFAULT_CLUSTER_CONTROLLER_PORT)
    if abs(broker - controller) < CLUSTER_SIZE:
        raise DevstackError("HUB_CLUSTER_PORT and HUB_CLUSTER_CONTROLLER_PORT ranges overlap")
    nodes = tuple(
        Node(i + 1, home / f"node-{i + 1}", Ports(broker=broker + i, controller=controller + i))
        for i in range(CLUSTER_SIZE)
    )
    # 384 MB each: three brokers beside three workers on a small machine.
    return Cluster(home=home, nodes=nodes, heap_mb=384)
