"""Newsletters without Kafka: schedules and periods, items, curation, who gets what, rendering."""

from __future__ import annotations

import html.parser
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.errors import BadRecord, ConfigurationError
from hub.model.deliveries import PersonalLinks
from hub.model.newsletter_state import CurrentCuration, NewsletterState
from hub.model.newsletters import parse_newsletter_record
from hub.model.subscribers import Mode, SubscriberKind, Subscription
from hub.newsletters import state as state_module
from hub.newsletters.archive import archive_record, atom_feed, edition_page
from hub.newsletters.config import Audience, Newsletter, load_newsletters
from hub.newsletters.editions import accepts, items_for, plan_edition
from hub.newsletters.state import apply, empty_state, fold_into, load, next_items
from hub.planning.audience import ANYONE, OFFICER
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from tests.helpers import EXAMPLES, PARTNERS, event, subscriber

RENDERER = Renderer(REPO_ROOT / "templates")
NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
DEMO = load_newsletters(REPO_ROOT / "devstack" / "demo" / "newsletters.yaml")
STAFF_UPDATE = EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json"


def links(subscriber_id: str) -> PersonalLinks:
    return PersonalLinks(
        f"https://hub/p?{subscriber_id}", f"https://hub/u?{subscriber_id}", "mailto:u"
    )


def weekly(**changes: object) -> Newsletter:
    return DEMO["staff-weekly"].model_copy(update=changes)


def test_bad_newsletter_files_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "n.yaml"
    bad.write_text(
        "newsletters:\n  - {name: x, title: {en: X}, audience: staff,"
        " schedule: 'every monday', timezone: Europe/Geneva}\n"
    )
    with pytest.raises(ConfigurationError) as refused:
        load_newsletters(bad)
    assert "schedule" in str(refused.value) and "timezone" in str(refused.value)


