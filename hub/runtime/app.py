"""The Faust app, its topics and tables, and the services the agents call. Imports faust."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TopicT
from faust.types.tables import GlobalTableT, TableT
from faust.types.transports import TransportT

from channels.base import Channel
from channels.email.channel import EmailChannel
from channels.telegram.channel import TelegramChannel
from hub.access.accounts import AccountIndex
from hub.access.credential_store import environment_credentials
from hub.access.credentials import CredentialIndex
from hub.console.submissions import SubmissionIndex
from hub.delivery.dispatch import Dispatcher
from hub.delivery.faults import SentLedger
from hub.delivery.recipients import Recipients
from hub.delivery.retry import tier_label
from hub.delivery.status_store import status_table_name
from hub.errors import ConfigurationError
from hub.intake.publishing import all_event_topics
from hub.intake.schemas import SchemaCatalog
from hub.kafka.documents import EventDocuments
from hub.kafka.follower import Index
from hub.kafka.security import topic_configs
from hub.kafka.topics import TopicNames
from hub.model.deliveries import ChannelKey
from hub.newsletters.config import Newsletter, load_newsletters
from hub.partners.registry import PartnerBook
from hub.privacy.erasure import compaction_config
from hub.privacy.sealing import Keys, keys_from_records
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.runtime.broker_credentials import broker_credentials
from hub.runtime.heap import HeapKeeper
from hub.runtime.ledger import ConfirmedTable, confirmed_table
from hub.runtime.rewind import RewindingTransport
from hub.runtime.sealed_codec import SealingCodec
from hub.settings import Settings
from hub.subscribers.directory import Directory
from hub.subscribers.tokens import MIN_KEY_BYTES, Signer

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ChannelRuntime:
    """One delivery medium: its topics, its ledger of what was done, its sender."""

    key: ChannelKey
    deliveries: TopicT  # key: recipient id
    retries: TopicT
    dead_letters: TopicT
    ledger: ConfirmedTable  # delivery id -> last status, on the deliveries' partitions
    channel: Channel[Any]
    dispatcher: Dispatcher
    # The delay tiers retries wait in, shortest first (settings.retry.tiers); `retries` is
    # where they arrive, and where records written before the tiers existed are read.
    retry_tiers: list[TopicT] = field(default_factory=list)


@dataclass
class Runtime:
    """Everything one worker process holds: settings, the Faust app, topics, tables, services."""

    settings: Settings
    app: faust.App
    catalog: SchemaCatalog
    names: TopicNames
    event_topics: TopicT  # every hub.events.<type>.v<N> topic
    channels: dict[ChannelKey, ChannelRuntime]
    event_dead_letters: TopicT
    outcomes: TopicT
    audit: TopicT
    subscriber_commands: TopicT  # compacted, by subscriber id: each one's latest record
    newsletter_records: TopicT  # by newsletter name: items, curation, compile requests
    newsletters: dict[str, Newsletter]
    newsletter_state: TableT[str, Any]  # newsletter name -> waiting item ids, curation, editions
    newsletter_items: TableT[str, Any]  # "<newsletter>/<event id>" -> a waiting item's document
    editions: TableT[str, Any]  # edition id -> the archived edition
    planned: TableT[str, Any]  # event id -> fingerprint of the event that was fanned out
    embargoed: TableT[str, Any]  # event id -> {until, topic, document}: held until its time
    # "<event id>/@<offset>" -> the delivery outcomes of one outcomes record (earlier versions:
    # "<event id>/<delivery id>" -> that delivery's state); "<event id>" -> why nothing went out
    status: TableT[str, Any]
    # "<agent>:<topic>#<partition>" -> start of a gap being read again. faust keeps a table's
    # partition n beside partition n of topics with as many partitions: one table per count.
    progress: TableT[str, Any]  # for topics of `kafka.partitions` partitions
    progress_single: TableT[str, Any]  # for one-partition topics (subscribers, partners)
    subscriber_records: GlobalTableT  # subscriber id -> record, on every worker
    keys: Keys  # each subscriber's data key, from their record (hub.privacy.sealing)
    directory: Directory
    partner_commands: TopicT  # compacted: org:<id> and access:<subscriber id> records
    partner_records: GlobalTableT  # the same keys -> organisation or decision, on every worker
    partners: PartnerBook
    signer: Signer
    links: LinkMaker
    renderer: Renderer
    # API credentials, kept current from the credentials topic by a task on every worker.
    credentials: CredentialIndex = field(default_factory=CredentialIndex)
    # The console's accounts and submissions, followed the same way (hub.kafka.follower).
    accounts: AccountIndex = field(default_factory=AccountIndex)
    console: SubmissionIndex = field(default_factory=SubmissionIndex)
    # event id -> who published it, on the event's partition (beside its status).
    publishers: TableT[str, Any] | None = None
    # Planned events' documents, which deliveries point to (hub.kafka.documents).
    event_documents: EventDocuments | None = None
    # Freezes the heap as the subscriber index grows (hub.runtime.heap).
    heap: HeapKeeper = field(default_factory=HeapKeeper)

    @property
    def followed(self) -> list[tuple[str, Index, str]]:
        """The compacted topics every worker reads whole into memory, as (topic, index, what)."""
        return [
            (self.names.credentials, self.credentials, "credentials"),
            (self.names.accounts, self.accounts, "console accounts"),
            (self.names.console, self.console, "console submissions"),
        ]

    def records_topic_names(self) -> list[str]:
        """Topics that are a record (kept for ever): events, dead letters, the audit trail."""
        kept = [c.dead_letters for c in self.channels.values()]
        kept += [self.event_dead_letters, self.audit, self.newsletter_records]
        return [*self.event_topics.topics, *(t.get_topic_name() for t in kept)]

    def expiring_changelog_names(self) -> list[str]:
        """Changelogs of the tables that grow with every delivery (see `expiring`)."""
        tables = [c.ledger for c in self.channels.values()] + [self.status]
        tables += [self.publishers] if self.publishers is not None else []
        return [t.changelog_topic.get_topic_name() for t in tables]

    def work_topic_names(self) -> list[str]:
        """Topics of work in progress (broker retention applies)."""
        work = [
            t for c in self.channels.values() for t in (c.deliveries, c.retries, *c.retry_tiers)
        ]
        return [t.get_topic_name() for t in (*work, self.outcomes)]

    @property
    def email(self) -> ChannelRuntime:
        return self.channels[ChannelKey.EMAIL]


class HubApp(faust.App):
    """Faust's app, with the cluster's topic settings on every topic Faust creates itself
    (table changelogs, its leader topic): `topic_configs` under each topic's own config."""

    topic_configs: Mapping[str, str] = {}

    def topic(self, *topics: str, config: Mapping[str, Any] | None = None, **kw: Any) -> TopicT:
        return super().topic(*topics, config={**self.topic_configs, **(config or {})}, **kw)

    def _new_transport(self) -> TransportT:
        # A consumer that never leaves records unread after a rebalance (hub.runtime.rewind).
        return RewindingTransport(self.conf.broker_consumer, self)


