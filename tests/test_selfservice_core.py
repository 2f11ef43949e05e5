"""Signed links, subscription commands and the dry run, without Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.model.subscriber_commands import Cause
from hub.model.subscribers import (
    InvalidSubscriberError,
    Mode,
    SubscriberKind,
    SubscriberStatus,
    subscriber_from_dict,
)
from hub.planning.dryrun import audience_counts, dry_run, search
from hub.subscribers.selfservice import (
    Preferences,
    change_preferences,
    confirm,
    parse_preferences_form,
    parse_subscribe_form,
    subscribe,
    unsubscribe,
)
from hub.subscribers.tokens import InvalidTokenError, Purpose, Signer, new_external_id
from tests.helpers import EXAMPLES, PARTNERS, event, subscriber

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SIGNER = Signer(b"k" * 32)
TOPICS = frozenset({"announcement.published", "research.released"})


def test_a_token_checks_out_for_its_purpose_only() -> None:
    token = SIGNER.issue("ext-1", Purpose.PREFERENCES, NOW)
    assert SIGNER.check(token, Purpose.PREFERENCES, NOW).subject == "ext-1"
    with pytest.raises(InvalidTokenError, match="something else"):
        SIGNER.check(token, Purpose.UNSUBSCRIBE, NOW)


def test_forged_or_altered_tokens_are_refused() -> None:
    token = SIGNER.issue("ext-1", Purpose.PREFERENCES, NOW)
    payload, _, mac = token.rpartition(".")
    other = Signer(b"x" * 32).issue("ext-1", Purpose.PREFERENCES, NOW)
    for forged in (
        other,
        f"{payload}.{_altered(mac)}",
        f"{_altered(payload)}.{mac}",
        "",
        "a.b",
        token + "x",
    ):
        with pytest.raises(InvalidTokenError):
            SIGNER.check(forged, Purpose.PREFERENCES, NOW)


def _altered(text: str) -> str:
    """`text` with its first character changed. Not the last ones: base64's last character
    can carry bits the decoder ignores, and a random token may already end in what replaces
    them (that made this test fail about once in 256 runs)."""
    return ("B" if text[0] == "A" else "A") + text[1:]


def test_tokens_expire() -> None:
    token = SIGNER.issue("ext-1", Purpose.CONFIRM, NOW)
    assert SIGNER.check(token, Purpose.CONFIRM, NOW + timedelta(hours=47))
    with pytest.raises(InvalidTokenError, match="expired"):
        SIGNER.check(token, Purpose.CONFIRM, NOW + timedelta(hours=49))


def test_external_ids_are_random_and_reveal_nothing() -> None:
    ids = {new_external_id() for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("ext-") and len(i) == 24 for i in ids)


def form(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "email": "ana@example.org",
        "name": "Ana",
        "language": "fr",
        "topics": ["research.released"],
        "organisation": "University of Dakar",
        "organisation_type": "academia",
    }
    base.update(changes)
    return base


def test_subscribe_form_names_every_bad_field() -> None:
    with pytest.raises(InvalidSubscriberError) as refused:
        parse_subscribe_form(
            form(email="not-an-address", language="de", topics=["gossip"], organisation_type="x"),
            TOPICS,
        )
    assert {field for field, _ in refused.value.problems} == {
        "email",
        "language",
        "topics",
        "organisation_type",
    }


def test_header_injection_in_the_email_field_is_refused() -> None:
    with pytest.raises(InvalidSubscriberError):
        parse_subscribe_form(form(email="ana@example.org\r\nBcc: all@example.org"), TOPICS)


def test_double_opt_in_confirms_once_with_the_latest_link_only() -> None:
    request = parse_subscribe_form(form(), TOPICS)
    pending, cause = subscribe(None, request, "ext-1", NOW, "nonce-1")
    assert cause is Cause.SUBSCRIBED and pending.status is SubscriberStatus.PENDING
    # Typing an organisation makes no one a partner: only the partner registry grants that.
    assert pending.kind is SubscriberKind.PUBLIC and pending.partner_request is None
    renewed, _ = subscribe(pending, request, "ext-1", NOW, "nonce-2")
    assert confirm(renewed, "nonce-1", NOW) is None  # the older link no longer works
    active = confirm(renewed, "nonce-2", NOW)
    assert active is not None and active.is_active
    assert active.consents[-1].method == "double-opt-in"
    assert confirm(active, "nonce-2", NOW) is None  # replayed


def test_asking_for_partner_access_records_a_request_and_grants_nothing() -> None:
    asked = parse_subscribe_form(form(partner_access="1", organisation="Sahel NGO"), TOPICS)
    pending, _ = subscribe(None, asked, "ext-1", NOW, "nonce-1")
    assert pending.kind is SubscriberKind.PUBLIC
    assert pending.partner_request is not None
    assert pending.partner_request.organisation == "Sahel NGO"
    assert subscriber_from_dict(pending.to_dict()) == pending
    with pytest.raises(InvalidSubscriberError) as refused:
        parse_subscribe_form(form(partner_access="1", organisation=""), TOPICS)
    assert [field for field, _ in refused.value.problems] == ["organisation"]


def test_subscribing_an_active_address_changes_nothing() -> None:
    active = subscriber("ext-1")
    same, cause = subscribe(active, parse_subscribe_form(form(), TOPICS), "ext-1", NOW, "n")
    assert cause is Cause.ALREADY_ACTIVE and same == active


def test_preferences_change_language_topics_and_mode() -> None:
    wanted = parse_preferences_form(
        {
            "language": "es",
            "topics": ["research.released"],
            "channels": ["email"],
            "mode": "digest",
        },
        TOPICS,
        frozenset({"email"}),
    )
    changed = change_preferences(subscriber("ext-1"), wanted, NOW)
    assert changed.language == "es"
    (only,) = changed.subscriptions
    assert only.event_types == {"research.released"} and only.mode is Mode.DIGEST


def test_choosing_no_topic_unsubscribes() -> None:
    wanted = Preferences("en", frozenset(), frozenset({"email"}), Mode.INSTANT)
    assert change_preferences(subscriber("x"), wanted, NOW).status is SubscriberStatus.UNSUBSCRIBED


def test_unsubscribe_from_one_topic_keeps_the_others() -> None:
    left = unsubscribe(subscriber("x"), NOW, topic="research.released", all_topics=TOPICS)
    assert left.is_active
    assert left.subscriptions[0].event_types == {"announcement.published"}


def test_staff_who_unsubscribe_still_get_internal_communications() -> None:
    from hub.planning import audience

    staff = unsubscribe(subscriber("s", SubscriberKind.STAFF), NOW, all_topics=TOPICS)
    update = event(
        EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json",
        audience={},
    )
    assert [s for s, _channels in audience.audience_of(update, [staff])] == [staff]
    assert audience.audience_of(event(), [staff]) == []


def test_subscriber_records_round_trip() -> None:
    original = subscriber("x", SubscriberKind.PARTNER, "fr-TN", organisation="Ministry")
    assert subscriber_from_dict(original.to_dict()) == original


def test_dry_run_counts_who_would_receive() -> None:
    people = [
        subscriber("s-fr", SubscriberKind.STAFF, "fr", department="DICP"),
        subscriber("p-es", SubscriberKind.PARTNER, "es"),
        subscriber("u-en", SubscriberKind.PUBLIC, "en"),
    ]
    report = dry_run(event(classification="partners"), people, NOW, partners=PARTNERS)
    assert report["recipients"] == 2
    assert report["by_kind"] == {"staff": 1, "partner": 1}
    assert report["by_language"] == {"fr": 1, "es": 1}
    assert report["staff_by_department"] == {"DICP": 1}
    embargoed = event(
        EXAMPLES / "research.released.v1" / "valid" / "climate-mobility-sahel-embargoed.json"
    )
    assert dry_run(embargoed, people, NOW)["embargoed_until"] is not None


def test_audience_counts_and_search() -> None:
    people = [
        subscriber("s1", SubscriberKind.STAFF, department="DICP", region="europe"),
        subscriber("p1", organisation="Ministère des Affaires sociales"),
    ]
    counts = audience_counts(people, PARTNERS)
    assert counts["by_kind"] == {"staff": 1, "partner": 1}
    # A record that says `partner` without the registry's grant counts as public.
    assert audience_counts(people)["by_kind"] == {"staff": 1, "public": 1}
    assert counts["staff_by_region"] == {"europe": 1}
    assert [s.id for s in search(people, "affaires")] == ["p1"]
    assert [s.id for s in search(people, "", kind="staff")] == ["s1"]
