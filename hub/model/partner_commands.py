"""Commands on the partners topic: an organisation (key `org:<id>`) or an officer's decision on
one person's request for partner access (key `access:<subscriber id>`), with who and why.

The organisation and the decision themselves are checked field by field by hub.partners.registry.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import JsonValue

from hub.model.records import Record


class OrganisationCommand(Record):
    record_name: ClassVar[str] = "partner organisation"

    cause: str = "changed"
    actor: str = "hub"
    organisation: dict[str, JsonValue]


class DecisionCommand(Record):
    record_name: ClassVar[str] = "partner access decision"

    cause: str = "changed"
    actor: str = "hub"
    decision: dict[str, JsonValue]
