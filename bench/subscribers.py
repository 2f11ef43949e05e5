"""Synthetic subscribers for benchmarks and tests: N records with varied facets, hub-independent.

`records(n)` yields subscriber records in the JSON shape of the subscribers topic (what
`hub subscribers load` reads), deterministic for a seed. From the shell:

    python bench/subscribers.py 100000 > var/subscribers-100k.json
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from typing import Any

REGIONS = ["west-africa", "sahel", "north-africa", "europe", "latin-america", "asia", "mena"]
COUNTRIES = ["SN", "CH", "CR", "TN", "GH", "CI", "ML", "BF", "NE", "JO", "MX", "EG"]
OFFICES = [f"office-{i}" for i in range(590)]  # the department writes to 590 offices
DEPARTMENTS = ["cooperation", "research", "communications", "operations", "finance"]
LANGUAGES = ["en", "fr", "es", "fr-CH", "es-CR", "fr-TN"]
TYPES = ["announcement.published", "research.released", "strategy.updated"]
THEMES = ["labour-migration", "partnerships", "climate-mobility", "displacement", "health", "data"]
DOMAINS = ["ngo.org", "field.ngo.org", "gov.sn", "univ.edu", "example.com", "gmail.com"]
GROUPS = ["donor-relations", "migration-data", "climate", "leadership"]
STAMP = "2026-11-01T00:00:00+00:00"


def _subscription(rng: random.Random, telegram: bool) -> dict[str, Any]:
    def some(values: list[str], chance: float) -> list[str]:
        return sorted(rng.sample(values, rng.randint(1, 2))) if rng.random() < chance else []

    channels = ["email", "telegram"] if telegram and rng.random() < 0.5 else ["email"]
    return {
        "event_types": some(TYPES, 0.3),
        "themes": some(THEMES, 0.3),
        "regions": some(REGIONS, 0.2),
        "countries": some(COUNTRIES, 0.1),
        "channels": channels,
        "mode": "digest" if rng.random() < 0.1 else "instant",
    }


def record(i: int, rng: random.Random) -> dict[str, Any]:
    """One subscriber record; about a third staff, the rest partners, media and public."""
    kind = rng.choices(["staff", "partner", "media", "public"], [35, 25, 5, 35])[0]
    staff = kind == "staff"
    telegram = rng.random() < 0.2
    domain = "staff.hub.example.org" if staff else rng.choice(DOMAINS)
    status = rng.choices(["active", "pending", "unsubscribed"], [90, 5, 5])[0]
    return {
        "v": 1,
        "id": f"{'staff' if staff else 'ext'}-{i:07d}",
        "kind": kind,
        "name": f"Person {i}",
        "language": rng.choice(LANGUAGES),
        "email": f"person{i}@{domain}",
        "telegram_chat_id": 10_000_000 + i if telegram else None,
        "organisation": None if staff else f"Organisation {i % 997}",
        "department": rng.choice(DEPARTMENTS) if staff else None,
        "region": rng.choice(REGIONS) if staff else None,
        "country": rng.choice(COUNTRIES) if staff else None,
        "office": rng.choice(OFFICES) if staff else None,
        "groups": sorted(rng.sample(GROUPS, rng.randint(0, 2))) if staff else [],
        "status": "active" if staff else status,
        "subscriptions": [_subscription(rng, telegram) for _ in range(rng.choice([1, 1, 1, 2]))],
        "consents": [{"at": STAMP, "method": "form", "text": "I agree to receive the news."}],
        "updated_at": STAMP,
    }


def records(n: int, seed: int = 12) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield record(i, rng)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    json.dump({"subscribers": list(records(n))}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
