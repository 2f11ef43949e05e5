"""Subscriber changes as commands: subscribe, confirm, preferences, unsubscribe, erase. Pure.

Each command carries the subscriber's whole new record, so the compacted topic keeps exactly the
latest state per subscriber and a worker can rebuild everything from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.lists import format_list

from hub.i18n.formatting import babel_locale
from hub.i18n.languages import DEFAULT_LANGUAGES, LanguageError, Languages
from hub.model.subscriber_commands import Cause, SubscriberCommand
from hub.model.subscribers import (
    LANGUAGE_TAG,
    Consent,
    InvalidSubscriberError,
    Mode,
    OrganisationType,
    PartnerRequest,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
    Subscription,
    check_email,
)


def N_(message: str) -> str:
    """Marks a message for the `pages` catalog; it is translated where it is shown."""
    return message


# Kept in English in the consent record; shown translated on the subscribe page.
CONSENT_TEXT = N_(
    "I agree to receive the Organization's news, research and announcements on the topics I chose, "
    "in my language, and know I can change this or unsubscribe at any time."
)


class Problem(str):
    """What is wrong with a field, in English (its value as a string), and in any language: its
    message id and the values of its placeholders, translated when a page shows it."""

    message: str
    values: dict[str, str]

    def __new__(cls, message: str, **values: str) -> Problem:
        made = super().__new__(cls, message % values if values else message)
        made.message = message
        made.values = values
        return made

    def translated(self, gettext: Callable[[str], str]) -> str:
        text = gettext(self.message)
        return text % self.values if self.values else text


def translate(text: str, gettext: Callable[[str], str]) -> str:
    """A problem (or any marked message) in the reader's words."""
    return text.translated(gettext) if isinstance(text, Problem) else gettext(text)


def _display_name(tag: str, reader: str | None) -> str:
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return tag
    return locale.get_display_name(babel_locale(reader) if reader else locale) or tag


def language_name(tag: str, reader: str | None = None) -> str:
    """`fr` -> `Français`, `fr-TN` -> `Français (Tunisie)`: named in itself, or in `reader`'s
    language when given; capitalised, as in a list of choices."""
    name = _display_name(tag, reader)
    return name[:1].upper() + name[1:]


def language_list(languages: Languages, reader: str) -> str:
    """The supported languages named in `reader`'s language, as a list in a sentence
    ("anglais, français, espagnol et arabe")."""
    names = [_display_name(tag, reader) for tag in languages.supported]
    return format_list(names, locale=babel_locale(reader))


def check_language(value: str, languages: Languages) -> tuple[str | None, Problem | None]:
    """The normalised tag of a language the hub speaks (`fr_tn` -> `fr-TN`), or the problem."""
    try:
        tag = languages.check(value)
    except LanguageError:
        tag = None
    # The subscriber record takes a language and a region only (no script).
    if tag is None or not LANGUAGE_TAG.match(tag):
        choices = ", ".join(f"{language_name(t)} ({t})" for t in languages.supported)
        problem = Problem(
            N_("%(value)s is not a language we write in: choose one of %(choices)s"),
            value=repr(value),
            choices=choices,
        )
        return None, problem
    return tag, None


def command(subscriber: Subscriber, cause: Cause, actor: str, reason: str = "") -> dict[str, Any]:
    """The value written to the subscribers topic, keyed by the subscriber id."""
    return SubscriberCommand.of(subscriber, cause, actor, reason).dump()


def pause_channel(subscriber: Subscriber, channel: str, now: datetime) -> Subscriber:
    """Stop using one channel for someone (they blocked the bot); the others go on."""
    subscriptions = tuple(
        replace(s, channels=s.channels - {channel}) for s in subscriber.subscriptions
    )
    kept = tuple(s for s in subscriptions if s.channels)
    changes: dict[str, Any] = {"subscriptions": kept, "updated_at": now.isoformat()}
    if channel == "telegram":
        changes["telegram_chat_id"] = None
    return subscriber.with_changes(**changes)


