"""An officer's work on the partner registry, done the same way from the HTTP API and the CLI:
check a change against the registry as it stands, write its record, list requests for access.

Each front end reads the registry and writes records its own way (the worker's table and
producer; the CLI's Kafka client) behind `PartnerCommands`; the decisions are made here once.
An `InvalidPartnerError` means nothing was written; each front end shows its problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from hub.model.subscribers import Subscriber
from hub.partners.commands import decide, decision_command, organisation_command
from hub.partners.registry import AccessDecision, Decision, Organisation, PartnerRegistry

# A change to one organisation, checked against the registry: (registry, now) -> the new record.
OrganisationChange = Callable[[PartnerRegistry, str], Organisation]


class PartnerCommands(Protocol):
    async def write(self, records: Sequence[tuple[bytes, dict[str, Any]]]) -> None:
        """Write records (hub.partners.commands) to the partners topic, with acks=all."""


async def change_registry(
    registry: PartnerRegistry,
    change: OrganisationChange,
    cause: str,
    actor: str,
    now: str,
    commands: PartnerCommands,
) -> Organisation:
    """Apply `change` (add_organisation, add_domain, revoke...) and write the organisation."""
    organisation = change(registry, now)
    await commands.write([organisation_command(organisation, cause, actor)])
    return organisation


async def answer_request(
    registry: PartnerRegistry,
    subscriber: Subscriber | None,
    decision: Decision,
    organisation_id: str | None,
    comment: str,
    actor: str,
    now: str,
    commands: PartnerCommands,
) -> AccessDecision:
    """Approve or decline a person's request for partner access, and write the decision."""
    made = decide(registry, subscriber, decision, organisation_id, comment, actor, now)
    await commands.write([decision_command(made, actor)])
    return made


def requests_in(
    registry: PartnerRegistry, subscribers: Iterable[Subscriber], state: str
) -> list[Subscriber]:
    """Confirmed people whose request for partner access is in `state` ("all": any state)."""
    found = []
    for subscriber in subscribers:
        current = registry.request_state(subscriber)
        if current is None or not subscriber.confirmed:
            continue
        if state == "all" or current.value == state:
            found.append(subscriber)
    return found


def requested_organisation(subscriber: Subscriber) -> str | None:
    """The organisation the person named when asking (or on their record, before the registry)."""
    request = subscriber.partner_request
    return request.organisation if request else subscriber.organisation
