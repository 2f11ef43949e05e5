"""The worker's wiring, built without starting anything: topics, tables, keys, channels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from hub.model.deliveries import ChannelKey
from hub.runtime.app import create_runtime
from hub.settings import Settings, TelegramSettings
from hub.subscribers.tokens import Purpose, Signer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("a-stable-secret-of-enough-length"),
        **changes,  # type: ignore[arg-type]
    )


def test_runtime_signs_with_the_configured_key(tmp_path: Path) -> None:
    rt = create_runtime(settings(tmp_path))
    token = rt.signer.issue("ext-1", Purpose.PREFERENCES, NOW)
    same_key = Signer(b"a-stable-secret-of-enough-length")
    assert same_key.check(token, Purpose.PREFERENCES, NOW).subject == "ext-1"


def test_each_channel_has_its_own_topics_and_ledger(tmp_path: Path) -> None:
    rt = create_runtime(settings(tmp_path))
    assert set(rt.channels) == {ChannelKey.EMAIL, ChannelKey.TELEGRAM}
    assert rt.email.deliveries.get_topic_name() == "hub.deliveries.email.v1"
    assert rt.channels[ChannelKey.TELEGRAM].retries.get_topic_name() == "hub.retries.telegram.v1"
    assert rt.email.ledger.name != rt.channels[ChannelKey.TELEGRAM].ledger.name


def test_records_are_kept_and_work_topics_are_not(tmp_path: Path) -> None:
    rt = create_runtime(settings(tmp_path))
    kept = rt.records_topic_names()
    assert "hub.audit.v1" in kept and "hub.deadletters.telegram.v1" in kept
    assert "hub.events.announcement.published.v1" in kept
    assert "hub.deliveries.email.v1" in rt.work_topic_names()
    tiers = [f"hub.retries.telegram.{label}.v1" for label in ("5s", "30s", "5m", "30m")]
    assert set(tiers) <= set(rt.work_topic_names())
    assert not set(kept) & set(rt.work_topic_names())


def test_telegram_can_be_turned_off(tmp_path: Path) -> None:
    rt = create_runtime(settings(tmp_path, telegram=TelegramSettings(enabled=False)))
    assert set(rt.channels) == {ChannelKey.EMAIL}
