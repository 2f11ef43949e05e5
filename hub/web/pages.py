"""Self-service pages in the reader's language, working without JavaScript: subscribe with double
opt-in, the preference centre, one-click unsubscribe (RFC 8058), data export and erasure."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hub.i18n.languages import LanguageError, Languages, normalise, primary
from hub.model.deliveries import ChannelKey
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import InvalidSubscriberError, OrganisationType, Subscriber
from hub.rendering.environment import Renderer
from hub.services import DirectoryReader, PersonalData, SubscriberCommands, utc_now
from hub.settings import Settings
from hub.subscribers.directory import email_key
from hub.subscribers.selfservice import (
    CONSENT_TEXT,
    N_,
    change_preferences,
    check_language,
    confirm,
    language_list,
    language_name,
    parse_preferences_form,
    parse_subscribe_form,
    subscribe,
    translate,
    unsubscribe,
)
from hub.subscribers.tokens import (
    EXPIRED,
    NOT_VALID,
    OTHER_PURPOSE,
    Claims,
    InvalidTokenError,
    Purpose,
    Signer,
    issue_compact,
    new_external_id,
)
from hub.web import forms
from hub.web.forms import FormCookie, FormRefused
from hub.web.ratelimit import SlidingWindow

TOPICS = [
    ("announcement.published", N_("Institutional announcements")),
    ("research.released", N_("Research releases")),
]
CHANNEL_LABELS = {"email": N_("Email"), "telegram": N_("Telegram")}
ORGANISATION_LABELS = {
    OrganisationType.GOVERNMENT: N_("Government"),
    OrganisationType.NGO: N_("Non-governmental organisation"),
    OrganisationType.UN_AGENCY: N_("UN agency"),
    OrganisationType.DONOR: N_("Donor"),
    OrganisationType.ACADEMIA: N_("Academia"),
    OrganisationType.MEDIA: N_("Media"),
    OrganisationType.PRIVATE_SECTOR: N_("Private sector"),
    OrganisationType.OTHER: N_("Other"),
}
# The fields a problem can be about, as the forms label them.
FIELD_LABELS = {
    "email": N_("Email address"),
    "name": N_("Your name"),
    "organisation": N_("Organisation"),
    "organisation_type": N_("Type of organisation"),
    "language": N_("Language"),
    "topics": N_("Topics"),
    "channels": N_("Channels"),
    "mode": N_("How often"),
}
GONE = "there is no subscription behind this link any more"
LINK_PROBLEMS = {
    NOT_VALID: N_("This link is not valid."),
    EXPIRED: N_("This link has expired."),
    OTHER_PURPOSE: N_("This link is meant for something else."),
    GONE: N_("There is no subscription behind this link any more."),
}
# Pages must not be framed, cached by proxies or leak the token in the Referer header.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}
COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{32}$")
NEWSLETTER_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def client_of(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy, configure uvicorn's
    forwarded-allow-ips so this is the real client, not the proxy)."""
    return request.client.host if request.client else "unknown"


def reader_language(
    languages: Languages, candidates: Iterable[str | None], accept_language: str | None
) -> str:
    """The language a page speaks: the first candidate the hub speaks (in the order the caller
    trusts them: the switcher's choice, the link's claim, the person's own), else the browser's
    Accept-Language, else the default. Always a supported language: its words exist."""
    for candidate in candidates:
        if not candidate:
            continue
        try:
            tag = normalise(candidate)
        except LanguageError:
            continue  # a mistyped ?lang= is no reason to refuse the page
        if languages.speaks(tag):
            return languages.interface(tag)
    return languages.negotiate(accept_language) or languages.default


