"""The people, partner organisations and newsletters of the partner-access tests, and their steps:
subscribing through the public form, publishing, waiting for a fan-out, reading mail and pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from devstack.mailcatcher import MailCatcher
from tests.conftest import mail_to, text_of
from tests.forms import submit
from tests.helpers import DEMO_ANNOUNCEMENT, EXAMPLES, load_example, wait_until
from tests.hubprocess import TOKEN, HubProcess

AUTH = {"Authorization": f"Bearer {TOKEN}"}
STAFF_UPDATE = EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json"
PEOPLE = [
    {
        "id": "staff-1",
        "kind": "staff",
        "name": "Amina",
        "language": "en",
        "email": "amina@staff.example.org",
        "department": "DICP",
    },
    {
        "id": "staff-2",
        "kind": "staff",
        "name": "Bruno",
        "language": "en",
        "email": "bruno@staff.example.org",
        "department": "HR",
    },
    {  # claimed partner status on the old form: reads as public with a pending request
        "id": "legacy-1",
        "kind": "partner",
        "name": "Old Claim",
        "language": "en",
        "email": "old@claims.example.com",
        "organisation": "Sahel NGO",
    },
]
PARTNERS = [
    {
        "id": "sahel-ngo",
        "name": "Sahel NGO",
        "kind": "ngo",
        "country": "SN",
        "domains": ["sahel-ngo.org"],
    }
]
NEWSLETTERS = {
    "newsletters": [
        {
            "name": "partners-monthly",
            "title": {"en": "Partners update"},
            "audience": "partners",
            "schedule": "0 9 1 * *",
        },
        {
            "name": "staff-weekly",
            "title": {"en": "Staff weekly"},
            "audience": "staff",
            "schedule": "0 9 * * mon",
        },
        {
            "name": "public-digest",
            "title": {"en": "Digest"},
            "audience": "public",
            "schedule": "0 9 1 * *",
        },
    ]
}
MEMBER, TYPED, ASKER = "member@sahel-ngo.org", "typed@example.com", "asker@gmail.com"
PUBLIC_READERS = (TYPED, ASKER, "old@claims.example.com")


def subscribe_and_confirm(hub: HubProcess, catcher: MailCatcher, **form: Any) -> str:
    """The public form, then the confirmation link's button; returns the preferences token."""
    url = f"{hub.base_url}/subscribe"
    response = submit(url, url, form)
    assert response.status_code == 202, response.text
    (confirmation,) = wait_until(
        lambda: mail_to(catcher.outbox, form["email"]), what=f"{form['email']}'s confirmation"
    )
    found = re.search(r"/subscribe/confirm\?t=([\w.-]+)", text_of(confirmation))
    assert found
    confirm = f"{hub.base_url}/subscribe/confirm"
    done = submit(f"{confirm}?t={found.group(1)}", confirm, {"t": found.group(1)})
    assert done.status_code == 200
    token = re.search(r"/preferences\?t=([\w.-]+)", done.text)
    assert token
    wait_until(
        lambda: (
            hub.get("/api/v1/subscribers", q=form["email"]).json()["items"][0]["status"] == "active"
        ),
        what=f"{form['email']} confirmed",
    )
    return token.group(1)


def publish(hub: HubProcess, title: str, classification: str) -> str:
    document = load_example(DEMO_ANNOUNCEMENT, classification=classification)
    for content in document["content"].values():
        content["title"] = title
    assert hub.publish(document).status_code == 202
    return str(document["id"])


def fanned_out(hub: HubProcess, event_id: str) -> dict[str, int]:
    """Wait until every planned delivery of the event is sent; the totals."""

    def done() -> dict[str, int] | None:
        response = hub.get(f"/api/v1/events/{event_id}/status")
        if response.status_code != 200:
            return None
        totals: dict[str, int] = response.json()["totals"]
        return totals if totals["planned"] and totals["sent"] == totals["planned"] else None

    return wait_until(done, timeout=90, what=f"event {event_id} sent to everyone planned")


def got(outbox: Path, address: str, event_id: str) -> bool:
    return any(m["X-Hub-Event-Id"] == event_id for m in mail_to(outbox, address))


def page(hub: HubProcess, path: str, token: str = "", officer: bool = False) -> httpx.Response:
    params = {"t": token} if token else {}
    return httpx.get(
        f"{hub.base_url}{path}", params=params, headers=AUTH if officer else {}, timeout=30
    )


def hub_editions(hub: HubProcess, name: str) -> list[str]:
    index = httpx.get(f"{hub.base_url}/newsletters/{name}", headers=AUTH, timeout=30)
    found = re.findall(rf"/newsletters/{name}/({name}-\w+)\?lang", index.text)
    return list(dict.fromkeys(found))  # one link per language: each edition once, newest first
