"""Guards of the public HTML forms: size capped before reading, same origin, anti-forgery token.

The anti-forgery token is a signed double submit: the page sets a random value in a cookie and
puts the same value, signed, in the form; a POST must bring both, and they must match. Another
site can make a browser POST to us, but cannot read or set our cookie, nor sign a value.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.subscribers.tokens import LIFETIME, InvalidTokenError, Purpose, Signer

FIELD = "csrf"
MANY = ("topics", "channels")  # checkbox groups: repeated fields become lists


class FormRefused(Exception):
    """A form POST refused before it was handled; status and a sentence for the person."""

    def __init__(self, status: int, heading: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.heading = heading
        self.text = text


def too_large(limit: int) -> FormRefused:
    return FormRefused(
        413, "This form is too large", f"A form may hold at most {limit // 1024} KB. Shorten it."
    )


async def read_form(headers: Mapping[str, str], chunks: Any, limit: int) -> dict[str, Any]:
    """An urlencoded body as a dict, read at most `limit` bytes: the declared length is checked
    before reading, and the stream is cut when it goes past (chunked bodies declare nothing)."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large(limit)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    form: dict[str, Any] = {k: v[-1] for k, v in fields.items()}
    for many in MANY:
        form[many] = fields.get(many, [])
    return form


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(headers: Mapping[str, str], allowed: frozenset[str]) -> None:
    """Refuse a POST a browser says came from another site (Fetch Metadata, then Origin).

    Clients that send neither header (curl, scripts) still need the anti-forgery token.
    `allowed` holds the public origin and the origin the request was addressed to (Host).
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise cross_origin()
    origin = headers.get("origin")
    if origin is not None and origin != "null" and origin.lower() not in allowed:
        raise cross_origin()


def cross_origin() -> FormRefused:
    return FormRefused(
        403,
        "This form was sent from another site",
        "For your safety we only accept our forms from our own pages. Open the page on our site"
        " and send the form from there.",
    )


@dataclass(frozen=True, slots=True)
class FormCookie:
    """Where the double-submit value lives: `__Host-` and Secure when served over https."""

    name: str
    secure: bool

    @classmethod
    def for_url(cls, public_url: str) -> FormCookie:
        secure = public_url.lower().startswith("https://")
        return cls("__Host-hub-form" if secure else "hub-form", secure)

    def header(self, value: str) -> str:
        max_age = int(LIFETIME[Purpose.FORM].total_seconds())
        flags = f"Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
        return f"{self.name}={value}; {flags}{'; Secure' if self.secure else ''}"


def new_cookie_value() -> str:
    return secrets.token_urlsafe(24)


def form_token(signer: Signer, cookie_value: str, now: datetime) -> str:
    return signer.issue(cookie_value, Purpose.FORM, now)


def check_form_token(signer: Signer, token: str, cookie_value: str | None, now: datetime) -> None:
    """The form's token must be ours, unexpired, and match this browser's cookie."""
    expired = FormRefused(
        403,
        "This form has expired",
        "Forms are valid for 12 hours and need cookies. Go back, reload the page and send it"
        " again.",
    )
    if not token or not cookie_value:
        raise expired
    try:
        claims = signer.check(token, Purpose.FORM, now)
    except InvalidTokenError:
        raise expired from None
    if not hmac.compare_digest(claims.subject, cookie_value):
        raise expired
