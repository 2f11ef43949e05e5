"""Signed links: itsdangerous underneath, key rotation, and no key outside development."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import itsdangerous
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from hub.errors import ConfigurationError
from hub.runtime.app import create_signer
from hub.settings import Settings
from hub.subscribers.tokens import (
    LIFETIME,
    InvalidTokenError,
    Purpose,
    Signer,
    check_compact,
    issue_compact,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OLD, NEW, OTHER = b"old-key-" * 4, b"new-key-" * 4, b"other-key-" * 4


def test_tokens_signed_with_a_retired_key_still_verify_while_it_is_listed() -> None:
    before = Signer(OLD).issue("ext-1", Purpose.UNSUBSCRIBE, NOW)
    rotated = Signer(NEW, old_keys=[OLD])
    assert rotated.check(before, Purpose.UNSUBSCRIBE, NOW).subject == "ext-1"
    # New tokens are signed with the new key only: the old key alone does not verify them.
    after = rotated.issue("ext-1", Purpose.UNSUBSCRIBE, NOW)
    assert Signer(NEW).check(after, Purpose.UNSUBSCRIBE, NOW).subject == "ext-1"
    with pytest.raises(InvalidTokenError):
        Signer(OLD).check(after, Purpose.UNSUBSCRIBE, NOW)
    # Once the old key is dropped, its tokens stop working.
    with pytest.raises(InvalidTokenError):
        Signer(NEW).check(before, Purpose.UNSUBSCRIBE, NOW)


@given(
    subject=st.text(min_size=1, max_size=80),
    nonce=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40),
    purpose=st.sampled_from(list(Purpose)),
    seconds=st.integers(min_value=0, max_value=10**9),
)
def test_tokens_are_exactly_what_itsdangerous_itself_signs(
    subject: str, nonce: str, purpose: Purpose, seconds: int
) -> None:
    # Issuing reuses one signer per purpose: links already sent must keep verifying, and the
    # bytes must not drift from the library's own format.
    now = NOW + timedelta(seconds=seconds)
    signer = Signer(NEW, old_keys=[OLD])
    token = signer.issue(subject, purpose, now, nonce=nonce)
    body = {"s": subject, "e": int((now + LIFETIME[purpose]).timestamp()), "n": nonce}
    reference = itsdangerous.URLSafeSerializer([OLD, NEW], salt=f"hub.{purpose.value}")
    assert token == reference.dumps(body)
    assert signer.check(token, purpose, now).subject == subject


def test_compact_telegram_tokens_follow_the_rotation_too() -> None:
    before = issue_compact(Signer(OLD), "ext-0123456789abcdef0123", Purpose.TELEGRAM, NOW)
    assert len(before) <= 64
    rotated = Signer(NEW, old_keys=[OLD])
    assert check_compact(rotated, before, Purpose.TELEGRAM, NOW) == "ext-0123456789abcdef0123"
    with pytest.raises(InvalidTokenError):
        check_compact(Signer(NEW, old_keys=[OTHER]), before, Purpose.TELEGRAM, NOW)
    with pytest.raises(InvalidTokenError, match="expired"):
        check_compact(rotated, before, Purpose.TELEGRAM, NOW + timedelta(days=8))


def test_a_token_for_one_purpose_is_refused_for_another_even_after_rotation() -> None:
    token = Signer(OLD).issue("ext-1", Purpose.PREFERENCES, NOW)
    with pytest.raises(InvalidTokenError, match="something else"):
        Signer(NEW, old_keys=[OLD]).check(token, Purpose.UNSUBSCRIBE, NOW)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Signer(NEW, old_keys=[b"short"])


def test_the_secret_key_is_required_outside_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_SECRET_KEY", raising=False)
    monkeypatch.delenv("HUB_ENV", raising=False)
    with pytest.raises(ConfigurationError, match="HUB_SECRET_KEY is required"):
        create_signer(Settings(data_dir=tmp_path))
    # Development runs with a throw-away key.
    assert create_signer(Settings(data_dir=tmp_path, env="development")).keys
    with pytest.raises(ConfigurationError, match="at least 16 bytes"):
        create_signer(Settings(data_dir=tmp_path, secret_key=SecretStr("short")))


def test_old_keys_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_SECRET_KEY", NEW.decode())
    monkeypatch.setenv("HUB_OLD_SECRET_KEYS", f'["{OLD.decode()}"]')
    signer = create_signer(Settings(data_dir=tmp_path))
    before = Signer(OLD).issue("ext-9", Purpose.PREFERENCES, NOW)
    assert signer.check(before, Purpose.PREFERENCES, NOW).subject == "ext-9"
