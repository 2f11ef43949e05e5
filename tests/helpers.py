"""Test helpers: example events, subscribers, and waiting on conditions (never on sleeps)."""

from __future__ import annotations

import copy
import json
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hub.model.events import Event
from hub.model.subscribers import OrganisationType, Subscriber, SubscriberKind
from hub.partners.registry import Organisation, PartnerRegistry
from hub.settings import REPO_ROOT

EXAMPLES = REPO_ROOT / "schemas" / "examples"
DEMO_ANNOUNCEMENT = (
    EXAMPLES / "announcement.published.v1" / "valid" / "partnership-west-africa.json"
)
T = TypeVar("T")
# Partner status is granted by the registry: the helper's partners have addresses on this domain.
PARTNER_DOMAIN = "partner.example.org"
PARTNERS = PartnerRegistry(
    {
        "example-partner": Organisation(
            "example-partner",
            "Example partner",
            OrganisationType.NGO,
            None,
            frozenset({PARTNER_DOMAIN}),
        )
    }
)


def valid_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*/valid/*.json"))


def invalid_examples() -> list[tuple[Path, list[str]]]:
    cases: list[tuple[Path, list[str]]] = []
    for folder in sorted(EXAMPLES.glob("*/invalid")):
        expected = json.loads((folder / "_expected.json").read_text())
        for path in sorted(folder.glob("*.json")):
            if path.name != "_expected.json":
                cases.append((path, expected[path.name]))
    return cases


def load_example(path: Path = DEMO_ANNOUNCEMENT, **changes: Any) -> dict[str, Any]:
    """An example document with a fresh id (so runs never collide) and optional changes."""
    document = json.loads(path.read_text(encoding="utf-8"))
    document["id"] = str(uuid.uuid4())
    document.update(copy.deepcopy(changes))
    return document


def event(path: Path = DEMO_ANNOUNCEMENT, **changes: Any) -> Event:
    return Event.from_document(load_example(path, **changes))


def subscriber(
    id: str,
    kind: SubscriberKind = SubscriberKind.PARTNER,
    language: str = "en",
    **fields: Any,
) -> Subscriber:
    domain = PARTNER_DOMAIN if kind is SubscriberKind.PARTNER else "example.net"
    fields.setdefault("email", f"{id}@{domain}")
    fields.setdefault("name", id.title())
    return Subscriber(id=id, kind=kind, language=language, **fields)


def templates_with(folder: Path, template: str, text: str) -> Path:
    """A copy of templates/ in `folder` with `template` (a path inside it) holding `text`."""
    templates = folder / "templates"
    shutil.copytree(REPO_ROOT / "templates", templates)
    path = templates / template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return templates


def wait_until(
    condition: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll until condition() is truthy; fail with a message naming what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)
