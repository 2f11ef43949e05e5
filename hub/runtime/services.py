"""The web layer's services (hub.services) over the worker's faust tables and topics."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosmtplib
from telegram.error import EndPointNotFound, InvalidToken, NetworkError, TelegramError

from channels.email.pool import smtp_client, tls_context
from channels.telegram.channel import TelegramChannel
from hub.access.credentials import Credential, CredentialIndex
from hub.console.submissions import Submission
from hub.delivery.redrive import delivery_to_resend, redrive_audit
from hub.delivery.status import delivery_states, split
from hub.delivery.status_store import scan_local
from hub.errors import ConfigurationError
from hub.intake.publishing import Accepted
from hub.kafka.client import read_topic
from hub.model import audit
from hub.model.deliveries import ChannelKey, DeadLetter, Delivery, Recipient
from hub.model.newsletter_state import NewsletterState
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import Subscriber
from hub.newsletters.config import Newsletter
from hub.newsletters.state import load
from hub.privacy.export import everything_about
from hub.runtime.app import Runtime
from hub.runtime.owners import TableOwners
from hub.services import BotUpdates, Placement
from hub.subscribers.selfservice import command
from hub.web.app import WebServices


class TopicWriter:
    """Records on one topic through the app's producer, each awaited until the broker has it."""

    def __init__(self, rt: Runtime, topic: str) -> None:
        self.rt = rt
        self.topic = topic

    async def send(self, key: bytes, value: dict[str, Any] | None) -> None:
        encoded = None if value is None else json.dumps(value, ensure_ascii=False).encode()
        await self.rt.app.producer.send_and_wait(self.topic, key, encoded, None, None, None)

    async def write(self, records: Sequence[tuple[bytes, dict[str, Any]]]) -> None:
        """PartnerCommands: in order, one at a time."""
        for key, value in records:
            await self.send(key, value)


class Publisher:
    """EventPublisher: the event on its type's topic, marked with who published it."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def publish(self, accepted: Accepted, published_by: str) -> Placement:
        metadata = await self.rt.app.producer.send_and_wait(
            accepted.topic,
            accepted.key,
            accepted.value,
            partition=None,
            timestamp=None,
            headers=[("hub-published-by", published_by.encode())],
        )
        return Placement(metadata.partition, metadata.offset)


class Audit:
    """AuditTrail: written through the audit topic's agent-side sender, read from Kafka."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def record(self, key: bytes, entry: dict[str, Any]) -> None:
        await self.rt.audit.send(key=key, value=entry)

    async def entries(self, subject: str | None, limit: int) -> list[dict[str, Any]]:
        wanted = subject.encode() if subject else None
        records = await read_topic(
            self.rt.settings.kafka,
            self.rt.names.audit,
            keep=(lambda key: key == wanted) if wanted else (lambda _key: True),
            last=limit if wanted is None else None,
        )
        # A batch record is read as the entries it holds, each of which may be the one asked for.
        entries = [entry for _key, value in records for entry in audit.expand(value)]
        entries.sort(key=lambda e: str(e.get("at", "")) if isinstance(e, dict) else "")
        return entries[-limit:]


class Status:
    """StatusReader: this worker's copy of the status and publishers tables (the API asks the
    worker holding an event's partition, hub.web.routing)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def event(self, event_id: str) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
        return split(scan_local(self.rt.status, event_id), event_id)

    def publisher_of(self, event_id: str) -> str | None:
        publishers = self.rt.publishers
        found = publishers.get(event_id) if publishers is not None else None
        return str(found) if found is not None else None

    def deliveries(self) -> Iterable[Mapping[str, Any]]:
        # faust iterates only the partitions this worker holds now (not its standby copies or
        # partitions it held before), so each worker's part of a gathered list is its own.
        return delivery_states((str(k), v) for k, v in self.rt.status.items() if v)


class People:
    """SubscriberCommands and PersonalData: the subscribers topic, and a person's export."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.topic = TopicWriter(rt, rt.names.subscribers)

    async def save(self, subscriber: Subscriber, cause: Cause, actor: str) -> None:
        await self.topic.send(subscriber.id.encode(), command(subscriber, cause, actor))

    async def erase(self, subscriber_id: str) -> None:
        await self.topic.send(subscriber_id.encode(), None)

    async def export(self, subscriber: Subscriber) -> dict[str, Any]:
        return await everything_about(
            subscriber,
            self.rt.settings.kafka,
            self.rt.names,
            [str(key) for key in self.rt.channels],
            self.rt.keys,
        )