def create_faust_app(settings: Settings) -> faust.App:
    app = HubApp(
        settings.app_id,
        broker=settings.kafka.broker,
        broker_credentials=broker_credentials(settings.kafka),
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        key_serializer="raw",
        value_serializer="json",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,  # a publish is accepted only once the broker has it
        # A few milliseconds of batching: a fan-out writes thousands of small records, and one
        # produce request per record costs the worker and the broker more than the wait.
        producer_linger=0.005,
        web_enabled=True,
        web_bind=settings.web.host,
        web_port=settings.web.port,
        # What the other workers are told to forward requests to (hub.web.routing): never the
        # bind address, which may be 0.0.0.0.
        canonical_url=settings.web.canonical_url(),
        web_tables_enabled=False,  # it would serve table contents over HTTP
        table_standby_replicas=settings.tables.standby_replicas,
        # Static membership: a worker restarted under its name takes its partitions back
        # without a rebalance of the whole group.
        consumer_group_instance_id=settings.worker_name,
        broker_session_timeout=settings.kafka.session_timeout_seconds,
        broker_heartbeat_interval=settings.kafka.session_timeout_seconds / 10,
    )
    app.topic_configs = topic_configs(settings.kafka)
    return app


def expiring(settings: Settings) -> dict[str, str]:
    """Changelog settings of the tables that grow with every delivery: compacted (one value per
    key) and deleted after the retention, so recovering them does not take longer for ever."""
    retention = settings.tables.retention_ms
    return {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(retention),
        # Only closed segments are deleted: roll daily, so an entry goes within a day of its time.
        "segment.ms": str(min(86_400_000, retention)),
    }


