"""A broker restart in the middle of a fan-out, with a real SMTP server: nothing lost or repeated.

It stops and starts the shared broker: `make test` runs it, a test run beside others should not.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.faultstack import assert_exactly_once, received
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


def test_broker_restart_mid_fan_out_loses_and_repeats_nothing(make_stack: Any) -> None:
    stack = make_stack(1000)
    document = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(document).status_code == 202
    wait_until(lambda: len(received(stack.outbox)) >= 100, timeout=120, what="100 emails")
    kafka = [sys.executable, "-m", "devstack.kafka"]
    assert len(received(stack.outbox)) < 1000, "the fan-out finished before the broker stopped"
    subprocess.run([*kafka, "stop"], check=True, timeout=120)
    subprocess.run([*kafka, "start"], check=True, timeout=180)
    assert_exactly_once(stack, stack.addresses)
