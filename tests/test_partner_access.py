"""Partner access on the real broker and SMTP server: granted by the registry, never claimed on a
form; partner-only items reach no public subscriber by email, newsletter, archive page or feed."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest

from devstack.mailcatcher import MailCatcher
from tests.conftest import mail_to, read_outbox, text_of
from tests.helpers import load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub
from tests.partnerworld import (
    ASKER,
    AUTH,
    MEMBER,
    NEWSLETTERS,
    PARTNERS,
    PEOPLE,
    PUBLIC_READERS,
    STAFF_UPDATE,
    TYPED,
    fanned_out,
    got,
    hub_editions,
    page,
    publish,
    subscribe_and_confirm,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


stack = shared_hub(PEOPLE, PARTNERS, newsletters=NEWSLETTERS, HUB_TELEGRAM__ENABLED="false")


def test_partner_items_reach_only_partners_by_every_channel_page_and_feed(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    outbox = catcher.outbox
    member = subscribe_and_confirm(hub, catcher, email=MEMBER, name="Moussa", language="en")
    typed = subscribe_and_confirm(
        hub, catcher, email=TYPED, name="Tess", language="en", organisation="Sahel NGO"
    )
    asker = subscribe_and_confirm(
        hub,
        catcher,
        email=ASKER,
        name="Awa",
        language="fr",
        organisation="Sahel NGO",
        organisation_type="ngo",
        partner_access="1",
    )
    people = {s["email"]: s for s in hub.get("/api/v1/subscribers").json()["items"]}
    assert people[MEMBER]["audience"] == "partner"
    assert people[MEMBER]["partner_organisation"] == "sahel-ngo"
    assert people[TYPED]["audience"] == "public" and people[TYPED]["kind"] == "public"
    assert people[ASKER]["audience"] == "public" and people[ASKER]["partner_request"] == "pending"

    # 1. Instant email: the partner-only item reaches staff and the domain's member only.
    secret = "Partners only: pipeline of joint programmes"
    first = publish(hub, secret, "partners")
    assert fanned_out(hub, first)["sent"] == 3
    assert got(outbox, MEMBER, first) and got(outbox, "amina@staff.example.org", first)
    assert not any(got(outbox, address, first) for address in PUBLIC_READERS)

    # 2. Newsletters: the partners edition goes to the member only; the public one never has it.
    public_title = "Open call for proposals"
    fanned_out(hub, publish(hub, public_title, "public"))
    for name in ("partners-monthly", "public-digest"):
        response = httpx.post(f"{hub.base_url}/api/v1/newsletters/{name}/send-now", headers=AUTH)
        assert response.status_code == 202

    def edition_of(name: str) -> str | None:
        found = hub_editions(hub, name)
        return found[0] if found else None

    partners_edition = wait_until(lambda: edition_of("partners-monthly"), what="partners edition")
    public_edition = wait_until(lambda: edition_of("public-digest"), what="public edition")
    wait_until(
        lambda: any(
            str(m["X-Hub-Event-Id"]).startswith("newsletter:partners-monthly")
            for m in mail_to(outbox, MEMBER)
        ),
        what="the member's partners edition",
    )
    for message in read_outbox(outbox):
        if str(message["X-Hub-Event-Id"]).startswith("newsletter:partners-monthly"):
            assert message["To"].addresses[0].addr_spec == MEMBER
            assert secret in text_of(message)
        if message["To"].addresses[0].addr_spec in PUBLIC_READERS:
            assert secret not in text_of(message)

    # 3. Archive index, edition pages and feeds, per reader.
    partners_page = f"/newsletters/partners-monthly/{partners_edition}"
    for token in ("", typed, asker, "not-a-token"):
        assert page(hub, "/newsletters/partners-monthly", token).status_code == 401
        assert page(hub, partners_page, token).status_code == 401
        assert page(hub, "/newsletters/partners-monthly/feed.atom", token).status_code == 401
    shown = page(hub, partners_page, member)
    assert shown.status_code == 200 and secret in shown.text
    assert secret in page(hub, "/newsletters/partners-monthly/feed.atom", member).text
    assert secret in page(hub, partners_page, officer=True).text
    for token in ("", typed, member):
        public_page = page(hub, f"/newsletters/public-digest/{public_edition}", token)
        assert public_page.status_code == 200 and public_title in public_page.text
        assert secret not in public_page.text
        assert secret not in page(hub, "/newsletters/public-digest/feed.atom", token).text

    # 4. An officer approves the request; the person is told in French and then receives.
    requests = httpx.get(f"{hub.base_url}/api/v1/partner-requests", headers=AUTH).json()
    assert {r["email"] for r in requests} == {ASKER, "old@claims.example.com"}
    asker_id = people[ASKER]["id"]
    approved = httpx.post(
        f"{hub.base_url}/api/v1/partner-requests/{asker_id}/approve",
        json={"organisation_id": "sahel-ngo", "comment": "Bienvenue"},
        headers=AUTH,
    )
    assert approved.status_code == 200, approved.text
    notice = wait_until(
        lambda: [m for m in mail_to(outbox, ASKER) if "accès partenaire" in str(m["Subject"])],
        what="the approval notice",
    )
    assert "Bienvenue" in text_of(notice[0])
    wait_until(
        lambda: hub.get("/api/v1/subscribers", q=ASKER).json()["items"][0]["audience"] == "partner",
        what="the approval to count",
    )
    assert page(hub, partners_page, asker).status_code == 200
    second = publish(hub, "Partners only: second briefing", "partners")
    assert fanned_out(hub, second)["sent"] == 4
    assert got(outbox, ASKER, second) and not got(outbox, TYPED, second)

    # 5. Revoking the organisation downgrades its people, by domain and by approval, at once.
    revoked = httpx.post(f"{hub.base_url}/api/v1/partners/sahel-ngo/revoke", headers=AUTH)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    wait_until(
        lambda: hub.get("/api/v1/subscribers", q=MEMBER).json()["items"][0]["audience"] == "public",
        what="the revocation to count",
    )
    third = publish(hub, "Partners only: after the revocation", "partners")
    assert fanned_out(hub, third)["sent"] == 2
    assert not got(outbox, MEMBER, third) and not got(outbox, ASKER, third)
    assert page(hub, partners_page, member).status_code == 401

    # Every change is in the audit trail, with who made it.
    trail = httpx.get(
        f"{hub.base_url}/api/v1/audit", params={"subject": "sahel-ngo"}, headers=AUTH
    ).json()
    assert [e["action"] for e in trail] == ["partner.registered", "partner.revoked"]
    decided = httpx.get(
        f"{hub.base_url}/api/v1/audit", params={"subject": asker_id}, headers=AUTH
    ).json()
    assert any(
        e["action"] == "partner.access-approved" and e["actor"] == "test-officer" for e in decided
    )


def test_staff_archive_shows_targeted_items_only_to_the_staff_they_target(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    targeted, everyone = "For DICP only: new team structure", "For all staff: office closure"
    for title, targeting in ((targeted, {"departments": ["DICP"]}), (everyone, {})):
        document = load_example(STAFF_UPDATE, audience=targeting)
        for content in document["content"].values():
            content["title"] = title
        assert hub.publish(document).status_code == 202
        fanned_out(hub, str(document["id"]))
    response = httpx.post(f"{hub.base_url}/api/v1/newsletters/staff-weekly/send-now", headers=AUTH)
    assert response.status_code == 202

    def edition_mail(address: str) -> EmailMessage | None:
        found = [
            m
            for m in mail_to(catcher.outbox, address)
            if str(m["X-Hub-Event-Id"]).startswith("newsletter:staff-weekly")
        ]
        return found[0] if found else None

    dicp = wait_until(lambda: edition_mail("amina@staff.example.org"), what="DICP's edition")
    hr = wait_until(lambda: edition_mail("bruno@staff.example.org"), what="HR's edition")
    assert targeted in text_of(dicp) and everyone in text_of(dicp)
    assert targeted not in text_of(hr) and everyone in text_of(hr)
    (edition,) = hub_editions(hub, "staff-weekly")
    path = f"/newsletters/staff-weekly/{edition}"
    for message, sees_targeted in ((dicp, True), (hr, False)):
        token = re.search(r"/preferences\?t=([\w.-]+)", text_of(message))
        assert token
        shown = page(hub, path, token.group(1))
        assert shown.status_code == 200 and everyone in shown.text
        assert (targeted in shown.text) is sees_targeted
        feed = page(hub, "/newsletters/staff-weekly/feed.atom", token.group(1)).text
        assert (targeted in feed) is sees_targeted
    assert page(hub, path).status_code == 401
    assert targeted in page(hub, path, officer=True).text


def test_the_registry_refuses_bad_changes_and_names_every_problem(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, _catcher = stack
    url = f"{hub.base_url}/api/v1/partners"
    assert httpx.post(url, json={}).status_code == 401
    bad = httpx.post(
        url,
        json={"id": "Bad Id", "name": "x", "kind": "club", "domains": ["gmail.com"]},
        headers=AUTH,
    )
    assert bad.status_code == 422
    assert {p["path"] for p in bad.json()["problems"]} == {"$.id", "$.kind", "$.domains[0]"}
    clash = httpx.post(
        url,
        json={"id": "copycat", "name": "Copycat", "kind": "ngo", "domains": ["sahel-ngo.org"]},
        headers=AUTH,
    )
    assert clash.status_code == 409

    # The CLI: the same rules, exit status 2 naming the field, and the registry as it stands.
    refused = hub.cli("partners", "add", "gov-sn", "--name", "Gov", "--kind", "club", check=False)
    assert refused.returncode == 2 and "kind" in refused.stderr
    added = hub.cli(
        "partners", "add", "gov-sn", "--name", "Ministry", "--kind", "government",
        "--country", "SN", "--domain", "gov.example.sn",
    )  # fmt: skip
    assert "registered gov-sn" in added.stdout
    hub.cli("partners", "domain-add", "gov-sn", "travail.gov.example.sn")
    missing = hub.cli("partners", "domain-remove", "gov-sn", "nope.example.sn", check=False)
    assert missing.returncode == 2
    wait_until(
        lambda: any(
            o["id"] == "gov-sn" and "travail.gov.example.sn" in o["domains"]
            for o in httpx.get(url, headers=AUTH).json()
        ),
        what="the CLI's organisation in the worker",
    )
    listed = hub.cli("partners", "list")
    assert "gov-sn" in listed.stdout and "gov.example.sn" in listed.stdout
