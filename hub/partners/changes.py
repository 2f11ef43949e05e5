"""Applying one record of the partners topic: what the registry keeps, the audit entry, and the
email that tells a person the outcome of their request. Plain Python."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import JsonValue

from hub.errors import BadRecord, Problem, TemplateError
from hub.model import audit
from hub.model.deliveries import PersonalLinks
from hub.model.partner_commands import DecisionCommand, OrganisationCommand
from hub.model.records import Record
from hub.partners.registry import (
    Decision,
    InvalidPartnerError,
    decision_from_dict,
    organisation_from_dict,
)
from hub.planning.routing import transactional
from hub.rendering.environment import Renderer
from hub.subscribers.directory import Directory

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PartnerChange:
    key: str
    record: dict[str, Any] | None  # None: leave the registry as it is (or remove, see below)
    remove: bool
    audit: dict[str, Any]
    emails: list[dict[str, Any]] = field(default_factory=list)


def partner_change(
    key: str,
    value: object,
    now: datetime,
    directory: Directory,
    renderer: Renderer,
    links: Callable[[str], PersonalLinks],
) -> PartnerChange | None:
    """Decide what one record does; bad data is audited as rejected and changes nothing."""
    if value is None:  # a tombstone: the person was erased, or an organisation removed
        return PartnerChange(key, None, True, audit.record("hub", "partner.removed", key, now))
    actor = str(value.get("actor", "hub")) if isinstance(value, dict) else "hub"
    try:
        if key.startswith("org:"):
            command = OrganisationCommand.parse(value)
            organisation = _checked(command, organisation_from_dict, command.organisation)
            entry = audit.record(
                command.actor,
                f"partner.{command.cause}",
                organisation.id,
                now,
                name=organisation.name,
                status=organisation.status.value,
                domains=sorted(organisation.domains),
            )
            return PartnerChange(key, organisation.to_dict(), False, entry)
        if key.startswith("access:"):
            answer = DecisionCommand.parse(value)
            decision = _checked(answer, decision_from_dict, answer.decision)
            entry = audit.record(
                answer.actor,
                f"partner.access-{decision.decision.value}",
                decision.subscriber_id,
                now,
                organisation=decision.organisation_id,
                comment=decision.comment,
            )
            emails = _outcome_email(decision.to_dict(), directory, renderer, links)
            return PartnerChange(key, decision.to_dict(), False, entry, emails)
    except BadRecord as exc:  # kept on the audit trail with the reason; nothing changes
        log.error("partner record %s ignored: %s", key, exc)
        entry = audit.record(actor, "partner.rejected", key, now, reason=str(exc))
        return PartnerChange(key, None, False, entry)
    log.error("partner record with unknown key %r ignored", key)
    return None


def _checked(command: Record, build: Callable[[dict[str, Any]], T], raw: dict[str, JsonValue]) -> T:
    """The organisation or decision a command carries; BadRecord naming each invalid field."""
    field_name = "organisation" if isinstance(command, OrganisationCommand) else "decision"
    try:
        return build(dict(raw))
    except InvalidPartnerError as exc:
        problems = [Problem(f"$.{field_name}.{name}", message) for name, message in exc.problems]
        raise BadRecord(command.record_name, problems) from exc


def _outcome_email(
    decision: dict[str, Any],
    directory: Directory,
    renderer: Renderer,
    links: Callable[[str], PersonalLinks],
) -> list[dict[str, Any]]:
    """Tell the person the outcome, in their language, with the officer's comment."""
    subscriber = directory.get(str(decision["subscriber_id"]))
    if subscriber is None or subscriber.email is None:
        return []
    personal = links(subscriber.id)
    approved = decision["decision"] == Decision.APPROVED.value
    try:
        rendered = renderer.render_system(
            "partner-approved" if approved else "partner-declined",
            subscriber.language,
            {
                "name": subscriber.name,
                "comment": decision["comment"],
                "preferences_url": personal.preferences,
            },
        )
    except TemplateError as exc:
        log.error("partner access notice for %s not rendered: %s", subscriber.id, exc)
        return []
    purpose = f"partner-{decision['decision']}"
    return [transactional(purpose, str(decision["at"]), subscriber, asdict(rendered))]
