"""Signed, expiring links for people without passwords, with key rotation (itsdangerous)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import itsdangerous


class Purpose(StrEnum):
    CONFIRM = "confirm"  # double opt-in: single use, short-lived
    PREFERENCES = "preferences"  # the preference centre, data export and erasure
    UNSUBSCRIBE = "unsubscribe"  # List-Unsubscribe one-click (RFC 8058)
    TELEGRAM = "telegram"  # /start <token>: links a Telegram chat to a subscriber
    FORM = "form"  # the anti-forgery token of an HTML form (double submit)


LIFETIME = {
    Purpose.CONFIRM: timedelta(days=2),
    Purpose.PREFERENCES: timedelta(days=90),
    Purpose.UNSUBSCRIBE: timedelta(days=90),
    Purpose.TELEGRAM: timedelta(days=7),
    Purpose.FORM: timedelta(hours=12),
}
MIN_KEY_BYTES = 16


class InvalidTokenError(Exception):
    """The link was forged, altered, expired, or meant for something else."""


# Why a link does not work, as InvalidTokenError says it (pages show each in the reader's words).
NOT_VALID = "this link is not valid"
EXPIRED = "this link has expired"
OTHER_PURPOSE = "this link is meant for something else"


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str  # a subscriber id
    purpose: Purpose
    expires: datetime
    nonce: str
    # The reader's language, when the link was made for someone whose language was known; links
    # signed before it existed have none.
    language: str | None = None


class _KeyOnceSigner(itsdangerous.Signer):
    """itsdangerous's signer, deriving its signing key once rather than for every signature
    (the same bytes out: a fan-out signs two links per recipient)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: bytes | None = None

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        if secret_key is not None:
            return super().derive_key(secret_key)
        if self._derived is None:
            self._derived = super().derive_key()
        return self._derived


class Signer:
    """Signs with one key (HUB_SECRET_KEY) and accepts tokens from older keys too.

    Rotation: make the new key HUB_SECRET_KEY and list the old one in HUB_OLD_SECRET_KEYS until
    the links it signed have expired (90 days at most); then drop it.
    """

    def __init__(self, key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        for candidate in (key, *old_keys):
            if len(candidate) < MIN_KEY_BYTES:
                raise ValueError(f"a signing key must be at least {MIN_KEY_BYTES} bytes")
        # itsdangerous signs with the last key of the list and verifies with any of them.
        self.keys: list[bytes] = [*reversed(old_keys), key]
        # The purpose is the salt: a token for one purpose never verifies for another.
        self._serializers = {
            p: itsdangerous.URLSafeSerializer(self.keys, salt=f"hub.{p.value}") for p in Purpose
        }
        # One signer per purpose, made once: what `dumps` would build anew for every token.
        self._signers = {
            p: _KeyOnceSigner(self.keys, salt=f"hub.{p.value}".encode()) for p in Purpose
        }
        self._compact = {
            k: itsdangerous.Signer(k, salt="hub.compact", digest_method=hashlib.sha256)
            for k in self.keys
        }

    def _serializer(self, purpose: Purpose) -> itsdangerous.URLSafeSerializer:
        return self._serializers[purpose]

    def issue(
        self,
        subject: str,
        purpose: Purpose,
        now: datetime,
        nonce: str | None = None,
        language: str | None = None,
    ) -> str:
        """A token for `purpose`; `language` (optional) says which language its pages speak."""
        expires = now + LIFETIME[purpose]
        body: dict[str, Any] = {
            "s": subject,
            "e": int(expires.timestamp()),
            "n": nonce or secrets.token_urlsafe(8),
        }
        if language:
            body["l"] = language
        payload = self._serializer(purpose).dump_payload(body)
        return self._signers[purpose].sign(payload).decode()

    def check(self, token: str, purpose: Purpose, now: datetime) -> Claims:
        """The claims of a genuine, unexpired token for `purpose`; InvalidTokenError otherwise."""
        try:
            body: Any = self._serializer(purpose).loads(token)
        except itsdangerous.BadSignature:
            if self._other_purpose(token, purpose):
                raise InvalidTokenError(OTHER_PURPOSE) from None
            raise InvalidTokenError(NOT_VALID) from None
        try:
            claims = Claims(
                subject=str(body["s"]),
                purpose=purpose,
                expires=datetime.fromtimestamp(int(body["e"]), tz=now.tzinfo),
                nonce=str(body["n"]),
                language=_language_claim(body),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InvalidTokenError(NOT_VALID) from None
        if now >= claims.expires:
            raise InvalidTokenError(EXPIRED)
        return claims

    def _other_purpose(self, token: str, purpose: Purpose) -> bool:
        """Whether a token is genuine but for another purpose (for a clearer message)."""
        for other in Purpose:
            if other is not purpose:
                try:
                    self._serializer(other).loads(token)
                except itsdangerous.BadSignature:
                    continue
                return True
        return False

    def compact_signature(self, value: str, key: bytes) -> str:
        return self._compact[key].get_signature(value).decode()[:COMPACT_MAC_CHARS]


def _language_claim(body: dict[str, Any]) -> str | None:
    """The optional `l` claim: a tag, or None for tokens without one."""
    language = body.get("l")
    return language if isinstance(language, str) and language else None


# Telegram's /start parameter: at most 64 characters of [A-Za-z0-9_-].
COMPACT_MAX = 64
COMPACT_MAC_CHARS = 20  # 120 bits of HMAC-SHA256
COMPACT_SUBJECT = re.compile(rf"^[A-Za-z0-9_-]{{1,{COMPACT_MAX - 8 - COMPACT_MAC_CHARS}}}$")
HEX8 = re.compile(r"^[0-9a-f]{8}$")


def issue_compact(signer: Signer, subject: str, purpose: Purpose, now: datetime) -> str:
    """A token that fits Telegram's /start parameter: at most 64 of [A-Za-z0-9_-].

    Fixed-width fields first: 8 hex digits of expiry, 20 characters of MAC, then the subject.
    """
    if not COMPACT_SUBJECT.match(subject):
        raise ValueError(f"subject {subject!r} cannot go in a compact token")
    expires = f"{int((now + LIFETIME[purpose]).timestamp()):08x}"
    mac = signer.compact_signature(f"{purpose.value}|{expires}|{subject}", signer.keys[-1])
    return expires + mac + subject


def check_compact(signer: Signer, token: str, purpose: Purpose, now: datetime) -> str:
    """The subject of a genuine, unexpired compact token; InvalidTokenError otherwise."""
    cut = 8 + COMPACT_MAC_CHARS
    expires, mac, subject = token[:8], token[8:cut], token[cut:]
    if len(token) <= cut or not COMPACT_SUBJECT.match(subject) or not HEX8.match(expires):
        raise InvalidTokenError(NOT_VALID)
    value = f"{purpose.value}|{expires}|{subject}"
    if not any(
        hmac.compare_digest(mac, signer.compact_signature(value, key)) for key in signer.keys
    ):
        raise InvalidTokenError(NOT_VALID)
    if now.timestamp() >= int(expires, 16):
        raise InvalidTokenError(EXPIRED)
    return subject


def new_external_id() -> str:
    """A random id for a new external subscriber: nothing to do with the address or any key,
    so rotating the signing key re-identifies no one. The email index finds it again."""
    return f"ext-{secrets.token_hex(10)}"
