"""The Telegram bot's conversation: /start, /subscribe, /unsubscribe, /topics, /language, /stop,
/help. Takes a raw Update and the subscribers, returns replies and changes. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from channels.telegram.texts import TEXT, TOPIC_LABELS
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import SUPPORTED_LANGUAGES, Subscriber, Subscription
from hub.planning.languages import choose_language
from hub.subscribers.directory import Directory
from hub.subscribers.selfservice import pause_channel
from hub.subscribers.tokens import InvalidTokenError, Purpose, Signer, check_compact

TELEGRAM = "telegram"
Keyboard = list[list[tuple[str, str]]]  # rows of (label, callback data)


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


def text(language: str, key: str, **values: str) -> str:
    lang = choose_language(language, set(TEXT), "en")
    return TEXT[lang][key].format(**values)


def handle_update(
    update: dict[str, Any], directory: Directory, signer: Signer, now: datetime
) -> BotResult:
    """What the bot answers and changes for one update; unknown input gets help."""
    if "callback_query" in update:
        return _callback(update["callback_query"], directory, now)
    message = update.get("message") or {}
    chat = message.get("chat") or {}
    if "id" not in chat or chat.get("type") != "private":
        return BotResult()  # the bot talks to people, not in groups or channels
    chat_id = int(chat["id"])
    linked = directory.by_telegram_chat(chat_id)
    language = linked.language if linked else (message.get("from") or {}).get("language_code", "en")
    words = str(message.get("text", "")).split()
    command = words[0].split("@")[0].lower() if words else ""
    if command == "/start":
        return _start(chat_id, words[1] if len(words) > 1 else "", directory, signer, now, language)
    if linked is None:
        return BotResult([Reply(chat_id, text(language, "not_linked"))])
    if command == "/subscribe":
        changed = _with_telegram(linked, now)
        return BotResult(
            [Reply(chat_id, text(language, "subscribed"))], (changed, Cause.PREFERENCES)
        )
    if command in ("/unsubscribe", "/stop"):
        changed = pause_channel(linked, TELEGRAM, now)
        return BotResult([Reply(chat_id, text(language, "stopped"))], (changed, Cause.PREFERENCES))
    if command == "/topics":
        return BotResult([Reply(chat_id, text(language, "topics"), topics_keyboard(linked))])
    if command == "/language":
        return BotResult([Reply(chat_id, text(language, "language"), language_keyboard())])
    return BotResult([Reply(chat_id, text(language, "help"))])


def _start(
    chat_id: int, token: str, directory: Directory, signer: Signer, now: datetime, language: str
) -> BotResult:
    try:
        subject = check_compact(signer, token, Purpose.TELEGRAM, now)
    except (InvalidTokenError, ValueError):
        return BotResult([Reply(chat_id, text(language, "start_without_link"))])
    subscriber = directory.get(subject)
    if subscriber is None or not subscriber.is_active:
        return BotResult([Reply(chat_id, text(language, "start_without_link"))])
    linked = _with_telegram(subscriber.with_changes(telegram_chat_id=chat_id), now)
    reply = Reply(chat_id, text(subscriber.language, "linked", name=subscriber.name))
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


def topics_keyboard(subscriber: Subscriber) -> Keyboard:
    followed = _followed_topics(subscriber)
    labels = TOPIC_LABELS
    lang = choose_language(subscriber.language, set(TEXT), "en")
    return [
        [(("✅ " if topic in followed else "▫️ ") + labels[topic][lang], f"topic:{topic}")]
        for topic in labels
    ]


def language_keyboard() -> Keyboard:
    return [[(TEXT[lang]["language_name"], f"lang:{lang}") for lang in SUPPORTED_LANGUAGES]]


def _callback(query: dict[str, Any], directory: Directory, now: datetime) -> BotResult:
    message = query.get("message") or {}
    chat_id = int((message.get("chat") or {}).get("id", 0))
    message_id = message.get("message_id")
    subscriber = directory.by_telegram_chat(chat_id) if chat_id else None
    answer = str(query.get("id", ""))
    if subscriber is None:
        return BotResult([Reply(chat_id, text("en", "not_linked"), answer_callback_id=answer)])
    kind, _, value = str(query.get("data", "")).partition(":")
    if kind == "topic" and value in TOPIC_LABELS:
        changed = _toggle_topic(subscriber, value, now)
        reply = Reply(
            chat_id,
            text(changed.language, "topics"),
            topics_keyboard(changed),
            edit_message_id=message_id,
            answer_callback_id=answer,
        )
        return BotResult([reply], (changed, Cause.PREFERENCES))
    if kind == "lang" and value in SUPPORTED_LANGUAGES:
        changed = subscriber.with_changes(language=value, updated_at=now.isoformat())
        reply = Reply(
            chat_id,
            text(value, "language_set"),
            edit_message_id=message_id,
            answer_callback_id=answer,
        )
        return BotResult([reply], (changed, Cause.PREFERENCES))
    return BotResult([Reply(chat_id, text(subscriber.language, "help"), answer_callback_id=answer)])


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
