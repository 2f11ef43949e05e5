"""DKIM: every email the channel builds is signed over its final bytes, and dkimpy's verifier, given
the public key the way DNS would give it, accepts the signature; any change to a signed header or
the body breaks it. Both the pre-built path and the general one, and an email as a real SMTP
server received it."""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import dkim  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

from channels.email import prebuilt
from channels.email.channel import EmailChannel
from channels.email.dkim import SIGNED_HEADERS, DkimKey, dkim_sign
from devstack.mailcatcher import MailCatcher
from hub.errors import ConfigurationError
from hub.model.deliveries import Delivery
from hub.planning.routing import plan
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.settings import REPO_ROOT, Settings, SmtpSettings
from hub.subscribers.tokens import Signer
from tests.helpers import event, subscriber

RENDERER = Renderer(REPO_ROOT / "templates")
DOMAIN = "hub.example.org"
SELECTOR = "hub2026"
LINKS = LinkMaker(
    Signer(b"k" * 32),
    "https://hub.example.org",
    "hub.example.org",
    lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def dns(private_key: rsa.RSAPrivateKey) -> Any:
    """A resolver that knows one TXT record: the public key at <selector>._domainkey.<domain>."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    asked: list[bytes] = []

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        asked.append(name)
        wanted = f"{SELECTOR}._domainkey.{DOMAIN}".encode()
        return record if name.rstrip(b".") == wanted else None

    dnsfunc.asked = asked  # type: ignore[attr-defined]
    return dnsfunc


def smtp_settings(pem: str, **values: Any) -> SmtpSettings:
    return SmtpSettings(
        dkim_domain=DOMAIN, dkim_selector=SELECTOR, dkim_private_key=SecretStr(pem), **values
    )


def delivery_with_links(language: str = "fr") -> tuple[Any, Delivery]:
    news = event()
    (delivery,) = plan(news, [subscriber("ext-0123456789abcdef0123", language=language)])
    delivery = replace(delivery, links=LINKS.for_subscriber(delivery.recipient.id))
    return RENDERER.render(news, "email", language), delivery


def signature_tags(data: bytes) -> dict[str, str]:
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    found = re.search(r"^DKIM-Signature:(.*?)\r\n(?=\S)", head, re.MULTILINE | re.DOTALL)
    assert found, head
    value = re.sub(r"\s+", "", found.group(1))
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def test_a_prebuilt_email_carries_a_signature_that_verifies(pem: str, dns: Any) -> None:
    rendered, delivery = delivery_with_links()
    (message,) = EmailChannel(smtp_settings(pem)).build(rendered, delivery)
    assert message.data.startswith(b"DKIM-Signature: ")
    assert dkim.verify(message.data, dnsfunc=dns)
    assert dns.asked[-1].rstrip(b".") == f"{SELECTOR}._domainkey.{DOMAIN}".encode()
    tags = signature_tags(message.data)
    assert tags["a"] == "rsa-sha256" and tags["c"] == "relaxed/relaxed"
    assert tags["d"] == DOMAIN and tags["s"] == SELECTOR
    assert tags["h"].split(":") == [name.lower() for name in SIGNED_HEADERS]
    assert b"\r\nList-Unsubscribe: <https://" in message.data  # signed, and on the message
    assert all(len(line) <= 78 for line in message.data.split(b"\r\n\r\n")[0].split(b"\r\n")[:8])


def test_the_general_path_is_signed_too(
    pem: str, dns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_plain(*_args: Any) -> Any:
        raise prebuilt._NotPlain("this test wants build_message's email")

    monkeypatch.setattr(prebuilt.PrebuiltMessages, "_patched", not_plain)
    rendered, delivery = delivery_with_links("en")
    (message,) = EmailChannel(smtp_settings(pem)).build(rendered, delivery)
    assert dkim.verify(message.data, dnsfunc=dns)


def test_an_email_without_links_is_signed_and_no_list_unsubscribe_can_be_added(
    pem: str, dns: Any
) -> None:
    news = event()
    (delivery,) = plan(news, [subscriber("ext-1", language="es")])
    assert delivery.links is None
    (message,) = EmailChannel(smtp_settings(pem)).build(
        RENDERER.render(news, "email", "es"), delivery
    )
    assert b"\r\nList-Unsubscribe:" not in message.data.split(b"\r\n\r\n")[0]
    assert dkim.verify(message.data, dnsfunc=dns)
    # List-Unsubscribe is signed as absent: one added on the way breaks the signature.
    added = message.data.replace(
        b"\r\nFrom: ", b"\r\nList-Unsubscribe: <https://evil.example/>\r\nFrom: ", 1
    )
    assert not dkim.verify(added, dnsfunc=dns)


def test_a_changed_subject_or_body_fails_verification(pem: str, dns: Any) -> None:
    rendered, delivery = delivery_with_links()
    (message,) = EmailChannel(smtp_settings(pem)).build(rendered, delivery)
    data = message.data
    subject = re.search(rb"\r\nSubject: [^\r]*", data)
    assert subject
    tampered = data.replace(subject.group(0), b"\r\nSubject: Urgent: update your password", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)
    body_at = data.index(b"\r\n\r\n") + 4
    changed_body = data[:body_at] + data[body_at:].replace(b"https://", b"https://x", 1)
    assert not dkim.verify(changed_body, dnsfunc=dns)
    # Relaxed canonicalisation: refolding or extra spaces in headers, as relays do, are fine.
    refolded = data.replace(subject.group(0), subject.group(0).replace(b" ", b"  \r\n\t", 1), 1)
    assert dkim.verify(refolded, dnsfunc=dns)


def test_the_signing_function_alone_on_the_bytes_build_message_makes(pem: str, dns: Any) -> None:
    rendered, delivery = delivery_with_links()
    (unsigned,) = EmailChannel(SmtpSettings()).build(rendered, delivery)
    assert b"DKIM-Signature" not in unsigned.data  # off unless configured
    key = DkimKey.from_pem(DOMAIN, SELECTOR, pem)
    signed = dkim_sign(unsigned.data, key, timestamp=1_790_000_000)
    assert signed.endswith(unsigned.data)
    assert signature_tags(signed)["t"] == "1790000000"
    assert dkim.verify(signed, dnsfunc=dns)
    assert key.public_record() == dns(f"{SELECTOR}._domainkey.{DOMAIN}.".encode()).decode()


async def test_an_email_received_by_a_real_smtp_server_verifies(
    pem: str, dns: Any, mail_catcher: MailCatcher
) -> None:
    rendered, delivery = delivery_with_links()
    channel = EmailChannel(smtp_settings(pem, port=mail_catcher.controller.port, timeout=5))
    try:
        await channel.send(rendered, delivery)
    finally:
        await channel.close()
    (path,) = sorted(mail_catcher.outbox.glob("*.eml"))
    raw = path.read_bytes()
    assert raw.startswith(b"DKIM-Signature: ")
    assert dkim.verify(raw, dnsfunc=dns)


def test_dkim_settings_come_together_and_from_the_environment(
    pem: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    with pytest.raises(ValidationError, match="together"):
        SmtpSettings(dkim_domain=DOMAIN, dkim_selector=SELECTOR)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("HUB_SMTP__DKIM_DOMAIN", DOMAIN)
    monkeypatch.setenv("HUB_SMTP__DKIM_SELECTOR", SELECTOR)
    # One line with literal \n, as some secret stores and .env files hold a PEM.
    monkeypatch.setenv("HUB_SMTP__DKIM_PRIVATE_KEY", pem.replace("\n", "\\n"))
    smtp = Settings().smtp
    assert pem not in repr(smtp)  # a secret
    key = DkimKey.from_settings(smtp)
    assert key is not None and key.domain == DOMAIN and key.selector == SELECTOR


def test_a_key_that_cannot_sign_is_refused_without_showing_it(pem: str) -> None:
    broken = pem.replace("A", "B")[:200]
    with pytest.raises(ConfigurationError, match="not an unencrypted PEM") as caught:
        EmailChannel(smtp_settings(broken))
    assert broken[40:80] not in str(caught.value)
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ConfigurationError, match="must be an RSA key"):
        EmailChannel(smtp_settings(ec_pem))
    with pytest.raises(ConfigurationError, match="not a DNS name"):
        DkimKey.from_pem("hub example.org", SELECTOR, pem)


def test_a_domain_the_sender_is_not_in_is_warned_about(
    pem: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.email.channel"):
        EmailChannel(smtp_settings(pem, sender="News <news@elsewhere.example.net>"))
    assert "DMARC" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="channels.email.channel"):
        EmailChannel(smtp_settings(pem, sender="News <news@mail.hub.example.org>"))
    assert caplog.text == ""
