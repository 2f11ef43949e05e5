"""Which partition a key goes to: the producer's own rule, for records placed by hand."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

_PARTITIONER = DefaultPartitioner()


def partition_of(key: str, partitions: int) -> int:
    """The partition the producer puts a record with this key on (murmur2, as Kafka's Java
    client and aiokafka do)."""
    every = list(range(partitions))
    return int(_PARTITIONER(key.encode(), every, every))
