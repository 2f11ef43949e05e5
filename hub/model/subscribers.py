"""Subscribers and their subscriptions: value objects and their JSON form on Kafka."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from hub.errors import ConfigurationError
from hub.i18n.languages import DEFAULT_LANGUAGES, LanguageError, Languages

LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
# Deliberately simple: one @, no spaces or angle brackets, a dot in the domain. The SMTP server has
# the last word; this only keeps obvious mistakes and header tricks out.
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
# The version of the subscriber record written here (`v`); records written before it have none
# and read as 1. A newer one is refused rather than half read: its fields may mean other things.
SUBSCRIBER_VERSION = 1


class SubscriberKind(StrEnum):
    STAFF = "staff"
    PARTNER = "partner"
    MEDIA = "media"
    PUBLIC = "public"


class OrganisationType(StrEnum):
    GOVERNMENT = "government"
    NGO = "ngo"
    UN_AGENCY = "un-agency"
    DONOR = "donor"
    ACADEMIA = "academia"
    MEDIA = "media"
    PRIVATE_SECTOR = "private-sector"
    OTHER = "other"


class SubscriberStatus(StrEnum):
    PENDING = "pending"  # external email not yet confirmed: nothing but the confirmation is sent
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class Mode(StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a subscriber follows; an empty set means 'everything of that dimension'."""

    event_types: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset({"email"})
    mode: Mode = Mode.INSTANT

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_types": sorted(self.event_types),
            "themes": sorted(self.themes),
            "regions": sorted(self.regions),
            "countries": sorted(self.countries),
            "channels": sorted(self.channels),
            "mode": self.mode.value,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Subscription:
        return cls(
            event_types=frozenset(raw.get("event_types", ())),
            themes=frozenset(raw.get("themes", ())),
            regions=frozenset(raw.get("regions", ())),
            countries=frozenset(raw.get("countries", ())),
            channels=frozenset(raw.get("channels", ("email",))),
            mode=Mode(raw.get("mode", Mode.INSTANT)),
        )


EVERYTHING = Subscription()


@dataclass(frozen=True, slots=True)
class PartnerRequest:
    """A person's request for partner access, made on the subscribe form: never a grant."""

    organisation: str
    at: str

    def to_dict(self) -> dict[str, str]:
        return {"organisation": self.organisation, "at": self.at}


@dataclass(frozen=True, slots=True)
class Consent:
    """When and how someone agreed to receive, and to what text."""

    at: str
    method: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at, "method": self.method, "text": self.text}


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A person or organisation that receives."""

    id: str
    kind: SubscriberKind
    name: str
    language: str
    email: str | None = None
    telegram_chat_id: int | None = None
    organisation: str | None = None
    organisation_type: OrganisationType | None = None
    department: str | None = None
    region: str | None = None
    country: str | None = None
    office: str | None = None
    groups: frozenset[str] = frozenset()
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    subscriptions: tuple[Subscription, ...] = (EVERYTHING,)
    consents: tuple[Consent, ...] = ()
    updated_at: str = ""
    # The nonce of the one confirmation link that may still activate a pending subscriber.
    confirmation_nonce: str | None = None
    # Asked for partner access; only the partner registry decides (hub.partners).
    partner_request: PartnerRequest | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind is SubscriberKind.STAFF

    @property
    def is_active(self) -> bool:
        return self.status is SubscriberStatus.ACTIVE

    @property
    def confirmed(self) -> bool:
        """The address was confirmed (double opt-in), whether or not they still receive."""
        return self.status is not SubscriberStatus.PENDING

    @property
    def channels(self) -> frozenset[str]:
        """Every channel any subscription uses (staff content goes to these too)."""
        found: set[str] = set()
        for subscription in self.subscriptions:
            found |= subscription.channels
        return frozenset(found) or frozenset({"email"})

    def with_changes(self, **changes: Any) -> Subscriber:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SUBSCRIBER_VERSION,
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "language": self.language,
            "email": self.email,
            "telegram_chat_id": self.telegram_chat_id,
            "organisation": self.organisation,
            "organisation_type": self.organisation_type.value if self.organisation_type else None,
            "department": self.department,
            "region": self.region,
            "country": self.country,
            "office": self.office,
            "groups": sorted(self.groups),
            "status": self.status.value,
            "subscriptions": [s.to_dict() for s in self.subscriptions],
            "consents": [c.to_dict() for c in self.consents],
            "updated_at": self.updated_at,
            "confirmation_nonce": self.confirmation_nonce,
            "partner_request": self.partner_request.to_dict() if self.partner_request else None,
        }


class InvalidSubscriberError(ValueError):
    """A subscriber record that cannot be accepted; `problems` names each field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def check_email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > 254 or not EMAIL.match(value):
        raise InvalidSubscriberError([("email", f"not a valid email address: {value!r}")])
    return value


