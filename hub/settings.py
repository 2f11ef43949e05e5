"""One typed settings object, read from HUB_* environment variables (and .env) once, passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class KafkaSettings(BaseModel):
    """Where the broker is and how the hub names its topics."""

    broker: str = "kafka://127.0.0.1:9092"
    topic_prefix: str = "hub"
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # How long a silent worker keeps its partitions before the group gives them to another.
    session_timeout_seconds: float = Field(default=30.0, ge=6)


class WebSettings(BaseModel):
    """The worker's HTTP server."""

    host: str = "127.0.0.1"
    port: int = Field(default=6066, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:6066"


class SmtpSettings(BaseModel):
    """The SMTP relay the email channel sends through."""

    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    start_tls: bool = False
    use_tls: bool = False
    timeout: float = Field(default=15.0, gt=0)
    pool_size: int = Field(default=4, ge=1, le=64)
    sender: str = "Cooperation and Partnerships <communications@hub.example.org>"


class RetrySettings(BaseModel):
    """Backoff for transient delivery failures (default: 8 tries over about half an hour)."""

    base_seconds: float = Field(default=15.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_delay_seconds: float = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)


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


class StuckSettings(BaseModel):
    """The audit of open deliveries: planned or retrying, with no outcome for too long."""

    # A delivery with no outcome for this long is stuck (a retry: this long after it was due).
    after_seconds: float = Field(default=600.0, gt=0)
    # How often each worker checks the deliveries of its partitions and logs the stuck ones.
    check_seconds: float = Field(default=60.0, gt=0)
    # Re-plan stuck deliveries through the ledger automatically (nothing is sent twice).
    redrive: bool = True


class LimitSettings(BaseModel):
    """Sizes refused at the edge."""

    max_event_bytes: int = Field(default=256 * 1024, ge=1024)


class Settings(BaseSettings):
    """Everything the hub needs to run; secrets only come from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    app_id: str = "comms-hub"
    data_dir: Path = REPO_ROOT / "var"
    schemas_dir: Path = REPO_ROOT / "schemas"
    templates_dir: Path = REPO_ROOT / "templates"
    # Bearer tokens allowed to publish, by publisher: HUB_PUBLISHER_TOKENS='{"ana": "..."}'.
    publisher_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    default_language: str = "en"
    # Signs the links in emails (confirmation, preferences, unsubscribe). Keep it secret and stable:
    # changing it invalidates every link already sent.
    secret_key: SecretStr | None = None
    embargo_check_seconds: float = Field(default=1.0, gt=0)
    # Crash tests only: kill the worker at a named point, e.g. "deliver.sent:3" (hub/faults.py).
    fault_kill_at: str = ""
    # Diagnostics: log every delivery message handed to an agent and every offset committed.
    trace_offsets: bool = False
    stuck: StuckSettings = StuckSettings()
    newsletters_file: Path = REPO_ROOT / "hub" / "demo" / "newsletters.yaml"
    kafka: KafkaSettings = KafkaSettings()
    web: WebSettings = WebSettings()
    smtp: SmtpSettings = SmtpSettings()
    limits: LimitSettings = LimitSettings()
    telegram: TelegramSettings = TelegramSettings()
    retry: RetrySettings = RetrySettings()
