"""Kafka that a test controls: a single node of its own, or the local three-node cluster.

Both go through `python -m devstack.kafka`, the same launcher as `make kafka-start` and
`make cluster-start`, and read its pid files to tell a broker that is really gone from one
that only looks stopped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.kafka.config import HOST, Ports
from devstack.kafka.control import ready
from devstack.kafka.layout import Cluster, single_node, three_nodes
from devstack.kafka.probe import ClusterInfo
from devstack.kafka.process import is_our_broker, running_pid
from tests.conftest import free_port


@dataclass
class LocalKafka:
    """One node or three, started and stopped through the launcher's command line."""

    cluster: Cluster
    options: list[str]  # what selects this cluster on the command line
    env: dict[str, str]

    def run(self, *command: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "devstack.kafka", *self.options, *command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        done = self.run("start", "--timeout", "200")
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        done = self.run("stop")
        assert done.returncode == 0, done.stdout + done.stderr

    def pid(self, node_id: int = 1) -> int | None:
        """The node's process, if this checkout started it and it is alive."""
        return running_pid(self.cluster.node(node_id))

    def info(self) -> ClusterInfo | None:
        """Metadata, if every node answers and lists every broker."""
        return ready(self.cluster)

    def refuses(self, node_id: int = 1) -> bool:
        """Nothing listens on the node's client port: a connection is refused."""
        node = self.cluster.node(node_id)
        try:
            with socket.create_connection((HOST, node.ports.broker), timeout=2):
                return False
        except ConnectionRefusedError:
            return True

    def hub_env(self) -> dict[str, str]:
        """Settings for a worker on these brokers."""
        return {
            "HUB_KAFKA__BROKER": self.cluster.hub_broker,
            "HUB_KAFKA__REPLICATION_FACTOR": str(self.cluster.replication_factor),
        }


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts as exited)."""
    return not is_our_broker(pid)


def down(kafka: LocalKafka, pid: int, node_id: int = 1) -> bool:
    """The node's process has exited and its port refuses connections. Wait for it: a JVM's
    main thread may be a zombie while its other threads, which hold the sockets, still exit."""
    return gone(pid) and kafka.refuses(node_id)


@contextlib.contextmanager
def private_broker(home: Path) -> Iterator[LocalKafka]:
    """A single node of the test's own: free ports, state under `home`; stopped afterwards."""
    ports = Ports(broker=free_port(), controller=free_port())
    env = {
        **os.environ,
        "HUB_KAFKA_PORT": str(ports.broker),
        "HUB_KAFKA_CONTROLLER_PORT": str(ports.controller),
    }
    kafka = LocalKafka(single_node(home, ports), ["--home", str(home)], env)
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.run("stop")


@contextlib.contextmanager
def local_cluster() -> Iterator[LocalKafka]:
    """The three-node cluster of `make cluster-start`: started if it is not running (and then
    stopped afterwards), reused if it is; a node killed by the test is started again."""
    kafka = LocalKafka(three_nodes(), ["--cluster"], dict(os.environ))
    started_here = kafka.info() is None
    kafka.start()
    try:
        yield kafka
    finally:
        if started_here:
            kafka.run("stop")
        else:
            kafka.run("start")  # brings back a node the test killed
