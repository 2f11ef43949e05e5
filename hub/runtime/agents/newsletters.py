"""Newsletter items, editions once per period, and the schedule that asks for them."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from faust.types import StreamT

from hub.errors import BadRecord
from hub.model import audit
from hub.model.events import Event
from hub.model.newsletter_state import NewsletterState
from hub.model.newsletters import CompileRequest, EditionSent, read_or_skip
from hub.newsletters.archive import archive_record
from hub.newsletters.catchup import run_owed
from hub.newsletters.config import Newsletter
from hub.newsletters.editions import accepts, plan_edition
from hub.newsletters.state import fold_into, load, next_items
from hub.runtime.agents.guard import ContiguousStream
from hub.runtime.app import Runtime, utc_now

log = logging.getLogger(__name__)


def newsletters_for(rt: Runtime, event: Event) -> list[str]:
    return [name for name, newsletter in rt.newsletters.items() if accepts(newsletter, event)]


def register_newsletter_agents(rt: Runtime) -> None:
    """Items accumulate per newsletter; at each scheduled time one edition per period goes out."""
    app = rt.app
    records = ContiguousStream(rt, "hub.newsletter")

    @app.agent(rt.newsletter_records, name="hub.newsletter", concurrency=1)
    async def compile_newsletters(stream: StreamT[Any]) -> None:
        async for key, value in records.items(stream):
            name = key.decode() if isinstance(key, bytes) else str(key)
            newsletter = rt.newsletters.get(name)
            if newsletter is None:
                log.error("record for newsletter %r ignored: no such newsletter", name)
                continue
            record = read_or_skip(value, f"newsletter {name}")
            if record is None:  # no dead letters for this topic: logged, and the next one
                continue
            kept = fold_into(rt.newsletter_state, rt.newsletter_items, name, record)
            if kept is None:  # the stored state is unreadable: left as it is, and logged
                continue
            if isinstance(record, CompileRequest):
                state = read_or_log(rt, name)
                if state is not None:
                    await send_edition(rt, newsletter, state, record)

    requested: dict[str, datetime] = {}  # newsletter -> the last scheduled time asked for here
    for newsletter in rt.newsletters.values():
        schedule_newsletter(rt, newsletter, requested)
    catch_up_schedules(rt, requested)


def read_or_log(rt: Runtime, name: str) -> NewsletterState | None:
    """The newsletter's whole state, items and all; None, once logged, if it cannot be read."""
    try:
        return load(rt.newsletter_state, rt.newsletter_items, name)
    except BadRecord as exc:
        log.error("newsletter %s: state unreadable, no edition compiled: %s", name, exc)
        return None


async def request_edition(rt: Runtime, newsletter: Newsletter, at: datetime, by: str) -> None:
    try:
        request = CompileRequest(at=at.isoformat(), by=by)
        await rt.newsletter_records.send(key=newsletter.name.encode(), value=request.dump())
    except Exception:  # an exception escaping a crontab or timer would stop the whole worker
        log.exception("newsletter %s: could not request the edition", newsletter.name)


def schedule_newsletter(
    rt: Runtime, newsletter: Newsletter, requested: dict[str, datetime]
) -> None:
    # on_leader: one trigger per schedule; a doubled trigger around a rebalance is harmless,
    # since the edition id comes from the newsletter and the period.
    @rt.app.crontab(newsletter.schedule, timezone=ZoneInfo(newsletter.timezone), on_leader=True)
    async def trigger() -> None:
        now = utc_now()
        requested[newsletter.name] = newsletter.period_start(now)
        await request_edition(rt, newsletter, now, "schedule")


def catch_up_schedules(rt: Runtime, requested: dict[str, datetime]) -> None:
    """On the leader: ask for a scheduled edition no trigger asked for (hub.newsletters.catchup)."""
    window = timedelta(seconds=rt.settings.newsletter_catch_up_seconds)

    @rt.app.timer(interval=min(30.0, window.total_seconds()), on_leader=True)  # type: ignore[untyped-decorator]
    async def catch_up() -> None:
        now = utc_now()
        for newsletter in rt.newsletters.values():
            due = run_owed(newsletter, now, requested, window)
            if due is not None:
                requested[newsletter.name] = due
                log.info("newsletter %s: catching up the run of %s", newsletter.name, due)
                await request_edition(rt, newsletter, due, "schedule")


async def send_edition(
    rt: Runtime, newsletter: Newsletter, state: NewsletterState, request: CompileRequest
) -> None:
    """Compile and send the edition of the request's period, unless it already went out."""
    started = time.monotonic()
    at = request.time()
    edition_id = newsletter.edition_id(at)
    if edition_id in state.editions or rt.editions.get(edition_id) is not None:
        log.info("newsletter edition %s already sent", edition_id, extra={"edition_id": edition_id})
        return
    items = next_items(state, newsletter)
    if not items and not newsletter.send_empty:
        log.info(
            "newsletter edition %s: nothing to send", edition_id, extra={"edition_id": edition_id}
        )
        return
    plan = plan_edition(
        newsletter,
        edition_id,
        newsletter.period_start(at),
        items,
        state.curation.intro,
        rt.directory,
        rt.renderer,
        rt.links.knowing(rt.directory.held),  # links naming each reader's language
        rt.settings.default_language,
        rt.partners.registry(),
    )
    for message in plan.deliveries:
        await rt.email.deliveries.send(key=message["recipient"]["id"].encode(), value=message)
    rt.editions[edition_id] = archive_record(
        newsletter, edition_id, at, plan, utc_now(), state.curation.intro
    )
    sent = EditionSent(edition=edition_id, event_ids=plan.event_ids)
    await rt.newsletter_records.send(key=newsletter.name.encode(), value=sent.dump())
    entry = audit.record(
        request.by,
        "newsletter.sent",
        edition_id,
        utc_now(),
        recipients=len(plan.deliveries),
        items=len(plan.event_ids),
    )
    await rt.audit.send(key=edition_id.encode(), value=entry)
    # The one line an edition logs, whatever its audience.
    log.info(
        "newsletter edition %s: %d items to %d recipients (email) in %.2f s",
        edition_id,
        len(plan.event_ids),
        len(plan.deliveries),
        time.monotonic() - started,
        extra={"edition_id": edition_id, "channel": "email"},
    )
