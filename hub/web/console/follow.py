"""Following events in the console: the list, an event's page and decisions, previews, status."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markdown_it import MarkdownIt

from hub.access.roles import Role
from hub.console import submissions as flow
from hub.console.submissions import RefusedChange, State, Submission
from hub.console.words import Said
from hub.delivery.status import summarise
from hub.errors import TemplateError
from hub.model import audit
from hub.model.events import Event
from hub.newsletters.editions import accepts, render_edition
from hub.planning.dryrun import search
from hub.services import Keyed, utc_now
from hub.web.console import views
from hub.web.console.frame import EMAIL_PREVIEW_HEADERS, PREVIEWS, ConsoleFrame
from hub.web.console.publish import publish_if_due
from hub.web.console.sessions import CSRF_HEADER, Session

AUDIT_ENTRIES = 500  # the latest of one event: its publication, decisions and delivery batches
DECISIONS = {
    "approve": "event.approved",
    "decline": "event.declined",
    "cancel": "event.cancelled",
    "reschedule": "event.rescheduled",
}


def register_follow_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    s = frame.s
    markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})

    @router.get("/events")
    async def events(
        request: Request,
        type: str = "",
        author: str = "",
        state: str = "",
        since: str = "",
    ) -> HTMLResponse:
        session = frame.current(request)
        me = session.account.name
        visible = [x for x in s.store.all() if x.state is not State.DRAFT or x.author == me]
        shown = [
            x
            for x in visible
            if (not type or x.event_type == type)
            and (not author or x.author == author)
            and (not state or x.state.value == state)
            and (not since or x.updated_at[:10] >= since)
        ]
        waiting = (
            [x for x in visible if x.state is State.AWAITING_APPROVAL and x.author != me]
            if session.account.has(Role.OFFICER)
            else []
        )
        decided = [
            (x, decision)
            for x in visible
            if x.author == me and (decision := views.decision(x)) is not None
        ][:5]
        return frame.page(
            request,
            "events.html.j2",
            session,
            shown=shown,
            waiting=waiting,
            decided=decided,
            types=s.catalog.event_types,
            authors=sorted({x.author for x in visible}),
            states=[st.value for st in State],
            filters={"type": type, "author": author, "state": state, "since": since},
            title_of=views.title,
        )

    @router.get("/events/{submission_id}")
    async def event_page(request: Request, submission_id: str) -> HTMLResponse:
        session = frame.current(request)
        submission = frame.submission_of(session, submission_id)
        return _event_view(frame, request, session, submission, None)

    # A POST catch-all: /events/{id}/edit (POST) must be registered before it, and is (compose).
    @router.post("/events/{submission_id}/{decision}")
    async def decide(request: Request, submission_id: str, decision: str) -> Response:
        if decision not in DECISIONS:
            raise HTTPException(404)
        session, form = await frame.posted(request)
        submission = frame.submission_of(session, submission_id)
        now = utc_now()
        me, roles = session.account.name, session.account.roles
        comment = str(form.get("comment", "")).strip()[:2000]
        try:
            if decision == "approve":
                changed = flow.approve(submission, me, roles, comment, now)
            elif decision == "decline":
                changed = flow.decline(submission, me, roles, comment, now)
            elif decision == "cancel":
                changed = flow.cancel(submission, me, roles, now)
            elif decision == "reschedule":
                when, zone = views.schedule(form, s.settings.console.default_zone)
                changed = flow.reschedule(submission, me, roles, when, zone, now)
            else:
                raise HTTPException(404)
        except RefusedChange as exc:
            return _event_view(frame, request, session, submission, exc.said, 403)
        await s.store.save(changed)
        await s.trail.record(
            changed.id.encode(),
            audit.record(
                me, DECISIONS[decision], changed.id, now, comment=comment, author=changed.author
            ),
        )
        if decision in ("approve", "reschedule"):
            await publish_if_due(s, changed, me)
        return RedirectResponse(f"/console/events/{submission_id}", status_code=303)

    @router.get("/events/{submission_id}/preview")
    async def preview(
        request: Request, submission_id: str, channel: str = "email-html", lang: str = "en"
    ) -> HTMLResponse:
        session = frame.current(request)
        submission = frame.submission_of(session, submission_id)
        rendered = _rendered(frame, submission, channel, lang)
        return frame.page(
            request,
            "preview.html.j2",
            session,
            submission=submission,
            title=views.title(submission),
            channel=channel,
            preview_language=lang,
            rendered=rendered,
            telegram_html=views.telegram_markup(rendered.html) if channel == "telegram" else "",
            previews=[(c, x) for c in PREVIEWS for x in sorted(submission.document["content"])],
        )

    @router.get("/events/{submission_id}/preview.html")
    async def preview_html(
        request: Request, submission_id: str, lang: str = "en", channel: str = "email-html"
    ) -> Response:
        session = frame.current(request)
        submission = frame.submission_of(session, submission_id)
        shown = channel if channel in ("email-html", "newsletter") else "email-html"
        rendered = _rendered(frame, submission, shown, lang)
        return HTMLResponse(rendered.html, headers=EMAIL_PREVIEW_HEADERS)

    @router.get("/events/{submission_id}/audit")
    async def audit_page(request: Request, submission_id: str) -> HTMLResponse:
        session = frame.current(request)
        submission = frame.submission_of(session, submission_id)
        entries = await s.trail.entries(submission.id, AUDIT_ENTRIES)
        return frame.page(
            request,
            "audit.html.j2",
            session,
            submission=submission,
            title=views.title(submission),
            entries=[views.audit_row(e) for e in entries if isinstance(e, dict)],
        )

    # The signed-in person first, then the worker holding the event's status answers.
    @router.get("/events/{submission_id}/status.json")
    async def status_json(
        request: Request,
        submission_id: str,
        session: Annotated[Session, Depends(frame.current)],
        _held_here: Annotated[None, Depends(frame.held(Keyed.EVENT, "submission_id"))],
    ) -> JSONResponse:
        submission = frame.submission_of(session, submission_id)
        record, deliveries = s.status.event(submission.id)
        summary = summarise(submission.id, record, deliveries)
        summary["state"] = submission.state.value
        return JSONResponse(summary, headers={"Cache-Control": "no-store"})

    @router.post("/markdown")
    async def markdown_preview(request: Request) -> JSONResponse:
        session = frame.current(request)
        if not s.sessions.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, detail="reload the page")
        body = (await request.body())[:60_000].decode("utf-8", errors="replace")
        return JSONResponse({"html": markdown.render(body)})

    @router.get("/subscribers")
    async def subscribers(request: Request, q: str = "") -> HTMLResponse:
        session = frame.current(request)
        if not session.account.has(Role.OFFICER):
            return frame.page(request, "refused.html.j2", session, 403, needed="officer")
        found = search(s.directory, q, None, None)[:100] if q else []
        erased = request.query_params.get("erased") == "1"
        return frame.page(
            request,
            "subscribers.html.j2",
            session,
            q=q,
            found=found,
            erased=erased,
            needed="officer",
        )


def _event_view(
    frame: ConsoleFrame,
    request: Request,
    session: Session,
    submission: Submission,
    error: Said | None,
    status_code: int = 200,
) -> HTMLResponse:
    languages = sorted(submission.document.get("content", {}))
    research = submission.document.get("research") or {}
    return frame.page(
        request,
        "event.html.j2",
        session,
        status_code,
        submission=submission,
        title=views.title(submission),
        error=error,
        may_decide=session.account.has(Role.OFFICER)
        and submission.author != session.account.name
        and submission.state is State.AWAITING_APPROVAL,
        may_change=submission.state in flow.WAITING
        and (submission.author == session.account.name or session.account.has(Role.OFFICER)),
        may_edit=submission.state in flow.OPEN and submission.author == session.account.name,
        previews=[(c, lang) for c in PREVIEWS for lang in languages],
        publish_at=views.shown_time(submission.publish_at, submission.zone),
        local_publish_at=views.local_time(submission.publish_at, submission.zone),
        embargo=research.get("embargo_until"),
        prebrief=_prebrief(frame, submission) if research.get("embargo_until") else [],
    )


def _rendered(frame: ConsoleFrame, submission: Submission, channel: str, lang: str) -> Any:
    if channel not in PREVIEWS or lang not in submission.document.get("content", {}):
        raise HTTPException(404, detail="no such preview")
    try:
        event = Event.from_document(submission.document)
        if channel == "newsletter":
            return _newsletter_item(frame, event, lang)
        return frame.s.renderer.render(event, channel.split("-")[0], lang)
    except (TemplateError, ValueError, KeyError) as exc:
        raise HTTPException(422, detail=f"this event cannot be rendered yet: {exc}") from exc


def _newsletter_item(frame: ConsoleFrame, event: Event, lang: str) -> Any:
    """The event as an item of the first newsletter that would carry it, alone in an edition."""
    for newsletter in frame.s.newsletters.newsletters.values():
        if accepts(newsletter, event):
            now = utc_now()
            return render_edition(
                frame.s.renderer,
                newsletter,
                newsletter.period_start(now),
                [event],
                {},
                lang,
                archive=True,
            )
    raise HTTPException(404, detail="no newsletter carries this event")


def _prebrief(frame: ConsoleFrame, submission: Submission) -> list[str]:
    audience_ = submission.document.get("audience") or {}
    people = [frame.s.directory.get(i) for i in audience_.get("people", [])]
    return [p.name for p in people if p is not None] + list(audience_.get("groups", []))
