"""Asynchronous bounces: RFC 3464 delivery status notifications and a relay's JSON. Pure.

A hard bounce (action `failed`, status class 5) counts against the address; after
`HUB_BOUNCES__HARD_LIMIT` of them the worker pauses the subscriber's email channel
(hub.runtime.agents.bounces). On the bounces topic an address appears only as `address_key`,
a SHA-256 of its directory key (`email_key`), never in clear.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from hub.subscribers.directory import email_key

ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


@dataclass(frozen=True, slots=True)
class Bounce:
    address: str
    status: str  # e.g. 5.1.1
    action: str  # failed, delayed, delivered, relayed, expanded
    hard: bool  # failed with a permanent (5.x.x) status
    diagnostic: str = ""

    def record(self) -> tuple[bytes, dict[str, Any]]:
        """The key and value written to the bounces topic: no address in clear."""
        key = address_key(self.address)
        return key.encode(), {
            "v": 1,
            "address_key": key,
            "status": self.status,
            "action": self.action,
            "hard": self.hard,
        }


def address_key(address: str) -> str:
    """The pseudonymous key of an address on the bounces topic and in the count table."""
    return hashlib.sha256(email_key(address).encode()).hexdigest()


def is_hard(action: str, status: str) -> bool:
    return action == "failed" and status.startswith("5.")


def _bounce(address: str, status: str, action: str, diagnostic: str) -> Bounce:
    return Bounce(address, status, action, is_hard(action, status), diagnostic)


def parse_dsn(raw: bytes) -> list[Bounce]:
    """The per-recipient results of a delivery status notification; ValueError naming why not."""
    if not raw.strip():
        raise ValueError("not a DSN: the message is empty")
    message = message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        raise ValueError(
            f"not a DSN: content type is {message.get_content_type()}, not multipart/report"
        )
    report_type = str(message.get_param("report-type") or "").lower()
    if report_type != "delivery-status":
        raise ValueError(
            f"not a DSN: report-type is {report_type or 'missing'}, not delivery-status"
        )
    parts = [p for p in message.walk() if p.get_content_type() == "message/delivery-status"]
    if not parts:
        raise ValueError("not a DSN: no message/delivery-status part")
    bounces: list[Bounce] = []
    for part in parts:
        for group in _groups(part):
            recipient = group.get("final-recipient") or group.get("original-recipient")
            if recipient is None:
                continue  # the per-message group
            address = recipient.split(";", 1)[-1].strip().strip("<>")
            action = (group.get("action") or "").strip().lower()
            code = next(iter((group.get("status") or "").split()), "")
            problems = []
            if not address or "@" not in address:
                problems.append(f"Final-Recipient {recipient!r} holds no address")
            if action not in ACTIONS:
                problems.append(f"Action {action or 'missing'!r} is not one of {sorted(ACTIONS)}")
            if not _STATUS.match(code):
                problems.append(f"Status {code or 'missing'!r} is not a status code like 5.1.1")
            if problems:
                raise ValueError("bad DSN recipient group: " + "; ".join(problems))
            bounces.append(_bounce(address, code, action, group.get("diagnostic-code", "")))
    if not bounces:
        raise ValueError("not a DSN: the delivery-status part names no recipient")
    return bounces


def _groups(part: Message) -> list[dict[str, str]]:
    """The field groups of a message/delivery-status part (blank-line separated)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parsed each group as a message
        return [
            {k.lower(): str(v).strip() for k, v in group.items()}
            for group in payload
            if isinstance(group, Message)
        ]
    text = payload if isinstance(payload, str) else ""
    groups: list[dict[str, str]] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.strip()):
        fields: dict[str, str] = {}
        name = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and name is not None:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                fields[name] = value.strip()
        if fields:
            groups.append(fields)
    return groups


def bounce_from_json(data: Any) -> Bounce:
    """A relay webhook's bounce: {"recipient", "status", "action", "diagnostic"?}; ValueError
    naming every problem."""
    if not isinstance(data, dict):
        raise ValueError(f"a bounce must be a JSON object, not {type(data).__name__}")
    problems = []
    recipient, status, action = data.get("recipient"), data.get("status"), data.get("action")
    diagnostic = data.get("diagnostic", "")
    if not isinstance(recipient, str) or "@" not in recipient.strip()[1:-1]:
        problems.append("recipient: an email address is required")
    if not isinstance(status, str) or not _STATUS.match(status.strip()):
        problems.append("status: a status code like 5.1.1 is required")
    if not isinstance(action, str) or action.strip().lower() not in ACTIONS:
        problems.append(f"action: one of {', '.join(sorted(ACTIONS))} is required")
    if not isinstance(diagnostic, str):
        problems.append("diagnostic: must be a string")
    unknown = sorted(set(data) - {"recipient", "status", "action", "diagnostic"})
    if unknown:
        problems.append(f"unknown fields: {', '.join(unknown)}")
    if problems:
        raise ValueError("bad bounce: " + "; ".join(problems))
    assert isinstance(recipient, str) and isinstance(status, str) and isinstance(action, str)
    return _bounce(recipient.strip(), status.strip(), action.strip().lower(), str(diagnostic))


def read_record(value: Any) -> tuple[str, bool, str, str]:
    """A record from the bounces topic: (address_key, hard, status, action); ValueError if bad."""
    if not isinstance(value, dict):
        raise ValueError("bad bounce record: not an object")
    key, status, action = value.get("address_key"), value.get("status"), value.get("action")
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError("bad bounce record: $.address_key is not a SHA-256")
    if not isinstance(status, str) or not isinstance(action, str):
        raise ValueError("bad bounce record: $.status and $.action must be strings")
    return key, is_hard(action, status), status, action


def reached_limit(count: int, limit: int) -> bool:
    """True exactly once: when the count of hard bounces becomes the limit."""
    return count == limit


HARD_BOUNCE_LIMIT = 3  # the default of HUB_BOUNCES__HARD_LIMIT (hub.settings.BounceSettings)
