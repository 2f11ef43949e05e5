"""Single-node Apache Kafka (KRaft broker+controller) for local development, without Docker."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(__file__).resolve().parent / "kafka"
POM = CONFIG_DIR / "pom.xml"
LOG4J_CONFIG = CONFIG_DIR / "log4j2.properties"

VAR = REPO_ROOT / "var" / "kafka"
LIB = VAR / "lib"
LIB_STAGING = VAR / "lib.partial"
INSTALL_MARKER_NAME = ".installed"
DATA = VAR / "data"
LOGS = VAR / "logs"
CONSOLE_LOG = LOGS / "kafka.out"
SERVER_LOG = LOGS / "server.log"
SERVER_PROPERTIES = VAR / "server.properties"
PID_FILE = VAR / "kafka.pid"
LOCK_FILE = VAR / ".lock"

HOST = "127.0.0.1"
DEFAULT_BROKER_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
MIN_JAVA = 17  # Kafka 4.x brokers refuse older runtimes.

JVM_OPTIONS = [
    "-Xms256m",
    "-Xmx512m",
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


# --- Tools -----------------------------------------------------------------


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise DevstackError(
            f"`java` not found on PATH (and JAVA_HOME unset): Kafka needs Java {MIN_JAVA}+, "
            "e.g. `apt-get install openjdk-17-jre-headless`"
        )
    return found


def check_java_version(java: str) -> None:
    # `java -version` prints to stderr, as `version "17.0.15"` or, before Java 9, `"1.8.0_392"`.
    output = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        return  # Unknown vendor format: let Kafka itself complain if it must.
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise DevstackError(
            f"{java} is Java {major}; Kafka 4.x needs Java {MIN_JAVA}+ (set JAVA_HOME)"
        )


def maven_executable() -> str:
    found = shutil.which("mvn")
    if found is None:
        raise DevstackError(
            "`mvn` not found on PATH: Maven 3.8+ fetches the Kafka jars, "
            "e.g. `apt-get install maven`"
        )
    return found


# --- Install -----------------------------------------------------------------


def pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def is_installed() -> bool:
    marker = LIB / INSTALL_MARKER_NAME
    return marker.is_file() and marker.read_text().strip() == pom_digest()


def kafka_version() -> str:
    jars = sorted(LIB.glob("kafka_2.13-*.jar"))
    return jars[0].name.removeprefix("kafka_2.13-").removesuffix(".jar") if jars else "?"


def _strip_ansi(text: str) -> str:
    # Maven 3.8 emits colour resets even in batch mode.
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def install(force: bool = False) -> None:
    """Copy Kafka's runtime jars into var/kafka/lib, once per version of the pom."""
    if is_installed() and not force:
        say(f"Kafka {kafka_version()} jars already in {LIB.relative_to(REPO_ROOT)}")
        return
    mvn = maven_executable()
    # Fill a staging folder and swap it in only when complete, so an interrupted
    # or failed run never leaves a half-filled lib/ that looks installed; a fresh
    # folder also drops the jars of a previous Kafka version.
    shutil.rmtree(LIB_STAGING, ignore_errors=True)
    LIB_STAGING.mkdir(parents=True)
    say("fetching Kafka jars with Maven (the first run downloads ~55 MB into ~/.m2)...")
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-Dkafka.lib.dir={LIB_STAGING}",
    ]
    result = subprocess.run(command, cwd=CONFIG_DIR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = _strip_ansi(result.stdout + result.stderr).strip()
        raise DevstackError(
            f"`{' '.join(command)}` failed (exit {result.returncode}):\n" + _last_lines(output, 40)
        )
    if not any(LIB_STAGING.glob("kafka_2.13-*.jar")):
        raise DevstackError(f"Maven succeeded but no kafka_2.13 jar landed in {LIB_STAGING}")
    (LIB_STAGING / INSTALL_MARKER_NAME).write_text(pom_digest() + "\n")
    shutil.rmtree(LIB, ignore_errors=True)
    LIB_STAGING.rename(LIB)
    say(f"installed Kafka {kafka_version()} jars in {LIB.relative_to(REPO_ROOT)}")


# --- Kafka wire protocol (just enough for a readiness probe) -----------------

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


# --- Process bookkeeping -----------------------------------------------------


def _proc_dir(pid: int) -> Path:
    return Path("/proc") / str(pid)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc_dir(pid) / "stat"
    with contextlib.suppress(OSError):
        # A zombie still accepts signal 0; containers whose init never reaps show many.
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _is_our_broker(pid: int) -> bool:
    if not _is_alive(pid):
        return False
    cmdline = _proc_dir(pid) / "cmdline"
    if not cmdline.parent.exists():
        return True  # No /proc (macOS): trust the pid file.
    with contextlib.suppress(OSError):
        # Guards against a recycled pid now owned by an unrelated process.
        return b"kafka.Kafka" in cmdline.read_bytes()
    return False


def running_pid() -> int | None:
    """The pid from var/kafka/kafka.pid if that process is still our broker."""
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_broker(pid) else None


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_alive(pid):
            return True
        time.sleep(0.2)
    return not _is_alive(pid)


@contextlib.contextmanager
def exclusive_lock() -> Iterator[None]:
    """Serialises start/stop so two concurrent `start`s cannot launch two brokers."""
    VAR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- Logs ---------------------------------------------------------------------


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])


