"""Asynchronous bounces: RFC 3464 DSNs, a relay's JSON, the web route, the Maildir, the pause."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.access.credentials import CredentialIndex, issue
from hub.access.roles import Role
from hub.cli.bounces import mark_read, read_maildir
from hub.settings import Settings
from hub.subscribers.bounces import (
    Bounce,
    address_key,
    bounce_from_json,
    parse_dsn,
    reached_limit,
    read_record,
)
from hub.web.app import create_api
from tests.conftest import read_outbox
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import TOKEN, HubProcess, Stack, shared_hub
from tests.kafka_probe import delivery_count
from tests.test_web_services import fake_services

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

GONE, KEPT = "gone@media.example.com", "kept@media.example.com"
PEOPLE = [
    {"id": "media-gone", "kind": "media", "name": "Gone Desk", "language": "en", "email": GONE},
    {"id": "media-kept", "kind": "media", "name": "Kept Desk", "language": "en", "email": KEPT},
]
stack = shared_hub(PEOPLE)


def dsn(recipients: Sequence[tuple[str, str, str]], report_type: str = "delivery-status") -> bytes:
    """A real-shaped DSN: text/plain, message/delivery-status (a per-message group, then one
    group per recipient), message/rfc822-headers."""
    report = MIMEMultipart("report", report_type=report_type)
    report["From"] = "MAILER-DAEMON@relay.example.org"
    report["To"] = "hub@comms.example.org"
    report["Subject"] = "Delivery Status Notification (Failure)"
    report.attach(MIMEText("Your message could not be delivered.\n"))
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; relay.example.org"
    per_message["Arrival-Date"] = "Mon, 30 Nov 2026 09:00:00 +0000"
    groups: list[Message | str] = [per_message]
    for address, action, status in recipients:
        group = Message()
        group["Final-Recipient"] = f"rfc822; {address}"
        group["Action"] = action
        group["Status"] = status
        group["Diagnostic-Code"] = f"smtp; 550 {status} mailbox unavailable"
        groups.append(group)
    status_part = MIMEBase("message", "delivery-status")
    status_part.set_payload(groups)
    report.attach(status_part)
    headers = MIMEBase("text", "rfc822-headers")
    headers.set_payload("From: hub@comms.example.org\nTo: someone@example.org\nSubject: News\n")
    headers.replace_header("Content-Type", "message/rfc822-headers")
    report.attach(headers)
    return report.as_bytes()


def test_a_failed_permanent_status_is_a_hard_bounce() -> None:
    raw = dsn([("Gone@Example.org", "failed", "5.1.1"), ("ok@example.org", "delivered", "2.0.0")])
    found = parse_dsn(raw)
    assert [(b.address, b.status, b.action, b.hard) for b in found] == [
        ("Gone@Example.org", "5.1.1", "failed", True),
        ("ok@example.org", "2.0.0", "delivered", False),
    ]
    assert "550" in found[0].diagnostic


def test_delayed_and_temporary_failures_are_not_hard() -> None:
    assert [b.hard for b in parse_dsn(dsn([("a@example.org", "delayed", "4.4.1")]))] == [False]
    assert [b.hard for b in parse_dsn(dsn([("a@example.org", "failed", "4.2.2")]))] == [False]


def test_a_dsn_parsed_by_the_email_package_into_groups_reads_the_same() -> None:
    report = EmailMessage()
    report["Subject"] = "bounce"
    report.set_content("failed")
    report.make_mixed()
    report.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    part = EmailMessage()
    part["Content-Type"] = "message/delivery-status"
    first, second = Message(), Message()
    first["Reporting-MTA"] = "dns; relay.example.org"
    second["Final-Recipient"] = "rfc822; <x@example.org>"
    second["Action"] = "failed"
    second["Status"] = "5.2.1"
    part.set_payload([first, second])
    report.attach(part)
    assert parse_dsn(report.as_bytes()) == [Bounce("x@example.org", "5.2.1", "failed", True, "")]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty"),
        (b"Subject: hello\r\n\r\njust mail\r\n", "content type is text/plain"),
        (dsn([("a@example.org", "failed", "5.1.1")], "disposition-notification"), "report-type"),
        (dsn([("a@example.org", "vanished", "5.1.1")]), "Action 'vanished'"),
        (dsn([("a@example.org", "failed", "551")]), "Status '551'"),
    ],
)
def test_what_is_not_a_dsn_is_refused_naming_why(raw: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_dsn(raw)


def test_the_json_form() -> None:
    bounce = bounce_from_json(
        {"recipient": " a@example.org ", "status": "5.1.1", "action": "Failed", "diagnostic": "x"}
    )
    assert bounce == Bounce("a@example.org", "5.1.1", "failed", True, "x")
    assert not bounce_from_json(
        {"recipient": "a@x.org", "status": "4.0.0", "action": "failed"}
    ).hard


def test_the_json_form_names_every_problem() -> None:
    with pytest.raises(ValueError, match="bad bounce") as caught:
        bounce_from_json({"recipient": "nobody", "status": "5", "action": "gone", "extra": 1})
    message = str(caught.value)
    for expected in ("recipient:", "status:", "action:", "unknown fields: extra"):
        assert expected in message
    with pytest.raises(ValueError, match="JSON object"):
        bounce_from_json(["a@example.org"])


def test_the_topic_record_holds_no_address() -> None:
    key, value = Bounce("Gone@Example.org ", "5.1.1", "failed", True).record()
    assert b"example" not in key and "example" not in json.dumps(value).lower()
    assert key.decode() == address_key("gone@example.org") == value["address_key"]
    assert read_record(value) == (key.decode(), True, "5.1.1", "failed")
    with pytest.raises(ValueError, match="address_key"):
        read_record({"address_key": "gone@example.org", "status": "5.1.1", "action": "failed"})


def test_the_limit_is_reached_once() -> None:
    assert [reached_limit(n, 3) for n in range(1, 6)] == [False, False, True, False, False]
    assert Settings(_env_file=None).bounces.hard_limit == 3


class FakeBounces:
    def __init__(self) -> None:
        self.written: list[tuple[bytes, dict[str, Any]]] = []

    async def write(self, records: Sequence[tuple[bytes, dict[str, Any]]]) -> None:
        self.written.extend(records)


async def test_the_web_route(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("a-stable-secret-of-enough-length"))
    index = CredentialIndex()
    tokens = {}
    for role in Role:
        credential, tokens[role] = issue(f"the-{role}", [role], "test", NOW, None)
        index.apply(credential.name, credential.as_record())
    index.ready = True
    written = FakeBounces()
    app = create_api(fake_services(settings, index, bounces=written))
    transport = httpx.ASGITransport(app=app)
    officer = {"Authorization": f"Bearer {tokens[Role.OFFICER]}"}
    one = {"recipient": "a@example.org", "status": "5.1.1", "action": "failed"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        assert (await client.post("/api/v1/bounces", json=one)).status_code == 401
        wrong = {"Authorization": f"Bearer {tokens[Role.PUBLISHER]}"}
        assert (await client.post("/api/v1/bounces", json=one, headers=wrong)).status_code == 403

        answer = await client.post("/api/v1/bounces", json=one, headers=officer)
        assert answer.status_code == 202 and answer.json() == {"read": 1, "hard": 1}
        assert written.written == [Bounce("a@example.org", "5.1.1", "failed", True).record()]

        raw = dsn([("b@example.org", "failed", "5.1.1"), ("c@example.org", "delayed", "4.4.1")])
        as_rfc822 = {**officer, "Content-Type": "message/rfc822"}
        answer = await client.post("/api/v1/bounces", content=raw, headers=as_rfc822)
        assert answer.status_code == 202 and answer.json() == {"read": 2, "hard": 1}

        # multipart/report: the body after the message's headers, its type in Content-Type.
        head, body = raw.split(b"\n\n", 1)
        content_type = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.replace(b"\n\t", b" ").replace(b"\n ", b" ").splitlines()
            if line.lower().startswith(b"content-type")
        )
        as_report = {**officer, "Content-Type": content_type}
        answer = await client.post("/api/v1/bounces", content=body, headers=as_report)
        assert answer.status_code == 202 and answer.json() == {"read": 2, "hard": 1}

        text = {**officer, "Content-Type": "text/plain"}
        answer = await client.post("/api/v1/bounces", content=b"x", headers=text)
        assert answer.status_code == 415 and "text/plain" in answer.json()["problem"]
        answer = await client.post(
            "/api/v1/bounces", content=b"{", headers={**officer, "Content-Type": "application/json"}
        )
        assert answer.status_code == 400 and "not JSON" in answer.json()["problem"]
        answer = await client.post("/api/v1/bounces", json={"recipient": "x"}, headers=officer)
        assert answer.status_code == 422 and "status:" in answer.json()["problem"]
        plain = b"Subject: hi\r\n\r\nhello\r\n"
        answer = await client.post("/api/v1/bounces", content=plain, headers=as_rfc822)
        assert answer.status_code == 422 and "not a DSN" in answer.json()["problem"]
    assert len(written.written) == 5


def test_the_maildir_reader_takes_dsns_from_new_and_leaves_the_rest(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    bounce = box.add(dsn([("a@example.org", "failed", "5.1.1")]))
    reply = box.add(b"Subject: out of office\r\n\r\nback monday\r\n")
    found, refused = read_maildir(box)
    assert list(found) == [bounce] and found[bounce][0].hard
    assert list(refused) == [reply] and "not a DSN" in refused[reply]
    mark_read(box, list(found))
    assert [p.name for p in (tmp_path / "bounces" / "new").iterdir()] == [reply]
    assert len(list((tmp_path / "bounces" / "cur").iterdir())) == 1
    assert read_maildir(box) == ({}, {reply: refused[reply]})  # nothing read twice


def _channels(hub: HubProcess, address: str) -> set[str]:
    items = hub.get("/api/v1/subscribers", q=address).json()["items"]
    assert len(items) == 1, items
    return {c for subscription in items[0]["subscriptions"] for c in subscription["channels"]}


@pytest.mark.kafka
def test_three_hard_bounces_pause_the_email_channel(stack: Stack) -> None:
    hub, catcher = stack
    wait_until(lambda: hub.subscriber_count() == 2, what=f"2 subscribers\n{hub.log_tail()}")
    assert "email" in _channels(hub, GONE)
    officer = {"Authorization": f"Bearer {TOKEN}"}
    soft = {"recipient": GONE.upper(), "status": "4.2.2", "action": "failed"}
    hard = {"recipient": GONE.upper(), "status": "5.1.1", "action": "failed"}
    for body in (soft, hard, hard):
        answer = httpx.post(f"{hub.base_url}/api/v1/bounces", json=body, headers=officer)
        assert answer.status_code == 202, answer.text
    as_dsn = {**officer, "Content-Type": "message/rfc822"}
    raw = dsn([(GONE, "failed", "5.1.1"), (KEPT, "delayed", "4.4.1")])
    answer = httpx.post(f"{hub.base_url}/api/v1/bounces", content=raw, headers=as_dsn)
    assert answer.status_code == 202 and answer.json() == {"read": 2, "hard": 1}, answer.text

    wait_until(
        lambda: "email" not in _channels(hub, GONE),
        what=f"the email channel of {GONE} paused\n{hub.log_tail()}",
    )
    assert "email" in _channels(hub, KEPT)

    document = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(document).status_code == 202
    received = wait_until(
        lambda: [m for m in read_outbox(catcher.outbox) if m["X-Hub-Event-Id"] == document["id"]],
        what=f"an email to {KEPT}\n{hub.log_tail()}",
    )
    assert [m["To"].addresses[0].addr_spec for m in received] == [KEPT]
    # An event's deliveries are planned together: the kept desk's was the only one.
    assert delivery_count(hub.topic("deliveries", "email")) == 1
