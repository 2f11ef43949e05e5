"""The public forms under abuse, on the real broker and SMTP server: cross-site posts, oversized
bodies, a flood of subscribe requests for one address, and a client that will not stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.mailcatcher import MailCatcher
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import Subscriber, SubscriberKind, SubscriberStatus
from hub.subscribers.selfservice import command
from tests.conftest import mail_to
from tests.forms import form_token, submit
from tests.helpers import wait_until
from tests.hubprocess import HubProcess, shared_hub

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

PEOPLE = [
    {
        "id": "partner-known",
        "kind": "partner",
        "name": "Known Partner",
        "language": "en",
        "email": "known@partner.example.net",
        "organisation": "WAMRN",
    }
]
SUBSCRIBE_PER_CLIENT = 60


stack = shared_hub(
    PEOPLE,
    HUB_LIMITS__SUBSCRIBE_PER_CLIENT=str(SUBSCRIBE_PER_CLIENT),
    HUB_LIMITS__FORM_POSTS_PER_CLIENT="1000",
)


def subscriber_rows(hub: HubProcess, address: str) -> list[dict[str, object]]:
    return list(hub.get("/api/v1/subscribers", q=address, limit="100").json()["items"])


def test_a_post_from_another_site_is_refused_and_changes_nothing(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    url = f"{hub.base_url}/subscribe"
    address = "cross-site@example.org"
    with httpx.Client() as browser:
        token = form_token(browser, url)
        data = {"email": address, "csrf": token}
        # A real browser says where a cross-site form came from, with either header.
        evil_origin = browser.post(url, data=data, headers={"Origin": "https://evil.example"})
        evil_site = browser.post(url, data=data, headers={"Sec-Fetch-Site": "cross-site"})
    # Without the page's cookie and token (a forged form, or a script), nothing passes either.
    no_token = httpx.post(url, data={"email": address})
    token_without_cookie = httpx.post(url, data=data)
    for response in (evil_origin, evil_site):
        assert response.status_code == 403 and "another site" in response.text
    for response in (no_token, token_without_cookie):
        assert response.status_code == 403 and "expired" in response.text
    # The same form from our own page goes through; only then does the address appear.
    own = submit(url, url, {"email": address})
    assert own.status_code == 202
    wait_until(lambda: subscriber_rows(hub, address), what="the subscriber from our own page")
    wait_until(lambda: mail_to(catcher.outbox, address), what="its confirmation")
    assert len(subscriber_rows(hub, address)) == 1


def test_every_form_needs_its_token(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, _ = stack
    for path in ("/subscribe/confirm", "/preferences", "/unsubscribe", "/preferences/delete"):
        response = httpx.post(f"{hub.base_url}{path}", data={"t": "anything"})
        assert response.status_code == 403, path
        cross = httpx.post(
            f"{hub.base_url}{path}", data={"t": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403 and "another site" in cross.text, path


def test_oversized_forms_are_refused_before_they_are_read(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, _ = stack
    url = f"{hub.base_url}/subscribe"
    declared = httpx.post(url, content=b"email=a%40b.org&name=" + b"x" * 40_000)
    assert declared.status_code == 413

    def endless() -> Iterator[bytes]:  # chunked: no Content-Length to check up front
        yield b"email=a%40b.org&name="
        for _ in range(1000):
            yield b"x" * 1024

    streamed = httpx.post(
        url, content=endless(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413 and "too large" in streamed.text


def test_fifty_rapid_requests_for_one_address_send_one_email(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    url = f"{hub.base_url}/subscribe"
    victim = "victim@inbox.example.org"
    with httpx.Client() as browser:
        token = form_token(browser, url)
        answers = [
            browser.post(url, data={"email": victim, "name": f"Try {i}", "csrf": token})
            for i in range(50)
        ]
        known = browser.post(url, data={"email": PEOPLE[0]["email"], "csrf": token})
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1  # the same page every time
    # ... and the same page for an address the hub knows.
    assert known.text.replace(str(PEOPLE[0]["email"]), "X") == answers[0].text.replace(victim, "X")
    wait_until(lambda: mail_to(catcher.outbox, victim), what="the one confirmation")
    wait_until(lambda: subscriber_rows(hub, victim), what="the pending subscriber")
    # The known address's request went last: once its notice is out, all of the above is applied.
    notice = wait_until(
        lambda: mail_to(catcher.outbox, str(PEOPLE[0]["email"])), what="the known owner's notice"
    )
    assert len(notice) == 1
    assert len(mail_to(catcher.outbox, victim)) == 1
    assert len(subscriber_rows(hub, victim)) == 1


def test_the_limit_per_address_holds_when_requests_arrive_through_several_workers(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    """Each worker's own check lets one request through; the subscriber agent still sends one
    email, and a second record for the same address is never made."""
    hub, catcher = stack
    address = "many-workers@inbox.example.org"
    now = datetime.now(UTC).isoformat()
    commands = []
    for i in range(6):  # three requests under one id, three under ids other workers drew
        subscriber_id = "ext-race-a" if i < 3 else f"ext-race-{i}"
        pending = Subscriber(
            id=subscriber_id,
            kind=SubscriberKind.PUBLIC,
            name="Racer",
            language="en",
            email=address,
            status=SubscriberStatus.PENDING,
            updated_at=now,
            confirmation_nonce=f"nonce{i}",
        )
        commands.append((subscriber_id, command(pending, Cause.SUBSCRIBED, "self-service")))
    asyncio.run(_produce(f"{hub.prefix}.subscribers.v1", commands))
    wait_until(lambda: mail_to(catcher.outbox, address), what="the confirmation")

    def applied() -> list[dict[str, object]]:
        found = []
        for subscriber_id in {key for key, _ in commands}:
            entries = hub.get("/api/v1/audit", subject=subscriber_id).json()
            found += [e for e in entries if e["action"].startswith("subscriber.")]
        return found if len(found) >= 6 else []

    audit = wait_until(applied, what="all six requests applied")
    assert (
        sorted(e["action"] for e in audit)
        == ["subscriber.duplicate-ignored"] * 3 + ["subscriber.subscribed"] * 3
    )
    assert len(mail_to(catcher.outbox, address)) == 1
    rows = subscriber_rows(hub, address)
    assert [r["id"] for r in rows] == ["ext-race-a"]
    # The link of the one email still confirms: the withheld requests kept its nonce.
    link = str(mail_to(catcher.outbox, address)[0].get_body(("plain",)).get_content())
    confirm_url = next(w for w in link.split() if "/subscribe/confirm?t=" in w)
    token = confirm_url.split("t=", 1)[1]
    done = submit(confirm_url, f"{hub.base_url}/subscribe/confirm", {"t": token})
    assert done.status_code == 200 and "confirmed" in done.text


async def _produce(topic: str, commands: list[tuple[str, dict[str, object]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9092", acks="all")
    await producer.start()
    try:
        for key, value in commands:
            await producer.send_and_wait(topic, json.dumps(value).encode(), key=key.encode())
    finally:
        await producer.stop()


def test_a_client_that_keeps_posting_is_told_to_wait(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, _ = stack
    url = f"{hub.base_url}/subscribe"
    with httpx.Client() as browser:
        token = form_token(browser, url)
        for i in range(SUBSCRIBE_PER_CLIENT + 1):
            response = browser.post(url, data={"email": f"n{i}@flood.example.org", "csrf": token})
            if response.status_code == 429:
                break
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Too many requests" in response.text
