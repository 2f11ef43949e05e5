"""The metrics (hub.metrics) and GET /metrics, without Kafka: what each outcome counts, that a
label is never an address, a name or free text, and the scrape endpoint with and without its
token."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import aiosmtplib
import httpx
import pytest
import telegram.error
from pydantic import SecretStr

from channels.base import Channel, Receipt
from channels.email.pool import SmtpPool, map_smtp_errors
from channels.telegram.channel import TelegramChannel, map_telegram_errors
from devstack.mailcatcher import MailCatcher
from hub import metrics
from hub.access.credentials import CredentialIndex, issue
from hub.access.roles import Role
from hub.delivery.dispatch import Dispatcher
from hub.model.deliveries import ChannelKey, Delivery, Recipient
from hub.planning.routing import plan
from hub.rendering.environment import Rendered, Renderer
from hub.settings import REPO_ROOT, MetricsSettings, RetrySettings, Settings, SmtpSettings
from hub.web.app import WebServices, create_api
from tests.helpers import event, load_example, subscriber
from tests.test_web_services import (
    FakePublisher,
    fake_services,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ADDRESS = "amina.okafor@partner.example.net"


def value(name: str, **labels: str) -> float:
    """A sample's current value (0 when it has not been recorded yet)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


class Counted:
    """The change of one sample across a block."""

    def __init__(self, name: str, **labels: str) -> None:
        self.name, self.labels = name, labels
        self.before = value(name, **labels)

    @property
    def delta(self) -> float:
        return value(self.name, **self.labels) - self.before


# --- reasons and outcomes, from real failures -------------------------------------------------


class Failing(Channel[str]):
    """A channel whose provider answers with `error` (raised through the channel's own map)."""

    key: ClassVar[ChannelKey] = ChannelKey.EMAIL

    def __init__(self, key: ChannelKey, error: Callable[[], BaseException]) -> None:
        self.channel_key, self.error = key, error

    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[str]:
        return [rendered.text]

    async def deliver(self, message: str, delivery: Delivery) -> Receipt:
        mapping = map_smtp_errors if self.channel_key is ChannelKey.EMAIL else map_telegram_errors
        with mapping():
            raise self.error()


def smtp_refused() -> BaseException:
    return aiosmtplib.SMTPRecipientRefused(550, f"5.1.1 <{ADDRESS}>: no such user", ADDRESS)


FAILURES: list[tuple[ChannelKey, Callable[[], BaseException], int, str, str]] = [
    # channel, what the provider does, attempts allowed, outcome, reason class
    (ChannelKey.EMAIL, smtp_refused, 5, "dead-lettered", "smtp_5xx"),
    (
        ChannelKey.EMAIL,
        lambda: aiosmtplib.SMTPResponseException(421, "try later"),
        5,
        "retrying",
        "smtp_4xx",
    ),
    (
        ChannelKey.EMAIL,
        lambda: aiosmtplib.SMTPResponseException(451, "busy"),
        1,
        "dead-lettered",
        "smtp_4xx",
    ),
    (ChannelKey.EMAIL, lambda: aiosmtplib.SMTPTimeoutError("Timed out"), 5, "retrying", "timeout"),
    (ChannelKey.EMAIL, lambda: aiosmtplib.SMTPConnectError("refused"), 5, "retrying", "connection"),
    (ChannelKey.TELEGRAM, lambda: telegram.error.RetryAfter(5), 5, "retrying", "rate_limited"),
    (
        ChannelKey.TELEGRAM,
        lambda: telegram.error.Forbidden("bot was blocked by the user"),
        5,
        "dead-lettered",
        "blocked",
    ),
    (
        ChannelKey.TELEGRAM,
        lambda: telegram.error.BadRequest("Chat not found"),
        5,
        "dead-lettered",
        "rejected",
    ),
    (ChannelKey.TELEGRAM, lambda: telegram.error.TimedOut(), 5, "retrying", "timeout"),
    (
        ChannelKey.TELEGRAM,
        lambda: telegram.error.NetworkError("reset"),
        5,
        "retrying",
        "connection",
    ),
]


