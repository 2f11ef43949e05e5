"""Fetching Kafka's jars with Maven into var/kafka/lib, and finding java and mvn."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from devstack.kafka.config import (
    CONFIG_DIR,
    INSTALL_MARKER_NAME,
    LIB,
    LIB_STAGING,
    MIN_JAVA,
    POM,
    REPO_ROOT,
    DevstackError,
    last_lines,
    say,
)


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
            f"`{' '.join(command)}` failed (exit {result.returncode}):\n" + last_lines(output, 40)
        )
    if not any(LIB_STAGING.glob("kafka_2.13-*.jar")):
        raise DevstackError(f"Maven succeeded but no kafka_2.13 jar landed in {LIB_STAGING}")
    (LIB_STAGING / INSTALL_MARKER_NAME).write_text(pom_digest() + "\n")
    shutil.rmtree(LIB, ignore_errors=True)
    LIB_STAGING.rename(LIB)
    say(f"installed Kafka {kafka_version()} jars in {LIB.relative_to(REPO_ROOT)}")
