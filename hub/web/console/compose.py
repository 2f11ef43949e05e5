"""Writing an event in the console: the editor, its checks, a test send, and the submission."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.access.accounts import Account
from hub.access.roles import Role
from hub.console import submissions as flow
from hub.console.form import content_values, field_problems, form_fields, form_values
from hub.console.submissions import RefusedChange, Submission
from hub.console.words import N_, Said
from hub.errors import ConfigurationError, DeliveryError, Problem
from hub.model import audit
from hub.model.events import Event
from hub.planning import audience
from hub.planning.dryrun import dry_run
from hub.planning.gaps import LanguageGaps, language_gaps
from hub.services import utc_now
from hub.web.console import views
from hub.web.console.frame import COMPOSERS, PREVIEWS, ConsoleFrame
from hub.web.console.publish import publish_if_due
from hub.web.console.sessions import Session

SAMPLE_NAMES = 10
SAVED = Said(N_("Draft saved."))
NO_EMAIL = Said(N_("email is not configured on this hub"))


def register_compose_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    s = frame.s

    @router.get("/compose")
    async def compose(request: Request, type: str = "") -> Response:
        session = frame.current(request)
        frame.require(session, *COMPOSERS)
        if type not in s.catalog.event_types:
            return frame.page(request, "choose_type.html.j2", session, types=s.catalog.event_types)
        now = utc_now()
        document = views.envelope(str(uuid.uuid4()), type, s.catalog, session.account, now)
        draft = flow.new_draft(
            document["id"],
            type,
            session.account.name,
            session.account.display_name,
            document,
            now,
        )
        return _editor(frame, request, session, draft, {}, notice=None)

    @router.get("/events/{submission_id}/edit")
    async def edit(request: Request, submission_id: str) -> HTMLResponse:
        session = frame.current(request)
        submission = frame.submission_of(session, submission_id)
        return _editor(frame, request, session, submission, {}, notice=None)

    @router.post("/events/{submission_id}/edit")
    async def save(request: Request, submission_id: str) -> Response:
        session, form = await frame.posted(request)
        frame.require(session, *COMPOSERS)
        now = utc_now()
        existing = s.store.get(submission_id)
        if existing is None:  # the first save of a new draft: its id came with the form
            event_type = str(form.get("event_type", ""))
            if event_type not in s.catalog.event_types or not views.is_uuid(submission_id):
                raise HTTPException(404, detail="no such event")
            base = views.envelope(submission_id, event_type, s.catalog, session.account, now)
            existing = flow.new_draft(
                submission_id,
                event_type,
                session.account.name,
                session.account.display_name,
                base,
                now,
            )
        elif existing.author != session.account.name:
            raise HTTPException(404, detail="no such event")
        fields = form_fields(s.catalog, existing.event_type)
        document = views.document(existing, fields, form, s.renderer.languages.supported)
        action = str(form.get("action", "save"))
        try:
            draft = flow.save_draft(existing, session.account.name, document, now)
        except RefusedChange as exc:
            return _editor(frame, request, session, existing, views.strings(form), exc.said, 409)
        problems = views.problems(s.catalog, document)
        errors, other = field_problems(problems, fields)
        if action == "submit" and not problems:
            return await _submit(frame, request, session, draft, form, now)
        await s.store.save(draft)
        context: dict[str, Any] = {"field_errors": errors, "other_errors": other}
        if action in ("check", "test-send", "submit") or problems:
            context.update(_checked(frame, draft, problems, session))
        notice = SAVED
        if action == "test-send" and not problems:
            context["test_result"] = await _test_send(frame, draft, session.account)
        status_code = 422 if problems and action != "save" else 200
        return _editor(
            frame, request, session, draft, views.strings(form), notice, status_code, **context
        )


def _editor(
    frame: ConsoleFrame,
    request: Request,
    session: Session,
    submission: Submission,
    values: dict[str, str],
    notice: Said | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    s = frame.s
    languages = s.renderer.languages.supported
    fields = form_fields(s.catalog, submission.event_type)
    shown = values or {
        **form_values(fields, submission.document),
        **content_values(submission.document.get("content", {}), languages),
        "publish_at": views.local_time(submission.publish_at, submission.zone),
        "zone": submission.zone or s.settings.console.default_zone,
    }
    for key, empty in (
        ("field_errors", {}),
        ("other_errors", []),
        ("gaps", None),
        ("dry", None),
        ("previews", []),
        ("test_result", None),
    ):
        context.setdefault(key, empty)
    return frame.page(
        request,
        "compose.html.j2",
        session,
        status_code,
        submission=submission,
        fields=fields,
        groups=views.groups(fields),
        values=shown,
        suggestions=views.suggestions(s.directory),
        content_languages=languages,
        notice=notice,
        **context,
    )


async def _submit(
    frame: ConsoleFrame,
    request: Request,
    session: Session,
    draft: Submission,
    form: dict[str, Any],
    now: datetime,
) -> Response:
    s = frame.s
    event = Event.from_document(draft.document)
    size = dry_run(event, s.directory, now, s.renderer.languages, s.partners.registry())[
        "recipients"
    ]
    reasons = flow.approval_reasons(draft.document, size, s.settings.console.approval_threshold)
    try:
        when, zone = views.schedule(form, s.settings.console.default_zone)
        submitted = flow.submit(
            draft, session.account.name, draft.document, reasons, when, zone, now
        )
    except RefusedChange as exc:
        return _editor(frame, request, session, draft, views.strings(form), exc.said, 422)
    await s.store.save(submitted)
    await s.trail.record(
        submitted.id.encode(),
        audit.record(
            session.account.name,
            "event.submitted",
            submitted.id,
            now,
            reasons=reasons,
            publish_at=submitted.publish_at,
        ),
    )
    await publish_if_due(s, submitted, session.account.name)
    return RedirectResponse(f"/console/events/{submitted.id}", status_code=303)


def _checked(
    frame: ConsoleFrame, draft: Submission, problems: list[Problem], session: Session
) -> dict[str, Any]:
    """The language gaps and the dry run of a valid draft."""
    if problems:
        return {}
    event = Event.from_document(draft.document)
    return {
        "gaps": _language_gaps(frame, event),
        "dry": _dry_run(frame, event, session),
        "previews": [(c, lang) for c in PREVIEWS for lang in sorted(event.content)],
    }


def _language_gaps(frame: ConsoleFrame, event: Event) -> LanguageGaps:
    """The supported languages the event lacks, and who would read another language."""
    s = frame.s
    chosen = audience.audience_of(event, s.directory, s.partners.registry())
    return language_gaps(event, s.renderer.languages, (p.language for p, _channels in chosen))


def _dry_run(frame: ConsoleFrame, event: Event, session: Session) -> dict[str, Any]:
    s = frame.s
    result = dry_run(event, s.directory, utc_now(), s.renderer.languages, s.partners.registry())
    if session.account.has(Role.OFFICER):  # names are for officers only
        ids = list(dict.fromkeys(p["recipient_id"] for p in result["preview"]))
        people = [s.directory.get(i) for i in ids[:SAMPLE_NAMES]]
        result["names"] = [p.name for p in people if p is not None]
    return result


async def _test_send(
    frame: ConsoleFrame, draft: Submission, account: Account
) -> dict[str, str | Said]:
    s = frame.s
    if s.test_sender is None:
        return {"error": NO_EMAIL}
    event = Event.from_document(draft.document)
    language = s.renderer.languages.choose(account.language, event.languages)
    rendered = s.renderer.render(event, "email", language)
    try:
        await s.test_sender.send("email", rendered, account.email, account.display_name, language)
    except (DeliveryError, ConfigurationError) as exc:
        return {"error": str(exc)}
    return {"to": account.email, "language": language}
