"""Records on the credentials topic (key: credential name): who holds which roles, and the hash."""

from __future__ import annotations

from typing import ClassVar

from hub.model.records import Record


class CredentialRecord(Record):
    """One credential as kept on the topic: never the token, only its SHA-256."""

    record_name: ClassVar[str] = "credential"

    name: str
    roles: list[str]  # checked against the hub's roles by hub.access.credentials
    sha256: str
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None
