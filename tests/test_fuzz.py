"""The HTTP API fuzzed from its own OpenAPI document by schemathesis: no input gives a 5xx.

A real worker on the real broker, called with a token holding every role, so every operation is
reached past its guard. Bounded: a fixed seed and a fixed number of examples per operation.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hubprocess import TOKEN, HubProcess

pytestmark = pytest.mark.kafka

EXAMPLES_PER_OPERATION = "25"


@pytest.fixture(scope="module")
def hub(kafka_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    workdir = tmp_path_factory.mktemp("fuzz")
    process = HubProcess(
        workdir, smtp_port=1, subscribers_file=Path("devstack/demo/subscribers.yaml").resolve()
    ).start()
    yield process
    process.stop()


@pytest.mark.timeout(300)
def test_no_generated_request_gets_a_server_error(hub: HubProcess, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{hub.base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "not_a_server_error",
            # No input to fuzz, and its 503 is its answer (this worker has no SMTP relay).
            "--exclude-path",
            "/api/v1/ready",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            EXAMPLES_PER_OPERATION,
            "--seed",
            "20261129",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--no-color",
            "--output-sanitize",
            "true",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        cwd=tmp_path,
    )
    output = run.stdout + run.stderr
    print(output)
    assert run.returncode == 0, f"{output}\n--- worker log ---\n{hub.log_tail(80)}"
