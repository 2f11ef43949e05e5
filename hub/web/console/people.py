"""Officers' pages about people: a subscriber's page, export, erasure, partner-access requests."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.access.roles import Role
from hub.console.words import N_, Said
from hub.model import audit
from hub.model.subscribers import Subscriber
from hub.partners.desk import answer_request, requested_organisation, requests_in
from hub.partners.registry import Decision, InvalidPartnerError
from hub.planning import audience
from hub.services import utc_now
from hub.subscribers.selfservice import export
from hub.web.console.frame import ConsoleFrame, Refused
from hub.web.console.sessions import Session
from hub.web.console.views import audit_row

HISTORY_ENTRIES = 200
CONFIRM_ERASURE = Said(N_("Type the person's email address (or id) to confirm the erasure."))


def register_people_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    s = frame.s

    def officer(request: Request) -> Session:
        session = frame.current(request)
        if not session.account.has(Role.OFFICER):
            raise Refused(frame.page(request, "refused.html.j2", session, 403, needed="officer"))
        return session

    def person(subscriber_id: str) -> Subscriber:
        found = s.directory.get(subscriber_id)
        if found is None:
            raise HTTPException(404, detail="no such subscriber")
        return found

    @router.get("/subscribers/{subscriber_id}")
    async def subscriber_page(request: Request, subscriber_id: str) -> HTMLResponse:
        session = officer(request)
        found = person(subscriber_id)
        registry = s.partners.registry()
        grant = registry.grant(found)
        history = await s.trail.entries(found.id, HISTORY_ENTRIES)
        return frame.page(
            request,
            "subscriber.html.j2",
            session,
            person=found,
            record=export(found),
            standing=audience.standing(found, registry).value,
            organisation=grant.organisation.name if grant else None,
            history=[audit_row(e) for e in history if isinstance(e, dict)],
            error=None,
        )

    @router.get("/subscribers/{subscriber_id}/export")
    async def export_page(request: Request, subscriber_id: str) -> Response:
        session = officer(request)
        found = person(subscriber_id)
        everything = await s.personal.export(found)
        now = utc_now()
        entry = audit.record(session.account.name, "subscriber.exported", found.id, now)
        await s.trail.record(found.id.encode(), entry)
        return Response(
            json.dumps(everything, ensure_ascii=False, indent=2),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="subscriber-{found.id}.json"',
                "Cache-Control": "no-store",
            },
        )

    @router.post("/subscribers/{subscriber_id}/erase")
    async def erase(request: Request, subscriber_id: str) -> Response:
        session, form = await frame.posted(request)
        frame.require(session, Role.OFFICER)
        found = person(subscriber_id)
        typed = str(form.get("confirm", "")).strip().lower()
        if typed not in {found.id.lower(), (found.email or "").lower()} - {""}:
            registry = s.partners.registry()
            return frame.page(
                request,
                "subscriber.html.j2",
                session,
                422,
                person=found,
                record=export(found),
                standing=audience.standing(found, registry).value,
                organisation=None,
                history=[],
                error=CONFIRM_ERASURE,
            )
        await s.people.erase(found.id)
        entry = audit.record(
            session.account.name, "subscriber.erasure-requested", found.id, utc_now()
        )
        await s.trail.record(found.id.encode(), entry)
        return RedirectResponse("/console/subscribers?erased=1", status_code=303)

    @router.get("/partners")
    async def partners_page(request: Request) -> HTMLResponse:
        session = officer(request)
        registry = s.partners.registry()
        pending = [
            {
                "id": p.id,
                "name": p.name,
                "email": p.email,
                "organisation": requested_organisation(p),
                "at": p.partner_request.at if p.partner_request else "",
            }
            for p in requests_in(registry, s.directory, "pending")
        ]
        organisations = sorted(registry.organisations.values(), key=lambda o: o.name)
        return frame.page(
            request,
            "partners.html.j2",
            session,
            organisations=organisations,
            pending=pending,
            error=None,
        )

    @router.post("/partners/requests/{subscriber_id}/{answer}")
    async def answer(request: Request, subscriber_id: str, answer: str) -> Response:
        if answer not in ("approve", "decline"):
            raise HTTPException(404)
        session, form = await frame.posted(request)
        frame.require(session, Role.OFFICER)
        decision = Decision.APPROVED if answer == "approve" else Decision.DECLINED
        try:
            await answer_request(
                s.partners.registry(),
                s.directory.get(subscriber_id),
                decision,
                str(form.get("organisation_id", "")) or None,
                str(form.get("comment", ""))[:2000],
                session.account.name,
                utc_now().isoformat(),
                s.partner_commands,
            )
        except InvalidPartnerError as exc:
            raise HTTPException(
                exc.status, detail="; ".join(f"{path}: {message}" for path, message in exc.problems)
            ) from exc
        return RedirectResponse("/console/partners", status_code=303)
