"""Publishing a submission: stamped, validated again, on its type's topic, audited, recorded."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hub.console.submissions import Submission, published, refused
from hub.errors import InvalidEventError
from hub.intake.publishing import accept
from hub.intake.schemas import SchemaCatalog
from hub.model import audit
from hub.services import AuditTrail, ConsoleStore, EventPublisher
from hub.settings import Settings

CONSOLE = "console"  # the actor of what the scheduler does on its own


def stamped(submission: Submission, now: datetime) -> dict[str, Any]:
    """The event as it goes out: its document with the time it was published."""
    return {**submission.document, "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}


async def publish_submission(
    submission: Submission,
    by: str,
    now: datetime,
    *,
    catalog: SchemaCatalog,
    publisher: EventPublisher,
    trail: AuditTrail,
    store: ConsoleStore,
    settings: Settings,
) -> Submission:
    """Write the event to its topic and mark the submission published.

    Validated again: a schema may have changed since it was submitted (InvalidEventError then,
    and nothing is written). A crash between the two writes publishes it again at the next
    scheduler tick: harmless, an event id fans out once.
    """
    document = stamped(submission, now)
    accepted = accept(
        json.dumps(document).encode(),
        catalog,
        topic_prefix=settings.kafka.topic_prefix,
        max_bytes=settings.limits.max_event_bytes,
        max_depth=settings.limits.max_json_depth,
    )
    placed = await publisher.publish(accepted, submission.author)
    entry = audit.record(
        by,
        "event.published",
        submission.id,
        now,
        type=document["type"],
        classification=document["classification"],
        topic=accepted.topic,
        offset=placed.offset,
        via="console",
        author=submission.author,
    )
    await trail.record(accepted.key, entry)
    done = published(submission, by, document, placed.offset, now)
    await store.save(done)
    return done


async def publish_due(
    store: ConsoleStore,
    now: datetime,
    *,
    catalog: SchemaCatalog,
    publisher: EventPublisher,
    trail: AuditTrail,
    settings: Settings,
) -> list[Submission]:
    """Every scheduled submission whose time has come, published (the scheduler's tick)."""
    done = []
    for submission in store.all():
        if not submission.due(now):
            continue
        try:
            done.append(
                await publish_submission(
                    submission,
                    CONSOLE,
                    now,
                    catalog=catalog,
                    publisher=publisher,
                    trail=trail,
                    store=store,
                    settings=settings,
                )
            )
        except InvalidEventError as exc:
            # Back to its author with the reasons, rather than tried again every tick.
            problems = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
            await store.save(refused(submission, CONSOLE, problems, now))
    return done
