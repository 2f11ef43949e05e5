"""The email itself: multipart/alternative with the recipient's links, safe headers, wire bytes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Any

from markupsafe import escape

from hub.model.deliveries import Delivery
from hub.rendering.environment import Rendered
from hub.rendering.links import link_marks


def personalise(rendered: Rendered, delivery: Delivery) -> tuple[str, str]:
    """Put the recipient's own links where the shared rendering left markers: cheap per email."""
    links = delivery.links
    preferences = links.preferences if links else ""
    unsubscribe = links.unsubscribe if links else ""
    preferences_mark, unsubscribe_mark = link_marks(rendered.nonce)
    text = rendered.text.replace(preferences_mark, preferences).replace(
        unsubscribe_mark, unsubscribe
    )
    html = rendered.html.replace(preferences_mark, escape(preferences)).replace(
        unsubscribe_mark, escape(unsubscribe)
    )
    return text, html


# CR, LF and the other controls (and Unicode line separators) would end a header or start a
# new one: any field that reaches a header has them replaced by a space, never folded in.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# RFC 2369 headers are URI lists: mail providers read them only as plain ASCII `<uri>, <uri>`.
_VERBATIM = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
_URI = re.compile(r"^[\x21-\x3b\x3d\x3f-\x7e]+$")  # printable ASCII but < and >
RFC5322_MAX_LINE = 998


def header_text(value: str) -> str:
    """A value safe to put in a header: line breaks and controls become one space."""
    return " ".join(_BREAKS.sub(" ", value).split())


class _HubPolicy(EmailPolicy):
    """The default policy, except that List-Unsubscribe headers go out exactly as given.

    The default policy folds a long URI into RFC 2047 encoded-words (`=?utf-8?q?=3Chttp...`),
    which is not a URI list any more: Gmail and Yahoo then offer no one-click unsubscribe.
    """

    def _verbatim(self, name: str, value: Any) -> str | None:
        if name.lower() not in _VERBATIM:
            return None
        text = str(value)
        line = f"{name}: {text}"
        if not text.isascii() or len(line) > RFC5322_MAX_LINE or _BREAKS.search(text):
            raise ValueError(f"{name} must be one line of plain ASCII under 998 characters")
        return line + self.linesep

    def fold(self, name: str, value: Any) -> str:
        return self._verbatim(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        verbatim = self._verbatim(name, value)
        if verbatim is not None:
            return verbatim.encode("ascii")
        return super().fold_binary(name, value)


POLICY = _HubPolicy(**default_policy.__dict__)
# What goes on the wire (aiosmtplib's send_message would flatten with its own policy instead).
WIRE = POLICY.clone(linesep="\r\n")
WIRE_UTF8 = WIRE.clone(utf8=True)


def list_unsubscribe(https_url: str, mailto_url: str) -> str:
    """The RFC 2369 value, checked to be a plain ASCII URI list (RFC 8058 needs the https one)."""
    value = f"<{https_url}>, <{mailto_url}>"
    plain = all(_URI.match(uri) for uri in (https_url, mailto_url))
    if not plain or not https_url.startswith(("https://", "http://")):
        raise ValueError(f"not a plain ASCII URI list: {value!r}")
    return value


def build_message(
    rendered: Rendered, delivery: Delivery, *, sender: Address, message_id_domain: str
) -> EmailMessage:
    """One delivery's email: the shared rendering with the recipient's own links and headers."""
    text, html = personalise(rendered, delivery)
    links = delivery.links
    return assemble(
        rendered.subject,
        sender,
        recipient_headers(delivery, message_id_domain),
        delivery.event_id,
        list_unsubscribe(links.unsubscribe, links.unsubscribe_mailto) if links else None,
        delivery.language,
        (text, html),
    )


def recipient_headers(delivery: Delivery, message_id_domain: str) -> list[tuple[str, Any]]:
    """The headers that differ from one recipient to the next, in their order on the message."""
    return [
        # Line breaks in a name are replaced (the policy would refuse them and fail the
        # delivery); Address quotes display names safely.
        (
            "To",
            Address(
                display_name=header_text(delivery.recipient.name),
                addr_spec=header_text(delivery.recipient.address),
            ),
        ),
        ("Date", format_datetime(datetime.now(UTC))),
        # The same Message-ID for every attempt of a delivery: a message repeated after a crash
        # (sent, but the worker died before recording it) is recognisably the same message, and
        # mail clients that de-duplicate by Message-ID show it once.
        ("Message-ID", f"<{delivery.id}@{message_id_domain}>"),
        ("X-Hub-Delivery-Id", delivery.id),
    ]


def assemble(
    subject: str,
    sender: Address,
    personal: list[tuple[str, Any]],
    event_id: str,
    unsubscribe: str | None,
    language: str,
    bodies: tuple[str, str],
    encodings: tuple[str | None, str | None] = (None, None),
) -> EmailMessage:
    """The message, header by header: build_message and the pre-built messages share it."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = header_text(subject)
    message["From"] = sender
    for name, value in personal:
        message[name] = value
    message["X-Hub-Event-Id"] = event_id
    if unsubscribe is not None:
        # RFC 2369 and RFC 8058: a one-click POST to the https URL unsubscribes at once.
        message["List-Unsubscribe"] = unsubscribe
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Precedence"] = "bulk"
    text, html = bodies
    message.set_content(text, subtype="plain", charset="utf-8", cte=encodings[0])
    message.add_alternative(html, subtype="html", charset="utf-8", cte=encodings[1])
    # After set_content, which drops Content-*.
    message["Content-Language"] = header_text(language)
    return message


def wire_bytes(message: EmailMessage, *, utf8: bool) -> bytes:
    """The message as it goes to the SMTP server (CRLF; UTF-8 headers only with SMTPUTF8)."""
    return message.as_bytes(policy=WIRE_UTF8 if utf8 else WIRE)
