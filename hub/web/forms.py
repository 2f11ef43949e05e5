"""Guards of the public HTML forms: size capped before reading, same origin, anti-forgery token.

The anti-forgery token is a signed double submit: the page sets a random value in a cookie and
puts the same value, signed, in the form; a POST must bring both, and they must match. Another
site can make a browser POST to us, but cannot read or set our cookie, nor sign a value.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.subscribers.selfservice import N_
from hub.subscribers.tokens import LIFETIME, InvalidTokenError, Purpose, Signer

FIELD = "csrf"
MANY = ("topics", "channels")  # checkbox groups: repeated fields become lists


class FormRefused(Exception):
    """A form POST refused before it was handled; status and a sentence for the person.

    `heading` and `text` are in English; a page shows them in its reader's language with
    `translated`, from their message ids (marked with N_) and the values of their placeholders.
    """

    def __init__(self, status: int, heading: str, text: str, **values: Any) -> None:
        self.status = status
        self.heading_id = heading
        self.text_id = text
        self.values = values
        self.heading = heading
        self.text = text % values if values else text
        super().__init__(self.text)

    def translated(self, gettext: Callable[[str], str]) -> tuple[str, str]:
        """(heading, text) in the words `gettext` gives."""
        text = gettext(self.text_id)
        return gettext(self.heading_id), text % self.values if self.values else text


def too_large(limit: int) -> FormRefused:
    return FormRefused(
        413,
        N_("This form is too large"),
        N_("A form may hold at most %(size)s KB. Shorten it."),
        size=limit // 1024,
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
        N_("This form was sent from another site"),
        N_(
            "For your safety we only accept our forms from our own pages. Open the page on our"
            " site and send the form from there."
        ),
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
        N_("This form has expired"),
        N_(
            "Forms are valid for 12 hours and need cookies. Go back, reload the page and send it"
            " again."
        ),
    )
    if not token or not cookie_value:
        raise expired
    try:
        claims = signer.check(token, Purpose.FORM, now)
    except InvalidTokenError:
        raise expired from None
    if not hmac.compare_digest(claims.subject, cookie_value):
        raise expired
