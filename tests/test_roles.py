"""Roles: every route of the OpenAPI document x {no token, each role, a revoked token}; tokens.

On a real worker and the real broker: credentials issued with `hub tokens` and over the API are
stored only as hashes, work at once, and stop working on every worker when revoked.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.access.credentials import token_hash
from hub.access.roles import Role
from tests.helpers import load_example, wait_until
from tests.hubprocess import ROLE_TOKENS, TOKEN, HubProcess
from tests.kafka_probe import read_records

pytestmark = pytest.mark.kafka

# Routes anyone may call. Any other route without roles in the OpenAPI document fails the matrix.
PUBLIC_OPERATIONS = {("get", "/api/v1/health"), ("get", "/api/v1/ready")}
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def hub(kafka_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    workdir = tmp_path_factory.mktemp("roles")
    subscribers = workdir / "subscribers.yaml"
    subscribers.write_text("subscribers: []\n")
    process = HubProcess(workdir, smtp_port=1, subscribers_file=subscribers).start()
    yield process
    process.stop()


def call(
    hub: HubProcess, method: str, path: str, token: str | None, body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{hub.base_url}{path}", headers=headers, json=body, timeout=30)


def operations(hub: HubProcess) -> list[tuple[str, str, dict[str, Any]]]:
    spec = httpx.get(f"{hub.base_url}/openapi.json", timeout=10).json()
    found = [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(found) >= 12  # the publishing, subscriber, newsletter and credential routes
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", PLACEHOLDER, path)


def revoked_token(hub: HubProcess) -> str:
    """A credential holding every role, issued and then revoked."""
    issued = call(
        hub, "post", "/api/v1/credentials", TOKEN, {"name": "to-revoke", "roles": list(Role)}
    )
    assert issued.status_code == 201, issued.text
    token = str(issued.json()["token"])
    assert call(hub, "get", "/api/v1/credentials/me", token).status_code == 200
    assert call(hub, "delete", "/api/v1/credentials/to-revoke", TOKEN).status_code == 200
    return token


def test_every_route_answers_each_role_as_its_document_says(hub: HubProcess) -> None:
    revoked = revoked_token(hub)
    checked = 0
    for method, path, operation in operations(hub):
        url = concrete(path)
        body = {} if "requestBody" in operation else None
        roles = operation.get("x-roles")
        if roles is None:
            assert (method, path) in PUBLIC_OPERATIONS, f"{method} {path} declares no roles"
            assert "security" not in operation
            continue
        # OpenAPI 3.1: a non-OAuth requirement may list the role names it needs.
        assert operation["security"] == [{"bearer": roles}], path
        assert {"401", "403"} <= set(operation["responses"]), path
        where = f"{method.upper()} {path}"
        assert call(hub, method, url, None, body).status_code == 401, where
        assert call(hub, method, url, revoked, body).status_code == 403, where
        for role, token in ROLE_TOKENS.items():
            status = call(hub, method, url, token, body).status_code
            if role.value in roles:
                assert status not in (401, 403) and status < 500, f"{where} as {role}: {status}"
            else:
                assert status == 403, f"{where} as {role}: {status}"
            checked += 1
    assert checked >= 12 * len(Role)


def test_roles_match_the_duties(hub: HubProcess) -> None:
    declared = {(m, p): set(op.get("x-roles", [])) for m, p, op in operations(hub)}
    assert declared[("post", "/api/v1/events")] == {"publisher"}
    assert declared[("get", "/api/v1/events/{event_id}/status")] == {"publisher", "officer"}
    assert declared[("get", "/api/v1/subscribers")] == {"officer"}
    assert declared[("delete", "/api/v1/subscribers/{subscriber_id}")] == {"officer"}
    assert declared[("get", "/api/v1/audit")] == {"officer"}
    assert declared[("post", "/api/v1/newsletters/{name}/send-now")] == {"editor"}
    assert declared[("post", "/api/v1/credentials")] == {"admin"}


def test_a_publisher_sees_the_status_of_their_own_events_only(hub: HubProcess) -> None:
    other = call(
        hub,
        "post",
        "/api/v1/credentials",
        TOKEN,
        {"name": "other-publisher", "roles": ["publisher"]},
    ).json()["token"]
    mine = ROLE_TOKENS[Role.PUBLISHER]
    document = load_example()
    assert hub.publish(document, token=mine).status_code == 202
    path = f"/api/v1/events/{document['id']}/status"
    # No subscribers: the planner records why nothing went out, and that is the status.
    status = wait_until(
        lambda: (r := call(hub, "get", path, mine)).status_code == 200 and r.json(),
        what="the publisher to see their event's status",
    )
    assert status["not_delivered"]
    assert call(hub, "get", path, other).status_code == 404
    assert call(hub, "get", path, ROLE_TOKENS[Role.OFFICER]).status_code == 200
    assert call(hub, "get", path, ROLE_TOKENS[Role.EDITOR]).status_code == 403


def test_tokens_cli_issues_a_hashed_credential_that_works_until_revoked(hub: HubProcess) -> None:
    created = hub.cli(
        "tokens", "create", "--name", "ana.silva", "--role", "publisher", "--role", "editor"
    )
    token = created.stdout.strip()
    assert token.startswith("hub_") and len(token) > 40
    assert "ana.silva" in created.stderr
    # Only the hash reaches Kafka.
    stored = json.dumps(read_records(f"{hub.prefix}.credentials.v1"))
    assert token not in stored
    assert token_hash(token) in stored
    # The worker learns of it from the topic, without a restart.
    me = wait_until(
        lambda: (
            (r := call(hub, "get", "/api/v1/credentials/me", token)).status_code == 200 and r.json()
        ),
        what="the new credential to work",
    )
    assert me == {"name": "ana.silva", "roles": ["editor", "publisher"]}
    assert call(hub, "get", "/api/v1/subscribers", token).status_code == 403

    listing = json.loads(hub.cli("tokens", "list", "--json").stdout)
    (entry,) = [e for e in listing if e["name"] == "ana.silva"]
    assert entry["roles"] == ["editor", "publisher"] and entry["revoked_at"] is None
    assert "sha256" not in entry and token_hash(token) not in hub.cli("tokens", "list").stdout

    again = hub.cli("tokens", "create", "--name", "ana.silva", "--role", "officer", check=False)
    assert again.returncode == 2 and "exists" in again.stderr
    bad = hub.cli("tokens", "create", "--name", "Bad Name", "--role", "officer", check=False)
    assert bad.returncode == 2 and "credential name" in bad.stderr

    hub.cli("tokens", "revoke", "ana.silva")
    wait_until(
        lambda: call(hub, "get", "/api/v1/credentials/me", token).status_code == 403,
        what="the revoked credential to stop working",
    )
    assert hub.cli("tokens", "revoke", "ana.silva", check=False).returncode == 2
    assert "ana.silva" not in hub.cli("tokens", "list").stdout
    assert "ana.silva" in hub.cli("tokens", "list", "--all").stdout

    trail = call(hub, "get", "/api/v1/audit?subject=ana.silva", ROLE_TOKENS[Role.OFFICER]).json()
    assert [e["action"] for e in trail] == ["credential.created", "credential.revoked"]


def test_docs_load_from_the_worker_alone(hub: HubProcess) -> None:
    page = httpx.get(f"{hub.base_url}/docs", timeout=10)
    assert page.status_code == 200
    assert not re.search(r"(src|href|url)\s*[=:]\s*['\"]?(https?:)?//", page.text), page.text
    assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        loaded = httpx.get(f"{hub.base_url}{asset}", timeout=10)
        assert loaded.status_code == 200 and len(loaded.content) > 100, asset
    spec = httpx.get(f"{hub.base_url}/openapi.json", timeout=10).json()
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"[" * 5000 + b"]" * 5000, "$" + "[0]" * 32),
        (b'{"content": {"en": ' + b'{"a": ' * 100 + b"1" + b"}" * 102, "$.content.en" + ".a" * 30),
    ],
    ids=["array", "object"],
)
def test_deeply_nested_json_is_refused_naming_where(
    hub: HubProcess, body: bytes, path: str
) -> None:
    response = httpx.post(
        f"{hub.base_url}/api/v1/events",
        content=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    (problem,) = response.json()["problems"]
    assert problem["path"] == path and "deeper than 32" in problem["message"]


def test_deeply_nested_json_to_a_model_route_is_a_client_error(hub: HubProcess) -> None:
    body = b'{"intro": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = httpx.post(
        f"{hub.base_url}/api/v1/newsletters/partners-monthly/curation",
        content=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert 400 <= response.status_code < 500, response.text


def test_make_run_keeps_one_development_token_per_role(
    kafka_broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import run
    from hub.access import credential_store
    from hub.settings import KafkaSettings, Settings

    monkeypatch.setattr(run, "VAR", tmp_path)
    settings = Settings(kafka=KafkaSettings(topic_prefix=f"t{uuid.uuid4().hex[:10]}"))
    first = asyncio.run(run._dev_credentials(settings))
    assert set(first) == set(Role)
    for role, token in first.items():
        assert (tmp_path / f"dev-{role.value}-token").read_text() == token
    assert asyncio.run(run._dev_credentials(settings)) == first  # kept across runs

    (tmp_path / "dev-editor-token").unlink()
    again = asyncio.run(run._dev_credentials(settings))
    assert again[Role.EDITOR] != first[Role.EDITOR]
    assert {r: t for r, t in again.items() if r is not Role.EDITOR} == {
        r: t for r, t in first.items() if r is not Role.EDITOR
    }
    index = asyncio.run(credential_store.load(settings))
    assert index.find(first[Role.EDITOR]) is None  # the lost token was revoked
    found = index.find(again[Role.EDITOR])
    assert found is not None and found.name == "dev-editor" and found.roles == {Role.EDITOR}


@pytest.mark.timeout(300)
def test_docs_render_in_a_browser_with_no_internet(hub: HubProcess) -> None:
    from playwright.sync_api import Route, sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    elsewhere: list[str] = []

    def only_the_worker(route: Route) -> None:
        if route.request.url.startswith(hub.base_url):
            route.continue_()
        else:  # as if offline: anything else fails, and is noted
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_the_worker)
            page.goto(f"{hub.base_url}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            shown = page.locator(".opblock").count()
            authorize = page.locator("button.authorize").count()
        finally:
            browser.close()
    assert shown == len(operations(hub))
    assert authorize == 1  # the bearer scheme: a place to paste a token
    assert elsewhere == []
