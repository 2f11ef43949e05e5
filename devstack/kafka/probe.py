"""Just enough of the Kafka wire protocol for a readiness probe: ApiVersions, then Metadata."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass

from devstack.kafka.config import HOST

API_METADATA = 3
API_VERSIONS = 18
CLIENT_ID = b"hub-devstack-probe"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# Metadata v9+ uses the "flexible" (tagged fields, compact strings) encoding;
# staying at or below v8 keeps the encoder trivial.
MAX_PLAIN_METADATA_VERSION = 8


class ProtocolError(Exception):
    """The peer answered, but not like a ready Kafka broker."""


@dataclass(frozen=True)
class Broker:
    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class ClusterInfo:
    brokers: list[Broker]
    cluster_id: str | None
    controller_id: int


class _Reader:
    """Big-endian reader over one response body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def _unpack(self, fmt: str) -> int:
        try:
            (value,) = struct.unpack_from(fmt, self.data, self.offset)
        except struct.error as exc:
            raise ProtocolError("truncated response") from exc
        self.offset += struct.calcsize(fmt)
        return int(value)

    def int16(self) -> int:
        return self._unpack(">h")

    def int32(self) -> int:
        return self._unpack(">i")

    def nullable_string(self) -> str | None:
        length = self.int16()
        if length < 0:
            return None
        raw = self.data[self.offset : self.offset + length]
        if len(raw) != length:
            raise ProtocolError("truncated string")
        self.offset += length
        return raw.decode("utf-8", "replace")

    def string(self) -> str:
        value = self.nullable_string()
        if value is None:
            raise ProtocolError("null where a string was expected")
        return value


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ProtocolError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def _round_trip(
    sock: socket.socket, api_key: int, version: int, correlation_id: int, body: bytes
) -> _Reader:
    # Request header v1: api_key, api_version, correlation_id, client_id (int16-length string).
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    if not 4 <= size <= MAX_RESPONSE_BYTES:
        raise ProtocolError(f"implausible response size {size}: not a Kafka broker?")
    reader = _Reader(_recv_exact(sock, size))
    # Response header v0 is just the correlation id.
    if (got := reader.int32()) != correlation_id:
        raise ProtocolError(f"correlation id {got}, expected {correlation_id}")
    return reader


def _api_versions(sock: socket.socket) -> dict[int, tuple[int, int]]:
    # ApiVersions v0 is understood by every broker; newer ones still answer it.
    reader = _round_trip(sock, API_VERSIONS, 0, 1, b"")
    if (error := reader.int16()) != 0:
        raise ProtocolError(f"ApiVersions error code {error}")
    versions = {}
    for _ in range(reader.int32()):
        key, low, high = reader.int16(), reader.int16(), reader.int16()
        versions[key] = (low, high)
    return versions


def _metadata_version(versions: dict[int, tuple[int, int]]) -> int:
    # Negotiated rather than fixed: KIP-896 removed old versions of several APIs
    # in Kafka 4.0, and later releases may drop more. The newest plain version
    # also reports the cluster id (v2+).
    if API_METADATA not in versions:
        raise ProtocolError("broker does not advertise the Metadata API")
    low, high = versions[API_METADATA]
    version = min(high, MAX_PLAIN_METADATA_VERSION)
    if version < max(low, 1):
        raise ProtocolError(f"broker serves Metadata v{low}..v{high} only; the probe speaks v1..v8")
    return version


def _metadata_request_body(version: int) -> bytes:
    body = struct.pack(">i", 0)  # Empty topic list: brokers and controller only.
    if version >= 4:
        body += struct.pack(">b", 0)  # allow_auto_topic_creation
    if version >= 8:
        body += struct.pack(">bb", 0, 0)  # include cluster/topic authorized operations
    return body


def _parse_metadata(reader: _Reader, version: int) -> ClusterInfo:
    if version >= 3:
        reader.int32()  # throttle_time_ms
    brokers = []
    for _ in range(reader.int32()):
        node_id, host, port = reader.int32(), reader.string(), reader.int32()
        reader.nullable_string()  # rack
        brokers.append(Broker(node_id, host, port))
    cluster_id = reader.nullable_string() if version >= 2 else None
    return ClusterInfo(brokers=brokers, cluster_id=cluster_id, controller_id=reader.int32())


def probe(host: str, port: int, timeout: float = 3.0) -> ClusterInfo:
    """One ApiVersions + Metadata round trip; raises unless a broker is registered."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        version = _metadata_version(_api_versions(sock))
        info = _parse_metadata(
            _round_trip(sock, API_METADATA, version, 2, _metadata_request_body(version)), version
        )
    if not info.brokers:
        raise ProtocolError("metadata lists no broker yet")
    return info


def try_probe(host: str, port: int) -> ClusterInfo | None:
    try:
        return probe(host, port)
    except (OSError, ProtocolError):
        return None


def port_is_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1.0):
        return True
    return False
