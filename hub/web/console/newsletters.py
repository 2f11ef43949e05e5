"""Editors' pages: each newsletter's next edition previewed per language, curated, sent now."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.access.roles import Role
from hub.errors import BadRecord
from hub.model import audit
from hub.model.events import Event
from hub.model.newsletter_state import NewsletterState
from hub.newsletters.config import Newsletter
from hub.newsletters.editions import render_edition
from hub.newsletters.state import next_items
from hub.services import Keyed, utc_now
from hub.web.console.frame import EMAIL_PREVIEW_HEADERS, ConsoleFrame, Refused
from hub.web.console.sessions import Session

MAX_ITEMS = 200


def register_newsletter_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    s = frame.s

    def editor(request: Request) -> Session:
        session = frame.current(request)
        if not session.account.has(Role.EDITOR):
            raise Refused(frame.page(request, "refused.html.j2", session, 403, needed="editor"))
        return session

    def chosen(name: str) -> Newsletter:
        found = s.newsletters.newsletters.get(name)
        if found is None:
            raise HTTPException(404, detail="no such newsletter")
        return found

    def state_of(name: str) -> NewsletterState:
        try:
            return s.newsletters.state(name)
        except BadRecord as exc:
            raise HTTPException(
                503, detail=f"the newsletter's state cannot be read: {exc}"
            ) from exc

    @router.get("/newsletters")
    async def newsletters(request: Request) -> HTMLResponse:
        session = editor(request)
        shown = [
            {"newsletter": n, "pending": len(state_of(n.name).pending)}
            for n in s.newsletters.newsletters.values()
        ]
        return frame.page(request, "newsletters.html.j2", session, newsletters=shown)

    # The editor first, then the worker holding the newsletter's state answers.
    @router.get("/newsletters/{name}")
    async def newsletter_page(
        request: Request,
        name: str,
        session: Annotated[Session, Depends(editor)],
        _held_here: Annotated[None, Depends(frame.held(Keyed.NEWSLETTER, "name"))],
        lang: str = "en",
    ) -> HTMLResponse:
        newsletter = chosen(name)
        state = state_of(name)
        items = _items(state)
        languages = s.renderer.languages
        upcoming = {e.id for e in next_items(state, newsletter)}
        return frame.page(
            request,
            "newsletter.html.j2",
            session,
            newsletter=newsletter,
            preview_language=lang if lang in languages.supported else languages.default,
            content_languages=languages.supported,
            items=items,
            upcoming=upcoming,
            curation=state.curation,
            order={item_id: n + 1 for n, item_id in enumerate(state.curation.order)},
            edition=newsletter.edition_id(utc_now()),
            sent=bool(_sent_note(request)),
        )

    @router.get("/newsletters/{name}/preview.html")
    async def preview_html(
        name: str,
        _session: Annotated[Session, Depends(editor)],
        _held_here: Annotated[None, Depends(frame.held(Keyed.NEWSLETTER, "name"))],
        lang: str = "en",
    ) -> Response:
        newsletter = chosen(name)
        state = state_of(name)
        now = utc_now()
        rendered = render_edition(
            s.renderer,
            newsletter,
            newsletter.period_start(now),
            next_items(state, newsletter),
            state.curation.intro,
            lang if lang in s.renderer.languages.supported else s.renderer.languages.default,
            archive=True,
        )
        return HTMLResponse(rendered.html, headers=EMAIL_PREVIEW_HEADERS)

    @router.post("/newsletters/{name}/curation")
    async def curate(request: Request, name: str) -> Response:
        session, form = await frame.posted(request)
        frame.require(session, Role.EDITOR)
        chosen(name)
        known = set(state_of(name).pending)
        pinned = [i for i in known if form.get(f"pin.{i}") == "on"]
        excluded = [i for i in known if form.get(f"exclude.{i}") == "on"]
        order = sorted(
            (i for i in known if str(form.get(f"order.{i}", "")).strip().isdigit()),
            key=lambda i: int(str(form[f"order.{i}"]).strip()),
        )
        # Every language is sent, an empty one too: that is how an introduction is removed.
        intro = {
            lang: str(form.get(f"intro.{lang}", "")).strip()[:5000]
            for lang in s.renderer.languages.supported
        }
        record: dict[str, Any] = {
            "kind": "curate",
            "by": session.account.name,
            "pinned": sorted(pinned),
            "excluded": sorted(excluded),
            "order": order,
            "intro": intro,
        }
        await s.newsletters.request(name, record)
        return RedirectResponse(f"/console/newsletters/{name}", status_code=303)

    @router.post("/newsletters/{name}/send-now")
    async def send_now(request: Request, name: str) -> Response:
        session, _form = await frame.posted(request)
        frame.require(session, Role.EDITOR)
        chosen(name)
        now = utc_now()
        await s.newsletters.request(
            name, {"kind": "compile", "at": now.isoformat(), "by": session.account.name}
        )
        entry = audit.record(session.account.name, "newsletter.send-now", name, now)
        await s.trail.record(name.encode(), entry)
        return RedirectResponse(f"/console/newsletters/{name}?sent=1", status_code=303)


def _items(state: NewsletterState) -> list[Event]:
    items = [Event.from_document(doc) for doc in list(state.pending.values())[:MAX_ITEMS]]
    return sorted(items, key=lambda e: e.occurred_at, reverse=True)


def _sent_note(request: Request) -> str:
    return request.query_params.get("sent", "")
