"""Audit records: who did what, when; written to an append-only topic kept for ever.

The trail outlives the people it mentions, so it names subscribers by id only: an entry never
carries a name, an email address or a chat id, and any email address that slips into a detail
(a provider's refusal quoting it, a rejected record) is replaced before the entry is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, JsonValue

from hub.errors import BadRecord
from hub.model.records import Record
from hub.privacy.sealing import redact


class AuditEntry(Record):
    """One entry on hub.audit.v1."""

    record_name: ClassVar[str] = "audit"

    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, JsonValue] = Field(default_factory=dict)


def entry(actor: str, action: str, subject: str, now: datetime, **detail: Any) -> AuditEntry:
    """One audit entry; `action` reads like event.published, delivery.sent, deadletters.redriven."""
    return AuditEntry(
        at=now.isoformat(),
        actor=redact(actor),
        action=action,
        subject=subject,
        detail={name: _scrubbed(value) for name, value in detail.items()},
    )


def record(actor: str, action: str, subject: str, now: datetime, **detail: Any) -> dict[str, Any]:
    """The JSON value of `entry(...)`, as written to the audit topic."""
    return entry(actor, action, subject, now, **detail).dump()


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    return value


def concerns(value: object, subscriber_id: str) -> bool:
    """Is this entry about the subscriber (its subject, or the recipient of a delivery)?

    An entry that does not parse concerns nobody it can name.
    """
    try:
        read = AuditEntry.parse(value)
    except BadRecord:
        return False
    return subscriber_id in (read.subject, read.detail.get("recipient_id"))
