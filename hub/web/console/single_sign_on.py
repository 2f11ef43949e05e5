"""Console sign-in through the organisation's OpenID Connect provider, when one is configured."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import logging
from datetime import timedelta

import itsdangerous
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hub.access.oidc import OidcClient, OidcError, Pending
from hub.console.words import N_, Said
from hub.services import utc_now
from hub.web.console import views
from hub.web.console.frame import CONSOLE_ROLES, ConsoleFrame

log = logging.getLogger(__name__)

PENDING_COOKIE = "hub_console_oidc"
PATH = "/console/sign-in/oidc"
PENDING_FOR = timedelta(minutes=10)  # long enough to type a password and a second factor
REFUSED = Said(
    N_("Your organisation's sign-in did not let you in. Try again, or use your password.")
)
NO_ACCOUNT = Said(N_("You are signed in with your organisation, but have no console account here."))


def register_single_sign_on_routes(router: APIRouter, frame: ConsoleFrame) -> None:
    s = frame.s
    settings = s.settings.console.oidc
    if settings is None:
        return
    public = s.settings.web.public_url.rstrip("/")
    options = {} if s.oidc_http is None else {"http": s.oidc_http}
    client = OidcClient(settings, f"{public}{PATH}/callback", **options)
    pending_cookies = itsdangerous.URLSafeTimedSerializer(s.sessions.keys, salt="hub.console-oidc")

    def refused(request: Request, error: Said, status: int) -> Response:
        response = frame.page(
            request, "sign_in.html.j2", None, status, back_to="/console/events", error=error
        )
        response.delete_cookie(PENDING_COOKIE, path=PATH)
        return response

    @router.get("/sign-in/oidc")
    async def leave(request: Request, next: str = "/console/events") -> Response:
        try:
            url, pending = await client.start(views.local(next))
        except OidcError as exc:
            log.warning("single sign-on unavailable: %s", exc)
            return refused(request, REFUSED, 502)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            PENDING_COOKIE,
            pending_cookies.dumps(pending.as_dict()),
            max_age=int(PENDING_FOR.total_seconds()),
            path=PATH,
            httponly=True,
            secure=s.sessions.secure,
            # Lax: the browser comes back from the provider's site by a top-level GET.
            samesite="lax",
        )
        return response

    @router.get("/sign-in/oidc/callback")
    async def come_back(
        request: Request, code: str = "", state: str = "", error: str = ""
    ) -> Response:
        try:
            pending = Pending.from_dict(
                pending_cookies.loads(
                    request.cookies.get(PENDING_COOKIE, ""),
                    max_age=int(PENDING_FOR.total_seconds()),
                )
            )
        except (itsdangerous.BadData, KeyError, TypeError):
            return refused(request, REFUSED, 400)
        if error or not code:
            log.info("single sign-on refused by the provider: %s", error[:100])
            return refused(request, REFUSED, 401)
        try:
            identity = await client.finish(code, state, pending)
        except OidcError as exc:
            log.warning("single sign-on refused: %s", exc)
            return refused(request, REFUSED, 401)
        if not s.accounts.ready:
            raise HTTPException(503, detail="the worker is starting; try again in a moment")
        account = s.accounts.by_email(identity.email)
        if account is None or not account.has(*CONSOLE_ROLES):
            return refused(request, NO_ACCOUNT, 403)
        response = RedirectResponse(pending.back_to, status_code=303)
        response.delete_cookie(PENDING_COOKIE, path=PATH)
        response.set_cookie(
            value=s.sessions.issue(account, utc_now()), **s.sessions.cookie_options()
        )
        return response
