"""Redrive on the real broker and a real SMTP server: refused recipients and stuck deliveries are
sent once, through the delivery ledger, and the audit trail and `hub status` say so.
"""

from __future__ import annotations

import asyncio
import collections
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.kafka.client import send_records
from hub.model.deliveries import Delivery
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.settings import KafkaSettings
from tests.faultstack import assert_exactly_once, hub_json, received
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import TOKEN

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


def test_refused_recipients_fail_with_the_reason_and_redrive_sends_them_once(
    make_stack: Any,
) -> None:
    stack = make_stack(30, bounce_every=5)
    document = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(document).status_code == 202
    bounced = [a for a in stack.addresses if a.startswith("bounce")]
    others = [a for a in stack.addresses if not a.startswith("bounce")]
    wait_until(lambda: len(received(stack.outbox)) == len(others), what="the accepted emails")
    status = wait_until(
        lambda: (s := stack.status(document["id"])) and s["totals"]["failed"] == len(bounced) and s,
        what="the refusals in the status",
    )
    assert all("550" in failure["reason"] for failure in status["failures"])
    assert status["totals"]["sent"] == len(others)

    stack.catcher.handler.refuse = None  # the cause is fixed
    redrive = [sys.executable, "-m", "hub.cli", "redrive"]
    done = subprocess.run(redrive, env=stack.hub.env, capture_output=True, text=True, check=True)
    assert f"re-drove {len(bounced)}" in done.stdout
    assert_exactly_once(stack, stack.addresses)
    again = subprocess.run(redrive, env=stack.hub.env, capture_output=True, text=True, check=True)
    assert "re-drove 0" in again.stdout
    final = wait_until(
        lambda: (s := stack.status(document["id"]))["totals"]["sent"] == 30 and s,
        what="the status after the redrive",
    )
    assert final["failures"] == []

    cli = subprocess.run(
        [sys.executable, "-m", "hub.cli", "status", document["id"], "--json"],
        env=stack.hub.env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(cli.stdout)["totals"]["sent"] == 30
    trail = httpx.get(
        f"{stack.hub.base_url}/api/v1/audit",
        params={"subject": document["id"]},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ).json()
    actions = collections.Counter(entry["action"] for entry in trail)
    assert actions["event.published"] == 1
    assert actions["delivery.sent"] == 30
    assert actions["delivery.failed"] == len(bounced)
    assert actions["deadletter.redriven"] == len(bounced)


def test_a_stuck_delivery_is_listed_and_redriven_once_through_the_ledger(
    make_stack: Any,
) -> None:
    """A delivery planned an hour ago whose message waits in the retry topic with no end in
    sight: the periodic check warns, `hub status --stuck` and the API list it, and `hub redrive
    --stuck` sends it (once: a second run finds nothing stuck)."""

    stack = make_stack(
        3, HUB_STUCK__CHECK_SECONDS="1", HUB_STUCK__AFTER_SECONDS="600", HUB_STUCK__REDRIVE="false"
    )
    document = load_example(DEMO_ANNOUNCEMENT)
    address = stack.addresses[0]
    delivery_id = f"stuck-{document['id'][:8]}"
    message = {
        "id": delivery_id,
        "event_id": document["id"],
        "channel": "email",
        "language": "en",
        "recipient": {"id": "p00000", "name": "Partner 0", "address": address},
        "attempt": 1,
        "links": None,
        "event": document,
        "not_before": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
    }
    planned = Outcome.of(
        Delivery.from_message(message),
        OutcomeStatus.PLANNED,
        datetime.now(UTC) - timedelta(hours=1),
    )
    kafka = KafkaSettings(topic_prefix=stack.hub.prefix)
    asyncio.run(send_records(kafka, stack.hub.topic("retries", "email"), [(b"p00000", message)]))
    asyncio.run(
        send_records(
            kafka, f"{stack.hub.prefix}.outcomes.v1", [(document["id"].encode(), planned.dump())]
        )
    )
    wait_until(
        lambda: delivery_id in stack.hub.log_path.read_text(errors="replace"),
        what="the periodic check to warn about the stuck delivery",
    )
    listed = wait_until(
        lambda: hub_json(stack, "status", "--stuck")["deliveries"],
        what="`hub status --stuck` to list it",
    )
    assert [s["delivery_id"] for s in listed] == [delivery_id]
    api = stack.hub.get("/api/v1/deliveries/stuck", channel="email").json()
    assert [s["delivery_id"] for s in api["deliveries"]] == [delivery_id]
    assert stack.hub.get("/api/v1/deliveries/stuck", older_than="7200").json()["total"] == 0
    assert hub_json(stack, "status", "--stuck", "--channel", "telegram")["total"] == 0

    done = stack.hub.cli("redrive", "--stuck")
    assert "re-planned 1 stuck deliveries" in done.stdout
    wait_until(lambda: received(stack.outbox)[address] == 1, what="the re-planned email")
    status = wait_until(
        lambda: (s := stack.status(document["id"])) and s["totals"]["sent"] == 1 and s,
        what="the delivery to show as sent",
    )
    assert status["totals"]["pending"] == 0
    wait_until(
        lambda: hub_json(stack, "status", "--stuck")["total"] == 0, what="nothing stuck any more"
    )
    assert "re-planned 0 stuck deliveries" in stack.hub.cli("redrive", "--stuck").stdout
    trail = stack.hub.get("/api/v1/audit", subject=document["id"]).json()
    assert [e["action"] for e in trail].count("delivery.redriven") == 1
    assert received(stack.outbox)[address] == 1


def test_an_officer_redrives_an_events_dead_letters_from_the_console(make_stack: Any) -> None:
    stack = make_stack(10, bounce_every=5)
    password = "console password 1"
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "users",
            "create",
            "olga",
            "--role",
            "officer",
            "--email",
            "olga@officers.example.org",
            "--password-stdin",
        ],
        input=password + "\n",
        env=stack.hub.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    document = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(document).status_code == 202
    bounced = [a for a in stack.addresses if a.startswith("bounce")]
    wait_until(
        lambda: (s := stack.status(document["id"])) and s["totals"]["failed"] == len(bounced),
        what="the refusals in the status",
    )
    with httpx.Client(base_url=stack.hub.base_url, timeout=30) as browser:
        wait_until(
            lambda: (
                browser.post(
                    "/console/sign-in", data={"name": "olga", "password": password}
                ).status_code
                == 303
            ),
            what="the worker to know the officer's account",
        )
        page = wait_until(
            lambda: (
                (p := browser.get(f"/console/dead-letters/{document['id']}")).text.count("550")
                == len(bounced)
                and p
            ),
            what="the dead letters on the console page",
        )
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        stack.catcher.handler.refuse = None  # the cause is fixed
        done = browser.post(
            f"/console/dead-letters/{document['id']}/redrive", data={"csrf_token": token}
        )
        assert done.status_code == 303 and done.headers["location"].endswith(
            f"redriven={len(bounced)}"
        )
        assert_exactly_once(stack, stack.addresses)
        again = browser.post(
            f"/console/dead-letters/{document['id']}/redrive", data={"csrf_token": token}
        )
        assert again.status_code == 303  # the same letters go back: the ledger stops repeats
    final = wait_until(
        lambda: (s := stack.status(document["id"]))["totals"]["sent"] == 10 and s,
        what="every email sent after the redrive",
    )
    assert final["failures"] == []
    assert_exactly_once(stack, stack.addresses)
