"""Subscribers on the real broker: double opt-in, preferences, one-click unsubscribe, data rights,
staff import, dry run, rebuilding from Kafka, and embargo across a restart."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devstack.mailcatcher import MailCatcher
from tests.conftest import link_in, mail_to
from tests.forms import submit
from tests.helpers import DEMO_ANNOUNCEMENT, EXAMPLES, load_example, wait_until
from tests.hubprocess import TOKEN, HubProcess, shared_hub

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

PEOPLE = {
    "subscribers": [
        {
            "id": "staff-1",
            "kind": "staff",
            "name": "Amina Okafor",
            "language": "en",
            "email": "amina@staff.example.org",
            "department": "DICP",
            "region": "west-africa",
            "country": "SN",
            "office": "Dakar",
        },
        {
            "id": "partner-1",
            "kind": "partner",
            "name": "Daniel Mensah",
            "language": "en",
            "email": "daniel@partner.example.net",
            "organisation": "WAMRN",
        },
    ]
}


stack = shared_hub(PEOPLE["subscribers"])


def status_of(hub: HubProcess, address: str) -> str | None:
    items = hub.get("/api/v1/subscribers", q=address).json()["items"]
    return items[0]["status"] if items else None


def publish_and_wait(hub: HubProcess, catcher: MailCatcher, **changes: object) -> dict[str, object]:
    """Publish an announcement and wait until every email it planned has gone out (the partner
    everyone knows among them): what a test then finds missing was never sent."""
    document = load_example(DEMO_ANNOUNCEMENT, **changes)
    assert hub.publish(document).status_code == 202
    wait_until(
        lambda: any(
            m["X-Hub-Event-Id"] == document["id"]
            for m in mail_to(catcher.outbox, "daniel@partner.example.net")
        ),
        what="the marker partner's email",
    )

    def all_sent() -> bool:
        answer = hub.get(f"/api/v1/events/{document['id']}/status")
        if answer.status_code == 404:  # the status fold has not seen the event yet
            return False
        totals = answer.json()["totals"]
        return bool(totals["planned"]) and totals["sent"] == totals["planned"]

    wait_until(all_sent, what="every planned email sent")
    return document


def test_double_opt_in_then_one_click_unsubscribe(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, catcher = stack
    address = "yasmine@ministere.example.tn"
    form = {
        "email": address,
        "name": "Yasmine",
        "language": "fr",
        "organisation": "Ministère",
        "organisation_type": "government",
        "topics": ["announcement.published"],
    }
    subscribe_url = f"{hub.base_url}/subscribe"
    response = submit(subscribe_url, subscribe_url, form)
    assert response.status_code == 202 and "Check your inbox" in response.text

    (confirmation,) = wait_until(lambda: mail_to(catcher.outbox, address), what="the confirmation")
    assert confirmation["List-Unsubscribe"] is None  # a transactional message, not bulk
    confirm_url = link_in(confirmation, "/subscribe/confirm")

    # Nothing but the confirmation goes out before confirming.
    publish_and_wait(hub, catcher)
    assert len(mail_to(catcher.outbox, address)) == 1

    # Opening the link (as a mail scanner would) changes nothing; the button does.
    page = httpx.get(confirm_url, timeout=30)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert status_of(hub, address) == "pending"
    token = confirm_url.split("t=", 1)[1]
    done = submit(confirm_url, f"{hub.base_url}/subscribe/confirm", {"t": token})
    # Her link names her language: the page that answers is in French.
    assert done.status_code == 200 and "Abonnement confirmé" in done.text
    wait_until(lambda: status_of(hub, address) == "active", what="the subscriber to be active")
    replay = submit(confirm_url, f"{hub.base_url}/subscribe/confirm", {"t": token})
    assert replay.status_code == 410

    news = publish_and_wait(hub, catcher)
    # Waited for, not read at once: deliveries are keyed by recipient, so hers may sit on another
    # partition of the delivery topic than the marker partner's and be sent a little after his.
    (email,) = wait_until(
        lambda: [m for m in mail_to(catcher.outbox, address) if m["X-Hub-Event-Id"] == news["id"]],
        what="the news for the confirmed subscriber",
    )
    assert email["Subject"].strip() == news["content"]["fr"]["title"]  # type: ignore[index]
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_url = re.search(r"<(https?://[^>]+/unsubscribe\?t=[^>]+)>", email["List-Unsubscribe"])
    assert https_url and "<mailto:" in email["List-Unsubscribe"]
    unsubscribe_url = https_url.group(1)
    assert "/preferences?t=" in email.get_body(("html",)).get_content()  # type: ignore[union-attr]

    # A link checker's GET must not unsubscribe anyone.
    assert httpx.get(unsubscribe_url, timeout=30).status_code == 200
    assert status_of(hub, address) == "active"
    one_click = httpx.post(
        unsubscribe_url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert one_click.status_code == 200
    wait_until(lambda: status_of(hub, address) == "unsubscribed", what="the unsubscription")
    later = publish_and_wait(hub, catcher)
    assert not [m for m in mail_to(catcher.outbox, address) if m["X-Hub-Event-Id"] == later["id"]]


def test_subscribing_a_known_address_looks_the_same_and_tells_only_the_owner(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    url = f"{hub.base_url}/subscribe"
    first = submit(url, url, {"email": "daniel@partner.example.net"})
    stranger = submit(url, url, {"email": "nobody@example.org"})
    assert first.status_code == stranger.status_code == 202
    assert first.text.replace("daniel@partner.example.net", "X") == stranger.text.replace(
        "nobody@example.org", "X"
    )
    notice = wait_until(
        lambda: [
            m
            for m in mail_to(catcher.outbox, "daniel@partner.example.net")
            if "already" in str(m["Subject"])
        ],
        what="the notice to the owner of the address",
    )
    assert "/preferences?t=" in notice[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert status_of(hub, "daniel@partner.example.net") == "active"


def test_bad_subscribe_form_names_every_field(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, _ = stack
    url = f"{hub.base_url}/subscribe"
    response = submit(
        url, url, {"email": "not an address", "language": "klingon", "topics": ["gossip"]}
    )
    assert response.status_code == 400
    for field in ("email", "language", "topics"):
        assert f'data-field="{field}"' in response.text


def test_forged_links_are_refused(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, _ = stack
    for path in ("/preferences", "/unsubscribe", "/subscribe/confirm", "/preferences/export"):
        response = httpx.get(f"{hub.base_url}{path}", params={"t": "eyJzIjoiYSJ9.forged"})
        assert response.status_code == 400
    assert httpx.post(f"{hub.base_url}/unsubscribe", params={"t": "x.y"}).status_code == 400


def test_preference_centre_language_export_and_erasure(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    news = publish_and_wait(hub, catcher)
    (email,) = [
        m
        for m in mail_to(catcher.outbox, "daniel@partner.example.net")
        if m["X-Hub-Event-Id"] == news["id"]
    ]
    preferences_url = link_in(email, "/preferences")
    token = preferences_url.split("t=", 1)[1]
    page = httpx.get(preferences_url, timeout=30)
    assert page.status_code == 200 and "Daniel Mensah" in page.text
    assert page.headers["x-frame-options"] == "DENY"

    saved = submit(
        preferences_url,
        f"{hub.base_url}/preferences",
        {
            "t": token,
            "language": "es",
            "topics": ["announcement.published"],
            "channels": ["email"],
            "mode": "instant",
        },
    )
    assert saved.status_code == 200 and "saved" in saved.text
    wait_until(
        lambda: (
            hub.get("/api/v1/subscribers", q="partner-1").json()["items"][0]["language"] == "es"
        ),
        what="the new language",
    )
    spanish = publish_and_wait(hub, catcher)
    latest = [
        m
        for m in mail_to(catcher.outbox, "daniel@partner.example.net")
        if m["X-Hub-Event-Id"] == spanish["id"]
    ]
    assert latest[0]["Subject"].strip() == spanish["content"]["es"]["title"]  # type: ignore[index]

    exported = httpx.get(f"{hub.base_url}/preferences/export", params={"t": token})
    assert exported.status_code == 200
    data = exported.json()
    record = data["subscriber"]
    assert record["email"] == "daniel@partner.example.net" and "confirmation_nonce" not in record
    assert "data_key" not in record
    # Everything held: the deliveries to them (from the outcomes) and the audit entries about them.
    assert {d["event_id"] for d in data["deliveries"]} >= {news["id"], spanish["id"]}
    assert "subscriber.preferences-changed" in {e["action"] for e in data["audit"]}

    erased = submit(preferences_url, f"{hub.base_url}/preferences/delete", {"t": token})
    assert erased.status_code == 200
    wait_until(lambda: hub.subscriber_count(q="partner-1") == 0, what="the erasure")
    assert httpx.get(preferences_url).status_code == 400  # nobody behind the link any more
    audit = hub.get("/api/v1/audit", subject="partner-1").json()
    assert {"subscriber.preferences-changed", "subscriber.erased"} <= {e["action"] for e in audit}
    hub.load_subscribers(hub.subscribers_file)  # put the marker partner back for later tests


def test_officer_api_lists_counts_and_dry_runs(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, _ = stack
    assert hub.get("/api/v1/subscribers").status_code == 200
    assert httpx.get(f"{hub.base_url}/api/v1/subscribers").status_code == 401
    counts = hub.get("/api/v1/audiences").json()
    assert counts["staff_by_department"] == {"DICP": 1}
    staff_update = load_example(
        EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json",
        audience={},
    )
    report = httpx.post(
        f"{hub.base_url}/api/v1/events/dry-run",
        json=staff_update,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ).json()
    assert report["by_kind"] == {"staff": 1} and report["recipients"] == 1
    path = hub.workdir / "dry.json"
    path.write_text(json.dumps(staff_update))
    cli = hub.cli("dry-run", str(path))
    assert json.loads(cli.stdout)["by_kind"] == {"staff": 1}


STAFF_CSV = (
    "staff_id,name,email,language,department,office,country,region\n"
    "101,Amadou Diallo,amadou@staff.example.org,fr,DICP,Dakar,SN,west-africa\n"
    "102,Lucía García,lucia@staff.example.org,es,Research,San José,CR,central-america\n"
)


def test_staff_import_creates_updates_and_offboards(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, _ = stack
    path = hub.workdir / "staff.csv"
    path.write_text(STAFF_CSV, encoding="utf-8")
    first = hub.cli("staff", "import", str(path))
    assert "2 joined" in first.stdout and "staff-1" in first.stdout  # staff-1 is not in the file
    wait_until(lambda: hub.subscriber_count(q="staff-101") == 1, what="the imported staff")
    wait_until(lambda: status_of(hub, "staff-1") == "unsubscribed", what="the leaver")
    again = hub.cli("staff", "import", str(path))
    assert "no changes" in again.stdout
    path.write_text(STAFF_CSV.replace("Research,San José", "Research,Panama"), encoding="utf-8")
    moved = hub.cli("staff", "import", str(path))
    assert "1 changed" in moved.stdout and "office" in moved.stdout

    broken = hub.workdir / "broken.csv"
    broken.write_text(STAFF_CSV + "103,,nobody,xx,DICP,Tunis,tn,mena\n", encoding="utf-8")
    refused = hub.cli("staff", "import", str(broken), check=False)
    assert refused.returncode == 2
    assert "row 4" in refused.stderr and "email" in refused.stderr and "country" in refused.stderr
    assert hub.subscriber_count(q="staff-103") == 0  # nothing half-applied
    hub.load_subscribers(hub.subscribers_file)  # staff-1 back for later tests


def test_worker_rebuilds_every_subscriber_after_losing_its_disk(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, _ = stack
    before = hub.get("/api/v1/subscribers", limit="1000").json()
    hub.kill()
    shutil.rmtree(hub.workdir / "data")
    hub.start()
    wait_until(
        lambda: hub.get("/api/v1/subscribers", limit="1000").json() == before,
        what="the same subscribers after the rebuild",
    )


def test_embargo_holds_across_a_restart_and_releases_on_time(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    # Long enough for a stop and a start on a busy machine (a worker start reads every table).
    until = datetime.now(UTC) + timedelta(seconds=60)
    document = load_example(
        EXAMPLES / "research.released.v1" / "valid" / "digital-remittances-west-africa.json",
        classification="public",
    )
    document["research"]["embargo_until"] = until.isoformat()
    assert hub.publish(document).status_code == 202
    wait_until(
        lambda: any(
            "embargoed" in r
            for r in hub.get(f"/api/v1/events/{document['id']}/status")
            .json()
            .get("not_delivered", [])
        ),
        what="the embargo to be recorded",
    )
    hub.stop()
    hub.start()
    assert datetime.now(UTC) < until, "the restart took longer than the embargo"
    delivered = wait_until(
        lambda: [
            p
            for p in catcher.outbox.glob("*.eml")
            if document["id"] in p.read_text(errors="replace")
        ],
        timeout=90,
        what="the embargoed event's emails",
    )
    sent_at = min(int(p.name.split("-", 1)[0]) for p in delivered) / 1e9
    assert sent_at >= until.timestamp()
    assert time.time() - until.timestamp() < 60
