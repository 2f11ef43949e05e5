"""Self-service pages, served by the worker, working without JavaScript: subscribe with double
opt-in, the preference centre, one-click unsubscribe (RFC 8058), data export and erasure."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import re
import secrets
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hub.model.deliveries import ChannelKey
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import InvalidSubscriberError, OrganisationType, Subscriber
from hub.rendering.environment import Renderer
from hub.services import DirectoryReader, PersonalData, SubscriberCommands, utc_now
from hub.settings import Settings
from hub.subscribers.directory import email_key
from hub.subscribers.selfservice import (
    CONSENT_TEXT,
    change_preferences,
    confirm,
    parse_preferences_form,
    parse_subscribe_form,
    subscribe,
    unsubscribe,
)
from hub.subscribers.tokens import (
    InvalidTokenError,
    Purpose,
    Signer,
    issue_compact,
    new_external_id,
)
from hub.web import forms
from hub.web.forms import FormCookie, FormRefused
from hub.web.ratelimit import SlidingWindow

LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español")]
TOPICS = [
    ("announcement.published", "Institutional announcements"),
    ("research.released", "Research releases"),
]
CHANNEL_LABELS = {"email": "Email", "telegram": "Telegram"}
ORGANISATION_TYPES = [(t.value, t.value.replace("-", " ").capitalize()) for t in OrganisationType]
# Pages must not be framed, cached by proxies or leak the token in the Referer header.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}


COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def client_of(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy, configure uvicorn's
    forwarded-allow-ips so this is the real client, not the proxy)."""
    return request.client.host if request.client else "unknown"


