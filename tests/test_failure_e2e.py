"""Failure handling end to end, on the real broker and SMTP server: a channel that is off is a
recorded skip, and a CLI publish is on the audit trail like an HTTP one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_outbox
from tests.helpers import load_example, wait_until
from tests.hubprocess import hub_with_mail

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

PEOPLE = [
    {
        "id": "p-both",
        "kind": "partner",
        "name": "Amina Both",
        "language": "en",
        "email": "amina@partner.example.net",
        "telegram_chat_id": 7001,
        "subscriptions": [{"channels": ["email", "telegram"]}],
    },
    {
        "id": "p-chat",
        "kind": "partner",
        "name": "Bruno Chat",
        "language": "en",
        "telegram_chat_id": 7002,
        "subscriptions": [{"channels": ["telegram"]}],
    },
]


def test_telegram_off_records_skips_and_the_cli_publish_is_audited(
    kafka_broker: str, tmp_path: Path
) -> None:
    with hub_with_mail(tmp_path, PEOPLE, HUB_TELEGRAM__ENABLED="false") as (hub, catcher):
        document = load_example()
        path = tmp_path / "event.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        published = hub.cli("publish", str(path))
        assert f"event {document['id']}" in published.stdout

        def status() -> dict[str, Any] | None:
            response = hub.get(f"/api/v1/events/{document['id']}/status")
            if response.status_code != 200:
                return None
            body: dict[str, Any] = response.json()
            return body if body["totals"]["sent"] == 1 and body["not_delivered"] else None

        seen = wait_until(
            status, timeout=90, what=f"email sent and skips recorded\n{hub.log_tail()}"
        )
        assert seen["not_delivered"] == [
            "telegram is turned off (HUB_TELEGRAM__ENABLED=false): not sent"
        ]
        assert list(seen["channels"]) == ["email"]
        (mail,) = read_outbox(catcher.outbox)
        assert mail["To"].addresses[0].addr_spec == "amina@partner.example.net"

        def audit() -> list[dict[str, Any]]:
            entries: list[dict[str, Any]] = hub.get("/api/v1/audit", subject=document["id"]).json()
            return entries if any(e["action"] == "delivery.skipped" for e in entries) else []

        entries = wait_until(audit, what="the audit trail of the event")
        (published_entry,) = [e for e in entries if e["action"] == "event.published"]
        assert published_entry["detail"]["via"] == "cli"
        assert published_entry["detail"]["topic"] == hub.topic("events", "announcement.published")
        assert published_entry["detail"]["classification"] == "public"
        skipped = sorted(
            e["detail"]["recipient_id"] for e in entries if e["action"] == "delivery.skipped"
        )
        assert skipped == ["p-both", "p-chat"]
        assert "Traceback" not in hub.log_tail(400)


def test_a_long_code_block_whose_second_part_fails_reaches_the_chat_once_in_full(
    kafka_broker: str, tmp_path: Path
) -> None:
    from channels.telegram.format import split_message
    from hub.model.events import Event
    from hub.rendering.environment import Renderer
    from hub.settings import REPO_ROOT
    from tests.sandboxprocess import SandboxProcess

    code = "\n\n".join(f"step_{i} = run(stage={i}, retries=3)  # pipeline" for i in range(160))
    body = f"The pipeline is public.\n\n```python\n{code}\n```\n\nQuestions to the desk."
    document = load_example(
        content={"en": {"title": "Pipeline", "summary": "Pipeline", "body": body}},
    )
    parts = split_message(
        Renderer(REPO_ROOT / "templates")
        .render(Event.from_document(document), "telegram", "en")
        .html
    )
    assert len(parts) >= 3
    reader = {
        "id": "p-reader",
        "kind": "partner",
        "name": "Chidi Reader",
        "language": "en",
        "telegram_chat_id": 7100,
        "subscriptions": [{"channels": ["telegram"]}],
    }
    sandbox = SandboxProcess(tmp_path)
    try:
        sandbox.control(
            "POST", "faults", kind="internal_error", method="sendMessage", chat_id=7100, after=1
        )
        env = {**sandbox.hub_env, "HUB_RETRY__BASE_SECONDS": "0.5", "HUB_RETRY__JITTER": "0"}
        with hub_with_mail(tmp_path, [reader], **env) as (hub, _catcher):
            assert hub.publish(document).status_code == 202

            def sent() -> dict[str, Any] | None:
                response = hub.get(f"/api/v1/events/{document['id']}/status")
                body: dict[str, Any] | None = response.json() if response.is_success else None
                return body if body and body["totals"]["sent"] == 1 else None

            status = wait_until(sent, timeout=120, what=f"the delivery sent\n{hub.log_tail()}")
            assert status["totals"]["retries"] == 1
        texts = [m["message"]["text"] for m in sandbox.messages(7100)]
        assert len(texts) == len(parts)  # part 1 once, not again with the retry
        assert texts[0].startswith("Pipeline") and texts[-1].endswith("Questions to the desk.")
        assert sum(text.count("step_") for text in texts) == 160
    finally:
        sandbox.stop()
