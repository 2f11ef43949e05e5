"""A broker restart in the middle of a fan-out, with a real SMTP server: nothing lost or repeated.

The test runs a broker of its own (free ports, state under its tmp folder), so it stops and starts
that broker only, never the shared one; and it checks the restart really happened: the old process
is gone and its port refuses connections, then a new process answers metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import LocalKafka, down, private_broker
from tests.faultstack import assert_exactly_once, received
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalKafka]:
    with private_broker(tmp_path / "kafka") as kafka:
        yield kafka


def test_broker_restart_mid_fan_out_loses_and_repeats_nothing(
    broker: LocalKafka, make_stack: Any
) -> None:
    stack = make_stack(1000, **broker.hub_env())
    document = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(document).status_code == 202
    wait_until(lambda: len(received(stack.outbox)) >= 100, timeout=120, what="100 emails")
    assert len(received(stack.outbox)) < 1000, "the fan-out finished before the broker stopped"

    old_pid = broker.pid()
    assert old_pid is not None, "the test's broker is not running from this checkout"
    broker.stop()
    wait_until(
        lambda: down(broker, old_pid), timeout=60, what=f"broker {old_pid} and its port down"
    )

    broker.start()
    new_pid = broker.pid()
    assert new_pid is not None and new_pid != old_pid, (old_pid, new_pid)
    assert broker.info() is not None, "the restarted broker does not answer metadata"
    assert_exactly_once(stack, stack.addresses)
