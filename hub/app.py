"""The Faust app, its topics and tables, and the services the agents call. Imports faust."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import faust
from faust.types import TopicT

from channels.email import EmailChannel
from hub.dispatch import Dispatcher
from hub.publishing import all_event_topics
from hub.rendering import Renderer
from hub.routing import ChannelKey
from hub.schemas import SchemaCatalog
from hub.settings import Settings
from hub.subscribers import SubscriberFile


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything one worker process holds: settings, the Faust app, topics, tables, services."""

    settings: Settings
    app: faust.App
    catalog: SchemaCatalog
    event_topics: TopicT  # every hub.events.<type>.v<N> topic
    email_deliveries: TopicT
    outcomes: TopicT
    planned: faust.Table  # event id -> fingerprint of the event that was fanned out
    ledger: faust.Table  # delivery id -> last status
    subscribers: SubscriberFile
    renderer: Renderer
    email: EmailChannel
    dispatcher: Dispatcher


def create_faust_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=settings.kafka.broker,
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        key_serializer="raw",
        value_serializer="json",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,  # a publish is accepted only once the broker has it
        web_enabled=True,
        web_bind=settings.web.host,
        web_port=settings.web.port,
        web_host=settings.web.host,
        web_tables_enabled=False,  # it would serve table contents over HTTP
        table_standby_replicas=0,
    )


def create_runtime(settings: Settings) -> Runtime:
    """Build the app and everything around it; agents and the API register on top."""
    app = create_faust_app(settings)
    prefix = settings.kafka.topic_prefix
    catalog = SchemaCatalog(settings.schemas_dir)
    event_topics = app.topic(*all_event_topics(catalog, prefix))
    planned = app.Table(f"{prefix}-planned-events", default=None)
    ledger = app.Table(f"{prefix}-delivery-ledger", default=None)
    renderer = Renderer(settings.templates_dir, default_language=settings.default_language)
    email = EmailChannel(settings.smtp)
    return Runtime(
        settings=settings,
        app=app,
        catalog=catalog,
        event_topics=event_topics,
        email_deliveries=app.topic(f"{prefix}.deliveries.{ChannelKey.EMAIL}.v1"),
        outcomes=app.topic(f"{prefix}.outcomes.v1"),
        planned=planned,
        ledger=ledger,
        subscribers=SubscriberFile(settings.subscribers_file),
        renderer=renderer,
        email=email,
        dispatcher=Dispatcher(renderer, {ChannelKey.EMAIL: email}, ledger, utc_now),
    )