def test_one_edition_id_per_period_in_the_newsletters_time_zone() -> None:
    newsletter = weekly()
    monday_9 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Zurich
    assert newsletter.edition_id(monday_9) == "staff-weekly-20261130T0900"
    assert (
        newsletter.edition_id(datetime(2026, 12, 4, 17, tzinfo=UTC)) == "staff-weekly-20261130T0900"
    )
    assert (
        newsletter.edition_id(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
        == "staff-weekly-20261123T0900"
    )
    summer = datetime(2026, 7, 6, 7, 0, tzinfo=UTC)  # 09:00 in Zurich in summer time
    assert newsletter.edition_id(summer) == "staff-weekly-20260706T0900"


def test_state_folds_items_curation_and_sent_editions_idempotently() -> None:
    a, b = event(), event()
    state = empty_state()
    for record in (
        {"kind": "item", "event": a.document},
        {"kind": "item", "event": b.document},
        {"kind": "item", "event": a.document},
        {"kind": "curate", "pinned": [b.id], "intro": {"fr": "Bonjour"}},
    ):
        state = apply(state, record)
    assert [e.id for e in next_items(state, weekly())] == [b.id, a.id]
    sent = {"kind": "edition-sent", "edition": "e1", "event_ids": [a.id, b.id]}
    state = apply(apply(state, sent), sent)
    assert state.pending == {} and state.editions == ("e1",)
    assert state.curation == CurrentCuration()


def test_curation_changes_only_the_lists_it_names_and_adds_introductions() -> None:
    state = apply(None, {"kind": "curate", "pinned": ["a"], "order": ["b"], "intro": {"en": "Hi"}})
    before = state
    state = apply(state, {"kind": "curate", "order": ["c"], "intro": {"fr": "Salut"}})
    assert state.curation == CurrentCuration(
        pinned=("a",), order=("c",), intro={"en": "Hi", "fr": "Salut"}
    )
    assert before.curation.order == ("b",) and before.curation.intro == {"en": "Hi"}


def test_the_stored_state_is_the_json_it_always_was_plus_its_version() -> None:
    a = event()
    state = apply(apply(None, {"kind": "item", "event": a.document}), {"kind": "curate"})
    state = apply(state, {"kind": "edition-sent", "edition": "e0", "event_ids": []})
    stored = json.loads(json.dumps(state.dump()))
    assert stored == {
        "v": 1,
        "pending": {a.id: json.loads(json.dumps(a.document))},
        "curation": {"pinned": [], "excluded": [], "order": [], "intro": {}},
        "editions": ["e0"],
    }
    del stored["v"]  # as written before states had a version
    assert NewsletterState.parse(stored) == state
    assert NewsletterState.stored(None) == empty_state()


def test_a_bad_stored_state_names_its_fields() -> None:
    bad = {"pending": {"e1": "not a document"}, "curation": {"pinned": "a"}, "editions": [1]}
    with pytest.raises(BadRecord) as refused:
        NewsletterState.parse(bad)
    assert str(refused.value).startswith("bad newsletter state record: ")
    for path in ("$.pending.e1", "$.curation.pinned", "$.editions[0]"):
        assert path in str(refused.value)


def test_a_record_for_an_unreadable_stored_state_leaves_it_as_it_was(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = event(), event()
    item = parse_newsletter_record({"kind": "item", "event": b.document})
    unreadable = {"pending": {a.id: a.document}, "curation": {"pinned": 3}, "editions": []}
    states: dict[str, Any] = {"weekly": unreadable, "monthly": None}
    items: dict[str, Any] = {}
    assert fold_into(states, items, "weekly", item) is None
    assert states["weekly"] is unreadable  # neither emptied nor rewritten: its items are there
    assert "newsletter weekly: stored state unreadable, record skipped" in caplog.text
    assert "$.curation.pinned" in caplog.text
    assert items == {}
    folded = fold_into(states, items, "monthly", item)  # the other newsletters go on
    assert folded is not None and folded.waiting == (b.id,)
    assert load(states, items, "monthly").pending == {b.id: b.document}


def test_waiting_items_are_kept_apart_from_the_state_and_go_with_their_edition() -> None:
    a, b = event(), event()
    states: dict[str, Any] = {}
    items: dict[str, Any] = {}
    for e in (a, b, a):  # the second copy of an item changes nothing
        fold_into(
            states, items, "weekly", parse_newsletter_record({"kind": "item", "event": e.document})
        )
    # The state names the items; one more item writes its own document and a list of ids.
    assert states["weekly"]["waiting"] == [a.id, b.id]
    assert states["weekly"]["pending"] == {}
    assert items == {f"weekly/{a.id}": a.document, f"weekly/{b.id}": b.document}
    assert list(load(states, items, "weekly").pending) == [a.id, b.id]
    sent = {"kind": "edition-sent", "edition": "weekly-1", "event_ids": [a.id]}
    folded = fold_into(states, items, "weekly", parse_newsletter_record(sent))
    assert folded is not None and folded.waiting == (b.id,) and folded.editions == ("weekly-1",)
    assert states["weekly"]["waiting"] == [b.id] and list(items) == [f"weekly/{b.id}"]


class CountingReads(dict[str, Any]):
    """A table whose documents must not be read back while folding (each read decodes one)."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return super().__getitem__(key)


def test_folding_an_item_reads_no_waiting_document_back() -> None:
    states: dict[str, Any] = {}
    items = CountingReads()
    waiting = [event() for _ in range(30)]
    for e in waiting:
        fold_into(
            states, items, "weekly", parse_newsletter_record({"kind": "item", "event": e.document})
        )
    curate = parse_newsletter_record({"kind": "curate", "pinned": [waiting[3].id]})
    fold_into(states, items, "weekly", curate)
    assert items.reads == 0 and len(items) == 30
    # An edition or a preview reads them, once each.
    assert list(load(states, items, "weekly").pending) == [e.id for e in waiting]
    assert items.reads == 30


def test_an_edition_folded_again_after_a_crash_deletes_what_it_had_not_yet() -> None:
    a, b = event(), event()
    states: dict[str, Any] = {}
    items: dict[str, Any] = {}
    for e in (a, b):
        fold_into(
            states, items, "weekly", parse_newsletter_record({"kind": "item", "event": e.document})
        )
    sent = parse_newsletter_record({"kind": "edition-sent", "edition": "w-1", "event_ids": [a.id]})
    # The worker stopped after storing the state, before deleting the sent item's document.
    before_crash = dict(items)
    fold_into(states, items, "weekly", sent)
    items.update(before_crash)
    assert fold_into(states, items, "weekly", sent) is not None  # the record comes again
    assert list(items) == [f"weekly/{b.id}"]


def test_a_state_stored_with_whole_documents_is_read_and_moves_them_apart() -> None:
    a, b = event(), event()
    old = apply(None, {"kind": "item", "event": a.document}).dump()  # as stored before
    states: dict[str, Any] = {"weekly": old}
    items: dict[str, Any] = {}
    assert list(load(states, items, "weekly").pending) == [a.id]
    item = parse_newsletter_record({"kind": "item", "event": b.document})
    folded = fold_into(states, items, "weekly", item)
    assert folded is not None and folded.waiting == (a.id, b.id) and folded.pending == {}
    assert states["weekly"]["waiting"] == [a.id, b.id] and states["weekly"]["pending"] == {}
    assert items == {f"weekly/{a.id}": a.document, f"weekly/{b.id}": b.document}


def test_a_waiting_item_without_its_document_is_named() -> None:
    states: dict[str, Any] = {"weekly": {"waiting": ["e-1", "e-2"]}}
    items: dict[str, Any] = {"weekly/e-1": event().document}
    with pytest.raises(BadRecord) as refused:
        load(states, items, "weekly")
    assert "$.waiting[1]: item e-2: no document" in str(refused.value)


def test_items_that_would_make_the_state_too_big_for_kafka_are_left_out_with_an_error(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some 20,000 ids fit in 900 KB; a smaller limit shows the same at a test's size.
    monkeypatch.setattr(state_module, "MAX_STATE_BYTES", 4_000)
    states: dict[str, Any] = {}
    items: dict[str, Any] = {}
    base = event().document
    kept = 0
    for number in range(400):
        document = {**base, "id": f"{base['id'][:-3]}{number:03d}"}
        item = parse_newsletter_record({"kind": "item", "event": document})
        folded = fold_into(states, items, "weekly", item)
        assert folded is not None
        kept = len(folded.waiting)
    stored = states["weekly"]
    assert 50 < kept < 400 and len(stored["waiting"]) == kept == len(items)
    assert len(json.dumps(stored, ensure_ascii=False).encode()) <= 4_000
    assert f"newsletter weekly: item {base['id'][:-3]}399 left out" in caplog.text
    # Once an edition has gone out, items are taken again.
    sent = parse_newsletter_record(
        {"kind": "edition-sent", "edition": "weekly-2026-W48", "event_ids": stored["waiting"]}
    )
    assert fold_into(states, items, "weekly", sent) is not None
    assert items == {}
    late = {**base, "id": f"{base['id'][:-3]}999"}
    item = parse_newsletter_record({"kind": "item", "event": late})
    folded = fold_into(states, items, "weekly", item)
    assert folded is not None and folded.waiting == (late["id"],)


def test_excluded_items_are_left_out_and_sections_follow_the_configuration() -> None:
    announcement, research, update = (
        event(),
        event(EXAMPLES / "research.released.v1" / "valid" / "digital-remittances-west-africa.json"),
        event(STAFF_UPDATE),
    )
    state = empty_state()
    for e in (announcement, research, update):
        state = apply(state, {"kind": "item", "event": e.document})
    ordered = [e.type for e in next_items(state, weekly())]
    assert ordered == ["strategy.updated", "announcement.published", "research.released"]
    state = apply(state, {"kind": "curate", "excluded": [research.id]})
    assert research.id not in [e.id for e in next_items(state, weekly())]


def test_staff_items_never_go_in_a_partner_or_public_newsletter() -> None:
    update = event(STAFF_UPDATE, audience={})
    restricted = event(STAFF_UPDATE, classification="restricted", audience={"groups": ["g"]})
    assert accepts(weekly(), update)
    assert not accepts(DEMO["partners-monthly"], update)
    assert not accepts(DEMO["public-digest"], update)
    assert not any(accepts(n, restricted) for n in DEMO.values())


def test_who_gets_which_items() -> None:
    public = event()
    partners = event(classification="partners")
    update = event(STAFF_UPDATE, audience={})
    items = [public, partners, update]
    staff = subscriber("s", SubscriberKind.STAFF)
    partner = subscriber("p", SubscriberKind.PARTNER)
    digest = subscriber("d", SubscriberKind.PUBLIC, subscriptions=(Subscription(mode=Mode.DIGEST),))
    instant = subscriber("i", SubscriberKind.PUBLIC)
    assert items_for(weekly(), staff, items) == items
    assert items_for(weekly(), partner, items) == []  # not the staff newsletter's audience
    assert items_for(DEMO["partners-monthly"], partner, items, PARTNERS) == [public, partners]
    # Without the registry's grant, a `partner` record is a public reader: no partners edition.
    assert items_for(DEMO["partners-monthly"], partner, items) == []
    assert items_for(DEMO["public-digest"], digest, items) == [public]
    assert items_for(DEMO["public-digest"], instant, items) == []  # already had it instantly


def test_plan_sends_one_email_per_subscriber_in_their_language_with_item_fallback() -> None:
    english_only = event(content={"en": {"title": "Only in English", "summary": "S", "body": "B"}})
    bilingual = event()
    people = [
        subscriber("s-fr", SubscriberKind.STAFF, "fr"),
        subscriber("s-es", SubscriberKind.STAFF, "es-EC"),
        subscriber("s-fr-2", SubscriberKind.STAFF, "fr-TN"),
        subscriber("p", SubscriberKind.PARTNER),
    ]
    plan = plan_edition(
        weekly(),
        "staff-weekly-x",
        datetime(2026, 11, 30, tzinfo=UTC),
        [bilingual, english_only],
        {"fr": "Bonne lecture"},
        people,
        RENDERER,
        links,
    )
    by_recipient = {d["recipient"]["id"]: d for d in plan.deliveries}
    assert set(by_recipient) == {"s-fr", "s-es", "s-fr-2"}
    french = by_recipient["s-fr"]["rendered"]
    assert bilingual.content["fr"].title in french["text"] and "Only in English" in french["text"]
    assert "Bonne lecture" in french["text"]
    assert by_recipient["s-es"]["language"] == "es"
    assert by_recipient["s-fr"]["links"]["unsubscribe"] == "https://hub/u?s-fr"
    assert len({d["id"] for d in plan.deliveries}) == 3


VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})


class _Balance(html.parser.HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def test_edition_html_is_well_formed_without_scripts() -> None:
    plan = plan_edition(
        weekly(),
        "w",
        datetime(2026, 11, 30, tzinfo=UTC),
        [event(content={"en": {"title": "<script>x</script>", "summary": "&", "body": "b"}})],
        {},
        [subscriber("s", SubscriberKind.STAFF)],
        RENDERER,
        links,
    )
    record = archive_record(weekly(), "w", datetime(2026, 11, 30, tzinfo=UTC), plan, NOW)
    archived = edition_page(RENDERER, weekly(), record, "en", OFFICER)
    assert archived is not None
    for page in [archived, plan.deliveries[0]["rendered"]["html"]]:
        checker = _Balance()
        checker.feed(page)
        checker.close()
        assert checker.stack == []
        assert "<script" not in page


def test_atom_feed_is_valid_xml() -> None:
    public = DEMO["public-digest"]
    plan = plan_edition(
        public, "public-digest-1", datetime(2026, 11, 30, tzinfo=UTC), [], {}, [], RENDERER, links
    )
    record = archive_record(
        public,
        "public-digest-1",
        datetime(2026, 11, 30, tzinfo=UTC),
        plan,
        datetime(2026, 11, 30, 9, tzinfo=UTC),
    )
    feed = ET.fromstring(  # noqa: S314 (ours)
        atom_feed(public, [record], "https://hub.example.org", ANYONE)
    )
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.find("a:entry/a:link", ns) is not None
    assert Audience.PUBLIC is public.audience
