"""The Telegram bot's conversation: /start, /subscribe, /unsubscribe, /topics, /language, /stop,
/help. Takes a raw Update and the subscribers, returns replies and changes. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError

from channels.telegram.texts import TEXT, TOPIC_LABELS
from hub.i18n.catalogs import Catalogs
from hub.i18n.languages import LanguageError, Languages, normalise, truncations
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import Subscriber, Subscription
from hub.subscribers.directory import Directory
from hub.subscribers.selfservice import pause_channel
from hub.subscribers.tokens import InvalidTokenError, Purpose, Signer, check_compact

TELEGRAM = "telegram"
Keyboard = list[list[tuple[str, str]]]  # rows of (label, callback data)
LANGUAGES_PER_ROW = 3  # the language menu's buttons stay wide enough for their names


@dataclass(frozen=True, slots=True)
class Reply:
    chat_id: int
    text: str
    keyboard: Keyboard | None = None
    edit_message_id: int | None = None  # edit this message instead of sending a new one
    answer_callback_id: str | None = None


@dataclass(frozen=True, slots=True)
class BotResult:
    replies: list[Reply] = field(default_factory=list)
    change: tuple[Subscriber, Cause] | None = None


def interface(languages: Languages, tag: str) -> str:
    """The supported language a reader of `tag` is answered in; Telegram's own language code
    may be anything, so what is no tag gets the default."""
    try:
        return languages.interface(normalise(tag))
    except LanguageError:
        return languages.default


def translate(words: Catalogs, language: str, message: str) -> str:
    return words.gettext(interface(words.languages, language))(message)


def text(words: Catalogs, language: str, key: str, /, **values: str) -> str:
    """The bot's message `key` in the reader's language, placeholders filled."""
    return translate(words, language, TEXT[key]).format(**values)


def language_name(tag: str) -> str:
    """A language named in itself (`العربية`, `Français`), as its speakers look for it."""
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return tag
    name = locale.get_display_name(locale) or tag
    return name[:1].upper() + name[1:]


def handle_update(
    update: dict[str, Any], directory: Directory, signer: Signer, now: datetime, words: Catalogs
) -> BotResult:
    """What the bot answers and changes for one update, in the chat's language; unknown input
    gets help."""
    if "callback_query" in update:
        return _callback(update["callback_query"], directory, now, words)
    message = update.get("message") or {}
    chat = message.get("chat") or {}
    if "id" not in chat or chat.get("type") != "private":
        return BotResult()  # the bot talks to people, not in groups or channels
    chat_id = int(chat["id"])
    linked = directory.by_telegram_chat(chat_id)
    # Before the chat is linked, the language Telegram's app is set to is all there is.
    language = (
        linked.language if linked else str((message.get("from") or {}).get("language_code") or "")
    )
    said = str(message.get("text", "")).split()
    command = said[0].split("@")[0].lower() if said else ""
    if command == "/start":
        token = said[1] if len(said) > 1 else ""
        return _start(chat_id, token, directory, signer, now, words, language)
    if linked is None:
        return BotResult([Reply(chat_id, text(words, language, "not_linked"))])
    return _command(command, chat_id, linked, now, words)


def _command(
    command: str, chat_id: int, linked: Subscriber, now: datetime, words: Catalogs
) -> BotResult:
    """A linked subscriber's command, answered in their language."""
    language = linked.language
    if command == "/subscribe":
        changed = _with_telegram(linked, now)
        reply = Reply(chat_id, text(words, language, "subscribed"))
        return BotResult([reply], (changed, Cause.PREFERENCES))
    if command in ("/unsubscribe", "/stop"):
        changed = pause_channel(linked, TELEGRAM, now)
        reply = Reply(chat_id, text(words, language, "stopped"))
        return BotResult([reply], (changed, Cause.PREFERENCES))
    if command == "/topics":
        keyboard = topics_keyboard(linked, words)
        return BotResult([Reply(chat_id, text(words, language, "topics"), keyboard)])
    if command == "/language":
        keyboard = language_keyboard(words.languages)
        return BotResult([Reply(chat_id, text(words, language, "language"), keyboard)])
    return BotResult([Reply(chat_id, text(words, language, "help"))])


