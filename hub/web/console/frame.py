"""What every console page stands on: its services, its session, its form and its HTML frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from hub.access.roles import Role
from hub.console import words
from hub.console.submissions import RECORDED, State, Submission
from hub.intake.schemas import SchemaCatalog
from hub.rendering.environment import Renderer
from hub.services import (
    AccountReader,
    AuditTrail,
    ConsoleStore,
    DeadLetters,
    DirectoryReader,
    EventPublisher,
    Keyed,
    NewsletterStore,
    PartnerCommands,
    PartnerReader,
    PersonalData,
    StatusReader,
    SubscriberCommands,
    TestSender,
    utc_now,
)
from hub.settings import Settings
from hub.web import forms
from hub.web.console.sessions import COOKIE, CSRF_FIELD, Session, Sessions
from hub.web.console.views import browser_language
from hub.web.forms import FormRefused
from hub.web.routing import KeyRouter

# Every page needs a session (hub.web.console.sessions); every POST also its CSRF token and a
# same-origin browser. Pages work without JavaScript; the script only adds the live Markdown
# preview and the live delivery status.

MAX_FORM_BYTES = 256 * 1024
PREVIEWS = ("email-html", "email-text", "telegram", "newsletter")
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
CONSOLE_ROLES = (Role.PUBLISHER, Role.EDITOR, Role.OFFICER, Role.ADMIN)
# The roles' names as the header shows them, words of the console catalog like the states.
ROLE_NAMES = (words.N_("publisher"), words.N_("editor"), words.N_("officer"), words.N_("admin"))


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
    personal: PersonalData
    people: SubscriberCommands
    partner_commands: PartnerCommands
    newsletters: NewsletterStore
    # How the single sign-on reaches its provider (tests give one bound to a provider of theirs).
    oidc_http: Callable[[], httpx.AsyncClient] | None = None
    dead_letters: DeadLetters | None = None
    # Which worker holds which event and newsletter: pages about one are answered by it.
    keys: KeyRouter | None = None


class SignInNeeded(Exception):
    """No session (or an ended one): the browser is sent to the sign-in page."""

    def __init__(self, back_to: str, ended: bool) -> None:
        super().__init__(back_to)
        self.back_to = back_to
        self.ended = ended


class Refused(Exception):
    """A page the person's roles do not open: answered with the page that says which role."""

    def __init__(self, response: HTMLResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


class ConsoleFrame:
    """The services, and what every route does first: find the session, read the form, render."""

    def __init__(self, s: ConsoleServices) -> None:
        self.s = s
        self.env: jinja2.Environment = s.renderer.environment

    def language(self, request: Request, session: Session | None) -> str:
        """The supported language whose words the person reads: their account's, or before
        sign-in their browser's."""
        languages = self.s.renderer.languages
        if session is None:
            return browser_language(request, languages)
        return languages.interface(session.account.language)

    def page(
        self,
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        s = self.s
        language = self.language(request, session)
        gettext = s.renderer.catalogs.gettext(language)
        common = {
            **s.renderer.locale_context(language),  # _, lang, dir, the date and number formats
            # Words the code hands the page (refusals, notices, what a submission recorded).
            "said": words.speaker(gettext, (*RECORDED, *ROLE_NAMES)),
            "language": language,
            "session": session,
            "account": session.account if session else None,
            "csrf": s.sessions.csrf_token(session) if session else "",
            "csrf_field": CSRF_FIELD,
            "officer": bool(session and session.account.has(Role.OFFICER)),
            "composer": bool(session and session.account.has(*COMPOSERS)),
            "editor": bool(session and session.account.has(Role.EDITOR)),
            "single_sign_on": s.settings.console.oidc,
        }
        html = self.env.get_template(f"_console/{template}").render({**common, **context})
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        if session is not None:  # used now: its idle timeout starts again
            value = s.sessions.issue(session.account, utc_now(), session)
            response.set_cookie(value=value, **s.sessions.cookie_options())
        return response

    def held(self, kind: Keyed, parameter: str) -> Callable[[Request], Awaitable[None]]:
        """A route dependency: the worker holding the key in path `parameter` answers (its
        tables have the event's status, the newsletter's state); any worker when alone."""
        if self.s.keys is not None:
            return self.s.keys.by_path(kind, parameter)

        async def here(_request: Request) -> None:
            return None

        return here

    def current(self, request: Request) -> Session:
        s = self.s
        session = s.sessions.read(request.cookies.get(COOKIE), s.accounts, utc_now())
        if session is None or not session.account.has(*CONSOLE_ROLES):
            back_to = request.url.path if request.method == "GET" else "/console/events"
            raise SignInNeeded(back_to, ended=COOKIE in request.cookies)
        return session

    async def posted(self, request: Request) -> tuple[Session, dict[str, Any]]:
        """The session and form of a POST: same origin, a valid CSRF token, size capped."""
        s = self.s
        session = self.current(request)
        public = forms.origin_of(s.settings.web.public_url)
        own = forms.origin_of(str(request.base_url))
        forms.check_same_origin(request.headers, frozenset({public, own}))
        form = await forms.read_form(request.headers, request.stream(), MAX_FORM_BYTES)
        if not s.sessions.csrf_ok(session, form.get(CSRF_FIELD)):
            raise FormRefused(403, "This form has expired", "Reload the page and send it again.")
        return session, form

    def require(self, session: Session, *roles: Role) -> None:
        if not session.account.has(*roles):
            raise HTTPException(403, detail=" or ".join(sorted(roles)))

    def submission_of(self, session: Session, submission_id: str) -> Submission:
        """The submission, if the person may see it: a draft only by its author."""
        found = self.s.store.get(submission_id)
        if found is None or (found.state is State.DRAFT and found.author != session.account.name):
            raise HTTPException(404, detail="no such event")
        return found
