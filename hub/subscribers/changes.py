"""Applying one subscriber command: the record to keep, the emails to send, the audit entry."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.errors import BadRecord, TemplateError
from hub.model import audit
from hub.model.subscriber_commands import Cause, SubscriberCommand
from hub.model.subscribers import Subscriber
from hub.planning.routing import transactional
from hub.privacy.erasure import is_roll_marker
from hub.privacy.sealing import DATA_KEY, new_key
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.settings import LimitSettings
from hub.subscribers import mail_limits
from hub.subscribers.directory import Directory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChangeContext:
    """What deciding a command reads: the stored records (through the directory and its email
    index), the per-address mail limit, and what the notices are made with."""

    directory: Directory
    limit: mail_limits.AddressLimit
    links: LinkMaker
    renderer: Renderer


@dataclass(frozen=True, slots=True)
class SubscriberChange:
    record: dict[str, Any] | None
    erase: bool
    audit: dict[str, Any] | None  # None: nothing happened (a segment roll marker)
    emails: list[dict[str, Any]] = field(default_factory=list)


def subscriber_change(
    subscriber_id: str, value: object, context: ChangeContext, now: datetime
) -> SubscriberChange:
    """Decide what one command on the subscribers topic does; bad data is recorded, not raised."""
    if is_roll_marker(subscriber_id):
        return SubscriberChange(None, False, None)
    if value is None:  # a tombstone: erasure
        return SubscriberChange(
            None, True, audit.record("hub", "subscriber.erased", subscriber_id, now)
        )
    try:
        received = SubscriberCommand.parse(value)
        subscriber = received.read_subscriber()
    except BadRecord as exc:  # kept on the audit trail with the reason; the record stays as it was
        log.error("subscriber command for %s ignored: %s", subscriber_id, exc)
        entry = audit.record("hub", "subscriber.rejected", subscriber_id, now, reason=str(exc))
        return SubscriberChange(None, False, entry)
    cause, actor = received.cause, received.actor
    previous = context.directory.records.get(subscriber_id)
    if cause is Cause.SUBSCRIBED and previous is None and subscriber.email:
        # Two requests for one new address raced past the web tier's check: keep the first.
        holder = context.directory.by_email(subscriber.email)
        if holder is not None and holder.id != subscriber_id:
            entry = audit.record(
                actor, "subscriber.duplicate-ignored", subscriber_id, now, kept=holder.id
            )
            return SubscriberChange(None, False, entry)
    stamps = mail_limits.recent(previous, now)
    mailing = cause in (Cause.SUBSCRIBED, Cause.ALREADY_ACTIVE)
    limited = mailing and not mail_limits.may_send(stamps, now, context.limit)
    if limited and cause is Cause.SUBSCRIBED and previous is not None:
        # No new email: the link already sent must keep working, so keep its nonce.
        subscriber = subscriber.with_changes(confirmation_nonce=previous.get("confirmation_nonce"))
    entry = audit.record(
        actor,
        f"subscriber.{cause.value}",
        subscriber_id,
        now,
        status=subscriber.status.value,
        reason=received.reason,
        **({"mail": "withheld: too many for this address"} if limited else {}),
    )
    try:
        emails = [] if limited else _notices(subscriber, cause, context)
    except TemplateError as exc:
        log.error("notice for %s not rendered: %s", subscriber_id, exc)
        emails = []
    if emails and mailing:
        stamps.append(now.isoformat())
    record = subscriber.to_dict()
    if stamps:
        record[mail_limits.FIELD] = stamps
    # The person's data key (hub.privacy.sealing) stays for the life of the record and goes with it.
    kept = previous.get(DATA_KEY) if isinstance(previous, dict) else None
    record[DATA_KEY] = kept or new_key()
    return SubscriberChange(record, False, entry, emails)


def address_limit(limits: LimitSettings) -> mail_limits.AddressLimit:
    return mail_limits.AddressLimit(
        timedelta(seconds=limits.address_mail_interval_seconds), limits.address_mails_per_day
    )


def _notices(subscriber: Subscriber, cause: Cause, context: ChangeContext) -> list[dict[str, Any]]:
    """Double opt-in: the confirmation link, or a word to someone already subscribed."""
    if subscriber.email is None:
        return []
    if cause is Cause.SUBSCRIBED and subscriber.confirmation_nonce:
        url = context.links.confirmation(
            subscriber.id, subscriber.confirmation_nonce, subscriber.language
        )
        rendered = context.renderer.render_system(
            "confirm", subscriber.language, {"name": subscriber.name, "confirm_url": url}
        )
        nonce = subscriber.confirmation_nonce
        return [transactional("confirm", nonce, subscriber, asdict(rendered))]
    if cause is Cause.ALREADY_ACTIVE:
        links = context.links.for_subscriber(subscriber.id, subscriber.language)
        rendered = context.renderer.render_system(
            "already",
            subscriber.language,
            {"name": subscriber.name, "preferences_url": links.preferences},
        )
        return [transactional("already", subscriber.updated_at, subscriber, asdict(rendered))]
    return []