def _start(
    chat_id: int,
    token: str,
    directory: Directory,
    signer: Signer,
    now: datetime,
    words: Catalogs,
    language: str,
) -> BotResult:
    try:
        subject = check_compact(signer, token, Purpose.TELEGRAM, now)
    except (InvalidTokenError, ValueError):
        return BotResult([Reply(chat_id, text(words, language, "start_without_link"))])
    subscriber = directory.get(subject)
    if subscriber is None or not subscriber.is_active:
        return BotResult([Reply(chat_id, text(words, language, "start_without_link"))])
    linked = _with_telegram(subscriber.with_changes(telegram_chat_id=chat_id), now)
    reply = Reply(chat_id, text(words, subscriber.language, "linked", name=subscriber.name))
    return BotResult([reply], (linked, Cause.TELEGRAM_LINKED))


def _with_telegram(subscriber: Subscriber, now: datetime) -> Subscriber:
    """Every subscription also on Telegram (or one for everything if there was none)."""
    subscriptions = tuple(
        replace(s, channels=s.channels | {TELEGRAM}) for s in subscriber.subscriptions
    ) or (Subscription(channels=frozenset({"email", TELEGRAM})),)
    return subscriber.with_changes(subscriptions=subscriptions, updated_at=now.isoformat())


def _followed_topics(subscriber: Subscriber) -> frozenset[str]:
    found: set[str] = set()
    for subscription in subscriber.subscriptions:
        if TELEGRAM in subscription.channels:
            found |= subscription.event_types or set(TOPIC_LABELS)
    return frozenset(found)


def topics_keyboard(subscriber: Subscriber, words: Catalogs) -> Keyboard:
    followed = _followed_topics(subscriber)
    return [
        [
            (
                ("✅ " if topic in followed else "▫️ ")
                + translate(words, subscriber.language, label),
                f"topic:{topic}",
            )
        ]
        for topic, label in TOPIC_LABELS.items()
    ]


def language_keyboard(languages: Languages) -> Keyboard:
    """Every supported language, each named in itself: a reader finds theirs whatever the
    language the menu is shown in."""
    buttons = [(language_name(tag), f"lang:{tag}") for tag in languages.supported]
    return [
        buttons[start : start + LANGUAGES_PER_ROW]
        for start in range(0, len(buttons), LANGUAGES_PER_ROW)
    ]


def chosen_language(current: str, chosen: str) -> str:
    """The subscriber's tag after choosing `chosen` from the menu: a regional form of it they
    already have is kept (an `fr-TN` reader who picks French stays `fr-TN`)."""
    try:
        forms = truncations(normalise(current))
    except LanguageError:
        return chosen
    return current if chosen in forms else chosen


def _callback(
    query: dict[str, Any], directory: Directory, now: datetime, words: Catalogs
) -> BotResult:
    message = query.get("message") or {}
    chat_id = int((message.get("chat") or {}).get("id", 0))
    message_id = message.get("message_id")
    subscriber = directory.by_telegram_chat(chat_id) if chat_id else None
    answer = str(query.get("id", ""))
    if subscriber is None:
        language = str((query.get("from") or {}).get("language_code") or "")
        reply = Reply(chat_id, text(words, language, "not_linked"), answer_callback_id=answer)
        return BotResult([reply])
    kind, _, value = str(query.get("data", "")).partition(":")
    if kind == "topic" and value in TOPIC_LABELS:
        changed = _toggle_topic(subscriber, value, now)
        reply = Reply(
            chat_id,
            text(words, changed.language, "topics"),
            topics_keyboard(changed, words),
            edit_message_id=message_id,
            answer_callback_id=answer,
        )
        return BotResult([reply], (changed, Cause.PREFERENCES))
    if kind == "lang" and value in words.languages.supported:
        language = chosen_language(subscriber.language, value)
        changed = subscriber.with_changes(language=language, updated_at=now.isoformat())
        reply = Reply(
            chat_id,
            text(words, language, "language_set", language=language_name(value)),
            edit_message_id=message_id,
            answer_callback_id=answer,
        )
        return BotResult([reply], (changed, Cause.PREFERENCES))
    reply = Reply(chat_id, text(words, subscriber.language, "help"), answer_callback_id=answer)
    return BotResult([reply])


def _toggle_topic(subscriber: Subscriber, topic: str, now: datetime) -> Subscriber:
    """Follow or stop following one topic on Telegram; email choices stay as they were."""
    followed = set(_followed_topics(subscriber))
    followed ^= {topic}
    kept = [
        replace(s, channels=s.channels - {TELEGRAM})
        for s in subscriber.subscriptions
        if s.channels - {TELEGRAM}
    ]
    if followed:
        kept.append(Subscription(event_types=frozenset(followed), channels=frozenset({TELEGRAM})))
    return subscriber.with_changes(subscriptions=tuple(kept), updated_at=now.isoformat())
