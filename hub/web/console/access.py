"""The console's way in and out: its static files, sign-in (throttled), sign-out and home."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from hub.console.words import N_, Said
from hub.services import utc_now
from hub.web import forms
from hub.web.console import views
from hub.web.console.frame import CONSOLE_ROLES, ConsoleFrame
from hub.web.console.sessions import COOKIE
from hub.web.ratelimit import SlidingWindow

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"console.css": "text/css", "console.js": "text/javascript"}
TOO_MANY = Said(N_("Too many attempts. Wait a minute."))
WRONG = Said(N_("Wrong name or password, or the account is disabled."))


def register_access_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    s = frame.s
    failed_sign_ins = SlidingWindow(limit=10, window=60.0)

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404)
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name])

    @router.get("/sign-in")
    async def sign_in_page(request: Request, next: str = "/console/events") -> HTMLResponse:
        back_to = views.local(next)
        return frame.page(request, "sign_in.html.j2", None, back_to=back_to, error=None)

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        forms.check_same_origin(
            request.headers,
            frozenset(
                {forms.origin_of(s.settings.web.public_url), forms.origin_of(str(request.base_url))}
            ),
        )
        form = await forms.read_form(request.headers, request.stream(), 8 * 1024)
        back_to = views.local(str(form.get("next", "")))
        client = request.client.host if request.client else "unknown"
        if failed_sign_ins.waiting(client, time.monotonic()) > 0:
            # Ten wrong passwords a minute from one client, then none tried for a while.
            return frame.page(
                request,
                "sign_in.html.j2",
                None,
                429,
                back_to=back_to,
                error=TOO_MANY,
            )
        if not s.accounts.ready:
            raise HTTPException(503, detail="the worker is starting; try again in a moment")
        account = s.accounts.verify(str(form.get("name", "")), str(form.get("password", "")))
        if account is None or not account.has(*CONSOLE_ROLES):
            failed_sign_ins.hit(client, time.monotonic())
            return frame.page(
                request,
                "sign_in.html.j2",
                None,
                401,
                back_to=back_to,
                error=WRONG,
            )
        response = RedirectResponse(back_to, status_code=303)
        response.set_cookie(
            value=s.sessions.issue(account, utc_now()), **s.sessions.cookie_options()
        )
        return response

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await frame.posted(request)
        response = RedirectResponse("/console/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("")
    async def home() -> Response:
        return RedirectResponse("/console/events", status_code=303)
