"""Language fallback chains in routing, and stable delivery ids."""

from __future__ import annotations

import pytest

from hub.i18n.languages import DEFAULT_LANGUAGES, Languages
from hub.model.deliveries import ChannelKey, Delivery, EventAt, delivery_id
from hub.model.events import Event
from hub.model.subscribers import SubscriberKind
from hub.planning.routing import plan
from tests.helpers import DEMO_ANNOUNCEMENT, event, load_example, subscriber


def test_fallback_chain_goes_from_region_to_language_to_default() -> None:
    assert DEFAULT_LANGUAGES.chain("fr-TN") == ["fr-TN", "fr", "en"]
    assert DEFAULT_LANGUAGES.chain("en") == ["en"]


@pytest.mark.parametrize(
    ("preferred", "available", "chosen"),
    [
        ("fr-TN", {"en", "fr", "es"}, "fr"),
        ("es-EC", {"en", "es"}, "es"),
        ("pt", {"en", "fr"}, "en"),
        ("fr", {"fr-CA", "en"}, "fr-CA"),
        ("de", {"fr", "es"}, "es"),  # neither wanted nor default: a deterministic choice
    ],
)
def test_choose_language(preferred: str, available: set[str], chosen: str) -> None:
    assert DEFAULT_LANGUAGES.choose(preferred, available) == chosen


def test_delivery_id_is_stable_and_distinct_per_channel_and_recipient() -> None:
    first = delivery_id("e1", "email", "r1")
    assert first == delivery_id("e1", "email", "r1")
    assert len({first, delivery_id("e1", "telegram", "r1"), delivery_id("e1", "email", "r2")}) == 3


def test_plan_gives_one_email_per_reachable_recipient_in_their_language() -> None:
    news = event()
    people = [
        subscriber("fr-partner", language="fr-TN"),
        subscriber("es-staff", SubscriberKind.STAFF, language="es"),
        subscriber("no-email", email=None),
    ]
    deliveries = plan(news, people)
    assert [(d.recipient.id, d.language, d.channel) for d in deliveries] == [
        ("fr-partner", "fr", ChannelKey.EMAIL),
        ("es-staff", "es", ChannelKey.EMAIL),
    ]
    again = plan(news, people)
    assert [d.id for d in again] == [d.id for d in deliveries]


def test_delivery_message_round_trips() -> None:
    news = event()
    (delivery,) = plan(news, [subscriber("x")])
    message = delivery.as_message(EventAt(partition=2, offset=41))
    assert Delivery.from_message(message) == delivery
    # The event's document stays on its own topic: the delivery says where.
    assert message["event_at"] == {"partition": 2, "offset": 41} and "event" not in message


def test_routing_follows_the_organisations_fallback_chain() -> None:
    """With ar -> fr configured, an ar-TN reader of an event in en and fr reads French; without
    it, English."""
    document = load_example(DEMO_ANNOUNCEMENT)
    del document["content"]["es"]
    news = Event.from_document(document)
    reader = subscriber("s-ar", language="ar-TN")
    north_africa = Languages.of(["en", "fr", "es", "ar"], "en", {"ar": ["fr"]})
    assert [d.language for d in plan(news, [reader], languages=north_africa)] == ["fr"]
    assert [d.language for d in plan(news, [reader])] == ["en"]
