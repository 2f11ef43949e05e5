"""A node's process: launching it, its pid file, the start/stop lock, and its logs."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from devstack.kafka.config import JVM_OPTIONS, LIB, LOG4J_CONFIG, last_lines
from devstack.kafka.layout import Cluster, Node


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


def is_our_broker(pid: int) -> bool:
    if not _is_alive(pid):
        return False
    cmdline = _proc_dir(pid) / "cmdline"
    if not cmdline.parent.exists():
        return True  # No /proc (macOS): trust the pid file.
    with contextlib.suppress(OSError):
        # Guards against a recycled pid now owned by an unrelated process.
        return b"kafka.Kafka" in cmdline.read_bytes()
    return False


def running_pid(node: Node) -> int | None:
    """The pid from the node's kafka.pid if that process is still our broker."""
    try:
        pid = int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_our_broker(pid) else None


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_alive(pid):
            return True
        time.sleep(0.2)
    return not _is_alive(pid)


@contextlib.contextmanager
def exclusive_lock(cluster: Cluster) -> Iterator[None]:
    """Serialises start/stop so two concurrent `start`s cannot launch two brokers."""
    cluster.home.mkdir(parents=True, exist_ok=True)
    with cluster.lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def log_tail(node: Node, count: int = 25) -> str:
    parts = []
    for path in (node.console_log, node.server_log):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
        parts.append(f"--- last lines of {path} ---\n{last_lines(text, count)}")
    return "\n".join(parts) if parts else f"(no log yet in {node.logs})"


def classpath() -> str:
    return str(LIB / "*")  # Expanded by the JVM, not a shell.


def log_options(node: Node) -> list[str]:
    return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dkafka.logs.dir={node.logs}"]


def launch(java: str, node: Node, heap_mb: int) -> subprocess.Popen[bytes]:
    command = [
        java,
        f"-Xms{min(256, heap_mb)}m",
        f"-Xmx{heap_mb}m",
        *JVM_OPTIONS,
        *log_options(node),
        "-cp",
        classpath(),
        "kafka.Kafka",
        str(node.properties),
    ]
    with node.console_log.open("ab") as console:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        console.write(f"\n===== {stamp} starting Kafka =====\n".encode())
        console.flush()
        # A new session detaches the broker from this terminal: Ctrl-C here or
        # closing the shell does not kill it; `stop` does.
        return subprocess.Popen(
            command,
            cwd=node.home,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def listener_pid(port: int) -> int | None:
    """The pid of the process listening on HOST:port, if /proc shows it (Linux, same user)."""
    inodes = set()
    for table in ("tcp", "tcp6"):  # the JVM listens on IPv6 sockets, even for 127.0.0.1
        with contextlib.suppress(OSError):
            for line in (Path("/proc/net") / table).read_text().splitlines()[1:]:
                fields = line.split()
                # local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 the socket's inode.
                if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                return int(fd_dir.parent.name)
    return None


def command_line(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return (_proc_dir(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    return []
