"""Single-node Apache Kafka (KRaft broker+controller) for local development, without Docker.

config: paths and ports; install: the jars from Maven; storage: server.properties and formatting;
process: launching, the pid file and logs; probe: the readiness probe; control: start, wait, stop,
status; cli: `python -m devstack.kafka`.
"""

from devstack.kafka.probe import ClusterInfo, probe, try_probe

__all__ = ["ClusterInfo", "probe", "try_probe"]
