"""Audit records: who did what, when; written to an append-only topic kept for ever.

The trail outlives the people it mentions, so it names subscribers by id only: an entry never
carries a name, an email address or a chat id, and any email address that slips into a detail
(a provider's refusal quoting it, a rejected record) is replaced before the entry is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.privacy.sealing import redact


def record(actor: str, action: str, subject: str, now: datetime, **detail: Any) -> dict[str, Any]:
    """One audit entry; `action` reads like event.published, delivery.sent, deadletters.redriven."""
    return {
        "at": now.isoformat(),
        "actor": redact(actor),
        "action": action,
        "subject": subject,
        "detail": {name: _scrubbed(value) for name, value in detail.items()},
    }


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    return value


def concerns(entry: dict[str, Any], subscriber_id: str) -> bool:
    """Is this entry about the subscriber (its subject, or the recipient of a delivery)?"""
    detail = entry.get("detail")
    recipient = detail.get("recipient_id") if isinstance(detail, dict) else None
    return subscriber_id in (entry.get("subject"), recipient)
