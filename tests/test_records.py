"""Typed Kafka records: round trips, records written before versions, bad records named by path."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.access.credentials import Credential, CredentialIndex
from hub.delivery.dispatch import Dispatcher
from hub.delivery.retry import Scheduled, scheduled
from hub.delivery.status import stuck, summarise
from hub.errors import BadRecord
from hub.kafka.follower import apply_record
from hub.model.audit import AuditEntry, concerns, entry
from hub.model.credentials import CredentialRecord
from hub.model.deliveries import (
    ChannelKey,
    DeadLetter,
    Delivery,
    DeliveryRecord,
    EventDeadLetter,
    PersonalLinks,
    Recipient,
    RetryHeader,
    delivery_id,
)
from hub.model.newsletters import (
    ArchivedEdition,
    CompileRequest,
    Curation,
    EditionSent,
    NewsletterItem,
    parse_newsletter_record,
    read_or_skip,
)
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.model.partner_commands import DecisionCommand, OrganisationCommand
from hub.model.records import Record
from hub.model.status import DeliveryState, EventReasons
from hub.model.subscriber_commands import Cause, SubscriberCommand
from hub.model.subscribers import (
    SUBSCRIBER_VERSION,
    InvalidSubscriberError,
    subscriber_from_dict,
)
from hub.model.tables import Embargo
from hub.newsletters.archive import atom_feed, edition_page
from hub.newsletters.config import load_newsletters
from hub.newsletters.state import apply, empty_state
from hub.partners.changes import partner_change
from hub.planning.audience import ANYONE
from hub.planning.planner import due_embargoes
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, RetrySettings
from hub.subscribers.changes import subscriber_change
from tests.helpers import event, subscriber
from tests.record_samples import (
    OLD_AUDIT,
    OLD_CREDENTIAL,
    OLD_DELIVERY,
    OLD_EDITION,
    OLD_OUTCOME,
    OLD_STATE,
    OLD_SUBSCRIBER,
    OLD_TRANSACTIONAL,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
text = st.text(max_size=20)


def wire(record: Record) -> Any:
    """What another process reads back: the record through JSON, as on a topic."""
    return json.loads(json.dumps(record.dump()))


deliveries = st.builds(
    Delivery,
    id=text,
    event_id=text,
    channel=st.sampled_from(ChannelKey),
    language=st.sampled_from(["en", "fr", "es-MX"]),
    recipient=st.builds(Recipient, text, text, text),
    attempt=st.integers(0, 10),
    links=st.none() | st.builds(PersonalLinks, text, text, text),
)


@given(deliveries, st.booleans())
def test_a_delivery_reads_back_as_it_was_written(delivery: Delivery, transactional: bool) -> None:
    if transactional:
        record = delivery.record(None, {"subject": "s", "text": "t", "html": "<p>h</p>"})
    else:
        record = delivery.record({"id": delivery.event_id, "content": {"en": {"title": "é"}}})
    again = DeliveryRecord.parse(wire(record))
    assert again == record and again.delivery() == delivery


@given(st.sampled_from(OutcomeStatus), text, text, st.integers(0, 10), st.none() | st.just(NOW))
def test_an_outcome_reads_back_as_it_was_written(
    status: OutcomeStatus, reason: str, event_id: str, attempt: int, retry_at: datetime | None
) -> None:
    (delivery,) = [d for d in _planned() if d.channel is ChannelKey.EMAIL]
    outcome = Outcome.of(delivery, status, NOW, reason, retry_at)
    assert Outcome.parse(wire(outcome)) == outcome
    skipped = Outcome.skipped(event_id, NOW, reason)
    assert Outcome.parse(wire(skipped)) == skipped


EXAMPLES: list[Record] = [
    DeadLetter(reason="550", failed_at=NOW.isoformat(), delivery={"id": "d", "x": [1, None]}),
    EventDeadLetter(reason="unplannable", failed_at=NOW.isoformat(), event="not even a dict"),
    entry("ana", "event.published", "e1", NOW, via="cli", ids=["a", "b"]),
    NewsletterItem(event={"id": "e1", "content": {}}),
    Curation(by="ana", pinned=["e1"], intro={"fr": "Bonjour"}),
    CompileRequest(at=NOW.isoformat(), by="schedule"),
    EditionSent(edition="weekly-1", event_ids=["e1"]),
    Embargo(until=NOW.isoformat(), topic="hub.events.x.v1", document={"id": "e1"}),
    SubscriberCommand.of(subscriber("ana"), Cause.SUBSCRIBED, "web", "asked"),
    OrganisationCommand(cause="added", actor="o", organisation={"id": "unhcr"}),
    DecisionCommand(cause="access-approved", actor="o", decision={"subscriber_id": "ana"}),
    RetryHeader(recipient={"id": "ana"}, not_before=NOW.isoformat()),  # type: ignore[arg-type]
    CredentialRecord(name="ana", roles=["publisher"], sha256="ab", created_at="t", created_by="o"),
    DeliveryState(
        event_id="e1",
        delivery_id="d1",
        channel="email",
        language="fr",
        recipient_id="ana",
        status="retrying",
        attempt=1,
        retries=2,
        reason="421",
        at="t",
        retry_at="u",
    ),
    EventReasons(event_id="e1", skipped=["embargoed until T"]),
    ArchivedEdition(id="w-1", newsletter="w", period_start="p", sent_at="s", items=[{"id": "e"}]),
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_reads_back_as_it_was_written(record: Record) -> None:
    value = wire(record)
    assert value["v"] == 1
    assert type(record).parse(value) == record


def test_newsletter_records_are_told_apart_by_kind() -> None:
    for record in EXAMPLES[3:7]:
        assert parse_newsletter_record(wire(record)) == record


@pytest.mark.parametrize(
    ("model", "old"),
    [
        (DeliveryRecord, OLD_DELIVERY),
        (DeliveryRecord, OLD_TRANSACTIONAL),
        (Outcome, OLD_OUTCOME),
        (AuditEntry, OLD_AUDIT),
        (DeadLetter, {"reason": "550", "failed_at": "t", "delivery": OLD_DELIVERY}),
        (SubscriberCommand, {"cause": "confirmed", "actor": "web", "subscriber": {"id": "a"}}),
        (Embargo, {"until": "2026-11-29T10:00:00+00:00", "topic": "t", "document": {"id": "e"}}),
        (DeliveryState, OLD_STATE),
        (EventReasons, {"event_id": "e1", "skipped": ["no audience"]}),
        (CredentialRecord, OLD_CREDENTIAL),
        (ArchivedEdition, OLD_EDITION),
    ],
)
def test_records_written_before_versions_still_read_as_version_1(
    model: type[Record], old: dict[str, Any]
) -> None:
    record = model.parse(old)
    assert record.v == 1
    assert record.dump() == {**old, "v": 1}  # the same JSON, plus its version


def test_old_newsletter_records_still_read() -> None:
    assert parse_newsletter_record({"kind": "curate", "by": "ana", "excluded": ["e1"]}).v == 1
    request = parse_newsletter_record({"kind": "compile", "at": NOW.isoformat(), "by": "ana"})
    assert isinstance(request, CompileRequest) and request.time() == NOW


def test_a_subscriber_record_carries_its_version_and_keeps_its_shape() -> None:
    old = subscriber_from_dict(OLD_SUBSCRIBER)  # written before versions: read as version 1
    written = old.to_dict()
    assert written == {"v": 1, **OLD_SUBSCRIBER}  # the same JSON, plus its version
    assert list(written)[1:] == list(OLD_SUBSCRIBER)
    assert subscriber_from_dict(json.loads(json.dumps(written))) == old


@pytest.mark.parametrize("version", [2, 0, "1", 1.0, None, True])
def test_a_subscriber_of_a_version_this_hub_does_not_know_is_refused(version: object) -> None:
    with pytest.raises(InvalidSubscriberError) as refused:
        subscriber_from_dict({**OLD_SUBSCRIBER, "v": version})
    assert refused.value.problems == [
        ("v", f"version {version!r} is not one this hub reads (1 to {SUBSCRIBER_VERSION})")
    ]
    command = SubscriberCommand.parse({"subscriber": {**OLD_SUBSCRIBER, "v": version}})
    with pytest.raises(BadRecord) as error:
        command.read_subscriber()
    assert problems(error) == {"$.subscriber.v"}


def problems(error: pytest.ExceptionInfo[BadRecord]) -> set[str]:
    return {p.path for p in error.value.problems}


def test_a_bad_delivery_names_every_invalid_field() -> None:
    bad = {**OLD_DELIVERY, "channel": "pigeon", "recipient": {"id": "ana"}, "attempt": "many"}
    with pytest.raises(BadRecord) as error:
        DeliveryRecord.parse(bad)
    assert problems(error) == {
        "$.channel",
        "$.recipient.name",
        "$.recipient.address",
        "$.attempt",
    }
    assert str(error.value).startswith("bad delivery record: ")


@pytest.mark.parametrize(
    ("parse", "value", "paths"),
    [
        (Outcome.parse, {**OLD_OUTCOME, "status": "lost"}, {"$.status"}),
        (Outcome.parse, [OLD_OUTCOME], {"$"}),
        (AuditEntry.parse, {**OLD_AUDIT, "subject": None}, {"$.subject"}),
        (parse_newsletter_record, {"kind": "compile", "at": "yesterday"}, {"$.at"}),
        (parse_newsletter_record, {"kind": "compile", "at": "2026-11-29T09:00"}, {"$.at"}),
        (parse_newsletter_record, {"kind": "gossip"}, {"$.kind"}),
        (parse_newsletter_record, {"kind": "item", "event": {"title": "no id"}}, {"$.event"}),
        (parse_newsletter_record, {"kind": "curate", "pinned": "e1"}, {"$.pinned"}),
        (Embargo.parse, {"until": "soon", "document": {}}, {"$.until", "$.topic"}),
        (SubscriberCommand.parse, {"cause": "whim", "subscriber": {}}, {"$.cause"}),
        (DeliveryState.parse, {**OLD_STATE, "status": "lost", "retries": None},
         {"$.status", "$.retries"}),
        (Credential.from_record, {**OLD_CREDENTIAL, "roles": ["king"]}, {"$.roles"}),
        (Credential.from_record, {**OLD_CREDENTIAL, "sha256": None}, {"$.sha256"}),
        (ArchivedEdition.parse, {**OLD_EDITION, "items": {"e1": {}}}, {"$.items"}),
        (RetryHeader.parse, {"recipient": {}, "not_before": "later"},
         {"$.recipient.id", "$.not_before"}),
    ],
)  # fmt: skip
def test_a_bad_record_names_the_field(parse: Any, value: object, paths: set[str]) -> None:
    with pytest.raises(BadRecord) as error:
        parse(value)
    assert problems(error) == paths


def test_a_bad_subscriber_in_a_command_is_named_inside_it() -> None:
    value = {"cause": "subscribed", "subscriber": {**subscriber("ana").to_dict(), "email": "no"}}
    with pytest.raises(BadRecord) as error:
        SubscriberCommand.parse(value).read_subscriber()
    assert problems(error) == {"$.subscriber.email"}


# Where a bad record meets the plain Python an agent calls.


def _planned() -> list[Delivery]:
    from hub.planning.routing import plan

    return plan(event(), [subscriber("ana")])


async def test_a_malformed_delivery_is_a_dead_letter_naming_the_field() -> None:
    ledger: dict[str, Any] = {}
    hub = Dispatcher(
        Renderer(REPO_ROOT / "templates"),
        {},
        ledger,
        lambda: NOW,
        RetrySettings(),
        random.Random(0),
    )
    bad = {**OLD_DELIVERY, "recipient": {"id": "ana", "name": "Ana"}}
    result = await hub.dispatch(bad)
    assert result.outcome.status is OutcomeStatus.FAILED and result.outcome.event_id == "e1"
    assert result.dead_letter is not None
    letter = DeadLetter.parse(result.dead_letter)
    assert "$.recipient.address" in letter.reason and letter.delivery == bad
    assert ledger == {}  # nothing recorded against a delivery id it could not trust
    for junk in (None, "text", [1, 2], {"id": 3}):
        assert (await hub.dispatch(junk)).dead_letter is not None


def test_a_retry_that_does_not_read_is_due_at_once_for_the_dispatcher_to_keep() -> None:
    later = (NOW + timedelta(minutes=5)).isoformat()
    assert scheduled({**OLD_DELIVERY, "not_before": later}) == Scheduled(b"ana", later)
    assert scheduled({"recipient": {"id": "ana"}, "erased": True}) == Scheduled(b"ana", None)
    assert scheduled({"recipient": "ana", "not_before": "later"}) == Scheduled(b"", None)


def test_a_bad_newsletter_record_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    state = empty_state()
    for value in ({"kind": "item", "event": {"id": "e1"}}, {"kind": "item"}, "junk"):
        record = read_or_skip(value, "newsletter weekly")
        if record is not None:
            state = apply(state, record)
    assert list(state.pending) == ["e1"]
    assert [r.getMessage() for r in caplog.records] == [
        "newsletter weekly: record skipped: bad newsletter item record: $.event: Field required",
        "newsletter weekly: record skipped: bad newsletter record: "
        "$.kind: one of item, curate, compile, edition-sent, not None",
    ]


def test_a_bad_outcome_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    assert Outcome.read_or_skip({**OLD_OUTCOME, "attempt": "x"}, "status") is None
    assert "$.attempt" in caplog.text
    assert Outcome.read_or_skip(OLD_OUTCOME, "status") == Outcome.parse(OLD_OUTCOME)


def test_a_bad_embargo_entry_does_not_hold_up_the_others(caplog: pytest.LogCaptureFixture) -> None:
    due = Embargo(until=NOW.isoformat(), topic="t", document={"id": "e1"})
    held = [("e1", due.dump()), ("e2", {"until": "soon"}), ("e3", {**due.dump(), "until": "x"})]
    assert due_embargoes(held, {}, NOW) == [("e1", due)]
    assert "embargoed event e2 cannot be released" in caplog.text


def test_a_bad_subscriber_command_is_rejected_on_the_audit_trail() -> None:
    value = {"cause": "subscribed", "subscriber": {**subscriber("ana").to_dict(), "email": "no"}}
    change = subscriber_change("ana", value, None, NOW)  # type: ignore[arg-type]  # not read
    assert change.record is None and change.audit is not None
    assert change.audit["action"] == "subscriber.rejected"
    assert "$.subscriber.email" in change.audit["detail"]["reason"]


def test_a_bad_partner_record_is_rejected_on_the_audit_trail() -> None:
    value = {"actor": "o", "organisation": {"id": "Not An Id", "name": "X", "kind": "ngo"}}
    change = partner_change("org:x", value, NOW, None, None, None)  # type: ignore[arg-type]
    assert change is not None and change.record is None
    assert change.audit["action"] == "partner.rejected"
    assert "$.organisation.id" in change.audit["detail"]["reason"]
    junk = partner_change("access:ana", ["junk"], NOW, None, None, None)  # type: ignore[arg-type]
    assert junk is not None and junk.audit["action"] == "partner.rejected"


def test_a_bad_status_state_is_left_out_of_the_counts_and_of_the_stuck_list() -> None:
    planned = {**OLD_STATE, "delivery_id": "d2", "status": "planned"}
    bad = {**OLD_STATE, "delivery_id": "d3", "language": None}
    status = summarise("e1", {"event_id": "e1", "skipped": 3}, [OLD_STATE, planned, bad])
    assert status["totals"]["planned"] == 2 and status["not_delivered"] == []
    stale = {**planned, "delivery_id": "d4", "at": "long ago"}
    assert [s["delivery_id"] for s in stuck([planned, bad, stale], NOW, timedelta(0))] == ["d2"]


def test_a_bad_credential_record_is_logged_and_makes_no_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    index = CredentialIndex()
    apply_record(index, "credential", "ana", {**OLD_CREDENTIAL, "roles": []})
    apply_record(index, "credential", "bo", {**OLD_CREDENTIAL, "name": "bo"})
    assert [c.name for c in index.all()] == ["bo"]
    assert "credential record 'ana' skipped: bad credential record: $.roles" in caplog.text


def test_a_bad_archived_edition_is_not_shown(caplog: pytest.LogCaptureFixture) -> None:
    newsletter = load_newsletters(REPO_ROOT / "devstack" / "demo" / "newsletters.yaml")[
        "public-digest"
    ]
    bad = {**OLD_EDITION, "sent_at": None}
    renderer = Renderer(REPO_ROOT / "templates")
    assert edition_page(renderer, newsletter, bad, "en", ANYONE) is None
    assert edition_page(renderer, newsletter, OLD_EDITION, "en", ANYONE) == "<p>page</p>"
    feed = atom_feed(newsletter, [bad, OLD_EDITION], "https://hub", ANYONE)
    assert feed.count("<entry>") == 1 and "$.sent_at" in caplog.text


def test_audit_entries_that_do_not_read_concern_nobody() -> None:
    assert concerns(OLD_AUDIT, "ana") and concerns({**OLD_AUDIT, "subject": "ana"}, "ana")
    assert not concerns({"detail": {"recipient_id": "ana"}}, "ana")


def test_delivery_ids_are_stable() -> None:
    assert delivery_id("e", "email", "ana") == delivery_id("e", ChannelKey.EMAIL, "ana")