@pytest.mark.parametrize(("key", "error", "attempts", "outcome", "reason"), FAILURES)
async def test_a_failure_counts_its_outcome_and_the_class_of_its_reason(
    key: ChannelKey,
    error: Callable[[], BaseException],
    attempts: int,
    outcome: str,
    reason: str,
) -> None:
    news = event()
    address = ADDRESS if key is ChannelKey.EMAIL else "424242"
    delivery = Delivery("d1", news.id, key, "en", Recipient("amina", "Amina Okafor", address))
    message = delivery.record(news.document).dump()
    dispatcher = Dispatcher(
        Renderer(REPO_ROOT / "templates"),
        {key: Failing(key, error)},
        {},
        lambda: NOW,
        RetrySettings(max_attempts=attempts, jitter=0),
        random.Random(0),
    )
    result = await dispatcher.dispatch(message)
    counted = Counted("hub_deliveries_total", channel=key.value, outcome=outcome, reason=reason)
    kept = Counted("hub_dead_letters_total", channel=key.value)
    metrics.dispatched(
        key,
        result.outcome.status,
        result.outcome.reason,
        dead_lettered=result.dead_letter is not None,
        message=message,
        published=None,
    )
    assert counted.delta == 1
    assert kept.delta == (1 if outcome == "dead-lettered" else 0)
    assert ADDRESS not in metrics.exposition().decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "none"),
        ("template: 'title' is undefined", "template"),
        (
            "TransientDeliveryError: configuration: the SMTP relay refused the credentials",
            "configuration",
        ),
        ("gave up after 5 attempts: TransientDeliveryError: 421 4.7.0 try again", "smtp_4xx"),
        ("permanent: RecipientRejectedError: someone@x.org: 550 5.1.1 unknown", "smtp_5xx"),
        (
            "TransientDeliveryError: event document of e1 not found at partition 0, offset 3",
            "document",
        ),
        ("bad delivery data: KeyError('x')", "bad_record"),
        ("unreadable delivery: bad delivery record: $.id: Field required", "bad_record"),
        ("recipient erased", "erased"),
        ("recipient not known on this worker (yet)", "erased"),
        ("no longer subscribed when it was to be sent", "withdrawn"),
        ("no email address any more", "withdrawn"),
        ("moved to another chat", "moved"),
        ("unexpected ZeroDivisionError: division by zero", "unknown"),
        ("PermanentDeliveryError: SMTP server cannot take this message: no SMTPUTF8", "rejected"),
        ("something nobody foresaw, with Amina Okafor's name in it", "unknown"),
    ],
)
def test_reason_texts_map_to_a_few_classes(text: str, expected: str) -> None:
    assert metrics.reason_class("email", text) == expected


def test_a_label_outside_its_set_is_never_written_as_given() -> None:
    weird = Counted("hub_deliveries_total", channel="other", outcome="unknown", reason="unknown")
    metrics.delivery_recorded(ADDRESS, "not an outcome", f"550 for {ADDRESS}")
    assert weird.delta == 1
    assert ADDRESS not in metrics.exposition().decode()


def test_outcome_labels() -> None:
    assert metrics.outcome_label("sent", dead_lettered=False, reason="none") == "sent"
    assert metrics.outcome_label("duplicate", dead_lettered=False, reason="none") == "duplicate"
    assert metrics.outcome_label("failed", dead_lettered=True, reason="smtp_5xx") == "dead-lettered"
    assert metrics.outcome_label("failed", dead_lettered=False, reason="withdrawn") == "skipped"
    assert metrics.outcome_label("failed", dead_lettered=False, reason="erased") == "skipped"
    assert metrics.outcome_label("failed", dead_lettered=False, reason="unknown") == "failed"
    assert metrics.outcome_label("retrying", dead_lettered=False, reason="timeout") == "retrying"


# --- latency: publication to delivery, bulk or transactional ----------------------------------


def test_fan_out_newsletter_and_transactional_messages_are_told_apart() -> None:
    news = event()
    (fanned,) = plan(news, [subscriber("amina")])
    rendered = {"subject": "s", "text": "t", "html": "<p>t</p>"}
    confirmation = Delivery("c1", "confirm:amina", ChannelKey.EMAIL, "en", fanned.recipient)
    assert metrics.delivery_kind(fanned.record(news.document).dump()) == "bulk"
    assert metrics.delivery_kind(confirmation.record(None, rendered).dump()) == "transactional"
    edition = Delivery("n1", "newsletter:weekly-2026-48", ChannelKey.EMAIL, "en", fanned.recipient)
    assert metrics.delivery_kind(edition.record(None, rendered).dump()) == "bulk"
    assert metrics.delivery_kind(b"garbage") == "bulk"


