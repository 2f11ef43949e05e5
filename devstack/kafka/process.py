"""The broker process: launching it, its pid file, the start/stop lock, and its logs."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from devstack.kafka.config import (
    CONSOLE_LOG,
    JVM_OPTIONS,
    LIB,
    LOCK_FILE,
    LOG4J_CONFIG,
    LOGS,
    PID_FILE,
    SERVER_LOG,
    SERVER_PROPERTIES,
    VAR,
    last_lines,
)


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


def running_pid() -> int | None:
    """The pid from var/kafka/kafka.pid if that process is still our broker."""
    try:
        pid = int(PID_FILE.read_text().strip())
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
def exclusive_lock() -> Iterator[None]:
    """Serialises start/stop so two concurrent `start`s cannot launch two brokers."""
    VAR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def log_tail(count: int = 25) -> str:
    parts = []
    for path in (CONSOLE_LOG, SERVER_LOG):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
        parts.append(f"--- last lines of {path} ---\n{last_lines(text, count)}")
    return "\n".join(parts) if parts else f"(no log yet in {LOGS})"


def classpath() -> str:
    return str(LIB / "*")  # Expanded by the JVM, not a shell.


def log_options() -> list[str]:
    return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dkafka.logs.dir={LOGS}"]


def launch(java: str) -> subprocess.Popen[bytes]:
    command = [
        java,
        *JVM_OPTIONS,
        *log_options(),
        "-cp",
        classpath(),
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