def switcher(
    languages: Languages, current: str, path: str, params: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The language switcher: the same page (`path` with `params`, the token kept) in each
    supported language, each named in itself."""
    kept = {name: value for name, value in (params or {}).items() if value and name != "lang"}
    return [
        {
            "tag": tag,
            "name": language_name(tag),
            "url": f"{path}?{urlencode({**kept, 'lang': tag})}",
            "current": tag == current,
        }
        for tag in languages.supported
    ]


@dataclass(frozen=True, slots=True)
class Linked:
    """A link's genuine claims and the person they name."""

    claims: Claims
    subscriber: Subscriber


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
    languages = renderer.languages
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

    def language_of(
        request: Request,
        form: Mapping[str, Any] | None = None,
        claims: Claims | None = None,
        subscriber: Subscriber | None = None,
    ) -> str:
        """The page's language: the switcher's (form field, then query), the link's claim,
        the person's own, the browser's, the default."""
        return reader_language(
            languages,
            [
                str((form or {}).get("lang") or "") or None,
                request.query_params.get("lang"),
                claims.language if claims else None,
                subscriber.language if subscriber else None,
            ],
            request.headers.get("accept-language"),
        )

    def words(lang: str) -> Callable[[str], str]:
        return renderer.catalogs.gettext(lang)

    def say(lang: str, message: str, **values: Any) -> str:
        """A sentence marked with N_, in `lang`, its placeholders filled."""
        text = words(lang)(message)
        return text % values if values else text

    def page(
        request: Request,
        lang: str,
        template: str,
        status: int = 200,
        switch: tuple[str, Mapping[str, str]] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A page in `lang`; its forms carry the signed half of the double-submit token and the
        page's language. `switch`: the page the language switcher shows again in another
        language (by default the one asked for, if it was a GET; none after a POST)."""
        value = request.cookies.get(cookie.name, "")
        if not COOKIE_VALUE.match(value):
            value = forms.new_cookie_value()
        context["csrf"] = forms.form_token(signer, value, utc_now())
        if switch is None and request.method == "GET":
            switch = (request.url.path, {"t": request.query_params.get("t", "")})
        context["switcher"] = switcher(languages, lang, *switch) if switch else []
        html = renderer.render_page(f"_pages/{template}.html.j2", lang, context)
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        response.headers.append("Set-Cookie", cookie.header(value))
        return response

    def message(
        request: Request,
        lang: str,
        heading: str,
        *paragraphs: str,
        status: int = 200,
        **extra: Any,
    ) -> HTMLResponse:
        """A page of a heading and paragraphs, already in `lang`."""
        extra.setdefault("action", None)
        extra.setdefault("link", None)
        return page(
            request, lang, "message", status, heading=heading, paragraphs=paragraphs, **extra
        )

    def refused(request: Request, lang: str, exc: FormRefused) -> HTMLResponse:
        heading, text = exc.translated(words(lang))
        return message(request, lang, heading, text, status=exc.status)

    def bad_link(request: Request, lang: str, exc: InvalidTokenError) -> HTMLResponse:
        reason = LINK_PROBLEMS.get(str(exc), LINK_PROBLEMS[NOT_VALID])
        return message(
            request,
            lang,
            say(lang, N_("This link does not work")),
            say(lang, reason),
            say(
                lang,
                N_("Links in our emails expire; use the one in the latest email you received."),
            ),
            status=400,
        )

    def problems_in(lang: str, exc: InvalidSubscriberError) -> list[tuple[str, str, str]]:
        """(field, its label, what is wrong) for each problem, in `lang`."""
        gettext = words(lang)
        return [
            (field, gettext(FIELD_LABELS.get(field, field)), translate(text, gettext))
            for field, text in exc.problems
        ]

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
                lang = language_of(request)
                response = message(
                    request,
                    lang,
                    say(lang, N_("Too many requests")),
                    say(
                        lang,
                        N_("Please wait %(seconds)s seconds and try again."),
                        seconds=int(wait),
                    ),
                    status=429,
                )
                response.headers["Retry-After"] = str(int(wait))
                return response
        form: dict[str, Any] = {}
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
            return refused(request, language_of(request, form), exc)
        return form

    def linked(
        request: Request, token: str, purpose: Purpose, form: Mapping[str, Any] | None = None
    ) -> Linked | HTMLResponse:
        """The claims of a link's signed token and the person it names, or the page that says
        the link is bad."""
        try:
            claims = signer.check(token, purpose, utc_now())
        except InvalidTokenError as exc:
            return bad_link(request, language_of(request, form), exc)
        subscriber = directory.get(claims.subject)
        if subscriber is None:
            gone = InvalidTokenError(GONE)
            return bad_link(request, language_of(request, form, claims), gone)
        return Linked(claims, subscriber)

    async def linked_form(
        request: Request, purpose: Purpose
    ) -> tuple[dict[str, Any], str, Linked] | HTMLResponse:
        """A guarded form POST, its token `t` and whom it names; or the refusing page."""
        form = await accepted_form(request)
        if isinstance(form, HTMLResponse):
            return form
        token = str(form.get("t", ""))
        found = linked(request, token, purpose, form)
        if isinstance(found, HTMLResponse):
            return found
        return form, token, found

    def language_choices(own: str | None = None) -> list[tuple[str, str]]:
        """The languages to choose from, each named in itself: the supported ones, and a
        person's own regional form of one (`fr-TN`, "Français (Tunisie)") beside its language,
        so saving the form keeps it."""
        choices = [(tag, language_name(tag)) for tag in languages.supported]
        if own and own not in languages.supported:
            tag, problem = check_language(own, languages)
            if tag is not None and problem is None:
                after = next(
                    (i + 1 for i, (t, _n) in enumerate(choices) if t == primary(tag)),
                    len(choices),
                )
                choices.insert(after, (tag, language_name(tag)))
        return choices

    def subscribe_form(
        request: Request, lang: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        gettext = words(lang)
        empty = {"email": "", "name": "", "organisation": "", "organisation_type": ""}
        context["form"] = {**empty, "language": lang, "topics": [], **context.get("form", {})}
        return page(
            request,
            lang,
            "subscribe",
            status,
            switch=("/subscribe", {}),
            languages=language_choices(),
            spoken=language_list(languages, lang),
            topics=[(value, gettext(label)) for value, label in TOPICS],
            organisation_types=[
                (t.value, gettext(ORGANISATION_LABELS.get(t, t.value))) for t in OrganisationType
            ],
            consent_text=gettext(CONSENT_TEXT),
            errors=context.pop("errors", []),
            **context,
        )

    @router.get("/subscribe")
    async def subscribe_page(request: Request) -> HTMLResponse:
        return subscribe_form(request, language_of(request))

    @router.post("/subscribe")
    async def subscribe_submit(request: Request) -> HTMLResponse:
        form = await accepted_form(request, subscribe_clients)
        if isinstance(form, HTMLResponse):
            return form
        lang = language_of(request, form)
        try:
            wanted = parse_subscribe_form(form, known_topics, languages)
        except InvalidSubscriberError as exc:
            return subscribe_form(request, lang, 400, errors=problems_in(lang, exc), form=form)
        # The same answer whatever happens next: known or unknown, staff, or throttled.
        answer = message(
            request,
            lang,
            say(lang, N_("Check your inbox")),
            say(
                lang,
                N_(
                    "If %(address)s can receive our news, an email is on its way to it. Open the"
                    " link in it to confirm your subscription; nothing else will be sent before"
                    " you do."
                ),
                address=wanted.email,
            ),
            say(lang, N_("We send at most one such email every few minutes to an address.")),
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
        so a GET never changes anything; only the button's POST does (RFC 8058 for unsubscribe).
        The texts are marked with N_ and shown in the page's language."""
        try:
            claims = signer.check(token, purpose, utc_now())
        except InvalidTokenError as exc:
            return bad_link(request, language_of(request), exc)
        lang = language_of(request, None, claims, directory.get(claims.subject))
        return message(
            request,
            lang,
            say(lang, heading),
            say(lang, text),
            action=action,
            token=token,
            button=say(lang, button),
        )

    @router.get("/subscribe/confirm")
    async def confirm_page(request: Request, t: str = "") -> HTMLResponse:
        return button_page(
            request,
            t,
            Purpose.CONFIRM,
            N_("Confirm your subscription"),
            N_("One more click and you will start receiving our news."),
            "/subscribe/confirm",
            N_("Confirm my subscription"),
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
            return bad_link(request, language_of(request, form), exc)
        existing = directory.get(claims.subject)
        lang = language_of(request, form, claims, existing)
        confirmed = confirm(existing, claims.nonce, utc_now())
        if confirmed is None:
            return message(
                request,
                lang,
                say(lang, N_("This link was already used")),
                say(
                    lang,
                    N_(
                        "Your subscription may already be confirmed; the latest email we sent"
                        " you has a link to your preferences."
                    ),
                ),
                status=410,
            )
        await people.save(confirmed, Cause.CONFIRMED, confirmed.id)
        # The link on names the page's language: the preference centre goes on in it.
        preferences = signer.issue(confirmed.id, Purpose.PREFERENCES, utc_now(), language=lang)
        return message(
            request,
            lang,
            say(lang, N_("Subscription confirmed")),
            say(
                lang,
                N_(
                    "Thank you. You will receive our news in the language and on the topics you"
                    " chose."
                ),
            ),
            link={
                "url": f"/preferences?t={preferences}",
                "label": say(lang, N_("Change what you receive")),
            },
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

    def chosen_language(subscriber: Subscriber, choices: list[tuple[str, str]]) -> str:
        """The option the person's language selects: their own tag when offered, else the
        language whose words they read."""
        if any(tag == subscriber.language for tag, _name in choices):
            return subscriber.language
        return languages.interface(subscriber.language)

    def preferences_page(
        request: Request,
        lang: str,
        subscriber: Subscriber,
        token: str,
        status: int = 200,
        **extra: Any,
    ) -> HTMLResponse:
        gettext = words(lang)
        chosen_topics: set[str] = set()
        chosen_channels: set[str] = set()
        mode = "instant"
        for subscription in subscriber.subscriptions:
            chosen_topics |= subscription.event_types or known_topics
            chosen_channels |= subscription.channels
            mode = subscription.mode.value
        choices = language_choices(subscriber.language)
        return page(
            request,
            lang,
            "preferences",
            status,
            switch=("/preferences", {"t": token}),
            subscriber=subscriber,
            active=subscriber.is_active and bool(subscriber.subscriptions),
            token=token,
            unsubscribe_token=signer.issue(
                subscriber.id, Purpose.UNSUBSCRIBE, utc_now(), language=subscriber.language
            ),
            languages=choices,
            chosen_language=chosen_language(subscriber, choices),
            topics=[(value, gettext(label)) for value, label in TOPICS],
            channels=[(value, gettext(label)) for value, label in channels],
            telegram_url=telegram_link(subscriber.id),
            chosen_topics=chosen_topics,
            chosen_channels=chosen_channels,
            mode=mode,
            saved=extra.get("saved"),
            errors=extra.get("errors", []),
        )

    @router.get("/preferences")
    async def preferences(request: Request, t: str = "", archive: str = "") -> Response:
        found = linked(request, t, Purpose.PREFERENCES)
        if isinstance(found, HTMLResponse):
            return found
        if NEWSLETTER_NAME.match(archive):
            # The newsletter email's archive link: its signed link goes on to the archive,
            # which partner and staff newsletters need.
            lang = request.query_params.get("lang")
            query = urlencode({"t": t, **({"lang": lang} if lang else {})})
            return RedirectResponse(
                f"/newsletters/{archive}?{query}", status_code=303, headers=SECURITY_HEADERS
            )
        lang = language_of(request, None, found.claims, found.subscriber)
        return preferences_page(request, lang, found.subscriber, t)

    @router.post("/preferences")
    async def preferences_submit(request: Request) -> HTMLResponse:
        found = await linked_form(request, Purpose.PREFERENCES)
        if isinstance(found, HTMLResponse):
            return found
        form, token, link = found
        subscriber = link.subscriber
        lang = language_of(request, form, link.claims, subscriber)
        try:
            wanted = parse_preferences_form(form, known_topics, known_channels, languages)
        except InvalidSubscriberError as exc:
            errors = problems_in(lang, exc)
            return preferences_page(request, lang, subscriber, token, 400, errors=errors)
        changed = change_preferences(subscriber, wanted, utc_now())
        await people.save(changed, Cause.PREFERENCES, subscriber.id)
        saved = say(lang, N_("Your choices are saved."))
        return preferences_page(request, lang, changed, token, saved=saved)

    @router.get("/unsubscribe")
    async def unsubscribe_page(request: Request, t: str = "") -> HTMLResponse:
        return button_page(
            request,
            t,
            Purpose.UNSUBSCRIBE,
            N_("Unsubscribe"),
            N_("Do you want to stop receiving our news at this address?"),
            "/unsubscribe",
            N_("Unsubscribe"),
        )

    @router.post("/unsubscribe")
    async def unsubscribe_now(request: Request, t: str = "") -> HTMLResponse:
        """Two ways in: the form of our pages (token in the form, guarded like every form), or
        RFC 8058 one-click, where the mail provider POSTs `List-Unsubscribe=One-Click` to the
        URL of the header, with no cookie and no Origin: the signed token in the URL is its
        protection."""
        form: Mapping[str, Any] = {}
        if t:
            try:
                await forms.read_form(request.headers, request.stream(), limits.max_form_bytes)
            except FormRefused as exc:
                return refused(request, language_of(request), exc)
            found = linked(request, t, Purpose.UNSUBSCRIBE)
            if isinstance(found, HTMLResponse):
                return found
            link = found
        else:
            posted = await linked_form(request, Purpose.UNSUBSCRIBE)
            if isinstance(posted, HTMLResponse):
                return posted
            form, _token, link = posted
        subscriber = link.subscriber
        lang = language_of(request, form, link.claims, subscriber)
        gone = unsubscribe(subscriber, utc_now(), all_topics=known_topics)
        await people.save(gone, Cause.UNSUBSCRIBED, subscriber.id)
        preferences = signer.issue(subscriber.id, Purpose.PREFERENCES, utc_now(), language=lang)
        return message(
            request,
            lang,
            say(lang, N_("You are unsubscribed")),
            say(lang, N_("You will not receive our news any more. Changed your mind?")),
            link={
                "url": f"/preferences?t={preferences}",
                "label": say(lang, N_("Choose what to receive")),
            },
        )

    @router.get("/preferences/export")
    async def export_data(request: Request, t: str = "") -> Response:
        found = linked(request, t, Purpose.PREFERENCES)
        if isinstance(found, HTMLResponse):
            return found
        return JSONResponse(
            await personal.export(found.subscriber),
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
        form, _token, link = found
        lang = language_of(request, form, link.claims, link.subscriber)
        await people.erase(link.subscriber.id)
        return message(
            request,
            lang,
            say(lang, N_("Deleted")),
            say(lang, N_("We no longer hold anything about you. Goodbye.")),
        )

    return router
