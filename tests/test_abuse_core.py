"""The pure parts of abuse resistance: form guards, counters, the per-address mail limit, and
the indexes that spare a request a scan of every subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.subscribers import mail_limits
from hub.subscribers.directory import Directory
from hub.subscribers.tokens import Signer
from hub.web import forms
from hub.web.forms import FormRefused
from hub.web.ratelimit import SlidingWindow
from tests.helpers import subscriber

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SIGNER = Signer(b"f" * 32)
OWN = frozenset({"https://hub.example.org", "http://127.0.0.1:6066"})
LIMIT = mail_limits.AddressLimit(timedelta(minutes=10), 3)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://hub.example.org.evil.example"},
        {"origin": "https://hub.example.org", "sec-fetch-site": "cross-site"},
    ],
)
def test_posts_from_another_site_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(FormRefused) as refused:
        forms.check_same_origin(headers, OWN)
    assert refused.value.status == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "https://hub.example.org"},
        {"origin": "HTTPS://HUB.EXAMPLE.ORG"},
        {"origin": "null", "sec-fetch-site": "same-origin"},  # no-referrer pages send null
        {"sec-fetch-site": "none"},  # typed in the address bar
    ],
)
def test_posts_from_our_own_pages_pass(headers: dict[str, str]) -> None:
    forms.check_same_origin(headers, OWN)


def test_the_form_token_must_match_the_cookie_it_was_made_for() -> None:
    cookie = forms.new_cookie_value()
    token = forms.form_token(SIGNER, cookie, NOW)
    forms.check_form_token(SIGNER, token, cookie, NOW)
    for bad_token, bad_cookie, at in [
        (token, forms.new_cookie_value(), NOW),  # another browser's cookie
        (token, None, NOW),  # no cookie
        ("", cookie, NOW),  # no token
        (forms.form_token(Signer(b"g" * 32), cookie, NOW), cookie, NOW),  # not ours
        (token, cookie, NOW + timedelta(hours=13)),  # expired
    ]:
        with pytest.raises(FormRefused) as refused:
            forms.check_form_token(SIGNER, bad_token, bad_cookie, at)
        assert refused.value.status == 403 and "expired" in refused.value.heading


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_forms_are_measured_before_they_are_read() -> None:
    read = asyncio.run(forms.read_form({}, chunks(b"email=a%40b.org&", b"topics=x&topics=y"), 100))
    assert read["email"] == "a@b.org" and read["topics"] == ["x", "y"]
    for headers in ({"content-length": "101"}, {"content-length": "-1"}):
        with pytest.raises(FormRefused) as declared:
            asyncio.run(forms.read_form(headers, chunks(), 100))
        assert declared.value.status == 413

    consumed: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for i in range(10_000):
            consumed.append(i)
            yield b"x" * 50

    with pytest.raises(FormRefused):
        asyncio.run(forms.read_form({}, endless(), 100))
    assert len(consumed) == 3  # stopped as soon as the stream passed the limit


def test_a_sliding_window_counts_per_key_and_says_how_long_to_wait() -> None:
    window = SlidingWindow(limit=2, window=60)
    assert window.hit("a", 0) == 0 and window.hit("a", 1) == 0
    assert window.hit("a", 2) == 58  # the first hit leaves the window at 60
    assert window.hit("b", 2) == 0  # another client is not affected
    assert window.hit("a", 60) == 0  # the first hit has left the window
    small = SlidingWindow(limit=1, window=60, max_keys=2)
    for key in ("x", "y", "z"):
        small.hit(key, 0)
    assert small.hit("x", 1) == 0  # forgotten first: memory stays bounded


def test_one_email_per_address_per_interval_and_a_few_a_day() -> None:
    stamps: list[str] = []
    sent = []
    for minute in range(0, 24 * 60, 3):  # a request every 3 minutes for a day
        now = NOW + timedelta(minutes=minute)
        recent = mail_limits.recent({mail_limits.FIELD: stamps}, now)
        if mail_limits.may_send(recent, now, LIMIT):
            recent.append(now.isoformat())
            sent.append(minute)
        stamps = recent
    assert sent == [0, 12, 24]  # 10 minutes apart at least, and three in the day
    tomorrow = NOW + timedelta(days=1, minutes=1)
    assert mail_limits.may_send(
        mail_limits.recent({mail_limits.FIELD: stamps}, tomorrow), tomorrow, LIMIT
    )


def test_unreadable_stamps_are_dropped() -> None:
    record: dict[str, Any] = {mail_limits.FIELD: ["garbage", "2026-11-27T08:59:00", None]}
    assert mail_limits.recent(record, NOW) == []
    assert mail_limits.recent(None, NOW) == []


class CountingMapping(dict[str, Any]):
    """A subscriber table that counts full scans."""

    scans = 0

    def items(self) -> Any:
        type(self).scans += 1
        return super().items()

    def keys(self) -> Any:
        type(self).scans += 1
        return super().keys()


def test_lookups_by_email_and_chat_use_the_index_not_a_scan() -> None:
    people = [
        subscriber(f"p{i}", email=f"P{i}@Example.net", telegram_chat_id=i) for i in range(500)
    ]
    records = CountingMapping({p.id: p.to_dict() for p in people})
    directory = Directory(records)
    for i in range(0, 500, 7):
        found = directory.by_email(f" p{i}@example.NET ")
        assert found is not None and found.id == f"p{i}"
        chat = directory.by_telegram_chat(i)
        assert chat is not None and chat.id == f"p{i}"
    assert directory.by_email("nobody@example.net") is None
    assert CountingMapping.scans == 1  # built once, then only lookups


def test_the_index_follows_changes_from_the_agent_and_the_changelog() -> None:
    records: dict[str, Any] = {}
    directory = Directory(records)
    assert directory.by_email("ana@example.org") is None  # built on an empty table
    ana = subscriber("ext-ana", email="ana@example.org", telegram_chat_id=5)
    records[ana.id] = ana.to_dict()
    directory.note(ana.id, records[ana.id])  # the subscriber agent wrote it
    assert directory.by_email("ana@example.org") == ana
    moved = ana.with_changes(email="ana@new.example.org", updated_at="later")
    records[ana.id] = moved.to_dict()
    directory.note_changelog(ana.id.encode(), records[ana.id])  # another worker's change
    assert directory.by_email("ana@example.org") is None
    assert directory.by_email("ana@new.example.org") == moved
    del records[ana.id]
    directory.note_changelog(ana.id.encode(), None)  # erased
    assert directory.by_email("ana@new.example.org") is None
    assert directory.by_telegram_chat(5) is None


def test_a_stale_index_entry_is_checked_not_trusted() -> None:
    records: dict[str, Any] = {}
    directory = Directory(records)
    ana = subscriber("ext-ana", email="ana@example.org")
    records[ana.id] = ana.to_dict()
    directory.note(ana.id, records[ana.id])
    records[ana.id] = ana.with_changes(email="other@example.org", updated_at="x").to_dict()
    assert directory.by_email("ana@example.org") is None  # the record says otherwise now


def test_records_loaded_after_an_early_lookup_are_found_after_recovery() -> None:
    records: dict[str, Any] = {}
    directory = Directory(records)
    assert directory.by_email("ana@example.org") is None  # a request before the table loaded
    ana = subscriber("ext-ana", email="ana@example.org")
    records[ana.id] = ana.to_dict()  # from the local store: no changelog event names it
    directory.reindex()  # what the table's recovery callback does
    assert directory.by_email("ana@example.org") == ana
