"""Self-service pages, served by the worker, working without JavaScript: subscribe with double
opt-in, the preference centre, one-click unsubscribe (RFC 8058), data export and erasure."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hub.app import Runtime, utc_now
from hub.export import export_for
from hub.routing import ChannelKey
from hub.selfservice import (
    CONSENT_TEXT,
    Cause,
    change_preferences,
    command,
    confirm,
    parse_preferences_form,
    parse_subscribe_form,
    subscribe,
    unsubscribe,
)
from hub.subscribers import InvalidSubscriberError, OrganisationType, Subscriber
from hub.tokens import InvalidTokenError, Purpose, external_subscriber_id, issue_compact

MAX_FORM_BYTES = 16 * 1024
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


async def read_form(request: Request) -> dict[str, Any]:
    """An urlencoded form as a dict; repeated fields (checkboxes) become lists."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    form: dict[str, Any] = {k: v[-1] for k, v in fields.items()}
    for many in ("topics", "channels"):
        form[many] = fields.get(many, [])
    return form


def create_pages(rt: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    env = rt.renderer.environment
    known_topics = frozenset(t for t, _ in TOPICS)
    channels = [(key.value, CHANNEL_LABELS[key.value]) for key in rt.channels]
    known_channels = frozenset(c for c, _ in channels)

    def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(f"_pages/{template}.html.j2").render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def message(heading: str, *paragraphs: str, status: int = 200, **extra: Any) -> HTMLResponse:
        extra.setdefault("action", None)
        extra.setdefault("link", None)
        return page("message", status, heading=heading, paragraphs=paragraphs, **extra)

    def bad_link(exc: InvalidTokenError) -> HTMLResponse:
        return message(
            "This link does not work",
            f"{exc}. Links in our emails expire; use the one in the latest email you received.",
            status=400,
        )

    async def write(subscriber: Subscriber, cause: Cause, actor: str) -> None:
        value = json.dumps(command(subscriber, cause, actor), ensure_ascii=False).encode()
        await rt.app.producer.send_and_wait(
            rt.names.subscribers, subscriber.id.encode(), value, None, None, None
        )

    def subscriber_for(token: str, purpose: Purpose) -> Subscriber:
        claims = rt.signer.check(token, purpose, utc_now())
        subscriber = rt.directory.get(claims.subject)
        if subscriber is None:
            raise InvalidTokenError("there is no subscription behind this link any more")
        return subscriber

    def subscribe_form(status: int = 200, **context: Any) -> HTMLResponse:
        empty = {"email": "", "name": "", "organisation": "", "organisation_type": ""}
        context["form"] = {**empty, "language": "en", "topics": [], **context.get("form", {})}
        return page(
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
    async def subscribe_page() -> HTMLResponse:
        return subscribe_form()

    @router.post("/subscribe")
    async def subscribe_submit(request: Request) -> HTMLResponse:
        form = await read_form(request)
        try:
            wanted = parse_subscribe_form(form, known_topics)
        except InvalidSubscriberError as exc:
            return subscribe_form(400, errors=exc.problems, form=form)
        existing = rt.directory.by_email(wanted.email)
        subscriber_id = (
            existing.id if existing else external_subscriber_id(rt.signing_key, wanted.email)
        )
        if existing is not None and existing.is_staff:
            # Staff are managed by the directory: say nothing that tells them apart.
            return message("Check your inbox", "We sent you an email to confirm.", status=202)
        record, cause = subscribe(existing, wanted, subscriber_id, utc_now(), secrets.token_hex(8))
        await write(record, cause, "self-service")
        # The same answer whether or not the address was known: no enumeration from this page.
        return message(
            "Check your inbox",
            f"We sent an email to {wanted.email}. Open the link in it to confirm your subscription;"
            " nothing else will be sent before you do.",
            status=202,
        )

    def button_page(
        token: str, purpose: Purpose, heading: str, text: str, action: str, button: str
    ) -> HTMLResponse:
        """What a link opens: a page with a button. Mail scanners and link checkers follow GETs,
        so a GET never changes anything; only the button's POST does (RFC 8058 for unsubscribe)."""
        try:
            rt.signer.check(token, purpose, utc_now())
        except InvalidTokenError as exc:
            return bad_link(exc)
        return message(heading, text, action=action, token=token, button=button)

    @router.get("/subscribe/confirm")
    async def confirm_page(t: str = "") -> HTMLResponse:
        return button_page(
            t,
            Purpose.CONFIRM,
            "Confirm your subscription",
            "One more click and you will start receiving our news.",
            "/subscribe/confirm",
            "Confirm my subscription",
        )

    @router.post("/subscribe/confirm")
    async def confirm_submit(request: Request) -> HTMLResponse:
        token = str((await read_form(request)).get("t", ""))
        try:
            claims = rt.signer.check(token, Purpose.CONFIRM, utc_now())
        except InvalidTokenError as exc:
            return bad_link(exc)
        existing = rt.directory.get(claims.subject)
        confirmed = confirm(existing, claims.nonce, utc_now())
        if confirmed is None:
            return message(
                "This link was already used",
                "Your subscription may already be confirmed; the latest email we sent you"
                " has a link to your preferences.",
                status=410,
            )
        await write(confirmed, Cause.CONFIRMED, confirmed.id)
        preferences = rt.signer.issue(confirmed.id, Purpose.PREFERENCES, utc_now())
        return message(
            "Subscription confirmed",
            "Thank you. You will receive our news in the language and on the topics you chose.",
            link={"url": f"/preferences?t={preferences}", "label": "Change what you receive"},
        )

    def telegram_link(subscriber_id: str) -> str | None:
        """The bot's deep link: /start with a compact signed token (Telegram allows 64 chars)."""
        if ChannelKey.TELEGRAM not in rt.channels:
            return None
        try:
            token = issue_compact(rt.signer, subscriber_id, Purpose.TELEGRAM, utc_now())
        except ValueError:
            return None
        return f"https://t.me/{rt.settings.telegram.bot_username}?start={token}"

    def preferences_page(
        subscriber: Subscriber, token: str, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        chosen_topics: set[str] = set()
        chosen_channels: set[str] = set()
        mode = "instant"
        for subscription in subscriber.subscriptions:
            chosen_topics |= subscription.event_types or known_topics
            chosen_channels |= subscription.channels
            mode = subscription.mode.value
        return page(
            "preferences",
            status,
            subscriber=subscriber,
            active=subscriber.is_active and bool(subscriber.subscriptions),
            token=token,
            unsubscribe_token=rt.signer.issue(subscriber.id, Purpose.UNSUBSCRIBE, utc_now()),
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
    async def preferences(t: str = "") -> HTMLResponse:
        try:
            subscriber = subscriber_for(t, Purpose.PREFERENCES)
        except InvalidTokenError as exc:
            return bad_link(exc)
        return preferences_page(subscriber, t)

    @router.post("/preferences")
    async def preferences_submit(request: Request) -> HTMLResponse:
        form = await read_form(request)
        token = str(form.get("t", ""))
        try:
            subscriber = subscriber_for(token, Purpose.PREFERENCES)
        except InvalidTokenError as exc:
            return bad_link(exc)
        try:
            wanted = parse_preferences_form(form, known_topics, known_channels)
        except InvalidSubscriberError as exc:
            return preferences_page(subscriber, token, 400, errors=exc.problems)
        changed = change_preferences(subscriber, wanted, utc_now())
        await write(changed, Cause.PREFERENCES, subscriber.id)
        return preferences_page(changed, token, saved="Your choices are saved.")

    @router.get("/unsubscribe")
    async def unsubscribe_page(t: str = "") -> HTMLResponse:
        return button_page(
            t,
            Purpose.UNSUBSCRIBE,
            "Unsubscribe",
            "Do you want to stop receiving our news at this address?",
            f"/unsubscribe?t={t}",
            "Unsubscribe",
        )

    @router.post("/unsubscribe")
    async def unsubscribe_now(request: Request, t: str = "") -> HTMLResponse:
        """One-click: the mail client POSTs `List-Unsubscribe=One-Click` to this URL."""
        token = t or str((await read_form(request)).get("t", ""))
        try:
            subscriber = subscriber_for(token, Purpose.UNSUBSCRIBE)
        except InvalidTokenError as exc:
            return bad_link(exc)
        gone = unsubscribe(subscriber, utc_now(), all_topics=known_topics)
        await write(gone, Cause.UNSUBSCRIBED, subscriber.id)
        preferences = rt.signer.issue(subscriber.id, Purpose.PREFERENCES, utc_now())
        return message(
            "You are unsubscribed",
            "You will not receive our news any more. Changed your mind?",
            link={"url": f"/preferences?t={preferences}", "label": "Choose what to receive"},
        )

    @router.get("/preferences/export")
    async def export_data(t: str = "") -> Response:
        try:
            subscriber = subscriber_for(t, Purpose.PREFERENCES)
        except InvalidTokenError as exc:
            return bad_link(exc)
        return JSONResponse(
            await export_for(rt, subscriber),
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": 'attachment; filename="my-subscription.json"',
            },
        )

    @router.post("/preferences/delete")
    async def erase(request: Request) -> HTMLResponse:
        token = str((await read_form(request)).get("t", ""))
        try:
            subscriber = subscriber_for(token, Purpose.PREFERENCES)
        except InvalidTokenError as exc:
            return bad_link(exc)
        await rt.app.producer.send_and_wait(
            rt.names.subscribers, subscriber.id.encode(), None, None, None, None
        )
        return message("Deleted", "We no longer hold anything about you. Goodbye.")

    return router
