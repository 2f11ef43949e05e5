"""DKIM signatures (RFC 6376) on the wire bytes of each email: rsa-sha256, relaxed/relaxed.

dkimpy does the parsing and canonicalisation and chooses the header instances to sign, as its own
`dkim.sign` does; the RSA signature itself is made by `cryptography` (OpenSSL), since dkimpy's
pure-Python RSA takes about 15 ms per message on one core, two orders of magnitude more than
building the message. Signing then costs about a millisecond per message (the body hash and the
RSA operation), once per recipient: each recipient's body has their own links, so nothing of it
can be shared between messages. `tests/test_dkim.py` verifies the result with `dkim.verify`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]

from hub.errors import ConfigurationError
from hub.settings import SmtpSettings

# Signed in this order; one that a message lacks (List-Unsubscribe on a message without links)
# is signed as absent, so it cannot be added on the way without breaking the signature.
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Content-Type",
    "MIME-Version",
)
RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
MIN_KEY_BITS = 1024  # RFC 8301: signers MUST use at least 1024 bits, SHOULD use 2048
_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_-]+)*")
_LINE = 76  # folded DKIM-Signature lines stay under 78 characters


@dataclass(frozen=True, slots=True)
class DkimKey:
    """Who signs: d=<domain>, s=<selector>, and the RSA key whose public half is published in
    the TXT record <selector>._domainkey.<domain>."""

    domain: str
    selector: str
    key: rsa.RSAPrivateKey

    @classmethod
    def from_pem(cls, domain: str, selector: str, pem: str | bytes) -> DkimKey:
        for what, value in (
            ("HUB_SMTP__DKIM_DOMAIN", domain),
            ("HUB_SMTP__DKIM_SELECTOR", selector),
        ):
            if not value.isascii() or not _NAME.fullmatch(value):
                raise ConfigurationError(f"{what} is not a DNS name: {value!r}")
        data = pem.encode() if isinstance(pem, str) else pem
        if b"\n" not in data.strip() and b"\\n" in data:
            data = data.replace(b"\\n", b"\n")  # a PEM given on one line with literal \n
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            # Never the key itself in the message: it is a secret.
            raise ConfigurationError(
                "HUB_SMTP__DKIM_PRIVATE_KEY is not an unencrypted PEM private key"
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError("HUB_SMTP__DKIM_PRIVATE_KEY must be an RSA key (rsa-sha256)")
        if key.key_size < MIN_KEY_BITS:
            raise ConfigurationError(
                f"HUB_SMTP__DKIM_PRIVATE_KEY has {key.key_size} bits; DKIM needs at least "
                f"{MIN_KEY_BITS} (2048 recommended)"
            )
        return cls(domain.lower(), selector, key)

    @classmethod
    def from_settings(cls, settings: SmtpSettings) -> DkimKey | None:
        """The configured key, or None when DKIM is off (the settings check all-or-none)."""
        s = settings
        if not (s.dkim_domain and s.dkim_selector and s.dkim_private_key):
            return None
        return cls.from_pem(s.dkim_domain, s.dkim_selector, s.dkim_private_key.get_secret_value())

    def public_record(self) -> str:
        """The TXT record to publish at <selector>._domainkey.<domain>."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


class _Collected:
    """A stand-in for dkimpy's hasher: keeps the bytes to sign, which OpenSSL then hashes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def update(self, data: bytes) -> None:
        self.parts.append(data)


def dkim_signature(message: bytes, key: DkimKey, *, timestamp: int | None = None) -> bytes:
    """The DKIM-Signature header line (folded, ending in CRLF) for `message`, CRLF wire bytes."""
    headers, body = dkim.rfc822_parse(message)
    body_hash = base64.b64encode(hashlib.sha256(RELAXED.canonicalize_body(body)).digest())
    signed = tuple(name.lower().encode("ascii") for name in SIGNED_HEADERS)
    tags = [
        b"v=1",
        b"a=rsa-sha256",
        b"c=relaxed/relaxed",
        b"d=" + key.domain.encode("ascii"),
        b"s=" + key.selector.encode("ascii"),
        b"t=%d" % (int(time.time()) if timestamp is None else timestamp),
        b"h=" + b" : ".join(signed),
        b"bh=" + body_hash,
    ]
    # Folded only at spaces that relaxed canonicalisation turns back into the same one space;
    # b= on lines of its own, whose folding the verifier removes with the signature.
    value = _wrap(b"; ".join(tags) + b";") + b"\r\n b="
    collected = _Collected()
    dkim.hash_headers(
        collected,
        RELAXED,
        RELAXED.canonicalize_headers(headers),
        signed,
        (b"DKIM-Signature", b" " + value),
        {},
    )
    signature = key.key.sign(b"".join(collected.parts), padding.PKCS1v15(), hashes.SHA256())
    encoded = base64.b64encode(signature)
    width = _LINE - len(b" b=")
    chunks = [encoded[i : i + width] for i in range(0, len(encoded), width)]
    return b"DKIM-Signature: " + value + b"\r\n ".join(chunks) + b"\r\n"


def dkim_sign(message: bytes, key: DkimKey, *, timestamp: int | None = None) -> bytes:
    """`message` with its DKIM-Signature header in front: what goes to the SMTP server."""
    return dkim_signature(message, key, timestamp=timestamp) + message


def _wrap(value: bytes) -> bytes:
    """Fold at spaces so that no line (the first after "DKIM-Signature: ") passes _LINE."""
    lines: list[bytes] = []
    line = b""
    room = _LINE - len(b"DKIM-Signature: ")
    for word in value.split(b" "):
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line, room = word, _LINE - 1
        else:
            line = line + b" " + word if line else word
    lines.append(line)
    return b"\r\n ".join(lines)