def move_chat(subscriber: Subscriber, new_chat_id: str, now: datetime) -> Subscriber:
    return subscriber.with_changes(telegram_chat_id=int(new_chat_id), updated_at=now.isoformat())


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """What the public subscribe form asks for, already checked."""

    email: str
    name: str
    language: str
    topics: frozenset[str]  # event types; empty means all
    organisation: str | None
    organisation_type: OrganisationType | None
    partner_access: bool = False  # asks an officer for partner access; grants nothing by itself


def _email_problem(email: str) -> Problem | None:
    try:
        check_email(email)
    except InvalidSubscriberError:
        return Problem(N_("%(address)s is not a valid email address"), address=repr(email))
    return None if email else Problem(N_("is required"))


def _topics_problem(topics: frozenset[str], known_topics: frozenset[str]) -> Problem | None:
    unknown = topics - known_topics
    if not unknown:
        return None
    return Problem(N_("unknown topics: %(topics)s"), topics=", ".join(sorted(unknown)))


def parse_subscribe_form(
    form: dict[str, Any],
    known_topics: frozenset[str],
    languages: Languages = DEFAULT_LANGUAGES,
) -> SubscribeRequest:
    """Check the form; InvalidSubscriberError names every field that is wrong."""
    problems: list[tuple[str, str]] = []
    email = str(form.get("email", "")).strip()
    wrong_email = _email_problem(email)
    if wrong_email is not None:
        problems.append(("email", wrong_email))
    name = " ".join(str(form.get("name", "")).split())[:200]
    language, wrong_language = check_language(str(form.get("language", "en")), languages)
    if wrong_language is not None:
        problems.append(("language", wrong_language))
    topics = frozenset(str(t) for t in form.get("topics", ()) if t)
    wrong_topics = _topics_problem(topics, known_topics)
    if wrong_topics is not None:
        problems.append(("topics", wrong_topics))
    organisation_type = None
    if form.get("organisation_type"):
        try:
            organisation_type = OrganisationType(str(form["organisation_type"]))
        except ValueError:
            problems.append(("organisation_type", Problem(N_("choose one of the listed types"))))
    organisation = " ".join(str(form.get("organisation", "")).split())[:200] or None
    partner_access = bool(form.get("partner_access"))
    if partner_access and organisation is None:
        problems.append(("organisation", Problem(N_("name the partner organisation you work for"))))
    if problems or language is None:
        raise InvalidSubscriberError(problems)
    return SubscribeRequest(
        email,
        name or email.split("@")[0],
        language,
        topics,
        organisation,
        organisation_type,
        partner_access,
    )


def subscribe(
    existing: Subscriber | None,
    request: SubscribeRequest,
    subscriber_id: str,
    now: datetime,
    nonce: str,
) -> tuple[Subscriber, Cause]:
    """A pending subscriber awaiting confirmation, or the active one left as it is.

    Naming an organisation makes no one a partner: partner access is granted by the partner
    registry (a registered email domain, or an officer approving the request made here)."""
    if existing is not None and existing.is_active:
        return existing, Cause.ALREADY_ACTIVE
    kind = SubscriberKind.PUBLIC
    if request.organisation_type is OrganisationType.MEDIA:
        kind = SubscriberKind.MEDIA
    partner_request = existing.partner_request if existing else None
    if request.partner_access and request.organisation:
        partner_request = PartnerRequest(request.organisation, now.isoformat())
    pending = Subscriber(
        id=subscriber_id,
        kind=kind,
        name=request.name,
        language=request.language,
        email=request.email,
        organisation=request.organisation,
        organisation_type=request.organisation_type,
        status=SubscriberStatus.PENDING,
        subscriptions=(Subscription(event_types=request.topics),),
        consents=existing.consents if existing else (),
        updated_at=now.isoformat(),
        confirmation_nonce=nonce,
        partner_request=partner_request,
    )
    return pending, Cause.SUBSCRIBED


