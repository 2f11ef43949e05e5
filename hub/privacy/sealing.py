"""Personal fields of messages in flight, sealed with their subscriber's own key. Pure.

A delivery message names its recipient (name, email address or Telegram chat) and may carry text
rendered for them. On the delivery, retry and dead-letter topics those fields travel sealed with
AES-256-GCM under a key that belongs to the subscriber and lives only in their record. Erasing the
subscriber removes the record, and with it the key: every sealed copy left in Kafka can no longer be
read by anyone (crypto-shredding). What stays readable is the subscriber id, a reference that leads
nowhere once the record is gone.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The field of a subscriber's table record that holds their data key (never exported or listed).
DATA_KEY = "data_key"
# Fields of a delivery message that are about the person, besides the recipient's name and address.
PERSONAL_FIELDS = ("links", "rendered")
SEALED = "sealed"
# Set on a message whose sealed fields cannot be opened: its recipient was erased.
ERASED = "erased"
# Broadcast destinations (configured channels and groups) are not people: nothing to seal.
BROADCAST_PREFIX = "telegram:"
# A record of many delivery messages (hub.model.deliveries.BATCH): each sealed on its own.
BATCH = "batch"
EMAIL_ADDRESS = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+\.[A-Za-z]{2,}")


def new_key() -> str:
    """A fresh 256-bit data key, as text for a JSON record."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


def decode_key(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        key = base64.urlsafe_b64decode(text.encode())
    except (ValueError, binascii.Error):
        return None
    return key if len(key) == 32 else None


@dataclass(frozen=True, slots=True)
class KeyLookup:
    """What the hub holds for one recipient id: their key, and whether a record exists at all."""

    key: bytes | None
    known: bool


Keys = Callable[[str], KeyLookup]


def keys_from_records(records: Callable[[str], Any]) -> Keys:
    """Key lookup over subscriber records (id -> JSON record, or None once erased)."""

    def lookup(subscriber_id: str) -> KeyLookup:
        record = records(subscriber_id)
        if not isinstance(record, dict) or not record:
            return KeyLookup(None, False)
        return KeyLookup(decode_key(record.get(DATA_KEY)), True)

    return lookup


def _aad(recipient_id: str, message: dict[str, Any]) -> bytes:
    # Binds the sealed fields to this recipient and delivery: they cannot be pasted elsewhere.
    return f"{recipient_id}\x1f{message.get('id', '')}".encode()


def seal_delivery(message: dict[str, Any], keys: Keys) -> dict[str, Any]:
    """The message with its personal fields sealed; already sealed or impersonal ones unchanged.

    A recipient the hub no longer holds (erased while the message was in flight) loses its
    personal fields instead: nothing about them is written in the clear.
    """
    recipient = message.get("recipient")
    if SEALED in message or not isinstance(recipient, dict) or "address" not in recipient:
        return message
    recipient_id = str(recipient.get("id", ""))
    found = keys(recipient_id)
    if found.key is None:
        if recipient_id.startswith(BROADCAST_PREFIX) and not found.known:
            return message
        if found.known:
            return message  # a record from before data keys: it gets one at its next change
        return erased(message)
    personal = {
        "recipient": {k: v for k, v in recipient.items() if k != "id"},
        **{name: message[name] for name in PERSONAL_FIELDS if name in message},
    }
    nonce = os.urandom(12)
    plain = json.dumps(personal, separators=(",", ":")).encode()
    box = AESGCM(found.key).encrypt(nonce, plain, _aad(recipient_id, message))
    rest = {k: v for k, v in message.items() if k not in PERSONAL_FIELDS}
    return {
        **rest,
        "recipient": {"id": recipient_id},
        SEALED: base64.urlsafe_b64encode(nonce + box).decode(),
    }


def open_delivery(message: dict[str, Any], keys: Keys) -> dict[str, Any]:
    """The message with its sealed fields back; marked erased when they cannot be opened."""
    sealed = message.get(SEALED)
    recipient = message.get("recipient")
    if not isinstance(sealed, str) or not isinstance(recipient, dict):
        return message
    recipient_id = str(recipient.get("id", ""))
    key = keys(recipient_id).key
    # The sealed fields stay as they are: a worker whose copy of the subscriber table lags behind
    # may see the key later (the dispatcher retries a few times before it calls it an erasure).
    unopened = {**message, ERASED: True}
    if key is None:
        return unopened
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], _aad(recipient_id, message))
        personal = json.loads(plain)
    except (ValueError, binascii.Error, InvalidTag):
        # Another key: the person was erased and has since subscribed again, as someone new.
        return unopened
    opened = {k: v for k, v in message.items() if k not in (SEALED, ERASED)}
    opened["recipient"] = {"id": recipient_id, **personal.pop("recipient", {})}
    opened.update(personal)
    return opened


def erased(message: dict[str, Any]) -> dict[str, Any]:
    """A message stripped of everything about its recipient but the id."""
    recipient = message.get("recipient")
    recipient_id = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
    rest = {k: v for k, v in message.items() if k not in (*PERSONAL_FIELDS, SEALED)}
    return {**rest, "recipient": {"id": recipient_id}, ERASED: True}


def seal_value(value: Any, keys: Keys) -> Any:
    """A delivery message, a batch of them, or a dead letter around one, sealed for Kafka."""
    if not isinstance(value, dict):
        return value
    batch = value.get(BATCH)
    if isinstance(batch, list):
        sealed = [seal_delivery(m, keys) if isinstance(m, dict) else m for m in batch]
        return {**value, BATCH: sealed}
    delivery = value.get("delivery")
    if isinstance(delivery, dict):  # a dead letter
        recipient = delivery.get("recipient")
        reason = value.get("reason")
        if isinstance(reason, str) and isinstance(recipient, dict):
            value = {**value, "reason": redact(reason, recipient)}
        return {**value, "delivery": seal_delivery(delivery, keys)}
    return seal_delivery(value, keys)


def sealed_json(value: Any, keys: Keys) -> bytes:
    """The bytes a delivery, retry or dead-letter topic holds for `value`: sealed, then JSON."""
    return json.dumps(seal_value(value, keys)).encode()


def open_value(value: Any, keys: Keys) -> Any:
    """The reverse of seal_value, for the agents that send."""
    if not isinstance(value, dict):
        return value
    batch = value.get(BATCH)
    if isinstance(batch, list):
        opened = [open_delivery(m, keys) if isinstance(m, dict) else m for m in batch]
        return {**value, BATCH: opened}
    delivery = value.get("delivery")
    if isinstance(delivery, dict):
        return {**value, "delivery": open_delivery(delivery, keys)}
    return open_delivery(value, keys)


def redact(text: str, recipient: dict[str, Any] | None = None) -> str:
    """Text for a record kept longer than the person (a failure reason): no address, no name.

    Providers quote the address they refused ("<ana@example.org>: mailbox unavailable"); the
    recipient's id already says who it was.
    """
    if recipient:
        for field in ("address", "name"):
            value = recipient.get(field)
            if isinstance(value, str) and len(value) >= 3:
                text = text.replace(value, f"<recipient {field}>")
    return EMAIL_ADDRESS.sub("<email address>", text)
