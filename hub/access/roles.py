"""The roles a credential can hold; every route of the API requires one of them."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a credential may do; every route requires one of these."""

    PUBLISHER = "publisher"  # publish events; dry runs; the status of their own events
    EDITOR = "editor"  # newsletter curation, preview and send-now
    OFFICER = "officer"  # subscribers, partners, export, erasure, redrive, audit, any status
    ADMIN = "admin"  # credentials
