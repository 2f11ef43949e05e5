"""Three workers of one hub on one machine (one consumer group, one secret, a web port each): every
request about an event or a newsletter gets the same answer from each of them, whichever holds it.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from hub.kafka.partitioning import partition_of
from hub.web.routing import ROUTED_BY
from tests.conftest import free_port
from tests.helpers import load_example, wait_until
from tests.hubprocess import TOKEN, HubProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(480)]

PARTITIONS = 3
PEOPLE = [
    {
        "id": f"reader-{language}",
        "kind": "public",
        "name": f"Reader {language}",
        "language": language,
        "email": f"reader-{language}@example.org",
        "subscriptions": [{}],
    }
    for language in ("en", "fr", "es")
]
NEWSLETTER = "public-weekly"
NEWSLETTERS = {
    "newsletters": [
        {
            "name": NEWSLETTER,
            "title": {"en": "Weekly", "fr": "Hebdo"},
            "audience": "public",
            "schedule": "0 9 * * mon",
            "timezone": "Europe/Zurich",
        }
    ]
}
# Behind one address, as people reach the hub: every page and feed links there, whoever renders it.
PUBLIC_URL = "https://hub.example.org"


@pytest.fixture(scope="module")
def workers(
    kafka_broker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[HubProcess]]:
    workdir = tmp_path_factory.mktemp("workers")
    people = workdir / "people.yaml"
    people.write_text(yaml.safe_dump({"subscribers": PEOPLE}), encoding="utf-8")
    newsletters = workdir / "newsletters.yaml"
    newsletters.write_text(yaml.safe_dump(NEWSLETTERS), encoding="utf-8")
    run_id = uuid.uuid4().hex[:10]
    with MailCatcher(workdir / "outbox", port=free_port()) as catcher:
        started: list[HubProcess] = []
        try:
            for n in range(3):
                (workdir / f"w{n}").mkdir()
                worker = HubProcess(
                    workdir / f"w{n}",
                    catcher.controller.port,
                    people if n == 0 else None,  # loaded once, through the first
                    run_id=run_id,
                    HUB_WORKER_NAME=f"worker-{n}",
                    HUB_WEB__PUBLIC_URL=PUBLIC_URL,
                    HUB_NEWSLETTERS_FILE=str(newsletters),
                    HUB_TELEGRAM__ENABLED="false",
                    HUB_KAFKA__PARTITIONS=str(PARTITIONS),
                )
                started.append(worker)
                # One after the other: each joining worker is a rebalance, which is the point,
                # and three starting at once on two cores each take as long as three in turn.
                worker.start(wait=False).ready(timeout=240)
            yield started
        finally:
            for worker in started:
                worker.stop()


def group(worker: HubProcess) -> dict[str, list[int]] | None:
    answer = worker.get("/api/v1/workers")
    return answer.json()["workers"] if answer.status_code == 200 else None


def stable(workers: list[HubProcess]) -> dict[str, list[int]] | None:
    """The group's assignment, once every worker holds a partition and all of them agree."""
    seen = [group(w) for w in workers]
    urls = {w.base_url for w in workers}
    first = seen[0]
    if first is None or set(first) != urls or not all(first.values()):
        return None
    return first if all(s == first for s in seen) else None


def events_on_every_partition() -> list[dict[str, Any]]:
    """One event per partition, so each worker holds one of them."""
    chosen: dict[int, dict[str, Any]] = {}
    while len(chosen) < PARTITIONS:
        document = load_example(classification="public")
        chosen.setdefault(partition_of(document["id"], PARTITIONS), document)
    return [chosen[p] for p in sorted(chosen)]


def answers(workers: list[HubProcess], path: str, **params: str) -> list[httpx.Response]:
    return [w.get(path, **params) for w in workers]


def same_from_all(workers: list[HubProcess], path: str, **params: str) -> str:
    """The one answer every worker gives to GET `path` (status 200), as text."""
    got = answers(workers, path, **params)
    for worker, answer in zip(workers, got, strict=True):
        assert answer.status_code == 200, f"{worker.base_url}{path}: {answer.text}"
        assert ROUTED_BY not in answer.headers
    texts = [a.text for a in got]
    assert texts[0] == texts[1] == texts[2], path
    return texts[0]


def sent_to_everyone(worker: HubProcess, event_id: str) -> bool:
    answer = worker.get(f"/api/v1/events/{event_id}/status")
    if answer.status_code != 200:
        return False
    totals = answer.json()["totals"]
    return bool(totals["planned"]) and totals["sent"] == totals["planned"]