class Newsletters:
    """NewsletterStore: the newsletter state and editions tables, requests on their topic."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.newsletters: Mapping[str, Newsletter] = rt.newsletters
        self.topic = TopicWriter(rt, rt.names.newsletters)

    def state(self, name: str) -> NewsletterState:
        return load(self.rt.newsletter_state, self.rt.newsletter_items, name)

    def editions(self) -> Iterator[dict[str, Any]]:
        return (e for e in self.rt.editions.values() if e)

    def edition(self, edition_id: str) -> dict[str, Any] | None:
        found = self.rt.editions.get(edition_id)
        return found if isinstance(found, dict) else None

    async def request(self, name: str, record: dict[str, Any]) -> None:
        await self.topic.send(name.encode(), record)


class Credentials:
    """CredentialStore: the worker's credential index, kept current from the credentials topic."""

    def __init__(self, rt: Runtime, index: CredentialIndex) -> None:
        self.index = index
        self.topic = TopicWriter(rt, rt.names.credentials)

    def get(self, name: str) -> Credential | None:
        return self.index.get(name)

    def all(self) -> list[Credential]:
        return self.index.all()

    async def save(self, credential: Credential) -> None:
        record = credential.as_record()
        await self.topic.send(credential.name.encode(), record)
        # This worker applies it at once; the others within a fetch of the credentials topic.
        self.index.apply(credential.name, record)


class ConsoleTopic:
    """ConsoleStore: the worker's submission index, kept current from the console topic."""

    def __init__(self, rt: Runtime) -> None:
        self.index = rt.console
        self.topic = TopicWriter(rt, rt.names.console)

    @property
    def ready(self) -> bool:
        return self.index.ready

    def get(self, submission_id: str) -> Submission | None:
        return self.index.get(submission_id)

    def all(self) -> list[Submission]:
        return self.index.all()

    async def save(self, submission: Submission) -> None:
        record = submission.as_record()
        await self.topic.send(submission.id.encode(), record)
        self.index.apply(submission.id, record)  # here at once; the others within a fetch


class EventDeadLetters:
    """DeadLetters: read from each channel's dead-letter topic, sent back to its deliveries."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def _letters(self, event_id: str) -> list[tuple[ChannelKey, Any]]:
        wanted = event_id.encode()
        found = []
        for key in self.rt.channels:
            topic = self.rt.names.dead_letters(key)
            records = await read_topic(self.rt.settings.kafka, topic, keep=lambda k: k == wanted)
            found += [(key, value) for _key, value in records if value is not None]
        return found

    async def of_event(self, event_id: str) -> list[dict[str, str]]:
        shown = []
        for channel, value in await self._letters(event_id):
            letter = DeadLetter.read_or_skip(value, "dead letters")
            delivery = letter.delivery if letter and isinstance(letter.delivery, dict) else {}
            recipient = delivery.get("recipient")
            shown.append(
                {
                    "channel": channel.value,
                    "delivery_id": str(delivery.get("id", "")),
                    "recipient_id": str(
                        recipient.get("id", "") if isinstance(recipient, dict) else ""
                    ),
                    "reason": letter.reason if letter else "unreadable dead letter",
                    "failed_at": letter.failed_at if letter else "",
                }
            )
        return shown

    async def redrive(self, event_id: str, actor: str) -> int:
        sent = 0
        for channel, value in await self._letters(event_id):
            fresh = delivery_to_resend(value, self.rt.names.deliveries(channel))
            if fresh is None:
                continue
            topic, key, message = fresh
            # Already sealed: written as it was read, as `hub redrive` writes it.
            await TopicWriter(self.rt, topic).send(key, message)
            entry = redrive_audit(value, actor, datetime.now(UTC))
            await self.rt.audit.send(key=event_id.encode(), value=entry)
            sent += 1
        return sent


class ChannelTestSender:
    """TestSender: one message through this worker's channel, outside any fan-out."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def send(self, channel: str, rendered: Any, to: str, name: str, language: str) -> str:
        runtime = self.rt.channels.get(ChannelKey(channel))
        if runtime is None:
            raise ConfigurationError(f"the {channel} channel is not enabled on this hub")
        test_id = secrets.token_hex(16)
        delivery = Delivery(
            test_id, f"test:{test_id}", ChannelKey(channel), language, Recipient(to, name, to)
        )
        receipts = await runtime.channel.send(rendered, delivery)
        return receipts[0].provider_id if receipts else ""


# How long a probe of the broker, the SMTP relay or the Bot API may take, and how long its answer
# is kept: a load balancer asking every second does not open an SMTP connection every second.
PROBE_TIMEOUT_SECONDS = 2.0
PROBE_KEPT_SECONDS = 5.0
OK = "ok"


