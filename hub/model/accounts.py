"""Records on the console accounts topic (key: the account's name): who signs in, with what."""

from __future__ import annotations

from typing import ClassVar

from hub.model.records import Record


class AccountRecord(Record):
    """One console account as kept on the topic: never the password, only its argon2id hash."""

    record_name: ClassVar[str] = "account"

    name: str
    display_name: str
    email: str
    roles: list[str]  # checked against the hub's roles by hub.access.accounts
    language: str = "en"
    password_hash: str
    password_set_at: str  # a new password ends every session signed in with the old one
    created_at: str
    created_by: str
    disabled_at: str | None = None
    disabled_by: str | None = None