def test_every_worker_gives_the_same_answer(workers: list[HubProcess]) -> None:
    assignment = wait_until(lambda: stable(workers), timeout=90, what="all three workers assigned")
    owner = {p: url for url, held in assignment.items() for p in held}
    wait_until(
        lambda: all(w.subscriber_count() == len(PEOPLE) for w in workers),
        what="every worker holding every subscriber",
    )
    events = events_on_every_partition()
    # Each event is held by a different worker: two of the three answers must be forwarded.
    assert {owner[partition_of(e["id"], PARTITIONS)] for e in events} == set(assignment)
    for worker, document in zip(itertools.cycle(workers), events, strict=False):
        assert worker.publish(document).status_code == 202

    for document in events:
        wait_until(
            lambda d=document: sent_to_everyone(workers[0], d["id"]),
            timeout=60,
            what=f"event {document['id']} sent to everyone",
        )
        same_from_all(workers, f"/api/v1/events/{document['id']}/status")
    unknown = answers(workers, f"/api/v1/events/{uuid.uuid4()}/status")
    assert [a.status_code for a in unknown] == [404, 404, 404]
    same_from_all(workers, "/api/v1/deliveries/stuck", older_than="0")

    # The newsletter gathers the three events on the worker holding its name.
    wait_until(
        lambda: workers[1].get("/api/v1/newsletters").json()[0]["pending_items"] == len(events),
        timeout=30,
        what="the three events pending in the newsletter",
    )
    same_from_all(workers, "/api/v1/newsletters")
    same_from_all(workers, f"/api/v1/newsletters/{NEWSLETTER}/preview", lang="fr")
    requested = httpx.post(
        f"{workers[2].base_url}/api/v1/newsletters/{NEWSLETTER}/send-now",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    edition = requested.json()["edition"]
    wait_until(
        lambda: edition in workers[0].get(f"/newsletters/{NEWSLETTER}").text,
        timeout=30,
        what=f"edition {edition} in the archive",
    )
    index = same_from_all(workers, f"/newsletters/{NEWSLETTER}")
    feed = same_from_all(workers, f"/newsletters/{NEWSLETTER}/feed.atom")
    page = same_from_all(workers, f"/newsletters/{NEWSLETTER}/{edition}", lang="es")
    assert f"{PUBLIC_URL}/newsletters/{NEWSLETTER}/{edition}" in feed
    assert all(e["content"]["es"]["title"] in page for e in events)
    assert edition in index


def test_a_forwarded_request_is_never_forwarded_again(workers: list[HubProcess]) -> None:
    assignment = wait_until(lambda: stable(workers), timeout=90, what="all three workers assigned")
    document = events_on_every_partition()[0]
    held_by = next(
        url for url, held in assignment.items() if partition_of(document["id"], 3) in held
    )
    elsewhere = next(w for w in workers if w.base_url != held_by)
    # As if another worker had forwarded it here, while the group moved the key on.
    answer = httpx.get(
        f"{elsewhere.base_url}/api/v1/events/{document['id']}/status",
        headers={"Authorization": f"Bearer {TOKEN}", ROUTED_BY: held_by},
        timeout=30,
    )
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"


def test_the_console_shows_an_events_status_alike_on_every_worker(
    workers: list[HubProcess],
) -> None:
    assignment = wait_until(lambda: stable(workers), timeout=90, what="all three workers assigned")
    owner = {p: url for url, held in assignment.items() for p in held}
    password = "console password 1"
    for name in ("olga", "otto"):  # an author, and a second officer to approve
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "users",
                "create",
                name,
                "--role",
                "officer",
                "--email",
                f"{name}@officers.example.org",
                "--password-stdin",
            ],
            input=password + "\n",
            env=workers[0].env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr

    def session_on(worker: HubProcess, name: str = "olga") -> dict[str, str] | None:
        # The public URL is https, so the cookie is Secure: sent here by hand over http.
        answer = httpx.post(
            f"{worker.base_url}/console/sign-in",
            data={"name": name, "password": password},
            timeout=30,
        )
        cookie = answer.cookies.get("hub_console")
        return {"Cookie": f"hub_console={cookie}"} if answer.status_code == 303 else None

    sessions = [
        wait_until(lambda w=w: session_on(w), what=f"{w.base_url} to know the account")
        for w in workers
    ]
    first = workers[0]
    drafts: dict[int, tuple[str, str]] = {}  # partition -> (form action, CSRF token)
    while len(drafts) < PARTITIONS:  # a new event id each time: one on each worker's partition
        page = httpx.get(
            f"{first.base_url}/console/compose",
            params={"type": "announcement.published"},
            headers=sessions[0],
            timeout=30,
        ).text
        action = page.split('id="compose"')[0].rsplit('action="', 1)[1].split('"')[0]
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        drafts.setdefault(partition_of(action.split("/")[3], PARTITIONS), (action, token))
    assert {owner[p] for p in drafts} == set(assignment)
    ids = []
    for action, token in drafts.values():
        submitted = httpx.post(
            f"{first.base_url}{action}",
            headers=sessions[0],
            data={
                "csrf_token": token,
                "event_type": "announcement.published",
                "classification": "public",
                "position": "statement",
                "content.en.title": "A note for every reader",
                "content.en.summary": "For everyone.",
                "content.en.body": "Hello.",
                "action": "submit",
            },
            timeout=30,
        )
        assert submitted.status_code == 303, submitted.text
        ids.append(action.split("/")[3])
    checker = wait_until(lambda: session_on(workers[2], "otto"), what="the second officer")
    for event_id in ids:  # public: a second officer approves, on another worker
        page = wait_until(
            lambda e=event_id: (
                (
                    p := httpx.get(
                        f"{workers[2].base_url}/console/events/{e}", headers=checker, timeout=30
                    )
                ).status_code
                == 200
                and "awaiting-approval" in p.text
                and p.text
            ),
            what=f"console event {event_id} awaiting approval on the third worker",
        )
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        approved = httpx.post(
            f"{workers[2].base_url}/console/events/{event_id}/approve",
            headers=checker,
            data={"csrf_token": token, "comment": "ok"},
            timeout=30,
        )
        assert approved.status_code == 303, approved.text

    def status_from(worker: HubProcess, session: dict[str, str], event_id: str) -> str:
        answer = httpx.get(
            f"{worker.base_url}/console/events/{event_id}/status.json",
            headers=session,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.text

    for event_id in ids:
        wait_until(
            lambda e=event_id: (
                json.loads(status_from(first, sessions[0], e))["totals"]["sent"] == len(PEOPLE)
            ),
            timeout=90,
            what=f"console event {event_id} sent to every reader",
        )
        seen = [status_from(w, s, event_id) for w, s in zip(workers, sessions, strict=True)]
        assert seen[0] == seen[1] == seen[2]
