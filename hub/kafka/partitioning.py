"""Which partition a key goes to: the producer's own rule, for records placed by hand."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(key: str, partitions: int) -> int:
    """The partition the producer puts a record with this key on (murmur2, as Kafka's Java
    client and aiokafka's DefaultPartitioner do)."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions
