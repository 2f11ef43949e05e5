"""The web layer over in-memory services: no Kafka, no worker, only FastAPI and plain fakes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.access.credentials import Credential, CredentialIndex, issue
from hub.access.roles import Role
from hub.intake.publishing import Accepted
from hub.intake.schemas import SchemaCatalog
from hub.model.deliveries import ChannelKey
from hub.model.newsletter_state import NewsletterState
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import PartnerRequest, Subscriber, SubscriberKind
from hub.newsletters.config import Newsletter, load_newsletters
from hub.newsletters.state import apply
from hub.partners.registry import PartnerRegistry
from hub.rendering.environment import Renderer
from hub.services import Placement
from hub.settings import REPO_ROOT, Settings
from hub.subscribers.tokens import Signer
from hub.web.app import WebServices, create_api
from tests.helpers import PARTNER_DOMAIN, PARTNERS, event, load_example, subscriber

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CLI_MODULES = ("newsletters", "partners", "subscribers", "tokens")
DEMO_NEWSLETTERS = REPO_ROOT / "devstack" / "demo" / "newsletters.yaml"


@dataclass
class FakePublisher:
    published: list[tuple[Accepted, str]] = field(default_factory=list)

    async def publish(self, accepted: Accepted, published_by: str) -> Placement:
        self.published.append((accepted, published_by))
        return Placement(partition=2, offset=40 + len(self.published))


@dataclass
class FakeAudit:
    written: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)

    async def record(self, key: bytes, entry: dict[str, Any]) -> None:
        self.written.append((key, entry))

    async def entries(self, subject: str | None, limit: int) -> list[dict[str, Any]]:
        return [e for _k, e in self.written if subject is None or e["subject"] == subject][-limit:]


@dataclass
class FakeStatus:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    publishers: dict[str, str] = field(default_factory=dict)

    def event(self, event_id: str) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
        return None, list(self.records.get(event_id, []))

    def publisher_of(self, event_id: str) -> str | None:
        return self.publishers.get(event_id)

    def deliveries(self) -> Iterable[Mapping[str, Any]]:
        return [s for states in self.records.values() for s in states]


@dataclass
class FakeDirectory:
    people: dict[str, Subscriber] = field(default_factory=dict)

    def get(self, subscriber_id: str) -> Subscriber | None:
        return self.people.get(subscriber_id)

    def by_email(self, email: str) -> Subscriber | None:
        return next((s for s in self.people.values() if s.email == email), None)

    def __iter__(self) -> Iterator[Subscriber]:
        return iter(list(self.people.values()))


@dataclass
class FakePartners:
    current: PartnerRegistry
    written: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)

    def registry(self) -> PartnerRegistry:
        return self.current

    async def write(self, records: Sequence[tuple[bytes, dict[str, Any]]]) -> None:
        self.written.extend(records)


@dataclass
class FakePeople:
    saved: list[tuple[Subscriber, Cause, str]] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)

    async def save(self, subscriber: Subscriber, cause: Cause, actor: str) -> None:
        self.saved.append((subscriber, cause, actor))

    async def erase(self, subscriber_id: str) -> None:
        self.erased.append(subscriber_id)

    async def export(self, subscriber: Subscriber) -> dict[str, Any]:
        return {"subscriber": {"id": subscriber.id}}


@dataclass
class FakeNewsletters:
    newsletters: Mapping[str, Newsletter] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    states: dict[str, Any] = field(default_factory=dict)  # as in the table: name -> JSON

    def state(self, name: str) -> NewsletterState:
        return NewsletterState.stored(self.states.get(name))

    def editions(self) -> Iterable[dict[str, Any]]:
        return []

    def edition(self, edition_id: str) -> dict[str, Any] | None:
        return None

    async def request(self, name: str, record: dict[str, Any]) -> None:
        self.requests.append((name, record))


@dataclass
class FakeCredentials:
    index: CredentialIndex

    def get(self, name: str) -> Credential | None:
        return self.index.get(name)

    def all(self) -> list[Credential]:
        return self.index.all()

    async def save(self, credential: Credential) -> None:
        self.index.apply(credential.name, credential.as_record())


@dataclass
class Hub:
    """The app over fakes, the fakes to look into, and a token per role."""

    client: httpx.AsyncClient
    publisher: FakePublisher
    audit: FakeAudit
    status: FakeStatus
    directory: FakeDirectory
    partners: FakePartners
    newsletters: FakeNewsletters
    tokens: dict[Role, str]

    def as_role(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def fake_services(
    settings: Settings, index: CredentialIndex | None = None, **changes: Any
) -> WebServices:
    """The web layer's services over fakes, no Kafka; `changes` replace any of them."""
    if index is None:
        index = CredentialIndex()
        index.ready = True
    partners, people = FakePartners(PARTNERS), FakePeople()
    key = settings.secret_key.get_secret_value() if settings.secret_key else "a" * 32
    built = WebServices(
        settings=settings,
        catalog=SchemaCatalog(settings.schemas_dir),
        renderer=Renderer(settings.templates_dir, languages=settings.spoken()),
        signer=Signer(key.encode()),
        channels=[ChannelKey.EMAIL],
        publisher=FakePublisher(),
        audit=FakeAudit(),
        status=FakeStatus(),
        directory=FakeDirectory(),
        partners=partners,
        partner_commands=partners,
        subscriber_commands=people,
        personal_data=people,
        newsletters=FakeNewsletters(load_newsletters(DEMO_NEWSLETTERS)),
        credentials=FakeCredentials(index),
        tokens=index,
    )
    return replace(built, **changes)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("a-stable-secret-of-enough-length"))
    index = CredentialIndex()
    tokens: dict[Role, str] = {}
    for role in Role:
        credential, tokens[role] = issue(f"the-{role}", [role], "test", NOW, None)
        index.apply(credential.name, credential.as_record())
    index.ready = True
    publisher, audit, status = FakePublisher(), FakeAudit(), FakeStatus()
    directory, partners, people = FakeDirectory(), FakePartners(PARTNERS), FakePeople()
    newsletters = FakeNewsletters(load_newsletters(DEMO_NEWSLETTERS))
    services = fake_services(
        settings,
        index,
        publisher=publisher,
        audit=audit,
        status=status,
        directory=directory,
        partners=partners,
        partner_commands=partners,
        subscriber_commands=people,
        personal_data=people,
        newsletters=newsletters,
    )
    transport = httpx.ASGITransport(app=create_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield Hub(client, publisher, audit, status, directory, partners, newsletters, tokens)


async def test_publish_hands_the_valid_event_to_the_publisher_and_audits_it(hub: Hub) -> None:
    document = load_example()
    answer = await hub.client.post(
        "/api/v1/events", json=document, headers=hub.as_role(Role.PUBLISHER)
    )
    assert answer.status_code == 202
    assert answer.json() == {
        "id": document["id"],
        "type": "announcement.published",
        "topic": "hub.events.announcement.published.v1",
        "partition": 2,
        "offset": 41,
        "languages_missing": ["ar"],  # the demo announcement is in en, fr and es
    }
    [(accepted, by)] = hub.publisher.published
    assert accepted.document == document and by == "the-publisher"
    [(key, entry)] = hub.audit.written
    assert key == document["id"].encode()
    assert (entry["action"], entry["actor"], entry["detail"]["offset"]) == (
        "event.published",
        by,
        41,
    )


async def test_publish_without_a_token_is_401_and_with_another_role_403(hub: Hub) -> None:
    document = load_example()
    assert (await hub.client.post("/api/v1/events", json=document)).status_code == 401
    officer = await hub.client.post(
        "/api/v1/events", json=document, headers=hub.as_role(Role.OFFICER)
    )
    assert officer.status_code == 403
    wrong = await hub.client.post(
        "/api/v1/events", json=document, headers={"Authorization": "Bearer not-a-token"}
    )
    assert wrong.status_code == 403
    assert hub.publisher.published == [] and hub.audit.written == []


async def test_an_invalid_event_never_reaches_the_publisher(hub: Hub) -> None:
    document = load_example()
    del document["classification"]
    answer = await hub.client.post(
        "/api/v1/events", json=document, headers=hub.as_role(Role.PUBLISHER)
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "event refused"
    assert hub.publisher.published == []


def delivery_state(event_id: str, status: str) -> dict[str, Any]:
    return {
        "delivery_id": f"d-{status}",
        "event_id": event_id,
        "recipient_id": "ext-1",
        "channel": "email",
        "language": "fr",
        "status": status,
        "attempt": 0,
        "reason": "mailbox full" if status == "failed" else "",
        "at": NOW.isoformat(),
    }


async def test_status_is_read_from_the_status_reader_and_kept_from_other_publishers(
    hub: Hub,
) -> None:
    hub.status.records["ev-1"] = [delivery_state("ev-1", "sent"), delivery_state("ev-1", "failed")]
    hub.status.publishers["ev-1"] = "someone-else"
    officer = await hub.client.get("/api/v1/events/ev-1/status", headers=hub.as_role(Role.OFFICER))
    assert officer.status_code == 200
    assert officer.json()["channels"]["email"]["fr"]["sent"] == 1
    assert [f["reason"] for f in officer.json()["failures"]] == ["mailbox full"]
    not_theirs = await hub.client.get(
        "/api/v1/events/ev-1/status", headers=hub.as_role(Role.PUBLISHER)
    )
    assert not_theirs.status_code == 404
    hub.status.publishers["ev-1"] = "the-publisher"
    theirs = await hub.client.get("/api/v1/events/ev-1/status", headers=hub.as_role(Role.PUBLISHER))
    assert theirs.status_code == 200 and theirs.json() == officer.json()


async def test_partner_list_counts_the_people_each_organisation_makes_partners(hub: Hub) -> None:
    hub.directory.people["p-1"] = subscriber("p-1", SubscriberKind.PARTNER)
    hub.directory.people["x-1"] = subscriber("x-1", SubscriberKind.PUBLIC)
    answer = await hub.client.get("/api/v1/partners", headers=hub.as_role(Role.OFFICER))
    assert answer.status_code == 200
    [organisation] = answer.json()
    assert organisation["id"] == "example-partner"
    assert organisation["domains"] == [PARTNER_DOMAIN]
    assert organisation["partners"] == 1
    editor = await hub.client.get("/api/v1/partners", headers=hub.as_role(Role.EDITOR))
    assert editor.status_code == 403


async def test_a_new_partner_is_written_once_and_a_clashing_one_not_at_all(hub: Hub) -> None:
    body = {"id": "unhcr", "name": "UNHCR", "kind": "un-agency", "domains": ["unhcr.org"]}
    created = await hub.client.post(
        "/api/v1/partners", json=body, headers=hub.as_role(Role.OFFICER)
    )
    assert created.status_code == 201 and created.json()["domains"] == ["unhcr.org"]
    [(key, value)] = hub.partners.written
    assert key == b"org:unhcr"
    assert (value["cause"], value["actor"]) == ("registered", "the-officer")
    clash = {**body, "id": "other", "domains": [PARTNER_DOMAIN]}
    refused = await hub.client.post(
        "/api/v1/partners", json=clash, headers=hub.as_role(Role.OFFICER)
    )
    assert refused.status_code == 409
    assert len(hub.partners.written) == 1


async def test_an_approval_writes_the_officers_decision(hub: Hub) -> None:
    asked = PartnerRequest(organisation="Example partner", at=NOW.isoformat())
    hub.directory.people["x-2"] = subscriber("x-2", SubscriberKind.PUBLIC, partner_request=asked)
    pending = await hub.client.get("/api/v1/partner-requests", headers=hub.as_role(Role.OFFICER))
    assert [r["subscriber_id"] for r in pending.json()] == ["x-2"]
    answer = await hub.client.post(
        "/api/v1/partner-requests/x-2/approve",
        json={"organisation_id": "example-partner", "comment": "welcome"},
        headers=hub.as_role(Role.OFFICER),
    )
    assert answer.status_code == 200
    [(key, value)] = hub.partners.written
    assert key == b"access:x-2"
    assert value["decision"]["decision"] == "approved"
    assert value["decision"]["organisation_id"] == "example-partner"
    unknown = await hub.client.post(
        "/api/v1/partner-requests/nobody/decline", json={}, headers=hub.as_role(Role.OFFICER)
    )
    assert unknown.status_code == 404 and len(hub.partners.written) == 1


def test_the_web_layer_and_the_cli_load_without_faust_or_the_runtime() -> None:
    """`hub worker` alone brings the runtime in (lazily); a fresh interpreter shows it."""
    modules = ["hub.web.app", "hub.cli.main", *(f"hub.cli.{m}" for m in CLI_MODULES)]
    probe = (
        f"import sys; import {', '.join(modules)}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('faust', 'mode')"
        " or m.startswith('hub.runtime')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


async def test_the_preview_reads_the_stored_newsletter_state(hub: Hub) -> None:
    a, b = event(), event()
    state = None
    for record in (
        {"kind": "item", "event": a.document},
        {"kind": "item", "event": b.document},
        {"kind": "curate", "pinned": [b.id], "intro": {"en": "Hello"}},
    ):
        state = apply(state, record)
    assert state is not None
    hub.newsletters.states["public-digest"] = state.dump()
    editor = hub.as_role(Role.EDITOR)
    listed = (await hub.client.get("/api/v1/newsletters", headers=editor)).json()
    assert {n["name"]: n["pending_items"] for n in listed}["public-digest"] == 2
    preview = await hub.client.get("/api/v1/newsletters/public-digest/preview", headers=editor)
    assert preview.status_code == 200
    assert [item["id"] for item in preview.json()["items"]] == [b.id, a.id]
    assert preview.json()["curation"] == {
        "pinned": [b.id],
        "excluded": [],
        "order": [],
        "intro": {"en": "Hello"},
    }


async def test_an_unreadable_newsletter_state_is_an_error_not_an_empty_newsletter(hub: Hub) -> None:
    hub.newsletters.states["public-digest"] = {"pending": "junk", "curation": {}, "editions": []}
    editor = hub.as_role(Role.EDITOR)
    for path in ("/api/v1/newsletters", "/api/v1/newsletters/public-digest/preview"):
        answer = await hub.client.get(path, headers=editor)
        assert answer.status_code == 500
        assert "bad newsletter state record: $.pending" in answer.json()["detail"]
