"""The console's pages: sign-in, events list, compose, preview, approval, schedule and status.

Every page needs a session (hub.web.console.sessions); every POST also its CSRF token and a
same-origin browser. Pages work without JavaScript; the script only adds the live Markdown
preview and the live delivery status.
"""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from hub.access.accounts import Account
from hub.access.roles import Role
from hub.console import submissions as flow
from hub.console.form import (
    Field,
    content_from_form,
    content_values,
    document_from_form,
    field_problems,
    form_fields,
    form_values,
)
from hub.console.publishing import publish_submission
from hub.console.submissions import RefusedChange, State, Submission
from hub.delivery.status import summarise
from hub.errors import ConfigurationError, DeliveryError, InvalidEventError, Problem, TemplateError
from hub.intake.schemas import SchemaCatalog
from hub.model import audit
from hub.model.events import Event
from hub.planning import audience
from hub.planning.dryrun import dry_run, search
from hub.planning.languages import choose_language
from hub.rendering.environment import Renderer
from hub.services import (
    AccountReader,
    AuditTrail,
    ConsoleStore,
    DirectoryReader,
    EventPublisher,
    PartnerReader,
    StatusReader,
    TestSender,
    utc_now,
)
from hub.settings import Settings
from hub.web import forms
from hub.web.console.i18n import LANGUAGES, translator
from hub.web.console.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, Sessions
from hub.web.forms import FormRefused
from hub.web.ratelimit import SlidingWindow

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"console.css": "text/css", "console.js": "text/javascript"}
MAX_FORM_BYTES = 256 * 1024
SAMPLE_NAMES = 10
PREVIEWS = ("email-html", "email-text", "telegram")
# The console's pages: scripts and styles from this server only, framed by nobody (the email
# preview is the one page framed, by the console itself).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self';"
        " object-src 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
}
# An email's HTML as the recipient sees it, framed in the preview page: its inline styles, no
# script, no request anywhere.
EMAIL_PREVIEW_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    ),
}
COMPOSERS = (Role.PUBLISHER, Role.OFFICER)
DECISIONS = {
    "approve": "event.approved",
    "decline": "event.declined",
    "cancel": "event.cancelled",
    "reschedule": "event.rescheduled",
}
CONSOLE_ROLES = (Role.PUBLISHER, Role.EDITOR, Role.OFFICER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class ConsoleServices:
    """What the console's pages work through."""

    settings: Settings
    catalog: SchemaCatalog
    renderer: Renderer
    sessions: Sessions
    accounts: AccountReader
    store: ConsoleStore
    publisher: EventPublisher
    trail: AuditTrail
    status: StatusReader
    directory: DirectoryReader
    partners: PartnerReader
    test_sender: TestSender | None


class SignInNeeded(Exception):
    """No session (or an ended one): the browser is sent to the sign-in page."""

    def __init__(self, back_to: str, ended: bool) -> None:
        super().__init__(back_to)
        self.back_to = back_to
        self.ended = ended


def create_console(s: ConsoleServices) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    env = s.renderer.environment
    markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})
    failed_sign_ins = SlidingWindow(limit=10, window=60.0)

    def page(
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        language = session.account.language if session else _browser_language(request)
        html = env.get_template(f"_console/{template}").render(
            _=translator(language),
            language=language,
            session=session,
            account=session.account if session else None,
            csrf=s.sessions.csrf_token(session) if session else "",
            csrf_field=CSRF_FIELD,
            officer=bool(session and session.account.has(Role.OFFICER)),
            composer=bool(session and session.account.has(*COMPOSERS)),
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        if session is not None:  # used now: its idle timeout starts again
            value = s.sessions.issue(session.account, utc_now(), session)
            response.set_cookie(value=value, **s.sessions.cookie_options())
        return response

    def current(request: Request) -> Session:
        session = s.sessions.read(request.cookies.get(COOKIE), s.accounts, utc_now())
        if session is None or not session.account.has(*CONSOLE_ROLES):
            back_to = request.url.path if request.method == "GET" else "/console/events"
            raise SignInNeeded(back_to, ended=COOKIE in request.cookies)
        return session

    async def posted(request: Request) -> tuple[Session, dict[str, Any]]:
        """The session and form of a POST: same origin, a valid CSRF token, size capped."""
        session = current(request)
        public = forms.origin_of(s.settings.web.public_url)
        own = forms.origin_of(str(request.base_url))
        forms.check_same_origin(request.headers, frozenset({public, own}))
        form = await forms.read_form(request.headers, request.stream(), MAX_FORM_BYTES)
        if not s.sessions.csrf_ok(session, form.get(CSRF_FIELD)):
            raise FormRefused(403, "This form has expired", "Reload the page and send it again.")
        return session, form

    def require(session: Session, *roles: Role) -> None:
        if not session.account.has(*roles):
            raise HTTPException(403, detail=" or ".join(sorted(roles)))

    def submission_of(session: Session, submission_id: str) -> Submission:
        """The submission, if the person may see it: a draft only by its author."""
        found = s.store.get(submission_id)
        if found is None or (found.state is State.DRAFT and found.author != session.account.name):
            raise HTTPException(404, detail="no such event")
        return found

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404)
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name])

    @router.get("/sign-in")
    async def sign_in_page(request: Request, next: str = "/console/events") -> HTMLResponse:
        return page(request, "sign_in.html.j2", None, back_to=_local(next), error=None)

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        forms.check_same_origin(
            request.headers,
            frozenset(
                {forms.origin_of(s.settings.web.public_url), forms.origin_of(str(request.base_url))}
            ),
        )
        form = await forms.read_form(request.headers, request.stream(), 8 * 1024)
        back_to = _local(str(form.get("next", "")))
        client = request.client.host if request.client else "unknown"
        if failed_sign_ins.waiting(client, time.monotonic()) > 0:
            # Ten wrong passwords a minute from one client, then none tried for a while.
            return page(
                request,
                "sign_in.html.j2",
                None,
                429,
                back_to=back_to,
                error="Too many attempts. Wait a minute.",
            )
        if not s.accounts.ready:
            raise HTTPException(503, detail="the worker is starting; try again in a moment")
        account = s.accounts.verify(str(form.get("name", "")), str(form.get("password", "")))
        if account is None or not account.has(*CONSOLE_ROLES):
            failed_sign_ins.hit(client, time.monotonic())
            return page(
                request,
                "sign_in.html.j2",
                None,
                401,
                back_to=back_to,
                error="Wrong name or password, or the account is disabled.",
            )
        response = RedirectResponse(back_to, status_code=303)
        response.set_cookie(
            value=s.sessions.issue(account, utc_now()), **s.sessions.cookie_options()
        )
        return response

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await posted(request)
        response = RedirectResponse("/console/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("")
    async def home() -> Response:
        return RedirectResponse("/console/events", status_code=303)

    @router.get("/events")
    async def events(
        request: Request,
        type: str = "",
        author: str = "",
        state: str = "",
        since: str = "",
    ) -> HTMLResponse:
        session = current(request)
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
            if x.author == me and (decision := _decision(x)) is not None
        ][:5]
        return page(
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
            title_of=_title,
        )

    @router.get("/compose")
    async def compose(request: Request, type: str = "") -> Response:
        session = current(request)
        require(session, *COMPOSERS)
        if type not in s.catalog.event_types:
            return page(request, "choose_type.html.j2", session, types=s.catalog.event_types)
        now = utc_now()
        document = _envelope(str(uuid.uuid4()), type, s.catalog, session.account, now)
        draft = flow.new_draft(
            document["id"],
            type,
            session.account.name,
            session.account.display_name,
            document,
            now,
        )
        return editor(request, session, draft, {}, notice=None)

    @router.get("/events/{submission_id}/edit")
    async def edit(request: Request, submission_id: str) -> HTMLResponse:
        session = current(request)
        return editor(request, session, submission_of(session, submission_id), {}, notice=None)

    def editor(
        request: Request,
        session: Session,
        submission: Submission,
        values: dict[str, str],
        notice: str | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        fields = form_fields(s.catalog, submission.event_type)
        shown = values or {
            **form_values(fields, submission.document),
            **content_values(submission.document.get("content", {}), LANGUAGES),
            "publish_at": _local_time(submission.publish_at, submission.zone),
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
        return page(
            request,
            "compose.html.j2",
            session,
            status_code,
            submission=submission,
            fields=fields,
            groups=_groups(fields),
            values=shown,
            suggestions=_suggestions(s.directory),
            content_languages=LANGUAGES,
            notice=notice,
            **context,
        )

    @router.post("/events/{submission_id}/edit")
    async def save(request: Request, submission_id: str) -> Response:
        session, form = await posted(request)
        require(session, *COMPOSERS)
        now = utc_now()
        existing = s.store.get(submission_id)
        if existing is None:  # the first save of a new draft: its id came with the form
            event_type = str(form.get("event_type", ""))
            if event_type not in s.catalog.event_types or not _is_uuid(submission_id):
                raise HTTPException(404, detail="no such event")
            base = _envelope(submission_id, event_type, s.catalog, session.account, now)
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
        document = _document(existing, fields, form)
        action = str(form.get("action", "save"))
        try:
            draft = flow.save_draft(existing, session.account.name, document, now)
        except RefusedChange as exc:
            return editor(request, session, existing, _strings(form), str(exc), 409)
        problems = _problems(s.catalog, document)
        errors, other = field_problems(problems, fields)
        if action == "submit" and not problems:
            return await submit(request, session, draft, form, now)
        await s.store.save(draft)
        context: dict[str, Any] = {"field_errors": errors, "other_errors": other}
        if action in ("check", "test-send", "submit") or problems:
            context.update(_checked(draft, problems, session))
        notice = "Draft saved."
        if action == "test-send" and not problems:
            context["test_result"] = await _test_send(draft, session.account)
        status_code = 422 if problems and action != "save" else 200
        return editor(request, session, draft, _strings(form), notice, status_code, **context)

    def _checked(draft: Submission, problems: list[Problem], session: Session) -> dict[str, Any]:
        """The language gaps and the dry run of a valid draft."""
        if problems:
            return {}
        event = Event.from_document(draft.document)
        return {
            "gaps": _language_gaps(event),
            "dry": _dry_run(event, session),
            "previews": [(c, lang) for c in PREVIEWS for lang in sorted(event.content)],
        }

    async def submit(
        request: Request, session: Session, draft: Submission, form: dict[str, Any], now: datetime
    ) -> Response:
        event = Event.from_document(draft.document)
        size = dry_run(event, s.directory, now, s.settings.default_language, s.partners.registry())[
            "recipients"
        ]
        reasons = flow.approval_reasons(draft.document, size, s.settings.console.approval_threshold)
        try:
            when, zone = _schedule(form, s.settings.console.default_zone)
            submitted = flow.submit(
                draft, session.account.name, draft.document, reasons, when, zone, now
            )
        except RefusedChange as exc:
            return editor(request, session, draft, _strings(form), str(exc), 422)
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
        await _publish_if_due(submitted, session.account.name)
        return RedirectResponse(f"/console/events/{submitted.id}", status_code=303)

    async def _publish_if_due(submission: Submission, by: str) -> Submission:
        now = utc_now()
        if not submission.due(now):
            return submission
        return await publish_submission(
            submission,
            by,
            now,
            catalog=s.catalog,
            publisher=s.publisher,
            trail=s.trail,
            store=s.store,
            settings=s.settings,
        )

    @router.get("/events/{submission_id}")
    async def event_page(request: Request, submission_id: str) -> HTMLResponse:
        session = current(request)
        submission = submission_of(session, submission_id)
        return event_view(request, session, submission, None)

    def event_view(
        request: Request,
        session: Session,
        submission: Submission,
        error: str | None,
        status_code: int = 200,
    ) -> HTMLResponse:
        languages = sorted(submission.document.get("content", {}))
        research = submission.document.get("research") or {}
        return page(
            request,
            "event.html.j2",
            session,
            status_code,
            submission=submission,
            title=_title(submission),
            error=error,
            may_decide=session.account.has(Role.OFFICER)
            and submission.author != session.account.name
            and submission.state is State.AWAITING_APPROVAL,
            may_change=submission.state in flow.WAITING
            and (submission.author == session.account.name or session.account.has(Role.OFFICER)),
            may_edit=submission.state in flow.OPEN and submission.author == session.account.name,
            previews=[(c, lang) for c in PREVIEWS for lang in languages],
            publish_at=_shown_time(submission.publish_at, submission.zone),
            local_publish_at=_local_time(submission.publish_at, submission.zone),
            embargo=research.get("embargo_until"),
            prebrief=_prebrief(submission) if research.get("embargo_until") else [],
        )

    @router.post("/events/{submission_id}/{decision}")
    async def decide(request: Request, submission_id: str, decision: str) -> Response:
        if decision not in DECISIONS:
            raise HTTPException(404)
        session, form = await posted(request)
        submission = submission_of(session, submission_id)
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
                when, zone = _schedule(form, s.settings.console.default_zone)
                changed = flow.reschedule(submission, me, roles, when, zone, now)
            else:
                raise HTTPException(404)
        except RefusedChange as exc:
            return event_view(request, session, submission, str(exc), 403)
        await s.store.save(changed)
        await s.trail.record(
            changed.id.encode(),
            audit.record(
                me, DECISIONS[decision], changed.id, now, comment=comment, author=changed.author
            ),
        )
        if decision in ("approve", "reschedule"):
            await _publish_if_due(changed, me)
        return RedirectResponse(f"/console/events/{submission_id}", status_code=303)

    @router.get("/events/{submission_id}/preview")
    async def preview(
        request: Request, submission_id: str, channel: str = "email-html", lang: str = "en"
    ) -> HTMLResponse:
        session = current(request)
        submission = submission_of(session, submission_id)
        rendered = _rendered(submission, channel, lang)
        return page(
            request,
            "preview.html.j2",
            session,
            submission=submission,
            title=_title(submission),
            channel=channel,
            lang=lang,
            rendered=rendered,
            telegram_html=telegram_markup(rendered.html) if channel == "telegram" else "",
            previews=[(c, x) for c in PREVIEWS for x in sorted(submission.document["content"])],
        )

    @router.get("/events/{submission_id}/preview.html")
    async def preview_html(request: Request, submission_id: str, lang: str = "en") -> Response:
        session = current(request)
        rendered = _rendered(submission_of(session, submission_id), "email-html", lang)
        return HTMLResponse(rendered.html, headers=EMAIL_PREVIEW_HEADERS)

    def _rendered(submission: Submission, channel: str, lang: str) -> Any:
        if channel not in PREVIEWS or lang not in submission.document.get("content", {}):
            raise HTTPException(404, detail="no such preview")
        try:
            event = Event.from_document(submission.document)
            return s.renderer.render(event, channel.split("-")[0], lang)
        except (TemplateError, ValueError, KeyError) as exc:
            raise HTTPException(422, detail=f"this event cannot be rendered yet: {exc}") from exc

    @router.get("/events/{submission_id}/status.json")
    async def status_json(request: Request, submission_id: str) -> JSONResponse:
        session = current(request)
        submission = submission_of(session, submission_id)
        record, deliveries = s.status.event(submission.id)
        summary = summarise(submission.id, record, deliveries)
        summary["state"] = submission.state.value
        return JSONResponse(summary, headers={"Cache-Control": "no-store"})

    @router.post("/markdown")
    async def markdown_preview(request: Request) -> JSONResponse:
        session = current(request)
        if not s.sessions.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, detail="reload the page")
        body = (await request.body())[:60_000].decode("utf-8", errors="replace")
        return JSONResponse({"html": markdown.render(body)})

    @router.get("/subscribers")
    async def subscribers(request: Request, q: str = "") -> HTMLResponse:
        session = current(request)
        if not session.account.has(Role.OFFICER):
            return page(request, "refused.html.j2", session, 403)
        found = search(s.directory, q, None, None)[:100] if q else []
        return page(request, "subscribers.html.j2", session, q=q, found=found)

    def _language_gaps(event: Event) -> dict[str, Any]:
        missing = [lang for lang in LANGUAGES if lang not in event.content]
        chosen = audience.audience_of(event, s.directory, s.partners.registry())
        fallback = Counter(
            s_.language
            for s_, _channels in chosen
            if choose_language(s_.language, event.languages, s.settings.default_language).split(
                "-"
            )[0]
            != s_.language.split("-")[0]
        )
        return {"missing": missing, "fallback": dict(fallback), "total": sum(fallback.values())}

    def _dry_run(event: Event, session: Session) -> dict[str, Any]:
        result = dry_run(
            event, s.directory, utc_now(), s.settings.default_language, s.partners.registry()
        )
        if session.account.has(Role.OFFICER):  # names are for officers only
            ids = list(dict.fromkeys(p["recipient_id"] for p in result["preview"]))
            people = [s.directory.get(i) for i in ids[:SAMPLE_NAMES]]
            result["names"] = [p.name for p in people if p is not None]
        return result

    async def _test_send(draft: Submission, account: Account) -> dict[str, str]:
        if s.test_sender is None:
            return {"error": "email is not configured on this hub"}
        event = Event.from_document(draft.document)
        language = choose_language(account.language, event.languages, s.settings.default_language)
        rendered = s.renderer.render(event, "email", language)
        try:
            await s.test_sender.send(
                "email", rendered, account.email, account.display_name, language
            )
        except (DeliveryError, ConfigurationError) as exc:
            return {"error": str(exc)}
        return {"to": account.email, "language": language}

    def _prebrief(submission: Submission) -> list[str]:
        audience_ = submission.document.get("audience") or {}
        people = [s.directory.get(i) for i in audience_.get("people", [])]
        return [p.name for p in people if p is not None] + list(audience_.get("groups", []))

    return router


_TELEGRAM_TAG = re.compile(r"&lt;(/?)(b|strong|i|em|u|s|code|pre|blockquote)&gt;")
_TELEGRAM_LINK = re.compile(r"&lt;a href=&#34;(https?://[^&\s]*(?:&amp;[^&\s]*)*)&#34;&gt;")


def telegram_markup(html: str) -> Markup:
    """A Telegram message's HTML as a browser shows it: only Telegram's own tags come back
    from the escaped text (bold, italic, code, links over http(s)), everything else is text."""
    escaped = str(escape(html))
    shown = _TELEGRAM_TAG.sub(r"<\1\2>", escaped)
    shown = _TELEGRAM_LINK.sub(r'<a href="\1" rel="noopener noreferrer">', shown)
    shown = shown.replace("&lt;/a&gt;", "</a>").replace("\n", "<br>")
    return Markup(shown)  # noqa: S704 (escaped above; only known tags restored)


def _browser_language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")
    for part in accepted.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def _local(path: str) -> str:
    """Only a path on this console: never a redirect to another site."""
    return path if re.fullmatch(r"/console(/[A-Za-z0-9._~/?=&%-]*)?", path) else "/console/events"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _publisher_id(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", name.lower())[:64]


def _envelope(
    event_id: str, event_type: str, catalog: SchemaCatalog, account: Account, now: datetime
) -> dict[str, Any]:
    """What the console fills in itself: identity, type, version, time and publisher."""
    return {
        "id": event_id,
        "type": event_type,
        "schema_version": catalog.schema_for(event_type).version,
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publisher": {
            "id": _publisher_id(account.name),
            "name": account.display_name,
            "email": account.email,
        },
    }


def _document(
    existing: Submission, fields: Sequence[Field], form: dict[str, Any]
) -> dict[str, Any]:
    """The draft's document from the form, with what the console itself set kept as it was."""
    base: dict[str, Any] = {
        k: existing.document[k]
        for k in ("id", "type", "schema_version", "occurred_at", "publisher")
        if k in existing.document
    }
    strings = _strings(form)
    base["content"] = content_from_form(strings, LANGUAGES)
    return document_from_form(fields, strings, base)


def _strings(form: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _problems(catalog: SchemaCatalog, document: dict[str, Any]) -> list[Problem]:
    try:
        catalog.validate(document)
    except InvalidEventError as exc:
        return list(exc.problems)
    return []


def _schedule(form: dict[str, Any], default_zone: str) -> tuple[datetime | None, str]:
    """The publication time the form asks for, in the zone it names; None: at once."""
    zone = str(form.get("zone", "") or default_zone).strip()
    tz = flow.check_zone(zone)
    typed = str(form.get("publish_at", "")).strip()
    if not typed:
        return None, zone
    try:
        local = datetime.fromisoformat(typed)
    except ValueError:
        raise RefusedChange(f"publication time {typed!r} is not a date and time") from None
    return (local if local.tzinfo else local.replace(tzinfo=tz)), zone


def _local_time(value: str | None, zone: str) -> str:
    """An RFC 3339 time as the datetime-local value of its zone."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def _shown_time(value: str | None, zone: str) -> str:
    if not value:
        return ""
    local = datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} ({zone})"


def _decision(submission: Submission) -> Any:
    """The last approval, refusal or decline of a submission: what its author is told."""
    for entry in reversed(submission.history):
        if entry.action in ("approved", "declined", "refused"):
            return entry
    return None


def _title(submission: Submission) -> str:
    content = submission.document.get("content") or {}
    for language in ("en", *sorted(content)):
        title = (content.get(language) or {}).get("title")
        if title:
            return str(title)
    return submission.id


def _groups(fields: Sequence[Field]) -> list[tuple[str, list[Field]]]:
    grouped: dict[str, list[Field]] = {}
    for f in fields:
        grouped.setdefault(f.group, []).append(f)
    return list(grouped.items())


def _suggestions(directory: DirectoryReader) -> dict[str, list[str]]:
    """Values the directory holds, offered while typing audience targeting."""
    found: dict[str, set[str]] = {
        "departments": set(),
        "regions": set(),
        "countries": set(),
        "offices": set(),
    }
    for person in directory:
        for key, value in (
            ("departments", person.department),
            ("regions", person.region),
            ("countries", person.country),
            ("offices", person.office),
        ):
            if value:
                found[key].add(value)
    return {k: sorted(v)[:500] for k, v in found.items()}
