"""Audit records: who did what, when; written to an append-only topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def record(actor: str, action: str, subject: str, now: datetime, **detail: Any) -> dict[str, Any]:
    """One audit entry; `action` reads like event.published, delivery.sent, deadletters.redriven."""
    return {
        "at": now.isoformat(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }
