"""Newsletter definitions, read from a YAML file and checked once at start."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import croniter
from pydantic import BaseModel, Field, ValidationError, field_validator

from hub.errors import ConfigurationError
from hub.i18n.languages import DEFAULT_LANGUAGES
from hub.model.events import Classification

_ONE_SECOND = timedelta(seconds=1)


class Audience(StrEnum):
    STAFF = "staff"  # all staff, or one region's with `region`
    PARTNERS = "partners"
    PUBLIC = "public"


# What each audience may ever see; restricted content never goes in any newsletter.
ALLOWED = {
    Audience.PUBLIC: frozenset({Classification.PUBLIC}),
    Audience.PARTNERS: frozenset({Classification.PUBLIC, Classification.PARTNERS}),
    Audience.STAFF: frozenset(
        {Classification.PUBLIC, Classification.PARTNERS, Classification.STAFF}
    ),
}


class Newsletter(BaseModel):
    """One newsletter: who it is for, when it goes out, what goes in."""

    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: dict[str, str]
    audience: Audience
    region: str | None = None  # staff of one region only
    schedule: str  # cron, e.g. "0 9 * * mon"
    timezone: str = "UTC"
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES.supported))
    event_types: list[str] = Field(default_factory=list)  # sections, in this order; empty: all
    themes: list[str] = Field(default_factory=list)
    send_empty: bool = False

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name like Europe/Zurich)"
            ) from exc
        return value

    @property
    def is_internal(self) -> bool:
        return self.audience is Audience.STAFF

    def period_start(self, at: datetime) -> datetime:
        """The scheduled time this edition belongs to: the last one at or before `at`."""
        local = at.astimezone(ZoneInfo(self.timezone))
        # croniter's get_prev is strict; a moment exactly on schedule belongs to that slot.
        probe = croniter(self.schedule, local.replace(microsecond=0) + _ONE_SECOND)
        return probe.get_prev(datetime)  # type: ignore[no-any-return]

    def edition_id(self, at: datetime) -> str:
        return f"{self.name}-{self.period_start(at):%Y%m%dT%H%M}"

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title.get("en") or self.name


class NewsletterFile(BaseModel):
    newsletters: list[Newsletter]


def load_newsletters(path: Path) -> dict[str, Newsletter]:
    """Every newsletter of the file, by name; a bad file names the entry and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = NewsletterFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read newsletters from {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"{path}: {problems}") from exc
    names = [n.name for n in parsed.newsletters]
    if len(names) != len(set(names)):
        raise ConfigurationError(f"{path}: newsletter names must be unique")
    return {n.name: n for n in parsed.newsletters}