def log_tail(count: int = 25) -> str:
    parts = []
    for path in (CONSOLE_LOG, SERVER_LOG):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
        parts.append(f"--- last lines of {path} ---\n{_last_lines(text, count)}")
    return "\n".join(parts) if parts else f"(no log yet in {LOGS})"


# --- Start / wait / stop / status -------------------------------------------


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


def _classpath() -> str:
    return str(LIB / "*")  # Expanded by the JVM, not a shell.


def _log_options() -> list[str]:
    return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dkafka.logs.dir={LOGS}"]


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
        *_log_options(),
        "-cp",
        _classpath(),
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


def launch(java: str) -> subprocess.Popen[bytes]:
    command = [
        java,
        *JVM_OPTIONS,
        *_log_options(),
        "-cp",
        _classpath(),
        "kafka.Kafka",
        str(SERVER_PROPERTIES),
    ]
    with CONSOLE_LOG.open("ab") as console:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        console.write(f"\n===== {stamp} starting Kafka =====\n".encode())
        console.flush()
        # A new session detaches the broker from this terminal: Ctrl-C here or
        # closing the shell does not kill it; `stop` does.
        return subprocess.Popen(
            command,
            cwd=VAR,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def wait_ready(
    configured: Ports, timeout: float, still_running: Callable[[], bool] | None
) -> ClusterInfo:
    """Metadata round trips until a broker is listed, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    last_error = "no attempt yet"
    while True:
        try:
            return probe(HOST, configured.broker)
        except (OSError, ProtocolError) as exc:
            last_error = str(exc) or type(exc).__name__
        if still_running is not None and not still_running():
            raise DevstackError(f"the Kafka process exited during startup\n{log_tail()}")
        if time.monotonic() >= deadline:
            raise DevstackError(
                f"no Kafka answered on {HOST}:{configured.broker} within {timeout:.0f}s "
                f"(last error: {last_error})\n{log_tail()}"
            )
        time.sleep(0.5)


def _describe(info: ClusterInfo) -> str:
    listed = ", ".join(f"{b.host}:{b.port} (node {b.node_id})" for b in info.brokers)
    return f"brokers {listed}; cluster id {info.cluster_id}"


def _refuse_foreign_listeners(configured: Ports) -> None:
    for name, port in (("broker", configured.broker), ("controller", configured.controller)):
        if port_is_open(port):
            raise DevstackError(
                f"{HOST}:{port} ({name} port) is taken by something that is not a ready "
                "Kafka broker; free it or set HUB_KAFKA_PORT / HUB_KAFKA_CONTROLLER_PORT"
            )


def start(timeout: float) -> int:
    configured = ports()
    if (info := try_probe(HOST, configured.broker)) is not None:
        say(f"already running on {HOST}:{configured.broker}, reusing it ({_describe(info)})")
        return 0
    with exclusive_lock():
        if (pid := running_pid()) is not None:
            say(f"Kafka (pid {pid}) is still starting; waiting for it")
            info = wait_ready(configured, timeout, lambda: _is_our_broker(pid))
            say(f"ready on {HOST}:{configured.broker} ({_describe(info)})")
            return 0
        _refuse_foreign_listeners(configured)
        java = java_executable()
        check_java_version(java)
        install()
        for folder in (DATA, LOGS):
            folder.mkdir(parents=True, exist_ok=True)
        SERVER_PROPERTIES.write_text(server_properties(configured))
        format_storage(java)
        began = time.monotonic()
        process = launch(java)
        PID_FILE.write_text(f"{process.pid}\n")
        say(f"starting Kafka {kafka_version()} (pid {process.pid}); logs in {LOGS}")
        try:
            info = wait_ready(configured, timeout, lambda: process.poll() is None)
        except DevstackError:
            if process.poll() is None:
                say(f"Kafka (pid {process.pid}) left running for inspection; `stop` ends it")
            else:
                PID_FILE.unlink(missing_ok=True)
            raise
    elapsed = time.monotonic() - began
    say(f"ready on {HOST}:{configured.broker} in {elapsed:.1f}s ({_describe(info)})")
    say(f"data in {DATA}; broker log {SERVER_LOG}")
    return 0


def wait(timeout: float) -> int:
    configured = ports()
    pid = running_pid()
    # Without a pid file the broker may be started by someone else: just poll.
    still_running = (lambda: _is_our_broker(pid)) if pid is not None else None
    info = wait_ready(configured, timeout, still_running)
    say(f"ready on {HOST}:{configured.broker} ({_describe(info)})")
    return 0


def stop(timeout: float) -> int:
    configured = ports()
    with exclusive_lock():
        pid = running_pid()
        if pid is None:
            PID_FILE.unlink(missing_ok=True)
            if try_probe(HOST, configured.broker) is not None:
                where = f"{HOST}:{configured.broker}"
                say(f"not started from here, left alone: a Kafka still answers on {where}")
            else:
                say("not running")
            return 0
        say(f"stopping Kafka (pid {pid})...")
        os.kill(pid, signal.SIGTERM)  # Controlled shutdown: flushes logs, no recovery next start.
        if not _wait_for_exit(pid, timeout):
            say(f"still alive after {timeout:.0f}s, sending SIGKILL")
            os.kill(pid, signal.SIGKILL)
            _wait_for_exit(pid, 5.0)
        PID_FILE.unlink(missing_ok=True)
    say("stopped")
    return 0


def status() -> int:
    configured = ports()
    pid = running_pid()
    info = try_probe(HOST, configured.broker)
    if info is not None:
        owner = f"pid {pid}" if pid is not None else "not started from here"
        say(f"running on {HOST}:{configured.broker} ({owner}; {_describe(info)})")
        return 0
    if pid is not None:
        where = f"{HOST}:{configured.broker}"
        say(f"not ready: process {pid} is alive but {where} does not answer; logs in {LOGS}")
        return 1
    say("not running")
    return 1


# --- Command line --------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.kafka",
        description=f"Single-node Kafka (KRaft) for local development; state under {VAR}. "
        "Ports: HUB_KAFKA_PORT (default 9092), HUB_KAFKA_CONTROLLER_PORT (default 9093).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="fetch the Kafka jars, if outdated")
    install_cmd.add_argument("--force", action="store_true", help="fetch even if up to date")
    start_cmd = commands.add_parser("start", help="start the broker (or reuse one) and wait for it")
    start_cmd.add_argument("--timeout", type=float, default=90.0, help="readiness deadline, s (90)")
    wait_cmd = commands.add_parser("wait", help="wait until a broker answers metadata requests")
    wait_cmd.add_argument("--timeout", type=float, default=90.0, help="deadline, s (90)")
    stop_cmd = commands.add_parser("stop", help="stop the broker started by `start`")
    stop_cmd.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL (30)")
    commands.add_parser("status", help="exit 0 if a broker answers, 1 otherwise")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        match args.command:
            case "install":
                install(force=args.force)
                return 0
            case "start":
                return start(args.timeout)
            case "wait":
                return wait(args.timeout)
            case "stop":
                return stop(args.timeout)
            case _:
                return status()
    except DevstackError as exc:
        print(f"kafka: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