def subscriber_from_dict(raw: dict[str, Any]) -> Subscriber:
    """Build and check a subscriber; every problem is named, with its field."""
    problems: list[tuple[str, str]] = []

    def enum(kind: type[StrEnum], name: str, default: Any = None) -> Any:
        value = raw.get(name, default)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            problems.append((name, f"{value!r} is not one of: {allowed}"))
            return None

    version = raw.get("v", 1)
    if type(version) is not int or not 1 <= version <= SUBSCRIBER_VERSION:
        problems.append(
            ("v", f"version {version!r} is not one this hub reads (1 to {SUBSCRIBER_VERSION})")
        )
    for required in ("id", "kind", "name"):
        if not raw.get(required):
            problems.append((required, "is required"))
    language = str(raw.get("language") or "en")
    if not LANGUAGE_TAG.match(language):
        problems.append(("language", f"{language!r} is not a language tag like fr or fr-TN"))
    email = raw.get("email")
    try:
        email = check_email(email)
    except InvalidSubscriberError as exc:
        problems.extend(exc.problems)
    kind = enum(SubscriberKind, "kind")
    organisation_type = enum(OrganisationType, "organisation_type")
    status = enum(SubscriberStatus, "status", SubscriberStatus.ACTIVE.value)
    subscriptions: list[Subscription] = []
    for index, item in enumerate(raw.get("subscriptions", [EVERYTHING.to_dict()])):
        try:
            subscriptions.append(Subscription.from_dict(item))
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append((f"subscriptions[{index}]", str(exc)))
    chat = raw.get("telegram_chat_id")
    request = raw.get("partner_request")
    if request is not None and not (isinstance(request, dict) and request.get("organisation")):
        problems.append(("partner_request", "needs the organisation the person works for"))
    if problems:
        raise InvalidSubscriberError(problems)
    return Subscriber(
        id=str(raw["id"]),
        kind=kind,
        name=str(raw["name"]),
        language=language,
        email=email,
        telegram_chat_id=int(chat) if chat is not None else None,
        organisation=raw.get("organisation"),
        organisation_type=organisation_type,
        department=raw.get("department"),
        region=raw.get("region"),
        country=raw.get("country"),
        office=raw.get("office"),
        groups=frozenset(raw.get("groups", ())),
        status=status,
        subscriptions=tuple(subscriptions),
        consents=tuple(
            Consent(str(c["at"]), str(c["method"]), str(c["text"])) for c in raw.get("consents", ())
        ),
        updated_at=str(raw.get("updated_at", "")),
        confirmation_nonce=raw.get("confirmation_nonce"),
        partner_request=PartnerRequest(
            str(request["organisation"])[:200], str(request.get("at", ""))
        )
        if request
        else None,
    )


def load_subscribers(path: Path, languages: Languages = DEFAULT_LANGUAGES) -> list[Subscriber]:
    """Read a YAML or JSON file of subscribers, all or nothing: a broken file is an error naming
    where (line and column for a file that does not parse, the JSON path of each bad entry),
    a language the hub does not speak among them."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read subscribers from {path}: {exc}") from exc
    data = _parse_document(path, text)
    entries = data.get("subscribers", []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path}: expected a mapping with a 'subscribers' list")
    subscribers: list[Subscriber] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        where = f"$.subscribers[{index}]"
        try:
            loaded = subscriber_from_dict(entry)
            subscribers.append(loaded.with_changes(language=languages.check(loaded.language)))
        except LanguageError as exc:
            problems.append(f"{where}.language: {exc}")
        except InvalidSubscriberError as exc:
            problems += [f"{where}.{field}: {message}" for field, message in exc.problems]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{where}: {exc}")
        if len(problems) >= MAX_REPORTED:
            problems.append("(stopped after this many problems)")
            break
    if problems:
        raise ConfigurationError(f"{path}: nothing loaded\n" + "\n".join(problems))
    return subscribers


MAX_REPORTED = 50  # problems named in one refusal: enough to see a pattern, not a flood


def _parse_document(path: Path, text: str) -> Any:
    # JSON (what exports and the benchmarks write) with the json parser: the YAML reader takes
    # minutes over 100,000 records.
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                where = f"line {exc.lineno}, column {exc.colno}"
                raise ConfigurationError(f"{path}: not valid JSON at {where}: {exc.msg}") from exc
            # YAML in flow style: the YAML reader has the last word
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"cannot read subscribers from {path}: {exc}") from exc


def by_id(subscribers: Iterable[Subscriber]) -> dict[str, Subscriber]:
    return {s.id: s for s in subscribers}


__all__ = [
    "EVERYTHING",
    "SUBSCRIBER_VERSION",
    "Consent",
    "InvalidSubscriberError",
    "Mode",
    "OrganisationType",
    "PartnerRequest",
    "Subscriber",
    "SubscriberKind",
    "SubscriberStatus",
    "Subscription",
    "by_id",
    "check_email",
    "load_subscribers",
    "subscriber_from_dict",
]
