"""`hub doctor`: a wrong SMTP password and an unreachable broker are named in plain words; a good
configuration passes. Against a local aiosmtpd relay that asks for a login; no Kafka needed (the
broker's address is a free port with nothing listening)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hub.cli import doctor
from hub.cli.main import main
from tests.conftest import free_port

USER = "hub-relay"
PASSWORD = "the-right-password-42"


class Sink:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def relay() -> Iterator[int]:
    """An SMTP relay on a free port that wants a login (allowed without TLS, for the test)."""
    port = free_port()
    controller = Controller(
        Sink(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
        require_starttls=False,
    )
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, relay: int, tmp_path: Any) -> dict[str, str]:
    """A good configuration: the relay above, Telegram off, a broker nobody runs."""
    env = {
        "HUB_SMTP__HOST": "127.0.0.1",
        "HUB_SMTP__PORT": str(relay),
        "HUB_SMTP__USERNAME": USER,
        "HUB_SMTP__PASSWORD": PASSWORD,
        "HUB_KAFKA__BROKER": f"kafka://127.0.0.1:{free_port()}",
        "HUB_TELEGRAM__ENABLED": "false",
        "HUB_SECRET_KEY": "k" * 43,
        "HUB_WEB__PUBLIC_URL": "https://hub.example.org",
        "HUB_DATA_DIR": str(tmp_path),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str]]:
    """`hub doctor`: its exit status and its lines by check name."""
    status = main(["doctor", "--timeout", "3", *args])
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines():
        name, _, rest = line.partition("  ")
        lines[name.strip()] = rest.strip()
    return status, lines


def test_a_good_configuration_passes_the_smtp_and_configuration_checks(
    environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run(capsys)
    for name in ("secret key", "public url", "schemas", "templates", "languages", "smtp"):
        assert lines[name].startswith("ok"), f"{name}: {lines[name]}"
    assert lines["smtp"] == f"ok (127.0.0.1:{environment['HUB_SMTP__PORT']}, logged in as {USER})"
    assert lines["telegram"].startswith("ok (turned off")
    # Nobody runs that broker: the one failure, so the exit status says it.
    assert lines["kafka"].startswith("FAIL")
    assert status == 1


def test_a_wrong_smtp_password_is_named_in_plain_words(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_SMTP__PASSWORD", "not-the-password")
    status, lines = run(capsys)
    assert status == 1
    assert lines["smtp"].startswith(
        f"FAIL: the SMTP server refused the username or password for {USER}@127.0.0.1"
    )
    assert "HUB_SMTP__PASSWORD" in lines["smtp"]  # what to do
    assert "not-the-password" not in lines["smtp"]


def test_an_unreachable_broker_is_named_with_its_address(
    environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    broker = environment["HUB_KAFKA__BROKER"].removeprefix("kafka://")
    status, lines = run(capsys)
    assert status == 1
    assert lines["kafka"].startswith(f"FAIL: no Kafka broker answered at {broker}")
    assert "make kafka-start" in lines["kafka"] and "HUB_KAFKA__BROKER" in lines["kafka"]


def test_a_relay_nobody_runs_and_a_missing_secret_key_are_named(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("HUB_SMTP__PORT", str(port))
    monkeypatch.delenv("HUB_SECRET_KEY")
    monkeypatch.setenv("HUB_ENV", "production")
    monkeypatch.setenv("HUB_WEB__PUBLIC_URL", "hub.example.org")
    status, lines = run(capsys)
    assert status == 1
    assert lines["smtp"].startswith(f"FAIL: nothing answers at 127.0.0.1:{port}")
    assert lines["secret key"].startswith("FAIL: HUB_SECRET_KEY is not set")
    assert lines["public url"].startswith("FAIL: HUB_WEB__PUBLIC_URL 'hub.example.org'")


def test_every_check_passing_exits_0(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broker_answers(_settings: Any, _within: float) -> doctor.Check:
        return doctor.passed("kafka")

    monkeypatch.setattr(doctor, "check_kafka", broker_answers)
    status, lines = run(capsys)
    assert status == 0, lines
    assert all(line.startswith("ok") for line in lines.values()), lines


def test_bad_settings_are_a_failed_check_not_a_crash(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_WEB__PORT", "not-a-port")
    status, lines = run(capsys)
    assert status == 1
    assert lines["settings"].startswith("FAIL: HUB_WEB__PORT")


def test_a_refused_bot_token_is_named(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """getMe against the Telegram sandbox with a token it does not know."""
    from aiohttp.test_utils import TestServer

    from devstack.telegram_sandbox.sandbox import TelegramSandbox
    from devstack.telegram_sandbox.server import make_app
    from hub.settings import Settings

    async def scenario() -> tuple[doctor.Check, doctor.Check]:
        sandbox = TelegramSandbox(["424242:test-bot-token"])
        server = TestServer(make_app(sandbox), host="127.0.0.1")
        await server.start_server()
        try:
            base = f"http://127.0.0.1:{server.port}/bot"
            monkeypatch.setenv("HUB_TELEGRAM__ENABLED", "true")
            monkeypatch.setenv("HUB_TELEGRAM__BASE_URL", base)
            monkeypatch.setenv("HUB_TELEGRAM__TOKEN", "424242:test-bot-token")
            good = await doctor.check_telegram(Settings(), 3)
            monkeypatch.setenv("HUB_TELEGRAM__TOKEN", "424242:a-wrong-token")
            wrong = await doctor.check_telegram(Settings(), 3)
            return good, wrong
        finally:
            await server.close()

    good, wrong = asyncio.run(scenario())
    assert good.ok, good.line()
    assert not wrong.ok
    assert "refused the bot token (401 Unauthorized)" in wrong.problem
    assert "a-wrong-token" not in wrong.line()