class WorkerReadiness:
    """Readiness: what this worker needs to do its work, each checked by name (GET
    /api/v1/ready). The states name what is wrong and nothing else: no host, no secret."""

    def __init__(self, rt: Runtime, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self.rt = rt
        self.timeout = timeout
        self._kept: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def checks(self) -> dict[str, str]:
        probes: dict[str, Callable[[], Awaitable[str]]] = {"kafka": self.kafka, "smtp": self.smtp}
        if ChannelKey.TELEGRAM in self.rt.channels:
            probes["telegram"] = self.telegram
        # The probes at once: a /ready answer takes the slowest probe's time, not their sum.
        answers = await asyncio.gather(*(self._kept_for(n, p) for n, p in probes.items()))
        probed = dict(zip(probes, answers, strict=True))
        return {
            "kafka": probed["kafka"],
            "partitions": self.partitions(),
            "tables": self.tables(),
            "credentials": OK if self.rt.credentials.ready else "not read from Kafka yet",
            "smtp": probed["smtp"],
            **({"telegram": probed["telegram"]} if "telegram" in probed else {}),
        }

    async def _kept_for(self, name: str, probe: Callable[[], Awaitable[str]]) -> str:
        """The probe's last answer if recent, else a new one (one probe of each at a time)."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            now = time.monotonic()
            kept = self._kept.get(name)
            if kept is not None and now - kept[0] < PROBE_KEPT_SECONDS:
                return kept[1]
            try:
                state = await asyncio.wait_for(probe(), self.timeout)
            except TimeoutError:
                state = f"no answer within {self.timeout:g} s"
            self._kept[name] = (time.monotonic(), state)
            return state

    async def kafka(self) -> str:
        """The broker answers a metadata request on the producer's connections."""
        producer = getattr(self.rt.app.producer, "_producer", None)  # faust's aiokafka producer
        client = getattr(producer, "client", None)
        if client is None:
            return "not connected yet"
        try:
            await client.fetch_all_metadata()
        except Exception as exc:  # aiokafka's KafkaError, or a connection error
            return f"the broker does not answer ({type(exc).__name__})"
        return OK

    def partitions(self) -> str:
        """This worker holds partitions of the hub's work topics (events, deliveries, ...)."""
        work = {*self.rt.work_topic_names(), *self.rt.event_topics.topics}
        try:
            assigned = self.rt.app.consumer.assignment()
        except Exception:  # no consumer yet (starting)
            return "none assigned"
        held = sum(1 for tp in assigned if tp.topic in work)
        return OK if held else "none assigned"

    def tables(self) -> str:
        """The tables are recovered from their changelogs and no rebalance is under way."""
        app = self.rt.app
        if app.rebalancing:
            return "rebalancing"
        recovery = getattr(app.tables, "recovery", None)  # faust's TableManager has one
        if app.in_recovery or recovery is None or not recovery.completed.is_set():
            return "recovering"
        return OK

    async def smtp(self) -> str:
        """The relay answers EHLO and NOOP (and accepts the login, when one is configured)."""
        s = self.rt.settings.smtp
        try:
            tls = tls_context(s)
        except ConfigurationError:
            return "the relay's CA file cannot be read"
        client = smtp_client(s, tls, self.timeout)
        try:
            await client.connect()
            await client.noop()
        except aiosmtplib.SMTPAuthenticationError as exc:
            return f"the relay refused the username or password ({exc.code})"
        except aiosmtplib.SMTPConnectError:
            return "the relay does not answer (connection refused)"
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            return f"the relay does not answer within {self.timeout:g} s"
        except aiosmtplib.SMTPResponseException as exc:
            return f"the relay answered {exc.code}"
        except (aiosmtplib.SMTPException, OSError) as exc:
            return f"the relay cannot be used ({type(exc).__name__})"
        finally:
            await _quit(client)
        return OK

    async def telegram(self) -> str:
        """The Bot API accepts the bot's token (getMe)."""
        sender = self.rt.channels[ChannelKey.TELEGRAM].channel
        if not isinstance(sender, TelegramChannel):
            return OK  # a stand-in channel (tests): nothing to ask
        try:
            bot = await sender.ready()
            await bot.get_me()
        except InvalidToken:
            return "the Bot API refused the bot token"
        except EndPointNotFound:
            return "the Bot API address is wrong"
        except NetworkError as exc:  # TimedOut included
            return f"the Bot API does not answer ({type(exc).__name__})"
        except TelegramError as exc:
            return f"the Bot API answered {type(exc).__name__}"
        return OK


async def _quit(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def web_services(rt: Runtime) -> WebServices:
    """Everything the web layer is given, built over this worker's runtime."""
    people = People(rt)
    return WebServices(
        settings=rt.settings,
        catalog=rt.catalog,
        renderer=rt.renderer,
        signer=rt.signer,
        channels=list(rt.channels),
        publisher=Publisher(rt),
        audit=Audit(rt),
        status=Status(rt),
        directory=rt.directory,
        partners=rt.partners,
        partner_commands=TopicWriter(rt, rt.names.partners),
        subscriber_commands=people,
        personal_data=people,
        newsletters=Newsletters(rt),
        credentials=Credentials(rt, rt.credentials),
        tokens=rt.credentials,
        owners=TableOwners(rt),
        accounts=rt.accounts,
        console=ConsoleTopic(rt),
        test_sender=ChannelTestSender(rt) if ChannelKey.EMAIL in rt.channels else None,
        dead_letters=EventDeadLetters(rt),
        bot_updates=_webhook_updates(rt),
        readiness=WorkerReadiness(rt),
        bounces=TopicWriter(rt, rt.names.bounces),
    )


def _webhook_updates(rt: Runtime) -> BotUpdates | None:
    """The bot's updates by webhook, when the bot answers its users that way."""
    # Imported here: hub.runtime.agents imports this module (the console scheduler).
    from hub.runtime.agents.telegram import WebhookUpdates

    telegram = rt.settings.telegram
    answering = telegram.poll_updates and telegram.mode == "webhook"
    return WebhookUpdates(rt) if answering and ChannelKey.TELEGRAM in rt.channels else None