def confirm(existing: Subscriber | None, nonce: str, now: datetime) -> Subscriber | None:
    """Activate a pending subscriber with the one link that may do it; None for any other case."""
    if existing is None or existing.status is not SubscriberStatus.PENDING:
        return None
    if existing.confirmation_nonce is None or existing.confirmation_nonce != nonce:
        return None  # an older or replayed link
    consent = Consent(now.isoformat(), "double-opt-in", CONSENT_TEXT)
    return existing.with_changes(
        status=SubscriberStatus.ACTIVE,
        confirmation_nonce=None,
        consents=(*existing.consents, consent),
        updated_at=now.isoformat(),
    )


@dataclass(frozen=True, slots=True)
class Preferences:
    language: str | None  # None: the form did not say; the subscriber's own is kept
    topics: frozenset[str]
    channels: frozenset[str]
    mode: Mode


def parse_preferences_form(
    form: dict[str, Any],
    known_topics: frozenset[str],
    known_channels: frozenset[str],
    languages: Languages = DEFAULT_LANGUAGES,
) -> Preferences:
    problems: list[tuple[str, str]] = []
    language: str | None = None
    if form.get("language"):
        language, wrong_language = check_language(str(form["language"]), languages)
        if wrong_language is not None:
            problems.append(("language", wrong_language))
    topics = frozenset(str(t) for t in form.get("topics", ()) if t)
    wrong_topics = _topics_problem(topics, known_topics)
    if wrong_topics is not None:
        problems.append(("topics", wrong_topics))
    channels = frozenset(str(c) for c in form.get("channels", ("email",)) if c)
    if not channels or channels - known_channels:
        choices = ", ".join(sorted(known_channels))
        problems.append(("channels", Problem(N_("choose among %(channels)s"), channels=choices)))
    try:
        mode = Mode(str(form.get("mode", Mode.INSTANT)))
    except ValueError:
        problems.append(("mode", Problem(N_("choose instant or digest"))))
        mode = Mode.INSTANT
    if problems:
        raise InvalidSubscriberError(problems)
    return Preferences(language, topics, channels, mode)


def change_preferences(existing: Subscriber, prefs: Preferences, now: datetime) -> Subscriber:
    """New language, topics, channels and mode; choosing no topic at all means unsubscribing.
    The language is the one chosen, kept as it is written (`fr-TN` stays `fr-TN`)."""
    if not prefs.topics:
        return unsubscribe(existing, now)
    subscription = Subscription(event_types=prefs.topics, channels=prefs.channels, mode=prefs.mode)
    return existing.with_changes(
        language=prefs.language or existing.language,
        subscriptions=(subscription,),
        status=SubscriberStatus.ACTIVE
        if existing.status is not SubscriberStatus.PENDING
        else existing.status,
        updated_at=now.isoformat(),
    )


def unsubscribe(
    existing: Subscriber,
    now: datetime,
    topic: str | None = None,
    all_topics: frozenset[str] = frozenset(),
) -> Subscriber:
    """From one topic (event type; `all_topics` expands 'everything'), or from everything."""
    if topic is not None:
        remaining = []
        for subscription in existing.subscriptions:
            left = (subscription.event_types or all_topics) - {topic}
            if left:
                remaining.append(replace(subscription, event_types=frozenset(left)))
        if remaining:
            return existing.with_changes(subscriptions=tuple(remaining), updated_at=now.isoformat())
    if existing.is_staff:
        # Staff opt out of the news they follow; internal communications still reach them.
        return existing.with_changes(subscriptions=(), updated_at=now.isoformat())
    return existing.with_changes(status=SubscriberStatus.UNSUBSCRIBED, updated_at=now.isoformat())


def export(subscriber: Subscriber) -> dict[str, Any]:
    """Everything the hub keeps about a person, for them to take away."""
    record = subscriber.to_dict()
    record.pop("confirmation_nonce", None)
    return record