def test_published_time_comes_from_the_header_then_the_record_timestamp() -> None:
    header = metrics.published_header(1_764_493_200.25)
    assert metrics.published_at(header, 1_764_493_999.0) == 1_764_493_200.25
    assert metrics.published_at({}, 1_764_493_999.0) == 1_764_493_999.0
    assert metrics.published_at({metrics.PUBLISHED_HEADER: b"not a time"}, None) is None
    assert metrics.published_header(None) == {}


def test_a_sent_message_observes_its_latency_by_kind() -> None:
    bulk = Counted("hub_delivery_latency_seconds_count", channel="email", kind="bulk")
    slow = Counted("hub_delivery_latency_seconds_bucket", channel="email", kind="bulk", le="2.5")
    fast = Counted("hub_delivery_latency_seconds_bucket", channel="email", kind="bulk", le="1.0")
    transactional = Counted(
        "hub_delivery_latency_seconds_count", channel="email", kind="transactional"
    )
    message = {"id": "d1", "event_id": "e1", "channel": "email"}
    metrics.dispatched(
        "email", "sent", "", dead_lettered=False, message=message, published=100.0, now=102.0
    )
    # a retry, or a duplicate, observes nothing
    metrics.dispatched(
        "email", "duplicate", "", dead_lettered=False, message=message, published=1.0, now=2.0
    )
    assert (bulk.delta, slow.delta, fast.delta, transactional.delta) == (1, 1, 0, 0)


# --- the consumer's figures -------------------------------------------------------------------


def test_lag_is_summed_per_topic_over_the_assigned_partitions() -> None:
    assigned = [("d", 0), ("d", 1), ("r", 0), ("new", 0)]
    highwaters = {("d", 0): 10, ("d", 1): 7, ("r", 0): 4, ("new", 0): None}
    committed = {("d", 0): 4, ("d", 1): 7, ("r", 0): 1, ("new", 0): None}
    assert metrics.lag_by_topic(assigned, highwaters, committed) == {"d": 6, "r": 3, "new": 0}


def test_observing_the_assignment_replaces_what_was_there() -> None:
    metrics.assignment_observed({"gone": 2}, {"gone": 5}, {"email": ["gone"]})
    metrics.assignment_observed(
        {"hub.deliveries.email.v1": 3, "hub.retries.email.v1": 3, "hub.retries.email.1m.v1": 3},
        {"hub.deliveries.email.v1": 12, "hub.retries.email.v1": 2, "hub.retries.email.1m.v1": 5},
        {"email": ["hub.retries.email.v1", "hub.retries.email.1m.v1"]},
    )
    assert value("hub_partitions_owned", topic="gone") == 0
    assert metrics.REGISTRY.get_sample_value("hub_consumer_lag", {"topic": "gone"}) is None
    assert value("hub_consumer_lag", topic="hub.deliveries.email.v1") == 12
    assert value("hub_partitions_owned", topic="hub.retries.email.v1") == 3
    assert value("hub_retries_pending", channel="email") == 7


def test_the_worker_says_its_version_and_name_once() -> None:
    metrics.worker_started("0.1.0", "worker-1")
    metrics.worker_started("0.1.0", "worker-2")
    assert value("hub_worker_info", version="0.1.0", worker="worker-2") == 1
    assert (
        metrics.REGISTRY.get_sample_value(
            "hub_worker_info", {"version": "0.1.0", "worker": "worker-1"}
        )
        is None
    )


def test_fan_out_duration_and_size() -> None:
    count = Counted("hub_fanout_duration_seconds_count")
    recipients = Counted("hub_fanout_recipients_sum")
    metrics.fan_out_planned(0.3, 1200)
    assert (count.delta, recipients.delta) == (1, 1200)


# --- the channels' own figures ----------------------------------------------------------------


async def test_the_smtp_pool_times_the_wait_for_a_connection(
    mail_catcher: MailCatcher,
) -> None:
    pool = SmtpPool(SmtpSettings(port=mail_catcher.controller.port, pool_size=1, timeout=5))
    waits = Counted("hub_smtp_pool_wait_seconds_count")
    over_a_tenth = Counted("hub_smtp_pool_wait_seconds_bucket", le="0.05")
    try:
        async with pool.connection():
            pass
        async with pool.connection():
            pass
    finally:
        await pool.close()
    assert waits.delta == 2 and over_a_tenth.delta == 2  # nobody else wanted the connection


