"""Sealing personal fields with a per-subscriber key; what stays readable after erasure. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.delivery.dispatch import UNKNOWN_RECIPIENT_RETRIES, Dispatcher
from hub.model import audit
from hub.model.deliveries import ChannelKey, Delivery, Recipient, delivery_id
from hub.model.outcomes import OutcomeStatus
from hub.model.subscribers import SubscriberKind
from hub.privacy.erasure import ROLL_KEY, compaction_config
from hub.privacy.export import dead_letters_of, deliveries_of
from hub.privacy.sealing import (
    DATA_KEY,
    ERASED,
    KeyLookup,
    decode_key,
    keys_from_records,
    new_key,
    open_delivery,
    open_value,
    redact,
    seal_delivery,
    seal_value,
)
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.settings import REPO_ROOT, RetrySettings
from hub.subscribers import mail_limits
from hub.subscribers.changes import ChangeContext, subscriber_change
from hub.subscribers.directory import Directory
from hub.subscribers.tokens import Signer
from tests.helpers import subscriber

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
EMAIL = "zenobia.q@example.net"
NAME = "Zenobia Quillfeather"


def message(recipient_id: str = "ext-zq", address: str = EMAIL, name: str = NAME) -> dict[str, Any]:
    delivery = Delivery(
        id=delivery_id("ev-1", "email", recipient_id),
        event_id="ev-1",
        channel=ChannelKey.EMAIL,
        language="en",
        recipient=Recipient(recipient_id, name, address),
    )
    return {**delivery.record({"id": "ev-1"}).dump(), "rendered": {"subject": f"Dear {name}"}}


def records(**people: str | None) -> dict[str, Any]:
    return {sid: ({DATA_KEY: key} if key else {"id": sid}) for sid, key in people.items()}


def readable(value: Any, *needles: str) -> list[str]:
    text = json.dumps(value, ensure_ascii=False)
    return [n for n in needles if n in text]


def test_sealed_message_shows_only_the_recipient_id_and_opens_back_whole() -> None:
    keys = keys_from_records(records(**{"ext-zq": new_key()}).get)
    plain = message()
    sealed = seal_delivery(plain, keys)
    assert readable(sealed, EMAIL, NAME) == []
    assert sealed["recipient"] == {"id": "ext-zq"}
    assert "rendered" not in sealed
    assert open_delivery(sealed, keys) == plain


def test_sealing_twice_changes_nothing_and_each_seal_is_fresh() -> None:
    keys = keys_from_records(records(**{"ext-zq": new_key()}).get)
    once = seal_delivery(message(), keys)
    assert seal_delivery(once, keys) == once
    assert seal_delivery(message(), keys)["sealed"] != once["sealed"]  # a new nonce each time


def test_without_the_key_a_sealed_message_is_an_erased_one() -> None:
    held = records(**{"ext-zq": new_key()})
    sealed = seal_delivery(message(), keys_from_records(held.get))
    opened = open_delivery(sealed, keys_from_records({}.get))
    assert opened[ERASED] is True
    assert opened["recipient"] == {"id": "ext-zq"}
    assert open_delivery(opened, keys_from_records(held.get)) == message()
    assert readable(opened, EMAIL, NAME) == []


def test_a_new_key_for_the_same_id_cannot_open_what_the_erased_key_sealed() -> None:
    sealed = seal_delivery(message(), keys_from_records(records(**{"ext-zq": new_key()}).get))
    again = keys_from_records(records(**{"ext-zq": new_key()}).get)  # erased, then back
    assert open_delivery(sealed, again)[ERASED] is True


def test_sealed_fields_are_bound_to_their_delivery() -> None:
    keys = keys_from_records(records(**{"ext-zq": new_key()}).get)
    sealed = seal_delivery(message(), keys)
    moved = {**sealed, "id": "another-delivery"}
    assert open_delivery(moved, keys)[ERASED] is True


def test_a_recipient_erased_before_the_write_loses_its_personal_fields() -> None:
    sealed = seal_delivery(message(), keys_from_records({}.get))
    assert sealed[ERASED] is True
    assert readable(sealed, EMAIL, NAME) == []


def test_broadcast_destinations_and_records_from_before_keys_stay_as_they_are() -> None:
    keys = keys_from_records(records(legacy=None).get)
    broadcast = message("telegram:@news", "@news", "@news")
    assert seal_delivery(broadcast, keys) == broadcast
    legacy = message("legacy")
    assert seal_delivery(legacy, keys) == legacy


def test_a_dead_letter_keeps_its_reason_without_the_address_and_its_delivery_sealed() -> None:
    keys = keys_from_records(records(**{"ext-zq": new_key()}).get)
    letter = {
        "reason": f"RecipientRejectedError: 550 5.1.1 <{EMAIL}>: recipient refused",
        "failed_at": NOW.isoformat(),
        "delivery": message(),
    }
    sealed = seal_value(letter, keys)
    assert readable(sealed, EMAIL, NAME) == []
    assert "550 5.1.1" in sealed["reason"]
    assert open_value(sealed, keys)["delivery"] == letter["delivery"]


def test_redact_removes_the_recipients_address_name_and_any_email_address() -> None:
    recipient = {"id": "ext-zq", "name": NAME, "address": "6123456789"}
    text = f"chat 6123456789 of {NAME} blocked; cc other.person@example.org"
    cleaned = redact(text, recipient)
    assert readable(cleaned, "6123456789", NAME, "other.person@example.org") == []
    assert "blocked" in cleaned


def test_audit_entries_never_carry_an_email_address() -> None:
    entry = audit.record(
        "ana@example.org",
        "subscriber.rejected",
        "ext-zq",
        NOW,
        reason=f"email: not a valid email address: {EMAIL!r}",
        nested={"list": [EMAIL]},
    )
    assert readable(entry, EMAIL, "ana@example.org") == []
    assert entry["subject"] == "ext-zq"


def test_keys_are_256_bit_and_bad_ones_are_refused() -> None:
    assert decode_key(new_key()) is not None and len(decode_key(new_key()) or b"") == 32
    assert decode_key("short") is None
    assert decode_key(None) is None
    assert keys_from_records({"x": {}}.get)("x") == KeyLookup(None, False)


def test_compacted_people_topics_roll_and_compact_within_the_window() -> None:
    config = compaction_config(2.5)
    assert config["cleanup.policy"] == "compact"
    assert config["segment.ms"] == config["max.compaction.lag.ms"] == "2500"


def runtime(held: dict[str, Any]) -> ChangeContext:
    """Records as the worker holds them; no notices are sent for the commands used here."""
    signer = Signer(b"k" * 32)
    links = LinkMaker(signer, "http://hub.test", "hub.test", lambda: NOW)
    limit = mail_limits.AddressLimit(timedelta(minutes=10), 3)
    return ChangeContext(Directory(held), limit, links, Renderer(REPO_ROOT / "templates"))


def command(person: Any) -> dict[str, Any]:
    return {"cause": "updated", "actor": "test", "subscriber": person.to_dict()}


def test_a_record_gets_a_data_key_once_and_keeps_it_across_changes() -> None:
    held: dict[str, Any] = {}
    person = subscriber("ext-zq", SubscriberKind.PARTNER, name=NAME)
    first = subscriber_change("ext-zq", command(person), runtime(held), NOW)
    assert first.record is not None and decode_key(first.record[DATA_KEY]) is not None
    held["ext-zq"] = first.record
    later = subscriber_change("ext-zq", command(person), runtime(held), NOW)
    assert later.record is not None and later.record[DATA_KEY] == first.record[DATA_KEY]


def test_erasure_and_the_roll_marker() -> None:
    erased = subscriber_change("ext-zq", None, runtime({}), NOW)
    assert erased.erase and erased.audit is not None
    assert erased.audit["subject"] == "ext-zq"
    marker = subscriber_change(ROLL_KEY, None, runtime({}), NOW)
    assert not marker.erase and marker.audit is None and marker.record is None


async def test_the_dispatcher_sends_nothing_to_an_erased_recipient_and_keeps_nothing() -> None:
    ledger: dict[str, Any] = {}
    dispatcher = Dispatcher(
        Renderer(REPO_ROOT / "templates"), {}, ledger, lambda: NOW, RetrySettings()
    )
    sealed = seal_delivery(message(), keys_from_records(records(**{"ext-zq": new_key()}).get))
    # First a few retries, in case this worker's copy of the record is only late ...
    first = await dispatcher.dispatch(open_delivery(sealed, keys_from_records({}.get)))
    assert first.outcome.status is OutcomeStatus.RETRYING and first.retry is not None
    assert first.retry["sealed"] == sealed["sealed"] and ERASED not in first.retry
    assert first.dead_letter is None
    # ... and once they are spent, the recipient was erased.
    late = {**sealed, "attempt": UNKNOWN_RECIPIENT_RETRIES}
    result = await dispatcher.dispatch(open_delivery(late, keys_from_records({}.get)))
    assert result.outcome.status is OutcomeStatus.FAILED
    assert result.outcome.reason == "recipient erased"
    assert result.outcome.recipient_id == "ext-zq"
    assert result.dead_letter is None and result.retry is None and ledger == {}


def test_export_folds_outcomes_into_deliveries_and_opens_dead_letters() -> None:
    outcomes = [
        {"recipient_id": "ext-zq", "delivery_id": "d1", "event_id": "e", "channel": "email",
         "language": "en", "status": "planned", "at": "2026-11-29T09:00:00"},
        {"recipient_id": "someone-else", "delivery_id": "d2", "event_id": "e", "status": "sent",
         "at": "x"},
        {"recipient_id": "ext-zq", "delivery_id": "d1", "event_id": "e", "status": "failed",
         "at": "2026-11-29T09:00:02", "reason": "550"},
        {"recipient_id": "ext-zq", "delivery_id": "d1", "event_id": "e", "status": "failed",
         "at": "2026-11-29T09:00:02", "reason": "550"},
        {"recipient_id": "ext-zq", "delivery_id": "d1", "status": "unheard-of"},  # skipped
    ]  # fmt: skip
    (delivery,) = deliveries_of(outcomes, "ext-zq")
    assert delivery["status"] == "failed"
    assert [s["status"] for s in delivery["history"]] == ["planned", "failed"]
    keys = keys_from_records(records(**{"ext-zq": new_key()}).get)
    letter = seal_value({"reason": "550", "failed_at": "t", "delivery": message()}, keys)
    other = seal_value({"reason": "550", "failed_at": "t", "delivery": message("x")}, keys)
    (kept,) = dead_letters_of([letter, other, "junk"], "ext-zq", keys)
    assert kept["address"] == EMAIL and kept["channel"] == "email"


@pytest.mark.parametrize("value", [None, "text", 3, [1, 2]])
def test_values_that_are_not_messages_pass_through(value: Any) -> None:
    keys = keys_from_records({}.get)
    assert seal_value(value, keys) == value
    assert open_value(value, keys) == value
