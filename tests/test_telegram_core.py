"""Telegram without the network: formatting, splitting, the bot's conversation, broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.telegram.bot import handle_update
from channels.telegram.format import (
    MAX_MESSAGE_CHARS,
    markdown_to_telegram,
    split_message,
    visible_length,
)
from hub.model.events import Classification
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import SubscriberKind, Subscription
from hub.planning.routing import broadcasts
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from hub.subscribers.directory import Directory
from hub.subscribers.tokens import InvalidTokenError, Purpose, Signer, check_compact, issue_compact
from tests.helpers import EXAMPLES, event, subscriber

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SIGNER = Signer(b"s" * 32)
RENDERER = Renderer(REPO_ROOT / "templates")
WORDS = RENDERER.catalogs


def test_markdown_becomes_telegram_html_with_only_allowed_tags() -> None:
    html = markdown_to_telegram(
        "## Title\n\nSome **bold** and _it_ `code`\n\n- one\n- two\n\n"
        "[site](https://example.org/?a=1&b=2) [bad](javascript:x)"
    )
    assert "<b>Title</b>" in html and "<b>bold</b>" in html and "<i>it</i>" in html
    assert "• one\n• two" in html
    assert '<a href="https://example.org/?a=1&amp;b=2">site</a>' in html
    assert "javascript" not in html.split("site</a>")[1].split("[bad]")[0]
    assert "<h2>" not in html and "<p>" not in html


def test_hostile_title_is_escaped_in_the_telegram_message() -> None:
    news = event(
        content={
            "en": {
                "title": '<script>alert("x")</script> & co',
                "summary": "s",
                "body": "<b>raw</b>",
            }
        }
    )
    message = RENDERER.render(news, "telegram", "en").html
    assert "<script>" not in message and "&lt;script&gt;" in message
    assert "<b>raw</b>" not in message


@pytest.mark.parametrize("language", ["en", "fr", "es", "ar"])
def test_every_example_fits_or_is_split_in_every_language(language: str) -> None:
    from hub.i18n.languages import DEFAULT_LANGUAGES
    from tests.helpers import valid_examples

    for path in valid_examples():
        news = event(path)
        rendered = RENDERER.render(
            news, "telegram", DEFAULT_LANGUAGES.choose(language, news.languages)
        )
        parts = split_message(rendered.html)
        assert parts and all(visible_length(p) <= MAX_MESSAGE_CHARS for p in parts)


def test_long_message_is_split_at_paragraphs_without_breaking_tags() -> None:
    paragraphs = [f"<b>Part {i}</b> " + "word " * 300 for i in range(10)]
    parts = split_message("\n\n".join(paragraphs))
    assert len(parts) > 1
    for part in parts:
        assert visible_length(part) <= MAX_MESSAGE_CHARS
        assert part.count("<b>") == part.count("</b>")


@given(st.lists(st.text(min_size=0, max_size=3000), min_size=1, max_size=8))
def test_split_never_loses_text_or_exceeds_the_limit(paragraphs: list[str]) -> None:
    import html

    message = "\n\n".join(html.escape(p, quote=False) for p in paragraphs)
    parts = split_message(message)
    assert all(visible_length(p) <= MAX_MESSAGE_CHARS for p in parts)
    assert "".join(html.unescape("".join(parts)).split()) == "".join(html.unescape(message).split())


def test_compact_tokens_fit_telegram_start_and_cannot_be_forged() -> None:
    token = issue_compact(SIGNER, "ext-0123456789abcdef0123", Purpose.TELEGRAM, NOW)
    assert len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()
    assert check_compact(SIGNER, token, Purpose.TELEGRAM, NOW) == "ext-0123456789abcdef0123"
    with pytest.raises(InvalidTokenError):
        check_compact(SIGNER, token[:-1] + "x", Purpose.TELEGRAM, NOW)
    with pytest.raises(InvalidTokenError):
        check_compact(Signer(b"o" * 32), token, Purpose.TELEGRAM, NOW)
    with pytest.raises(InvalidTokenError, match="expired"):
        check_compact(SIGNER, token, Purpose.TELEGRAM, NOW + timedelta(days=8))


def private(chat_id: int, text: str, language: str = "en") -> dict[str, Any]:
    return {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "text": text,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "A", "language_code": language},
        },
    }


def directory(*people: Any) -> Directory:
    return Directory({p.id: p.to_dict() for p in people})


def test_start_with_a_valid_link_links_the_chat() -> None:
    person = subscriber("ext-1", language="fr")
    token = issue_compact(SIGNER, "ext-1", Purpose.TELEGRAM, NOW)
    result = handle_update(private(77, f"/start {token}"), directory(person), SIGNER, NOW, WORDS)
    assert result.change is not None
    linked, cause = result.change
    assert cause is Cause.TELEGRAM_LINKED and linked.telegram_chat_id == 77
    assert all("telegram" in s.channels for s in linked.subscriptions)
    assert "Bienvenue" in result.replies[0].text


def test_start_with_a_forged_link_changes_nothing_and_explains() -> None:
    result = handle_update(
        private(77, "/start 0000000000forgedforgedext-1", "es"),
        directory(subscriber("ext-1")),
        SIGNER,
        NOW,
        WORDS,
    )
    assert result.change is None and "enlace de Telegram" in result.replies[0].text


def test_unknown_input_gets_help_in_the_chat_language() -> None:
    person = subscriber("ext-1", language="es", telegram_chat_id=5)
    result = handle_update(private(5, "hola"), directory(person), SIGNER, NOW, WORDS)
    assert "/topics" in result.replies[0].text and "noticias" in result.replies[0].text


def test_topics_keyboard_toggles_a_topic_for_telegram_only() -> None:
    person = subscriber(
        "ext-1",
        telegram_chat_id=5,
        subscriptions=(Subscription(channels=frozenset({"email", "telegram"})),),
    )
    shown = handle_update(private(5, "/topics"), directory(person), SIGNER, NOW, WORDS)
    keyboard = shown.replies[0].keyboard
    assert keyboard is not None and len(keyboard) == 2
    press = {
        "update_id": 2,
        "callback_query": {
            "id": "cb1",
            "data": "topic:research.released",
            "from": {"id": 5},
            "message": {"message_id": 9, "chat": {"id": 5, "type": "private"}},
        },
    }
    result = handle_update(press, directory(person), SIGNER, NOW, WORDS)
    assert result.change is not None
    changed, _ = result.change
    email = [s for s in changed.subscriptions if "email" in s.channels]
    telegram = [s for s in changed.subscriptions if "telegram" in s.channels]
    assert email[0].event_types == frozenset()  # email still everything
    assert telegram[0].event_types == {"announcement.published"}
    assert result.replies[0].edit_message_id == 9 and result.replies[0].answer_callback_id == "cb1"


def test_stop_pauses_telegram_and_unlinks() -> None:
    person = subscriber(
        "ext-1",
        telegram_chat_id=5,
        subscriptions=(Subscription(channels=frozenset({"email", "telegram"})),),
    )
    result = handle_update(private(5, "/stop"), directory(person), SIGNER, NOW, WORDS)
    assert result.change is not None
    stopped, _ = result.change
    assert stopped.telegram_chat_id is None
    assert all("telegram" not in s.channels for s in stopped.subscriptions)


def press(data: str, chat_id: int = 5) -> dict[str, Any]:
    return {
        "update_id": 2,
        "callback_query": {
            "id": "cb1",
            "data": data,
            "from": {"id": chat_id},
            "message": {"message_id": 9, "chat": {"id": chat_id, "type": "private"}},
        },
    }


def test_an_arabic_subscriber_is_answered_in_arabic() -> None:
    person = subscriber("ext-1", language="ar", telegram_chat_id=5)
    people = directory(person)
    helped = handle_update(private(5, "hello"), people, SIGNER, NOW, WORDS).replies[0]
    assert "أخبار المنظمة" in helped.text and "/topics" in helped.text
    topics = handle_update(private(5, "/topics"), people, SIGNER, NOW, WORDS).replies[0]
    assert topics.text.startswith("اضغط") and topics.keyboard is not None
    assert "الإصدارات البحثية" in topics.keyboard[1][0][0]
    menu = handle_update(private(5, "/language"), people, SIGNER, NOW, WORDS).replies[0]
    assert menu.text == "اختر لغتك:" and menu.keyboard is not None
    offered = {data: label for row in menu.keyboard for label, data in row}
    assert offered == {
        "lang:en": "English",
        "lang:fr": "Français",
        "lang:es": "Español",
        "lang:ar": "العربية",
    }


def test_choosing_arabic_answers_in_arabic_and_changes_the_language() -> None:
    person = subscriber("ext-1", language="fr", telegram_chat_id=5)
    result = handle_update(press("lang:ar"), directory(person), SIGNER, NOW, WORDS)
    assert result.change is not None and result.change[0].language == "ar"
    assert result.replies[0].text == "تم اختيار اللغة: العربية."


def test_choosing_a_language_keeps_the_regional_form_of_it() -> None:
    person = subscriber("ext-1", language="fr-TN", telegram_chat_id=5)
    kept = handle_update(press("lang:fr"), directory(person), SIGNER, NOW, WORDS)
    assert kept.change is not None and kept.change[0].language == "fr-TN"
    assert kept.replies[0].text == "Langue : Français."
    moved = handle_update(press("lang:ar"), directory(person), SIGNER, NOW, WORDS)
    assert moved.change is not None and moved.change[0].language == "ar"
    unknown = handle_update(press("lang:de"), directory(person), SIGNER, NOW, WORDS)
    assert unknown.change is None  # only the languages the menu offers


def test_a_language_telegram_names_but_the_hub_does_not_speak_gets_english() -> None:
    for code in ("de", "not a tag", ""):
        result = handle_update(private(8, "/help", code), directory(), SIGNER, NOW, WORDS)
        assert result.replies[0].text.startswith("This chat is not linked yet")


def test_the_bot_ignores_groups() -> None:
    update = private(-100, "/start x")
    update["message"]["chat"]["type"] = "group"
    assert handle_update(update, directory(), SIGNER, NOW, WORDS).replies == []


def test_broadcasts_go_only_where_the_classification_allows() -> None:
    channels, groups = ["@org_news"], ["-1001"]
    assert [d.recipient.address for d in broadcasts(event(), channels, groups)] == ["@org_news"]
    staff = event(
        EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json",
        audience={},
    )
    assert [d.recipient.address for d in broadcasts(staff, channels, groups)] == ["-1001"]
    assert broadcasts(event(classification="partners"), channels, groups) == []
    targeted = event(
        EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json",
        audience={"departments": ["DICP"]},
    )
    assert broadcasts(targeted, channels, groups) == []


@given(st.sampled_from(list(Classification)))
def test_no_internal_event_is_ever_broadcast_to_a_public_channel(
    classification: Classification,
) -> None:
    audience = {"groups": ["g"]} if classification is Classification.RESTRICTED else {}
    news = event(classification=classification.value, audience=audience)
    for delivery in broadcasts(news, ["@public"], ["-42"]):
        if delivery.recipient.address == "@public":
            assert classification is Classification.PUBLIC
        else:
            assert classification is Classification.STAFF


def test_planned_telegram_delivery_needs_a_linked_chat() -> None:
    from hub.planning.routing import plan

    linked = subscriber(
        "a", telegram_chat_id=99, subscriptions=(Subscription(channels=frozenset({"telegram"})),)
    )
    unlinked = subscriber("b", subscriptions=(Subscription(channels=frozenset({"telegram"})),))
    staff_only_email = subscriber("c", SubscriberKind.STAFF, telegram_chat_id=5)
    deliveries = plan(event(), [linked, unlinked, staff_only_email])
    assert [(d.recipient.id, d.channel.value, d.recipient.address) for d in deliveries] == [
        ("a", "telegram", "99"),
        ("c", "email", "c@example.net"),
    ]
