"""Records as the hub wrote them before records had a version: they must still read."""

from __future__ import annotations

from typing import Any

# As the hub wrote them before records had a version: they must still read.
OLD_DELIVERY: dict[str, Any] = {
    "id": "d1", "event_id": "e1", "channel": "email", "language": "fr",
    "recipient": {"id": "ana", "name": "Ana", "address": "ana@example.org"},
    "attempt": 2, "links": None, "event": {"id": "e1"}, "not_before": "2026-11-29T09:00:10+00:00",
}  # fmt: skip
OLD_TRANSACTIONAL = {
    **OLD_DELIVERY, "event": None, "attempt": 0,
    "rendered": {"subject": "Confirm", "text": "t", "html": "h"},
}  # fmt: skip
OLD_OUTCOME = {
    "event_id": "e1", "status": "retrying", "at": "2026-11-29T09:00:00+00:00", "delivery_id": "d1",
    "channel": "email", "recipient_id": "ana", "language": "fr", "attempt": 2, "reason": "421",
    "retry_at": "2026-11-29T09:00:10+00:00",
}  # fmt: skip
OLD_AUDIT = {
    "at": "2026-11-29T09:00:00+00:00", "actor": "hub", "action": "delivery.sent",
    "subject": "d1", "detail": {"recipient_id": "ana", "channel": "email"},
}  # fmt: skip

OLD_STATE = {
    "event_id": "e1", "delivery_id": "d1", "channel": "email", "language": "fr",
    "recipient_id": "ana", "status": "failed", "attempt": 3, "retries": 3, "reason": "550",
    "at": "2026-11-29T09:00:00+00:00", "retry_at": "", "planned_at": "2026-11-29T08:00:00+00:00",
}  # fmt: skip
OLD_CREDENTIAL = {
    "name": "ana", "roles": ["officer", "publisher"], "sha256": "ab", "created_at": "t",
    "created_by": "admin", "revoked_at": None, "revoked_by": None,
}  # fmt: skip
# Archived before editions kept their items: finished pages, one per language.
OLD_EDITION = {
    "id": "w-1", "newsletter": "w", "period_start": "2026-11-23T00:00:00+00:00",
    "sent_at": "2026-11-30T09:00:00+00:00", "recipients": 4, "event_ids": ["e1"],
    "html": {"en": "<p>page</p>"},
}  # fmt: skip


# A subscriber as the hub wrote it before its records had a version: every field, always.
OLD_SUBSCRIBER = {
    "id": "ana", "kind": "partner", "name": "Ana", "language": "fr", "email": "ana@example.org",
    "telegram_chat_id": 42, "organisation": "Org", "organisation_type": "ngo",
    "department": None, "region": "west-africa", "country": "SN", "office": None,
    "groups": ["g1"], "status": "active",
    "subscriptions": [{
        "event_types": [], "themes": ["climate"], "regions": [], "countries": [],
        "channels": ["email", "telegram"], "mode": "digest",
    }],
    "consents": [{"at": "2026-11-01T09:00:00+00:00", "method": "form", "text": "Yes"}],
    "updated_at": "2026-11-01T09:00:00+00:00", "confirmation_nonce": None,
    "partner_request": {"organisation": "Org", "at": "2026-11-01T09:00:00+00:00"},
}  # fmt: skip
