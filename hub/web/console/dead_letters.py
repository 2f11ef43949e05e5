"""Officers' page of an event's dead letters, and the button that sends them back."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.access.roles import Role
from hub.services import DeadLetters
from hub.web.console.frame import ConsoleFrame, Refused
from hub.web.console.sessions import Session


def register_dead_letter_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    def officer(request: Request) -> Session:
        session = frame.current(request)
        if not session.account.has(Role.OFFICER):
            raise Refused(frame.page(request, "refused.html.j2", session, 403, needed="officer"))
        return session

    def letters() -> DeadLetters:
        if frame.s.dead_letters is None:
            raise HTTPException(404, detail="dead letters are not kept by this hub")
        return frame.s.dead_letters

    @router.get("/dead-letters/{event_id}")
    async def dead_letter_page(request: Request, event_id: str) -> HTMLResponse:
        session = officer(request)
        found = await letters().of_event(event_id)
        submission = frame.s.store.get(event_id)
        return frame.page(
            request,
            "dead_letters.html.j2",
            session,
            event_id=event_id,
            submission=submission,
            letters=found,
            redriven=request.query_params.get("redriven", ""),
        )

    @router.post("/dead-letters/{event_id}/redrive")
    async def redrive(request: Request, event_id: str) -> Response:
        session, _form = await frame.posted(request)
        if not session.account.has(Role.OFFICER):
            raise HTTPException(403, detail="officer")
        count = await letters().redrive(event_id, session.account.name)
        return RedirectResponse(f"/console/dead-letters/{event_id}?redriven={count}", 303)
