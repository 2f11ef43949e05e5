"""Signed, expiring links: HMAC-SHA256 over a small JSON payload, for people without passwords."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Purpose(StrEnum):
    CONFIRM = "confirm"  # double opt-in: single use, short-lived
    PREFERENCES = "preferences"  # the preference centre, data export and erasure
    UNSUBSCRIBE = "unsubscribe"  # List-Unsubscribe one-click (RFC 8058)
    TELEGRAM = "telegram"  # /start <token>: links a Telegram chat to a subscriber


LIFETIME = {
    Purpose.CONFIRM: timedelta(days=2),
    Purpose.PREFERENCES: timedelta(days=90),
    Purpose.UNSUBSCRIBE: timedelta(days=90),
    Purpose.TELEGRAM: timedelta(days=7),
}


class InvalidTokenError(Exception):
    """The link was forged, altered, expired, or meant for something else."""


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str  # a subscriber id
    purpose: Purpose
    expires: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Issues and checks tokens with one secret key (HUB_SECRET_KEY)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the signing key must be at least 16 bytes")
        self._key = key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, subject: str, purpose: Purpose, now: datetime, nonce: str | None = None) -> str:
        expires = now + LIFETIME[purpose]
        body = {"s": subject, "p": purpose.value, "e": int(expires.timestamp())}
        body["n"] = nonce or secrets.token_urlsafe(8)
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def check(self, token: str, purpose: Purpose, now: datetime) -> Claims:
        """The claims of a genuine, unexpired token for `purpose`; InvalidTokenError otherwise."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidTokenError("this link is not valid")
        try:
            body = json.loads(_unb64(payload))
            claims = Claims(
                subject=str(body["s"]),
                purpose=Purpose(body["p"]),
                expires=datetime.fromtimestamp(int(body["e"]), tz=now.tzinfo),
                nonce=str(body["n"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidTokenError("this link is not valid") from exc
        if claims.purpose is not purpose:
            raise InvalidTokenError("this link is meant for something else")
        if now >= claims.expires:
            raise InvalidTokenError("this link has expired")
        return claims


COMPACT_SUBJECT = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
HEX8 = re.compile(r"^[0-9a-f]{8}$")


def issue_compact(signer: Signer, subject: str, purpose: Purpose, now: datetime) -> str:
    """A token that fits Telegram's /start parameter: at most 64 of [A-Za-z0-9_-].

    Fixed-width fields first: 8 hex digits of expiry, 16 characters of MAC, then the subject.
    """
    if not COMPACT_SUBJECT.match(subject):
        raise ValueError(f"subject {subject!r} cannot go in a compact token")
    expires = f"{int((now + LIFETIME[purpose]).timestamp()):08x}"
    return expires + signer._mac(f"{purpose.value}|{expires}|{subject}")[:16] + subject


def check_compact(signer: Signer, token: str, purpose: Purpose, now: datetime) -> str:
    """The subject of a genuine, unexpired compact token; InvalidTokenError otherwise."""
    expires, mac, subject = token[:8], token[8:24], token[24:]
    if len(token) <= 24 or not COMPACT_SUBJECT.match(subject) or not HEX8.match(expires):
        raise InvalidTokenError("this link is not valid")
    expected = signer._mac(f"{purpose.value}|{expires}|{subject}")[:16]
    if not hmac.compare_digest(mac, expected):
        raise InvalidTokenError("this link is not valid")
    if now.timestamp() >= int(expires, 16):
        raise InvalidTokenError("this link has expired")
    return subject


def external_subscriber_id(key: bytes, email: str) -> str:
    """The same address always maps to the same id, and the id does not reveal the address."""
    digest = hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"ext-{digest[:20]}"