async def test_telegram_pacing_and_429s_are_counted() -> None:
    channel = TelegramChannel("123:token", "http://127.0.0.1:9/bot")
    paced = Counted("hub_telegram_pacing_wait_seconds_count")
    limited = Counted("hub_telegram_rate_limited_total")
    try:
        async with channel.paced(-100123):
            pass
        with pytest.raises(Exception, match="Flood"), map_telegram_errors():
            raise telegram.error.RetryAfter(3)
    finally:
        await channel.close()
    assert (paced.delta, limited.delta) == (1, 1)


# --- events published, and GET /metrics ---------------------------------------------------


def services(tmp_path: Path, token: str | None = None) -> tuple[WebServices, dict[Role, str]]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("a-stable-secret-of-enough-length"),
        metrics=MetricsSettings(token=SecretStr(token) if token else None),
    )
    index = CredentialIndex()
    tokens: dict[Role, str] = {}
    for role in Role:
        credential, tokens[role] = issue(f"the-{role}", [role], "test", NOW, None)
        index.apply(credential.name, credential.as_record())
    index.ready = True
    built = fake_services(settings, index)
    return built, tokens


@asynccontextmanager
async def client(built: WebServices) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(built))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


async def test_metrics_are_served_in_the_prometheus_format_without_personal_data(
    tmp_path: Path,
) -> None:
    built, tokens = services(tmp_path)
    document = load_example()
    published = Counted("hub_events_published_total", type=document["type"], publisher="api")
    async with client(built) as http:
        answer = await http.post(
            "/api/v1/events",
            json=document,
            headers={"Authorization": f"Bearer {tokens[Role.PUBLISHER]}"},
        )
        assert answer.status_code == 202
        scraped = await http.get("/metrics")
        spec = (await http.get("/openapi.json")).json()
    assert published.delta == 1
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scraped.text
    for name in (
        "hub_deliveries_total",
        "hub_delivery_latency_seconds",
        "hub_consumer_lag",
        "hub_retries_pending",
        "hub_dead_letters_total",
        "hub_fanout_duration_seconds",
        "hub_fanout_recipients",
        "hub_smtp_pool_wait_seconds",
        "hub_telegram_rate_limited_total",
        "hub_telegram_pacing_wait_seconds",
        "hub_events_published_total",
        "hub_worker_info",
        "hub_partitions_owned",
        "process_resident_memory_bytes",
    ):
        assert f"# TYPE {name} " in text, name
    assert f'hub_events_published_total{{publisher="api",type="{document["type"]}"}}' in text
    # neither who published (the credential, the officer in the document) nor any address
    publisher = document["publisher"]
    for personal in ("the-publisher", publisher["name"], publisher["id"], "@"):
        assert personal not in text, personal
    assert "/metrics" not in spec["paths"]


async def test_with_a_token_a_scrape_must_bring_it(tmp_path: Path) -> None:
    built, _ = services(tmp_path, token="a-scrape-token-of-some-length")
    async with client(built) as http:
        bare = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        basic = await http.get(
            "/metrics", headers={"Authorization": "Basic a-scrape-token-of-some-length"}
        )
        right = await http.get(
            "/metrics", headers={"Authorization": "Bearer a-scrape-token-of-some-length"}
        )
    assert [bare.status_code, wrong.status_code, basic.status_code] == [401, 401, 401]
    assert bare.headers["www-authenticate"].startswith("Bearer")
    assert "hub_" not in bare.text
    assert right.status_code == 200 and "hub_deliveries_total" in right.text


async def test_a_counted_publisher_counts_where_not_who() -> None:
    inner = FakePublisher()
    console = metrics.CountedPublisher(inner, "console")
    document = load_example()
    counted = Counted("hub_events_published_total", type=document["type"], publisher="console")
    from hub.intake.publishing import Accepted

    placed = await console.publish(Accepted(document, "t"), "Amina Diallo")
    assert placed.offset == 41 and counted.delta == 1
    assert "Amina Diallo" not in metrics.exposition().decode()
    metrics.event_published("Not A Type!", "Amina Diallo")
    assert value("hub_events_published_total", type="other", publisher="other") >= 1
