"""The officer console over in-memory services: sign-in, compose, approval, schedule, refusals."""

from __future__ import annotations

import contextlib
import html
import json
import re
import uuid
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
from hub.model.subscribers import PartnerRequest, SubscriberKind
from hub.newsletters.config import load_newsletters
from hub.newsletters.state import apply
from hub.rendering.environment import Renderer
from hub.settings import Settings
from hub.subscribers.tokens import Signer
from hub.web.app import create_api
from tests.helpers import PARTNERS, load_example, subscriber
from tests.test_web_services import (
    DEMO_NEWSLETTERS,
    FakeAudit,
    FakeDirectory,
    FakeNewsletters,
    FakePartners,
    FakePeople,
    FakePublisher,
    fake_services,
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
    people: FakePeople
    partners: FakePartners
    newsletters: FakeNewsletters
    directory: FakeDirectory

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
async def console(tmp_path: Path) -> Console:
    return make_console(Settings(data_dir=tmp_path, secret_key=SecretStr(SECRET.decode())))


def make_console(settings: Settings, **extra: Any) -> Console:
    """The console over fakes, with three test accounts (and `extra` given to WebServices)."""
    people = AccountIndex()
    now = datetime.now(UTC)
    for name, role, language in (
        ("pat.publisher", "publisher", "en"),
        ("olga.officer", "officer", "fr"),
        ("otto.officer", "officer", "en"),
        ("eva.editor", "editor", "es"),
        ("amal.officer", "officer", "ar"),
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
    partners = FakePartners(PARTNERS)
    newsletters = FakeNewsletters(load_newsletters(DEMO_NEWSLETTERS))
    services = fake_services(
        settings,
        index,
        renderer=Renderer(settings.templates_dir),
        signer=Signer(SECRET),
        publisher=publisher,
        audit=audit,
        directory=directory,
        partners=partners,
        partner_commands=partners,
        subscriber_commands=fakes,
        personal_data=fakes,
        newsletters=newsletters,
        accounts=people,
        console=store,
        test_sender=sender,
        **extra,
    )
    return Console(
        create_api(services),
        publisher,
        audit,
        store,
        sender,
        people,
        fakes,
        partners,
        newsletters,
        directory,
    )


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


ANNOUNCEMENT_TYPE = "announcement.published"


async def compose(client: httpx.AsyncClient, action: str, **extra: str) -> httpx.Response:
    page = await client.get("/console/compose", params={"type": ANNOUNCEMENT_TYPE})
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
            "<strong>es, ar</strong>" in checked.text  # every language the hub speaks
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
        labels = re.search(r'data-labels="([^"]*)"', page.text)
        assert labels  # the live status's words, in the officer's language
        assert json.loads(html.unescape(labels.group(1)))["sent"] == "envoyés"
        refused = await author.post(
            f"/console/events/{waiting.id}/approve",
            data={"csrf_token": csrf_of(page.text), "comment": "ok"},
        )
        assert refused.status_code == 403  # and why, in the officer's language
        assert "un second chargé doit le faire" in html.unescape(refused.text)
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
    async with signed_in(console, "otto.officer") as checker:
        status = await checker.get(f"/console/events/{waiting.id}/status.json")
        assert status.status_code == 200 and status.json()["state"] == "published"
    async with console.client() as stranger:  # no session: to the sign-in page, nothing shown
        assert (await stranger.get(f"/console/events/{waiting.id}/status.json")).status_code == 303
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
        assert '<html lang="fr" dir="ltr">' in page.text and "Événements" in page.text


def tag_of(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', page)
    assert found, f"no element #{element_id}"
    return found.group(0)


async def test_an_arabic_officer_reads_the_console_right_to_left(console: Console) -> None:
    async with signed_in(console, "olga.officer") as author:
        await compose(author, "submit")
    [waiting] = console.store.all()
    async with signed_in(console, "amal.officer") as client:
        events = await client.get("/console/events")
        assert '<html lang="ar" dir="rtl">' in events.text
        assert "<h1>الأحداث</h1>" in events.text and "تسجيل الخروج" in events.text
        assert "بانتظار الموافقة" in events.text  # the state, in Arabic too
        page = await client.get(f"/console/events/{waiting.id}")
        assert "يُرسل إلى الشركاء" in page.text  # the approval reason kept in English, said
        compose_page = await client.get("/console/compose", params={"type": ANNOUNCEMENT_TYPE})
        # An English field stays left to right on an Arabic page.
        english = tag_of(compose_page.text, "f-content-en-body")
        assert 'lang="en"' in english and 'dir="ltr"' in english


async def test_an_arabic_content_field_is_right_to_left_on_an_english_page(
    console: Console,
) -> None:
    async with signed_in(console, "pat.publisher") as client:
        page = await client.get("/console/compose", params={"type": ANNOUNCEMENT_TYPE})
        assert '<html lang="en" dir="ltr">' in page.text
        for element_id in ("f-content-ar-title", "f-content-ar-body", "preview-ar"):
            tag = tag_of(page.text, element_id)
            assert 'lang="ar"' in tag and 'dir="rtl"' in tag, tag
        assert 'dir="ltr"' in tag_of(page.text, "f-content-fr-summary")


async def test_a_refusal_is_said_in_the_officers_language(console: Console) -> None:
    async with signed_in(console, "amal.officer") as author:
        await compose(author, "submit")
        [waiting] = console.store.all()
        page = await author.get(f"/console/events/{waiting.id}")
        refused = await author.post(
            f"/console/events/{waiting.id}/approve",
            data={"csrf_token": csrf_of(page.text), "comment": "ok"},
        )
        assert refused.status_code == 403
        assert "لا يمكنك الموافقة على حدث كتبته" in refused.text


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


async def test_the_event_audit_trail_shows_who_published_and_who_approved(console: Console) -> None:
    async with signed_in(console, "olga.officer") as author:
        await compose(author, "submit")
    [waiting] = console.store.all()
    async with signed_in(console, "otto.officer") as checker:
        token = csrf_of((await checker.get(f"/console/events/{waiting.id}")).text)
        await checker.post(
            f"/console/events/{waiting.id}/approve", data={"csrf_token": token, "comment": "Yes."}
        )
        trail = await checker.get(f"/console/events/{waiting.id}/audit")
    assert trail.status_code == 200
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", trail.text)
    assert ("olga.officer", "event.submitted") in rows
    assert ("otto.officer", "event.approved") in rows
    assert ("otto.officer", "event.published") in rows


async def test_an_officer_opens_a_subscriber_exports_and_erases_only_once_confirmed(
    console: Console,
) -> None:
    async with signed_in(console, "otto.officer") as client:
        found = await client.get("/console/subscribers", params={"q": "s1"})
        assert 'href="/console/subscribers/s1"' in found.text
        page = await client.get("/console/subscribers/s1")
        assert page.status_code == 200 and "s1@example.org" in page.text
        exported = await client.get("/console/subscribers/s1/export")
        assert exported.headers["content-disposition"].startswith("attachment")
        assert exported.json() == {"subscriber": {"id": "s1"}}
        token = csrf_of(page.text)
        unconfirmed = await client.post(
            "/console/subscribers/s1/erase", data={"csrf_token": token, "confirm": "s2"}
        )
        assert unconfirmed.status_code == 422 and console.people.erased == []
        erased = await client.post(
            "/console/subscribers/s1/erase",
            data={"csrf_token": token, "confirm": "S1@example.org"},
        )
        assert erased.status_code == 303 and console.people.erased == ["s1"]
    actions = [(e["actor"], e["action"]) for _k, e in console.audit.written]
    assert ("otto.officer", "subscriber.exported") in actions
    assert ("otto.officer", "subscriber.erasure-requested") in actions
    async with signed_in(console, "pat.publisher") as client:
        assert (await client.get("/console/subscribers/s1")).status_code == 403
        assert (await client.get("/console/subscribers/s1/export")).status_code == 403
        assert (await client.get("/console/partners")).status_code == 403


async def test_an_officer_approves_a_pending_partner_request(console: Console) -> None:
    asked = PartnerRequest(organisation="Example partner", at="2026-11-30T08:00:00+00:00")
    console.directory.people["x-2"] = subscriber(
        "x-2", SubscriberKind.PUBLIC, partner_request=asked
    )
    async with signed_in(console, "otto.officer") as client:
        page = await client.get("/console/partners")
        assert page.status_code == 200 and "X-2" in page.text
        organisation = re.search(r'<option value="([^"]+)">', page.text)
        assert organisation
        answer = await client.post(
            "/console/partners/requests/x-2/approve",
            data={"csrf_token": csrf_of(page.text), "organisation_id": organisation.group(1)},
        )
        assert answer.status_code == 303
    [(key, value)] = console.partners.written
    assert key == b"access:x-2" and value["decision"]["decision"] == "approved"
    assert value["decision"]["by"] == "otto.officer"


async def test_an_editor_curates_previews_and_sends_a_newsletter_now(console: Console) -> None:
    first = load_example(id=str(uuid.uuid4()))
    second = load_example(id=str(uuid.uuid4()))
    state = None
    for record in ({"kind": "item", "event": first}, {"kind": "item", "event": second}):
        state = apply(state, record)
    assert state is not None
    console.newsletters.states["public-digest"] = state.dump()
    async with signed_in(console, "eva.editor") as client:
        listing = await client.get("/console/newsletters")
        assert listing.status_code == 200 and "/console/newsletters/public-digest" in listing.text
        page = await client.get("/console/newsletters/public-digest", params={"lang": "fr"})
        assert page.status_code == 200 and '<html lang="es" dir="ltr">' in page.text
        assert "<h1>Resumen de noticias</h1>" in page.text  # the editor's language
        preview = await client.get(
            "/console/newsletters/public-digest/preview.html", params={"lang": "fr"}
        )
        assert preview.status_code == 200 and first["content"]["fr"]["title"][:20] in preview.text
        token = csrf_of(page.text)
        curated = await client.post(
            "/console/newsletters/public-digest/curation",
            data={
                "csrf_token": token,
                f"pin.{second['id']}": "on",
                f"exclude.{first['id']}": "on",
                "intro.fr": "Bonjour à tous",
            },
        )
        assert curated.status_code == 303
        sent = await client.post(
            "/console/newsletters/public-digest/send-now", data={"csrf_token": token}
        )
        assert sent.status_code == 303
    [(name, curation), (same, compile_)] = console.newsletters.requests
    assert name == same == "public-digest"
    assert curation["kind"] == "curate" and curation["by"] == "eva.editor"
    assert curation["pinned"] == [second["id"]] and curation["excluded"] == [first["id"]]
    assert curation["intro"]["fr"] == "Bonjour à tous" and curation["intro"]["en"] == ""
    assert compile_["kind"] == "compile" and compile_["by"] == "eva.editor"
    async with signed_in(console, "otto.officer") as client:  # an officer is not an editor
        assert (await client.get("/console/newsletters")).status_code == 403


async def test_the_newsletter_item_preview_is_the_event_in_a_newsletter_that_carries_it(
    console: Console,
) -> None:
    async with signed_in(console, "pat.publisher") as client:
        checked = await compose(client, "check")
        assert "newsletter · fr" in checked.text
        [draft] = console.store.all()
        page = await client.get(
            f"/console/events/{draft.id}/preview", params={"channel": "newsletter", "lang": "fr"}
        )
        assert page.status_code == 200 and "channel=newsletter" in page.text
        item = await client.get(
            f"/console/events/{draft.id}/preview.html",
            params={"channel": "newsletter", "lang": "fr"},
        )
        assert item.status_code == 200
        assert "Un nouveau bureau" in item.text and "<h1" in item.text
        assert "frame-ancestors 'self'" in item.headers["content-security-policy"]
