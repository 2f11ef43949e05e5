"""Where the Kafka jars live, which ports the development broker uses, and the one error type."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(__file__).resolve().parent
POM = CONFIG_DIR / "pom.xml"
LOG4J_CONFIG = CONFIG_DIR / "log4j2.properties"

VAR = REPO_ROOT / "var" / "kafka"
# The jars, fetched once, serve the development broker and every node of the local cluster.
LIB = VAR / "lib"
LIB_STAGING = VAR / "lib.partial"
INSTALL_MARKER_NAME = ".installed"

HOST = "127.0.0.1"
DEFAULT_BROKER_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
MIN_JAVA = 17  # Kafka 4.x brokers refuse older runtimes.

# The heap is the node's (layout.Cluster.heap_mb).
JVM_OPTIONS = [
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]


class DevstackError(Exception):
    """A failure worth one clear message instead of a traceback."""


@dataclass(frozen=True)
class Ports:
    """Where the broker (clients) and the controller (KRaft quorum) listen."""

    broker: int
    controller: int


def say(message: str) -> None:
    print(f"kafka: {message}", flush=True)


def _port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DevstackError(f"{name}={raw!r} is not a TCP port")
    return int(raw)


def ports() -> Ports:
    configured = Ports(
        broker=_port_from_env("HUB_KAFKA_PORT", DEFAULT_BROKER_PORT),
        controller=_port_from_env("HUB_KAFKA_CONTROLLER_PORT", DEFAULT_CONTROLLER_PORT),
    )
    if configured.broker == configured.controller:
        raise DevstackError("HUB_KAFKA_PORT and HUB_KAFKA_CONTROLLER_PORT must differ")
    return configured


def last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])
