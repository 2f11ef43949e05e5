"""Apache Kafka (KRaft, broker+controller nodes) for local development, without Docker: one node
or a three-node cluster.

config: the jars' place and the ports; layout: the nodes (one, or three); install: the jars from
Maven; storage: server.properties and formatting; process: launching, the pid file and logs;
probe: the readiness probe; control: start, wait, stop, status, kill; cli: `python -m
devstack.kafka`.
"""

from devstack.kafka.probe import ClusterInfo, probe, try_probe

__all__ = ["ClusterInfo", "probe", "try_probe"]
