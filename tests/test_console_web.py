"""The officer console over in-memory services: sign-in, compose, approval, schedule, refusals."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.access import accounts
from hub.access.accounts import AccountIndex
from hub.access.credentials import CredentialIndex
from hub.console.submissions import State, Submission, SubmissionIndex
from hub.intake.schemas import SchemaCatalog
from hub.model.deliveries import ChannelKey
from hub.newsletters.config import load_newsletters
from hub.rendering.environment import Renderer
from hub.settings import Settings
from hub.subscribers.tokens import Signer
from hub.web.app import WebServices, create_api
from tests.helpers import PARTNERS, subscriber
from tests.test_web_services import (
    DEMO_NEWSLETTERS,
    FakeAudit,
    FakeCredentials,
    FakeDirectory,
    FakeNewsletters,
    FakePartners,
    FakePeople,
    FakePublisher,
    FakeStatus,
)

PASSWORD = "correct horse battery"
SECRET = b"a-stable-secret-of-enough-length"


@dataclass
class MemoryConsole:
    index: SubmissionIndex = field(default_factory=SubmissionIndex)

    @property
    def ready(self) -> bool:
        return True

    def get(self, submission_id: str) -> Submission | None:
        return self.index.get(submission_id)

    def all(self) -> list[Submission]:
        return self.index.all()

    async def save(self, submission: Submission) -> None:
        self.index.apply(submission.id, submission.as_record())


@dataclass
class RecordingSender:
    sent: list[tuple[str, Any, str, str, str]] = field(default_factory=list)

    async def send(self, channel: str, rendered: Any, to: str, name: str, language: str) -> str:
        self.sent.append((channel, rendered, to, name, language))
        return "queued"


@dataclass
class Console:
    app: Any
    publisher: FakePublisher
    audit: FakeAudit
    store: MemoryConsole
    sender: RecordingSender
    accounts: AccountIndex

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
async def console(tmp_path: Path) -> Console:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(SECRET.decode()))
    people = AccountIndex()
    now = datetime.now(UTC)
    for name, role, language in (
        ("pat.publisher", "publisher", "en"),
        ("olga.officer", "officer", "fr"),
        ("otto.officer", "officer", "en"),
    ):
        account = accounts.create(
            name,
            display_name=name.title(),
            email=f"{name}@example.org",
            roles=[role],
            language=language,
            password=PASSWORD,
            by="test",
            now=now,
            existing=None,
        )
        people.apply(name, account.as_record())
    people.ready = True
    directory = FakeDirectory()
    for n, language in enumerate(("en", "fr", "es", "es")):
        person = subscriber(f"s{n}", email=f"s{n}@example.org", language=language)
        directory.people[person.id] = person
    publisher, audit, store, sender = (
        FakePublisher(),
        FakeAudit(),
        MemoryConsole(),
        RecordingSender(),
    )
    index = CredentialIndex()
    index.ready = True
    fakes = FakePeople()
    services = WebServices(
        settings=settings,
        catalog=SchemaCatalog(settings.schemas_dir),
        renderer=Renderer(settings.templates_dir),
        signer=Signer(SECRET),
        channels=[ChannelKey.EMAIL],
        publisher=publisher,
        audit=audit,
        status=FakeStatus(),
        directory=directory,
        partners=FakePartners(PARTNERS),
        partner_commands=FakePartners(PARTNERS),
        subscriber_commands=fakes,
        personal_data=fakes,
        newsletters=FakeNewsletters(load_newsletters(DEMO_NEWSLETTERS)),
        credentials=FakeCredentials(index),
        tokens=index,
        accounts=people,
        console=store,
        test_sender=sender,
    )
    return Console(create_api(services), publisher, audit, store, sender, people)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextlib.asynccontextmanager
async def signed_in(console: Console, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with console.client() as client:
        answer = await client.post("/console/sign-in", data={"name": name, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        yield client


ANNOUNCEMENT = {
    "classification": "public",
    "position": "statement",
    "tags.themes": "partnerships",
    "content.en.title": "A new office",
    "content.en.summary": "We open an office.",
    "content.en.body": "## Hello\n\nWe **open** an office.",
    "content.fr.title": "Un nouveau bureau",
    "content.fr.summary": "Nous ouvrons un bureau.",
    "content.fr.body": "## Bonjour\n\nNous **ouvrons** un bureau.",
}


async def compose(client: httpx.AsyncClient, action: str, **extra: str) -> httpx.Response:
    page = await client.get("/console/compose", params={"type": "announcement.published"})
    assert page.status_code == 200
    target = re.search(r'action="(/console/events/[0-9a-f-]+/edit)"', page.text)
    assert target
    form = {**ANNOUNCEMENT, **extra, "csrf_token": csrf_of(page.text), "action": action}
    form["event_type"] = "announcement.published"
    return await client.post(target.group(1), data=form)


async def test_a_wrong_password_and_an_unknown_name_are_refused_alike(console: Console) -> None:
    async with console.client() as client:
        wrong = await client.post(
            "/console/sign-in", data={"name": "pat.publisher", "password": "nope-nope-nope"}
        )
        unknown = await client.post(
            "/console/sign-in", data={"name": "nobody", "password": PASSWORD}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert "hub_console" not in client.cookies
        assert (await client.get("/console/events")).status_code == 303  # to the sign-in page


async def test_the_session_cookie_is_httponly_samesite_and_ends_at_sign_out(
    console: Console,
) -> None:
    async with console.client() as client:
        answer = await client.post(
            "/console/sign-in", data={"name": "pat.publisher", "password": PASSWORD}
        )
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        page = await client.get("/console/events")
        assert page.status_code == 200 and "Pat.Publisher" in page.text
        assert (await client.post("/console/sign-out", data={})).status_code == 403  # no token
        out = await client.post("/console/sign-out", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await client.get("/console/events")).status_code == 303


async def test_a_disabled_account_or_a_new_password_ends_the_session(console: Console) -> None:
    async with signed_in(console, "pat.publisher") as client:
        assert (await client.get("/console/events")).status_code == 200
        account = console.accounts.get("pat.publisher")
        later = datetime.now(UTC) + timedelta(seconds=1)
        console.accounts.apply(
            "pat.publisher",
            accounts.reset(account, "pat.publisher", "another long password", later).as_record(),
        )
        assert (await client.get("/console/events")).status_code == 303


async def test_a_post_without_the_csrf_token_changes_nothing(console: Console) -> None:
    async with signed_in(console, "pat.publisher") as client:
        page = await client.get("/console/compose", params={"type": "announcement.published"})
        target = re.search(r'action="(/console/events/[0-9a-f-]+/edit)"', page.text)
        assert target
        answer = await client.post(
            target.group(1),
            data={**ANNOUNCEMENT, "action": "save", "event_type": "announcement.published"},
        )
        assert answer.status_code == 403
        assert console.store.all() == []


async def test_check_names_problems_by_field_and_keeps_the_draft(console: Console) -> None:
    async with signed_in(console, "pat.publisher") as client:
        answer = await compose(client, "check", **{"content.fr.title": "", "tags.countries": "xx"})
        assert answer.status_code == 422
        assert (
            'id="err-content-fr-title"' in answer.text and 'id="err-tags-countries"' in answer.text
        )
        [draft] = console.store.all()
        assert draft.state is State.DRAFT and draft.document["tags"]["countries"] == ["xx"]


async def test_check_shows_missing_spanish_with_its_fallbacks_the_dry_run_and_a_test_send(
    console: Console,
) -> None:
    async with signed_in(console, "pat.publisher") as client:
        checked = await compose(client, "check")
        assert checked.status_code == 200, checked.text
        assert (
            "<strong>es</strong>" in checked.text
            and "2 people will get a fallback language" in checked.text
        )
        assert 'id="dry-run"' in checked.text
        sent = await compose(client, "test-send")
        assert "Test sent to pat.publisher@example.org" in sent.text
        [(channel, rendered, to, _name, language)] = console.sender.sent
        assert (channel, to, language) == ("email", "pat.publisher@example.org", "en")
        assert rendered.subject and "open" in rendered.html
        assert console.publisher.published == []  # a test send publishes nothing


async def test_maker_checker_the_author_cannot_approve_a_second_officer_can(
    console: Console,
) -> None:
    async with signed_in(console, "olga.officer") as author:
        submitted = await compose(author, "submit")
        assert submitted.status_code == 303
        [waiting] = console.store.all()
        assert (
            waiting.state is State.AWAITING_APPROVAL
            and "it goes to partners" in waiting.approval_reasons
        )
        page = await author.get(f"/console/events/{waiting.id}")
        refused = await author.post(
            f"/console/events/{waiting.id}/approve",
            data={"csrf_token": csrf_of(page.text), "comment": "ok"},
        )
        assert refused.status_code == 403 and "second officer" in refused.text
        assert console.publisher.published == []
    async with signed_in(console, "otto.officer") as checker:
        page = await checker.get(f"/console/events/{waiting.id}")
        approved = await checker.post(
            f"/console/events/{waiting.id}/approve",
            data={"csrf_token": csrf_of(page.text), "comment": "Fine."},
        )
        assert approved.status_code == 303
    [(accepted, by)] = console.publisher.published
    assert by == "olga.officer" and accepted.document["id"] == waiting.id
    done = console.store.get(waiting.id)
    assert done is not None and done.state is State.PUBLISHED
    assert [h.action for h in done.history][-3:] == ["submitted", "approved", "published"]
    actions = [e["action"] for _k, e in console.audit.written]
    assert "event.approved" in actions and "event.published" in actions
    async with signed_in(console, "olga.officer") as author:  # the author is told
        events = await author.get("/console/events")
        assert "Fine." in events.text


async def test_a_declined_event_needs_a_comment_and_goes_back_to_its_author(
    console: Console,
) -> None:
    async with signed_in(console, "olga.officer") as author:
        await compose(author, "submit")
    [waiting] = console.store.all()
    async with signed_in(console, "otto.officer") as checker:
        token = csrf_of((await checker.get(f"/console/events/{waiting.id}")).text)
        bare = await checker.post(
            f"/console/events/{waiting.id}/decline", data={"csrf_token": token}
        )
        assert bare.status_code == 403
        said = await checker.post(
            f"/console/events/{waiting.id}/decline",
            data={"csrf_token": token, "comment": "Too early."},
        )
        assert said.status_code == 303
    declined = console.store.get(waiting.id)
    assert declined is not None and declined.state is State.DECLINED
    assert console.publisher.published == []


async def test_a_scheduled_event_waits_for_its_time_and_can_be_cancelled(console: Console) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    async with signed_in(console, "pat.publisher") as client:
        answer = await compose(
            client,
            "submit",
            classification="staff",
            **{"audience.offices": "dakar"},
            publish_at=later,
            zone="Africa/Dakar",
        )
        assert answer.status_code == 303, answer.text
        [scheduled] = console.store.all()
        assert scheduled.state is State.SCHEDULED and scheduled.zone == "Africa/Dakar"
        assert console.publisher.published == []
        page = await client.get(f"/console/events/{scheduled.id}")
        assert "(Africa/Dakar)" in page.text
        cancelled = await client.post(
            f"/console/events/{scheduled.id}/cancel", data={"csrf_token": csrf_of(page.text)}
        )
        assert cancelled.status_code == 303
    gone = console.store.get(scheduled.id)
    assert gone is not None and gone.state is State.CANCELLED


async def test_a_publisher_cannot_open_subscriber_pages(console: Console) -> None:
    async with signed_in(console, "pat.publisher") as client:
        assert (await client.get("/console/subscribers")).status_code == 403
    async with signed_in(console, "otto.officer") as client:
        found = await client.get("/console/subscribers", params={"q": "s1"})
        assert found.status_code == 200


async def test_an_officer_reads_the_console_in_french(console: Console) -> None:
    async with signed_in(console, "olga.officer") as client:
        page = await client.get("/console/events")
        assert '<html lang="fr">' in page.text and "Événements" in page.text


async def test_a_sign_in_never_redirects_to_another_site(console: Console) -> None:
    async with console.client() as client:
        answer = await client.post(
            "/console/sign-in",
            data={"name": "pat.publisher", "password": PASSWORD, "next": "https://evil.example/"},
        )
        assert answer.headers["location"] == "/console/events"


async def test_ten_wrong_passwords_stop_sign_ins_from_that_client(console: Console) -> None:
    async with console.client() as client:
        for _ in range(10):
            wrong = await client.post(
                "/console/sign-in", data={"name": "pat.publisher", "password": "wrong password!"}
            )
            assert wrong.status_code == 401
        right = await client.post(
            "/console/sign-in", data={"name": "pat.publisher", "password": PASSWORD}
        )
        assert right.status_code == 429 and "hub_console" not in client.cookies
