"""Logs as JSON lines (with the event's id, without secrets or addresses), the libraries' chatter
left out at INFO, the one line a fan-out logs, and /api/v1/ready over in-memory services.

Without Kafka; a real worker's logs are in tests/test_quiet_logs.py."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from hub import logsafety
from hub.model.deliveries import ChannelKey
from hub.settings import Settings
from hub.web.app import create_api
from tests.test_web_services import (
    fake_services,
)

SECRET = "a-signing-key-that-must-never-be-logged"
BOT_TOKEN = "987654321:AAHkz-secret-token-of-the-bot-0123456789"
ADDRESS = "camille.martin@ong.example.org"


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records go through the worker's handler setup, JSON, into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.Logger("json-test-root")
    root.addHandler(handler)
    logsafety.install(root, [SECRET, BOT_TOKEN], log_format="json")
    logger = logging.Logger("hub.runtime.agents.planning")
    logger.parent = root
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    handler.close()


def lines_of(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_log_line_parses_and_carries_the_fields_given_with_extra(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    logger.info(
        "event %s (%s): fanned out to %d deliveries (%s) in %.2f s",
        "ev-1",
        "announcement.published",
        3,
        "2 email, 1 telegram",
        0.25,
        extra={"event_id": "ev-1", "delivery_id": "d-9", "channel": "email"},
    )
    [line] = lines_of(stream)
    assert line["level"] == "INFO"
    assert line["logger"] == "hub.runtime.agents.planning"
    assert line["message"] == (
        "event ev-1 (announcement.published): fanned out to 3 deliveries"
        " (2 email, 1 telegram) in 0.25 s"
    )
    assert (line["event_id"], line["delivery_id"], line["channel"]) == ("ev-1", "d-9", "email")
    stamp = datetime.fromisoformat(str(line["ts"]).replace("Z", "+00:00"))
    assert stamp.tzinfo is not None and abs(datetime.now(UTC) - stamp).total_seconds() < 60


def test_json_lines_hold_no_secret_and_no_address_even_in_fields_or_tracebacks(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    logger.warning(
        "sending to %s with %s failed",
        ADDRESS,
        f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage",
        extra={"event_id": f"ev-2 {SECRET}", "channel": "email"},
    )
    try:
        raise RuntimeError(f"signing with {SECRET} for {ADDRESS}")
    except RuntimeError:
        logger.exception("event %s: could not be planned", "ev-2", extra={"event_id": "ev-2"})
    text = stream.getvalue()
    lines = lines_of(stream)
    assert len(lines) == 2  # the traceback stays inside its line
    assert SECRET not in text and BOT_TOKEN not in text and ADDRESS not in text
    assert "[address]" in str(lines[0]["message"])
    assert "RuntimeError" in str(lines[1]["exception"])
    assert lines[1]["event_id"] == "ev-2"


def test_a_record_without_fields_has_only_the_four_keys(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    logger.info("credentials read")
    assert set(lines_of(stream)[0]) == {"ts", "level", "logger", "message"}


def test_the_libraries_chatter_is_left_out_at_info_and_let_through_at_debug() -> None:
    names = ("aiokafka", "faust", "mode", "uvicorn.access")
    before = {name: logging.getLogger(name).level for name in names}
    try:
        logsafety.quiet_libraries(logging.INFO)
        for name in names:
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
            assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
        assert not logging.getLogger("faust.tables.recovery").isEnabledFor(logging.INFO)
        logsafety.quiet_libraries(logging.DEBUG)
        for name in names:
            assert logging.getLogger(name).level == logging.NOTSET, name
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def test_every_configured_secret_is_among_those_redacted() -> None:
    settings = Settings(
        secret_key=SecretStr(SECRET),
        telegram={"token": BOT_TOKEN, "webhook_secret": "hook-secret_123"},  # type: ignore[arg-type]
        smtp={"username": "relay", "password": "relay-password-123"},  # type: ignore[arg-type]
        metrics={"token": "metrics-token-123"},  # type: ignore[arg-type]
    )
    held = logsafety.secrets_of(settings)
    expected = {SECRET, BOT_TOKEN, "relay-password-123", "hook-secret_123", "metrics-token-123"}
    assert expected <= set(held)


def test_a_fan_out_logs_one_line_whatever_its_audience(caplog: pytest.LogCaptureFixture) -> None:
    from hub.model.deliveries import Delivery, Recipient
    from hub.model.events import Event
    from hub.runtime.agents.planning import log_fan_out
    from tests.helpers import load_example

    event = Event.from_document(load_example())

    def deliveries(count: int) -> list[Delivery]:
        return [
            Delivery(
                f"d{i}",
                event.id,
                ChannelKey.EMAIL if i % 3 else ChannelKey.TELEGRAM,
                "en",
                Recipient(f"p{i}", f"Person {i}", f"{i}"),
            )
            for i in range(count)
        ]

    caplog.set_level(logging.INFO, logger="hub.runtime.agents.planning")
    for count in (3, 300):
        caplog.clear()
        log_fan_out(event, deliveries(count), 0.5)
        [record] = caplog.records
        assert record.__dict__["event_id"] == event.id
        telegram = len(range(0, count, 3))
        assert f"{count - telegram} email, {telegram} telegram" in record.getMessage()
        assert event.type in record.getMessage()


# --- /api/v1/ready ------------------------------------------------------------------------------


@dataclass
class FakeReadiness:
    states: dict[str, str] = field(default_factory=dict)
    asked: int = 0

    async def checks(self) -> dict[str, str]:
        self.asked += 1
        return dict(self.states)


class BrokenReadiness:
    async def checks(self) -> dict[str, str]:
        raise RuntimeError("a check that breaks")


ALL_OK = {
    "kafka": "ok",
    "partitions": "ok",
    "tables": "ok",
    "credentials": "ok",
    "smtp": "ok",
    "telegram": "ok",
}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(SECRET))
    services = fake_services(settings)
    app = create_api(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client, app


async def test_ready_is_200_when_every_check_passes_and_needs_no_token(
    api: tuple[httpx.AsyncClient, object],
) -> None:
    client, app = api
    app.state.readiness = FakeReadiness(dict(ALL_OK))  # type: ignore[attr-defined]
    answer = await client.get("/api/v1/ready")
    assert answer.status_code == 200
    assert answer.json() == {"ready": True, "checks": ALL_OK}
    assert (await client.get("/api/v1/health")).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("check", "state"),
    [
        ("partitions", "none assigned"),
        ("smtp", "the relay does not answer (connection refused)"),
        ("telegram", "the Bot API refused the bot token"),
        ("kafka", "the broker does not answer (KafkaConnectionError)"),
    ],
)
async def test_ready_is_503_naming_the_check_that_failed(
    api: tuple[httpx.AsyncClient, object], check: str, state: str
) -> None:
    client, app = api
    app.state.readiness = FakeReadiness({**ALL_OK, check: state})  # type: ignore[attr-defined]
    answer = await client.get("/api/v1/ready")
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False
    assert body["checks"][check] == state
    assert [name for name, value in body["checks"].items() if value != "ok"] == [check]
    # Health stays "alive": the process answers, whatever its dependencies.
    assert (await client.get("/api/v1/health")).status_code == 200


async def test_ready_is_503_when_no_checks_are_set_up_or_they_break(
    api: tuple[httpx.AsyncClient, object],
) -> None:
    client, app = api
    answer = await client.get("/api/v1/ready")
    assert answer.status_code == 503 and answer.json()["ready"] is False
    app.state.readiness = BrokenReadiness()  # type: ignore[attr-defined]
    answer = await client.get("/api/v1/ready")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"readiness": "the checks failed: RuntimeError"}


async def test_ready_is_in_the_api_document_as_a_public_route(
    api: tuple[httpx.AsyncClient, object],
) -> None:
    client, _app = api
    operation = (await client.get("/openapi.json")).json()["paths"]["/api/v1/ready"]["get"]
    assert "security" not in operation and "x-roles" not in operation
    assert {"200", "503"} <= set(operation["responses"])