def create_pages(
    people: SubscriberCommands,
    directory: DirectoryReader,
    personal: PersonalData,
    signer: Signer,
    renderer: Renderer,
    channel_keys: Iterable[ChannelKey],
    settings: Settings,
) -> APIRouter:
    """The self-service pages; `channel_keys`: the channels this hub delivers on."""
    router = APIRouter(include_in_schema=False)
    env = renderer.environment
    known_topics = frozenset(t for t, _ in TOPICS)
    offered = list(channel_keys)
    channels = [(key.value, CHANNEL_LABELS[key.value]) for key in offered]
    known_channels = frozenset(c for c, _ in channels)
    limits = settings.limits
    public_origin = forms.origin_of(settings.web.public_url)
    cookie = FormCookie.for_url(settings.web.public_url)
    subscribe_clients = SlidingWindow(limits.subscribe_per_client, limits.client_window_seconds)
    post_clients = SlidingWindow(limits.form_posts_per_client, limits.client_window_seconds)
    # One subscribe request per address per interval reaches Kafka from this worker; the rest
    # get the same answer. The emails themselves are limited once for all workers (mail_limits).
    addresses = SlidingWindow(1, max(limits.address_mail_interval_seconds, 1.0))

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page; its forms carry the signed half of the double-submit token."""
        value = request.cookies.get(cookie.name, "")
        if not COOKIE_VALUE.match(value):
            value = forms.new_cookie_value()
        context["csrf"] = forms.form_token(signer, value, utc_now())
        html = env.get_template(f"_pages/{template}.html.j2").render(**context)
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        response.headers.append("Set-Cookie", cookie.header(value))
        return response

    def message(
        request: Request, heading: str, *paragraphs: str, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        extra.setdefault("action", None)
        extra.setdefault("link", None)
        return page(request, "message", status, heading=heading, paragraphs=paragraphs, **extra)

    def refused(request: Request, exc: FormRefused) -> HTMLResponse:
        return message(request, exc.heading, exc.text, status=exc.status)

    def bad_link(request: Request, exc: InvalidTokenError) -> HTMLResponse:
        return message(
            request,
            "This link does not work",
            f"{exc}. Links in our emails expire; use the one in the latest email you received.",
            status=400,
        )

    async def accepted_form(
        request: Request, *extra_limits: SlidingWindow
    ) -> dict[str, Any] | HTMLResponse:
        """The form of a POST from one of our pages, or the page that refuses it: too many
        from this client (429), from another site (403), too large (413), no valid token (403).
        """
        client = client_of(request)
        now = time.monotonic()
        for limiter in (*extra_limits, post_clients):
            wait = limiter.hit(client, now)
            if wait:
                response = message(
                    request,
                    "Too many requests",
                    f"Please wait {int(wait)} seconds and try again.",
                    status=429,
                )
                response.headers["Retry-After"] = str(int(wait))
                return response
        try:
            own = frozenset({public_origin, f"{request.url.scheme}://{request.url.netloc}"})
            forms.check_same_origin(request.headers, own)
            form = await forms.read_form(request.headers, request.stream(), limits.max_form_bytes)
            forms.check_form_token(
                signer,
                str(form.get(forms.FIELD, "")),
                request.cookies.get(cookie.name),
                utc_now(),
            )
        except FormRefused as exc:
            return refused(request, exc)
        return form

    def linked(request: Request, token: str, purpose: Purpose) -> Subscriber | HTMLResponse:
        """The person a link's signed token names, or the page that says the link is bad."""
        try:
            claims = signer.check(token, purpose, utc_now())
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        subscriber = directory.get(claims.subject)
        if subscriber is None:
            gone = InvalidTokenError("there is no subscription behind this link any more")
            return bad_link(request, gone)
        return subscriber

    async def linked_form(
        request: Request, purpose: Purpose
    ) -> tuple[dict[str, Any], str, Subscriber] | HTMLResponse:
        """A guarded form POST, its token `t` and the person it names; or the refusing page."""
        form = await accepted_form(request)
        if isinstance(form, HTMLResponse):
            return form
        token = str(form.get("t", ""))
        subscriber = linked(request, token, purpose)
        if isinstance(subscriber, HTMLResponse):
            return subscriber
        return form, token, subscriber

    def subscribe_form(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        empty = {"email": "", "name": "", "organisation": "", "organisation_type": ""}
        context["form"] = {**empty, "language": "en", "topics": [], **context.get("form", {})}
        return page(
            request,
            "subscribe",
            status,
            languages=LANGUAGES,
            topics=TOPICS,
            organisation_types=ORGANISATION_TYPES,
            consent_text=CONSENT_TEXT,
            errors=context.pop("errors", []),
            **context,
        )

    @router.get("/subscribe")
    async def subscribe_page(request: Request) -> HTMLResponse:
        return subscribe_form(request)

    @router.post("/subscribe")
    async def subscribe_submit(request: Request) -> HTMLResponse:
        form = await accepted_form(request, subscribe_clients)
        if isinstance(form, HTMLResponse):
            return form
        try:
            wanted = parse_subscribe_form(form, known_topics)
        except InvalidSubscriberError as exc:
            return subscribe_form(request, 400, errors=exc.problems, form=form)
        # The same answer whatever happens next: known or unknown, staff, or throttled.
        answer = message(
            request,
            "Check your inbox",
            f"If {wanted.email} can receive our news, an email is on its way to it. Open the link"
            " in it to confirm your subscription; nothing else will be sent before you do.",
            "We send at most one such email every few minutes to an address.",
            status=202,
        )
        if addresses.hit(email_key(wanted.email), time.monotonic()):
            return answer
        existing = directory.by_email(wanted.email)
        if existing is not None and existing.is_staff:
            return answer  # staff are managed by the directory
        subscriber_id = existing.id if existing else new_external_id()
        record, cause = subscribe(existing, wanted, subscriber_id, utc_now(), secrets.token_hex(8))
        await people.save(record, cause, "self-service")
        return answer

    def button_page(
        request: Request,
        token: str,
        purpose: Purpose,
        heading: str,
        text: str,
        action: str,
        button: str,
    ) -> HTMLResponse:
        """What a link opens: a page with a button. Mail scanners and link checkers follow GETs,
        so a GET never changes anything; only the button's POST does (RFC 8058 for unsubscribe)."""
        try:
            signer.check(token, purpose, utc_now())
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        return message(request, heading, text, action=action, token=token, button=button)

    @router.get("/subscribe/confirm")
    async def confirm_page(request: Request, t: str = "") -> HTMLResponse:
        return button_page(
            request,
            t,
            Purpose.CONFIRM,
            "Confirm your subscription",
            "One more click and you will start receiving our news.",
            "/subscribe/confirm",
            "Confirm my subscription",
        )

    @router.post("/subscribe/confirm")
    async def confirm_submit(request: Request) -> HTMLResponse:
        form = await accepted_form(request)
        if isinstance(form, HTMLResponse):
            return form
        token = str(form.get("t", ""))
        try:
            claims = signer.check(token, Purpose.CONFIRM, utc_now())
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        existing = directory.get(claims.subject)
        confirmed = confirm(existing, claims.nonce, utc_now())
        if confirmed is None:
            return message(
                request,
                "This link was already used",
                "Your subscription may already be confirmed; the latest email we sent you"
                " has a link to your preferences.",
                status=410,
            )
        await people.save(confirmed, Cause.CONFIRMED, confirmed.id)
        preferences = signer.issue(confirmed.id, Purpose.PREFERENCES, utc_now())
        return message(
            request,
            "Subscription confirmed",
            "Thank you. You will receive our news in the language and on the topics you chose.",
            link={"url": f"/preferences?t={preferences}", "label": "Change what you receive"},
        )

    def telegram_link(subscriber_id: str) -> str | None:
        """The bot's deep link: /start with a compact signed token (Telegram allows 64 chars)."""
        if ChannelKey.TELEGRAM not in offered:
            return None
        try:
            token = issue_compact(signer, subscriber_id, Purpose.TELEGRAM, utc_now())
        except ValueError:
            return None
        return f"https://t.me/{settings.telegram.bot_username}?start={token}"

    def preferences_page(
        request: Request, subscriber: Subscriber, token: str, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        chosen_topics: set[str] = set()
        chosen_channels: set[str] = set()
        mode = "instant"
        for subscription in subscriber.subscriptions:
            chosen_topics |= subscription.event_types or known_topics
            chosen_channels |= subscription.channels
            mode = subscription.mode.value
        return page(
            request,
            "preferences",
            status,
            subscriber=subscriber,
            active=subscriber.is_active and bool(subscriber.subscriptions),
            token=token,
            unsubscribe_token=signer.issue(subscriber.id, Purpose.UNSUBSCRIBE, utc_now()),
            languages=LANGUAGES,
            topics=TOPICS,
            channels=channels,
            telegram_url=telegram_link(subscriber.id),
            chosen_topics=chosen_topics,
            chosen_channels=chosen_channels,
            mode=mode,
            saved=extra.get("saved"),
            errors=extra.get("errors", []),
        )

    @router.get("/preferences")
    async def preferences(request: Request, t: str = "") -> HTMLResponse:
        subscriber = linked(request, t, Purpose.PREFERENCES)
        if isinstance(subscriber, HTMLResponse):
            return subscriber
        return preferences_page(request, subscriber, t)

    @router.post("/preferences")
    async def preferences_submit(request: Request) -> HTMLResponse:
        found = await linked_form(request, Purpose.PREFERENCES)
        if isinstance(found, HTMLResponse):
            return found
        form, token, subscriber = found
        try:
            wanted = parse_preferences_form(form, known_topics, known_channels)
        except InvalidSubscriberError as exc:
            return preferences_page(request, subscriber, token, 400, errors=exc.problems)
        changed = change_preferences(subscriber, wanted, utc_now())
        await people.save(changed, Cause.PREFERENCES, subscriber.id)
        return preferences_page(request, changed, token, saved="Your choices are saved.")

    @router.get("/unsubscribe")
    async def unsubscribe_page(request: Request, t: str = "") -> HTMLResponse:
        return button_page(
            request,
            t,
            Purpose.UNSUBSCRIBE,
            "Unsubscribe",
            "Do you want to stop receiving our news at this address?",
            "/unsubscribe",
            "Unsubscribe",
        )

    @router.post("/unsubscribe")
    async def unsubscribe_now(request: Request, t: str = "") -> HTMLResponse:
        """Two ways in: the form of our pages (token in the form, guarded like every form), or
        RFC 8058 one-click, where the mail provider POSTs `List-Unsubscribe=One-Click` to the
        URL of the header, with no cookie and no Origin: the signed token in the URL is its
        protection."""
        if t:
            try:
                await forms.read_form(request.headers, request.stream(), limits.max_form_bytes)
            except FormRefused as exc:
                return refused(request, exc)
            subscriber = linked(request, t, Purpose.UNSUBSCRIBE)
            if isinstance(subscriber, HTMLResponse):
                return subscriber
        else:
            found = await linked_form(request, Purpose.UNSUBSCRIBE)
            if isinstance(found, HTMLResponse):
                return found
            _form, _token, subscriber = found
        gone = unsubscribe(subscriber, utc_now(), all_topics=known_topics)
        await people.save(gone, Cause.UNSUBSCRIBED, subscriber.id)
        preferences = signer.issue(subscriber.id, Purpose.PREFERENCES, utc_now())
        return message(
            request,
            "You are unsubscribed",
            "You will not receive our news any more. Changed your mind?",
            link={"url": f"/preferences?t={preferences}", "label": "Choose what to receive"},
        )

    @router.get("/preferences/export")
    async def export_data(request: Request, t: str = "") -> Response:
        subscriber = linked(request, t, Purpose.PREFERENCES)
        if isinstance(subscriber, HTMLResponse):
            return subscriber
        return JSONResponse(
            await personal.export(subscriber),
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": 'attachment; filename="my-subscription.json"',
            },
        )

    @router.post("/preferences/delete")
    async def erase(request: Request) -> HTMLResponse:
        found = await linked_form(request, Purpose.PREFERENCES)
        if isinstance(found, HTMLResponse):
            return found
        subscriber = found[2]
        await people.erase(subscriber.id)
        return message(request, "Deleted", "We no longer hold anything about you. Goodbye.")

    return router
