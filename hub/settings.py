"""One typed settings object, read from HUB_* environment variables (and .env) once, passed down."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.i18n.languages import LanguageError, Languages

REPO_ROOT = Path(__file__).resolve().parent.parent
# schemas/ and templates/: at the top of a checkout, or in hub/_data of an installed wheel
# (setup.py copies them there).
DATA_ROOT = (
    REPO_ROOT if (REPO_ROOT / "schemas").is_dir() else Path(__file__).resolve().parent / "_data"
)


class KafkaSettings(BaseModel):
    """Where the brokers are, how the hub reaches them, and how it names and creates topics."""

    broker: str = "kafka://127.0.0.1:9092"  # several: kafka://a:9092;kafka://b:9092
    topic_prefix: str = "hub"
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # Replicas that must hold a write before the broker acknowledges it (the hub produces with
    # acks=all). Set on every topic the hub creates once replication_factor is 2 or more;
    # unset, min(2, replication_factor).
    min_insync_replicas: int | None = Field(default=None, ge=1)
    # How long a silent worker keeps its partitions before the group gives them to another.
    session_timeout_seconds: float = Field(default=30.0, ge=6)
    # Managed clusters: TLS, SASL, or both. Secrets only from the environment.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None  # unset: the system's trusted CAs
    ssl_certfile: Path | None = None  # a client certificate, for clusters that ask for one
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        if self.min_insync_replicas and self.min_insync_replicas > self.replication_factor:
            problems.append(
                f"min_insync_replicas ({self.min_insync_replicas}) is more than "
                f"replication_factor ({self.replication_factor}): no write could be acknowledged"
            )
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not (self.sasl_username and self.sasl_password):
            problems.append(f"{self.security_protocol} needs sasl_username and sasl_password")
        if not sasl and (self.sasl_username or self.sasl_password):
            problems.append(
                "sasl_username/sasl_password are set but security_protocol is "
                f"{self.security_protocol}: use SASL_SSL (or SASL_PLAINTEXT)"
            )
        tls = self.security_protocol in ("SSL", "SASL_SSL")
        files = [self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile, self.ssl_key_password]
        if not tls and any(f is not None for f in files):
            problems.append(
                f"ssl_* settings are set but security_protocol is {self.security_protocol}: "
                "use SSL or SASL_SSL"
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            problems.append("ssl_keyfile needs ssl_certfile")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def insync_replicas(self) -> int | None:
        """min.insync.replicas for the topics the hub creates (None: the broker's default)."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return min(2, self.replication_factor) if self.replication_factor >= 2 else None


# Addresses a server binds to that name no one host: never an address to give other workers.
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104 - compared, not bound


class WebSettings(BaseModel):
    """The worker's HTTP server."""

    host: str = "127.0.0.1"  # the address it binds to
    port: int = Field(default=6066, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:6066"
    # Where the other workers reach this one: a request for data this worker holds is forwarded
    # here. Unset: http://<host>:<port>, with this machine's name when host is 0.0.0.0 or ::.
    advertised_url: str | None = None

    def canonical_url(self) -> str:
        if self.advertised_url:
            return self.advertised_url.rstrip("/")
        host = socket.gethostname() if self.host in WILDCARD_HOSTS else self.host
        return f"http://{host}:{self.port}"


class SmtpSettings(BaseModel):
    """The SMTP relay the email channel sends through."""

    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    start_tls: bool = False  # STARTTLS on a plain port (587), required once set
    use_tls: bool = False  # implicit TLS from the first byte (SMTPS, 465)
    # The relay's certificate is always verified (name and chain): by the system's CAs, or, for
    # a private relay, by the CA certificates in this PEM file only.
    ca_file: Path | None = None
    timeout: float = Field(default=15.0, gt=0)
    pool_size: int = Field(default=8, ge=1, le=64)
    sender: str = "Cooperation and Partnerships <communications@hub.example.org>"
    # DKIM: every message is signed (rsa-sha256, relaxed/relaxed) for d=<domain>, its public key
    # published at <selector>._domainkey.<domain>; the RSA key (PEM) from the environment only.
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key: SecretStr | None = None

    @model_validator(mode="after")
    def _tls_and_dkim_make_sense(self) -> Self:
        problems = []
        if self.start_tls and self.use_tls:
            problems.append("start_tls and use_tls exclude each other (587 or 465, not both)")
        if self.password is not None and not self.username:
            problems.append("password is set without username")
        if self.ca_file is not None and not (self.start_tls or self.use_tls):
            problems.append("ca_file is set but neither start_tls nor use_tls is")
        dkim = [self.dkim_domain, self.dkim_selector, self.dkim_private_key]
        if any(dkim) and not all(dkim):
            problems.append("DKIM needs dkim_domain, dkim_selector and dkim_private_key together")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class RetrySettings(BaseModel):
    """Backoff for transient delivery failures (default: 8 tries over about half an hour)."""

    base_seconds: float = Field(default=15.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_delay_seconds: float = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)
    # The delay tiers a retry waits in, in seconds, one topic each per channel
    # (hub.retries.<channel>.<delay>.v1): a retry goes to the largest tier not exceeding its
    # remaining wait, so one long backoff never holds up a short one (hub.delivery.retry).
    # A tier taken out of this list is no longer read: keep it until its topics are empty.
    tiers: list[float] = Field(default_factory=lambda: [5.0, 30.0, 300.0, 1800.0], min_length=1)

    @model_validator(mode="after")
    def _tiers_ascend(self) -> Self:
        if any(t <= 0 for t in self.tiers) or self.tiers != sorted(set(self.tiers)):
            raise ValueError("retry tiers must be positive, distinct and in ascending order")
        return self


class TelegramSettings(BaseModel):
    """The Telegram bot; by default the local Bot API sandbox that `make run` starts."""

    enabled: bool = True
    # The sandbox's development token; a real bot's token comes from the environment.
    token: SecretStr = SecretStr("123456789:sandbox-token-for-local-development")
    base_url: str = "http://127.0.0.1:8081/bot"
    bot_username: str = "sandbox_123456789_bot"
    # Broadcast destinations: public events go to these channels (@name or id) ...
    public_channels: list[str] = Field(default_factory=list)
    # ... and staff-wide internal events to these staff-only groups (ids).
    staff_groups: list[str] = Field(default_factory=list)
    poll_updates: bool = True
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    timeout: float = Field(default=10.0, gt=0)
    # The bot's messages a second across all workers (Telegram allows about 30 for broadcasts):
    # each worker sends at its share, in proportion to its partitions of the Telegram deliveries
    # topic. Pacing counts each send from when its request went out, not from its slot, so a
    # send delayed by a busy loop cannot bunch up with the next: 29 keeps a second's room.
    messages_per_second: float = Field(default=29.0, gt=0)
    # How updates arrive: `polling` (getUpdates, on the leader worker) or `webhook` (Telegram
    # POSTs each to <public URL>/telegram/webhook, any worker answers; setWebhook at start),
    # with this secret in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -).
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _webhook_has_its_secret(self) -> Self:
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else None
        if self.mode == "webhook" and not secret:
            raise ValueError("telegram mode webhook needs webhook_secret")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("webhook_secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self


class StuckSettings(BaseModel):
    """The audit of open deliveries: planned or retrying, with no outcome for too long."""

    # A delivery with no outcome for this long is stuck (a retry: this long after it was due).
    after_seconds: float = Field(default=600.0, gt=0)
    # How often each worker checks the deliveries of its partitions and logs the stuck ones.
    check_seconds: float = Field(default=60.0, gt=0)
    # Re-plan stuck deliveries through the ledger automatically (nothing is sent twice).
    redrive: bool = True


class LimitSettings(BaseModel):
    """Sizes and rates refused at the edge."""

    max_event_bytes: int = Field(default=256 * 1024, ge=1024)
    # Deeper JSON is refused before it is parsed (Python's parser would hit its recursion limit).
    max_json_depth: int = Field(default=32, ge=8, le=200)
    # The public HTML forms (subscribe, confirm, preferences, unsubscribe, erasure).
    max_form_bytes: int = Field(default=16 * 1024, ge=1024)
    # Per client address, per worker: subscribe POSTs, and all form POSTs, in a sliding window.
    subscribe_per_client: int = Field(default=10, ge=1)
    form_posts_per_client: int = Field(default=60, ge=1)
    client_window_seconds: float = Field(default=600.0, gt=0)
    # Per email address, across workers: emails the subscribe form may cause (confirmation or
    # "already subscribed"): at most one per interval and so many a day.
    address_mail_interval_seconds: float = Field(default=600.0, ge=0)
    address_mails_per_day: int = Field(default=3, ge=1)


class TableSettings(BaseModel):
    """The worker's Kafka-backed tables."""

    # Warm copies of each table partition on other workers, so a failover does not replay the
    # whole changelog (each copy costs the disk and the changelog reading of that partition).
    standby_replicas: int = Field(default=0, ge=0)
    # How long the tables that grow with every delivery (the delivery ledgers, the delivery
    # status, who published each event) keep an entry in their changelogs: compacted and
    # deleted after this. See retention_floor_seconds for the least it may be.
    retention_days: float = Field(default=30.0, gt=0)

    @property
    def retention_ms(self) -> int:
        return int(self.retention_days * 86_400_000)


# How long a delivery or retry record stays on its topic (Kafka's default retention, which the
# hub does not change): as long as a record is there, a restart or a stuck-delivery re-plan can
# hand it to a delivery agent again, and only the ledger keeps it from going out twice.
WORK_TOPIC_RETENTION_SECONDS = 7 * 86_400.0


def retry_window_seconds(retry: RetrySettings) -> float:
    """The longest a delivery can keep being retried: every delay at its most, jitter included."""
    delays = (
        min(retry.base_seconds * retry.factor**n, retry.max_delay_seconds)
        for n in range(retry.max_attempts)
    )
    return sum(delays) * (1 + retry.jitter)


class EnvironmentCredential(BaseModel):
    """A credential given in the environment: its roles and the SHA-256 (hex) of its token."""

    roles: list[str] = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ErasureSettings(BaseModel):
    """How soon an erasure is complete in Kafka (see README, Retention and erasure)."""

    # Compacted topics that hold people's records roll a segment, and the log cleaner compacts it,
    # at least this often: an erased record and its data key are gone within about twice this.
    window_seconds: float = Field(default=600.0, ge=1)


class OidcSettings(BaseModel):
    """An OpenID Connect provider the console's officers may sign in with (Entra ID, Okta,
    Keycloak, Google Workspace...): register the hub as a confidential web client whose redirect
    URI is <public URL>/console/sign-in/oidc/callback."""

    issuer: str  # e.g. https://login.microsoftonline.com/<tenant>/v2.0
    client_id: str
    client_secret: SecretStr | None = None  # from the environment only, like every secret
    scopes: str = "openid email profile"
    label: str = "Sign in with your organisation"  # the button on the sign-in page


class ConsoleSettings(BaseModel):
    """The officer console (/console): sessions and the maker-checker rule."""

    idle_minutes: float = Field(default=30.0, gt=0)  # a session unused this long ends
    session_hours: float = Field(default=12.0, gt=0)  # and any session ends after this
    # An event whose audience is larger than this needs a second officer's approval (as does
    # one for partners or for all staff, whatever its size).
    approval_threshold: int = Field(default=500, ge=0)
    # The time zone the schedule field starts in (the officer may choose any IANA zone).
    default_zone: str = "UTC"
    # Single sign-on, beside passwords (HUB_CONSOLE__OIDC__ISSUER, __CLIENT_ID, __CLIENT_SECRET).
    oidc: OidcSettings | None = None


class LanguageSettings(BaseModel):
    """The languages the hub speaks, each with its catalogs in templates/_locale/<lang>/, and
    where a reader goes when an event lacks theirs (HUB_LANGUAGES__FALLBACKS='{"ar": ["fr"]}'
    makes ar-TN -> ar -> fr -> en)."""

    supported: list[str] = Field(default_factory=lambda: ["en", "fr", "es", "ar"], min_length=1)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)


class MetricsSettings(BaseModel):
    """GET /metrics (Prometheus): open to whoever reaches the worker, or, with a token
    (HUB_METRICS__TOKEN), only to a scraper sending it as a bearer token."""

    token: SecretStr | None = None


class BounceSettings(BaseModel):
    """Asynchronous bounces (hub.subscribers.bounces): after this many hard bounces
    (HUB_BOUNCES__HARD_LIMIT) an address's email channel is paused."""

    hard_limit: int = Field(default=3, ge=1)


class Settings(BaseSettings):
    """Everything the hub needs to run; secrets only come from the environment."""

    metrics: MetricsSettings = MetricsSettings()
    bounces: BounceSettings = BounceSettings()
    model_config = SettingsConfigDict(
        env_prefix="HUB_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    app_id: str = "comms-hub"
    data_dir: Path = REPO_ROOT / "var"
    schemas_dir: Path = DATA_ROOT / "schemas"
    templates_dir: Path = DATA_ROOT / "templates"
    # Credentials provisioned from the environment, as hashes (the first admin, a deployment's
    # service accounts): HUB_CREDENTIALS='{"ops": {"roles": ["admin"], "sha256": "<hex>"}}'.
    credentials: dict[str, EnvironmentCredential] = Field(default_factory=dict)
    # Deprecated: plain tokens by publisher name, which may only publish (the publisher role).
    publisher_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    default_language: str = "en"
    languages: LanguageSettings = LanguageSettings()
    # `development` lets the worker start without HUB_SECRET_KEY (links then die at restart).
    env: str = "production"
    # Signs the links in emails (confirmation, preferences, unsubscribe, Telegram) and forms.
    # Required outside development. To rotate, put the new key here and the old one in
    # HUB_OLD_SECRET_KEYS (a JSON list) until the links it signed have expired (90 days).
    secret_key: SecretStr | None = None
    old_secret_keys: list[SecretStr] = Field(default_factory=list)
    embargo_check_seconds: float = Field(default=1.0, gt=0)
    # A newsletter run missed because no worker was leader at its time (a rebalance, a restart)
    # is caught up by the next leader if it is at most this late (hub.runtime.agents.newsletters).
    newsletter_catch_up_seconds: float = Field(default=900.0, gt=0)
    # Crash tests only: kill the worker at a named point, e.g. "deliver.sent:3" (hub/faults.py).
    fault_kill_at: str = ""
    # Diagnostics: log every delivery message handed to an agent and every offset committed.
    trace_offsets: bool = False
    # Logs: one JSON object a line with `json` (hub.logsafety.JsonFormatter); `debug` also lets
    # through the libraries' chatter (Kafka client, faust, HTTP access) that `info` leaves out.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    stuck: StuckSettings = StuckSettings()
    newsletters_file: Path = REPO_ROOT / "devstack" / "demo" / "newsletters.yaml"
    kafka: KafkaSettings = KafkaSettings()
    web: WebSettings = WebSettings()
    smtp: SmtpSettings = SmtpSettings()
    limits: LimitSettings = LimitSettings()
    telegram: TelegramSettings = TelegramSettings()
    retry: RetrySettings = RetrySettings()
    erasure: ErasureSettings = ErasureSettings()
    console: ConsoleSettings = ConsoleSettings()
    tables: TableSettings = TableSettings()
    # This worker's stable name in the consumer group (Kafka static membership): a restart
    # under the same name within the session timeout takes its partitions back without a
    # rebalance. One name per worker, never shared by two running at once.
    worker_name: str | None = None

    def spoken(self) -> Languages:
        """The supported languages and fallback chains, checked (LanguageError if wrong)."""
        return Languages.of(
            self.languages.supported, self.default_language, self.languages.fallbacks
        )

    @model_validator(mode="after")
    def _languages_make_sense(self) -> Self:
        try:
            self.spoken()
        except LanguageError as exc:
            raise ValueError(f"languages: {exc}") from None
        return self

    def retention_floor_seconds(self) -> float:
        """The least table retention that keeps a ledger entry for as long as its delivery can
        come back: the life of a record on the delivery and retry topics, plus every retry."""
        return WORK_TOPIC_RETENTION_SECONDS + retry_window_seconds(self.retry)

    @model_validator(mode="after")
    def _ledger_outlives_deliveries(self) -> Self:
        floor = self.retention_floor_seconds()
        if self.tables.retention_days * 86_400 < floor:
            raise ValueError(
                f"tables.retention_days ({self.tables.retention_days}) must be at least"
                f" {floor / 86_400:.2f}: a delivery ledger entry has to outlive every copy"
                " of its delivery on the delivery and retry topics, or it could go out twice"
            )
        return self