def signing_key(settings: Settings) -> bytes:
    """HUB_SECRET_KEY; only development may run without one (a throw-away key)."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(f"HUB_SECRET_KEY must be at least {MIN_KEY_BYTES} bytes")
        return key
    if settings.env != "development":
        raise ConfigurationError(
            "HUB_SECRET_KEY is required (it signs the links in emails); set it to a long random"
            " value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`,"
            " or set HUB_ENV=development for a throw-away key"
        )
    # Links signed with a throw-away key stop working at restart: fine for a demo, not for use.
    log.warning("HUB_SECRET_KEY is not set: links in emails will not survive a restart")
    return secrets.token_bytes(32)


def create_signer(settings: Settings) -> Signer:
    old = [k.get_secret_value().encode() for k in settings.old_secret_keys]
    try:
        return Signer(signing_key(settings), old)
    except ValueError as exc:
        raise ConfigurationError(f"HUB_OLD_SECRET_KEYS: {exc}") from exc


def create_runtime(settings: Settings) -> Runtime:
    """Build the app and everything around it; agents and the API register on top."""
    app = create_faust_app(settings)
    signer = create_signer(settings)
    mail_domain = settings.smtp.sender.rpartition("@")[2].rstrip(">") or "localhost"
    # Every worker needs every subscriber to plan any event: a global table, with one partition
    # (GlobalTable recovery can loop with several).
    # Its changelog holds people's records: compacted within the erasure window
    # (hub.privacy.erasure).
    directory_holder: list[Directory] = []
    heap = HeapKeeper()

    async def index_change(event: Any) -> None:
        # Changes other workers made reach this one through the changelog: index them too.
        directory_holder[0].note_changelog(event.key, event.value)

    subscriber_records = app.GlobalTable(
        f"{settings.kafka.topic_prefix}-subscribers",
        default=None,
        partitions=1,
        extra_topic_configs=compaction_config(settings.erasure.window_seconds),
        on_changelog_event=index_change,
    )
    directory_holder.append(Directory(subscriber_records))

    @subscriber_records.on_recover
    async def reindex() -> None:
        # A lookup before recovery may have indexed a table still being loaded: read it again,
        # in slices, so the worker keeps answering meanwhile.
        directory_holder[0].reindex()
        await directory_holder[0].build()
        heap.settle(len(directory_holder[0]))

    # The partner registry is small and every worker decides audiences with it: the same shape.
    partner_records = app.GlobalTable(
        f"{settings.kafka.topic_prefix}-partners", default=None, partitions=1
    )
    # Deliveries, retries and dead letters carry their recipient sealed with the recipient's key.
    keys = keys_from_records(subscriber_records.get)
    sealed = SealingCodec(keys)
    names = TopicNames(settings.kafka.topic_prefix)
    prefix = settings.kafka.topic_prefix
    catalog = SchemaCatalog(settings.schemas_dir)
    renderer = Renderer(settings.templates_dir, languages=settings.spoken())
    links = LinkMaker(signer, settings.web.public_url, mail_domain, utc_now)
    # Rosters name recipients by id: their address and links are read when they are sent.
    recipients = Recipients(directory_holder[0].held, links.for_subscriber)
    senders: dict[ChannelKey, Channel[Any]] = {ChannelKey.EMAIL: EmailChannel(settings.smtp)}
    if settings.telegram.enabled:
        senders[ChannelKey.TELEGRAM] = TelegramChannel(
            settings.telegram.token.get_secret_value(),
            settings.telegram.base_url,
            timeout=settings.telegram.timeout,
            messages_per_second=settings.telegram.messages_per_second,
        )
    channels: dict[ChannelKey, ChannelRuntime] = {}
    documents = EventDocuments(settings.kafka, names.event_documents)
    labels = [tier_label(delay) for delay in settings.retry.tiers]
    for channel_key, sender in senders.items():
        ledger = confirmed_table(
            app,
            f"{prefix}-delivery-ledger-{channel_key}",
            default=None,
            extra_topic_configs=expiring(settings),
        )
        tiers = names.retry_tiers(channel_key, labels)
        channels[channel_key] = ChannelRuntime(
            key=channel_key,
            deliveries=app.topic(names.deliveries(channel_key), value_serializer=sealed),
            retries=app.topic(names.retries(channel_key), value_serializer=sealed),
            dead_letters=app.topic(names.dead_letters(channel_key), value_serializer=sealed),
            ledger=ledger,
            channel=sender,
            dispatcher=Dispatcher(
                renderer,
                {channel_key: sender},
                SentLedger(ledger),
                utc_now,
                settings.retry,
                documents=documents.get,
                resolve=recipients.resolve,
            ),
            retry_tiers=[app.topic(name, value_serializer=sealed) for name in tiers],
        )
    return Runtime(
        settings=settings,
        app=app,
        catalog=catalog,
        names=names,
        event_topics=app.topic(*all_event_topics(catalog, prefix)),
        channels=channels,
        event_dead_letters=app.topic(names.dead_letters("events")),
        outcomes=app.topic(names.outcomes),
        audit=app.topic(names.audit),
        subscriber_commands=app.topic(names.subscribers, partitions=1),
        newsletter_records=app.topic(names.newsletters),
        newsletters=load_newsletters(settings.newsletters_file),
        newsletter_state=app.Table(f"{prefix}-newsletter-state", default=None),
        newsletter_items=app.Table(f"{prefix}-newsletter-items", default=None),
        editions=app.Table(f"{prefix}-newsletter-editions", default=None),
        planned=app.Table(f"{prefix}-planned-events", default=None),
        embargoed=app.Table(f"{prefix}-embargoed-events", default=None),
        status=app.Table(
            status_table_name(prefix), default=None, extra_topic_configs=expiring(settings)
        ),
        progress=app.Table(f"{prefix}-stream-progress", default=None),
        progress_single=app.Table(f"{prefix}-stream-progress-single", default=None, partitions=1),
        subscriber_records=subscriber_records,
        keys=keys,
        directory=directory_holder[0],
        partner_commands=app.topic(names.partners, partitions=1),
        partner_records=partner_records,
        partners=PartnerBook(partner_records),
        signer=signer,
        links=links,
        renderer=renderer,
        event_documents=documents,
        heap=heap,
        credentials=CredentialIndex(environment_credentials(settings)),
        publishers=app.Table(
            f"{prefix}-event-publishers", default=None, extra_topic_configs=expiring(settings)
        ),
    )
