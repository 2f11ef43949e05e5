"""No secret and no address in the logs: the worker's whole log of a real run (subscribe, confirm,
publish, deliver by email and Telegram, unsubscribe) is searched for every one of them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from hub.logsafety import AccessLogFilter, RedactingFilter
from tests.conftest import free_port, link_in, mail_to
from tests.forms import submit
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import TOKEN, HubProcess
from tests.sandboxprocess import BOT_TOKEN, SandboxProcess

ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
KNOWN = {
    "id": "partner-logs",
    "kind": "partner",
    "name": "Known Partner",
    "language": "en",
    "email": "known.partner@partner.example.net",
    "organisation": "WAMRN",
}


@pytest.fixture
def stack(kafka_broker: str, tmp_path: Path) -> Iterator[tuple[HubProcess, SandboxProcess, Path]]:
    sandbox = SandboxProcess(tmp_path)
    people = tmp_path / "people.yaml"
    people.write_text(yaml.safe_dump({"subscribers": [KNOWN]}), encoding="utf-8")
    with MailCatcher(tmp_path / "outbox", port=free_port()) as catcher:
        hub = HubProcess(
            tmp_path,
            catcher.controller.port,
            people,
            # Everything a worker can log, the libraries' chatter and the access log included.
            **{**sandbox.hub_env, "HUB_TELEGRAM__POLL_UPDATES": "true", "HUB_LOG_LEVEL": "debug"},
        )
        try:
            hub.start()
            yield hub, sandbox, catcher.outbox
        finally:
            hub.stop()
            sandbox.stop()


@pytest.mark.kafka
@pytest.mark.timeout(400)
def test_a_whole_run_logs_no_secret_and_no_address(
    stack: tuple[HubProcess, SandboxProcess, Path],
) -> None:
    hub, sandbox, outbox = stack
    address = "camille.logs@ong.example.org"
    url = f"{hub.base_url}/subscribe"
    assert submit(url, url, {"email": address, "name": "Camille", "language": "fr"}).is_success
    assert submit(url, url, {"email": KNOWN["email"]}).is_success  # a known address, too
    confirmation = wait_until(lambda: mail_to(outbox, address), what="the confirmation")[0]
    confirm_url = link_in(confirmation, "/subscribe/confirm")
    confirmed = submit(
        confirm_url, f"{hub.base_url}/subscribe/confirm", {"t": confirm_url.split("t=")[1]}
    )
    assert "Abonnement confirmé" in confirmed.text  # in her language, French
    own_link = re.search(r'href="(/preferences[?]t=[\w.-]+)"', confirmed.text)
    assert own_link
    preferences_url = f"{hub.base_url}{own_link.group(1)}"
    preferences = httpx.get(preferences_url, timeout=30).text
    start = re.search(r'\?start=([\w-]+)"', preferences)
    assert start, "the preference centre offers no Telegram link"

    chat = 7001
    sandbox.control("POST", "chats", id=chat, type="private", first_name="Camille")
    sandbox.control("POST", "updates", chat_id=chat, text=f"/start {start.group(1)}")
    wait_until(lambda: sandbox.messages(chat), what="the bot's welcome")

    news = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(news).status_code == 202
    delivered = wait_until(
        lambda: [m for m in mail_to(outbox, address) if m["X-Hub-Event-Id"] == news["id"]],
        what="the announcement by email",
    )
    wait_until(lambda: len(sandbox.messages(chat)) >= 2, what="the announcement on Telegram")
    unsubscribe = re.search(r"<(https?://[^>]+)>", delivered[0]["List-Unsubscribe"])
    assert unsubscribe
    one_click = httpx.post(
        unsubscribe.group(1),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert one_click.status_code == 200
    hub.stop()  # everything flushed to the log file

    log = hub.log_path.read_text(errors="replace")
    assert "GET /preferences" in log  # the access log is there, without its query string
    link_tokens = [
        u.split("t=", 1)[1]
        for u in (
            confirm_url,
            preferences_url,
            unsubscribe.group(1),
            link_in(delivered[0], "/preferences"),
        )
    ]
    secrets = {
        "bot token": BOT_TOKEN,
        "bot token secret part": BOT_TOKEN.split(":", 1)[1],
        "signing key": hub.env["HUB_SECRET_KEY"],
        "bearer token": TOKEN,
        "Telegram start token": start.group(1),
        **{f"link token {i}": token for i, token in enumerate(link_tokens)},
    }
    for what, secret in secrets.items():
        assert secret not in log, f"the {what} is in the worker's log"
    assert not ADDRESS.findall(log), f"addresses in the worker's log: {ADDRESS.findall(log)[:5]}"


def test_the_filter_redacts_what_slips_through() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST %s for %s (Authorization: Bearer %s)",
        ("http://x/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage", "a.b@c.org", "tok"),
        None,
    )
    RedactingFilter(["very-secret-key-value"]).filter(record)
    message = record.getMessage()
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in message
    assert "a.b@c.org" not in message and "Bearer tok" not in message

    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/preferences?t=abc.def", "1.1", 200),
        None,
    )
    AccessLogFilter().filter(access)
    assert access.getMessage() == '127.0.0.1:5 - "GET /preferences HTTP/1.1" 200'
