"""Synthetic subscribers for the benchmarks: staff in three languages following all public news."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "fr", "es")


def person(i: int, *, telegram_chat: int | None = None, tag: str = "b") -> dict[str, Any]:
    """Subscriber number i; with a chat, subscribed by email and Telegram."""
    entry: dict[str, Any] = {
        "id": f"{tag}{i:07d}",
        "kind": "staff",
        "name": f"Bench Person {i}",
        "email": f"{tag}{i:07d}@staff.hub.example.org",
        "language": LANGUAGES[i % len(LANGUAGES)],
        "department": "Department of International Cooperation and Partnerships",
        "region": "europe",
        "country": "CH",
        "office": "Geneva",
    }
    if telegram_chat is not None:
        entry["telegram_chat_id"] = telegram_chat
        entry["subscriptions"] = [{"channels": ["email", "telegram"]}]
    return entry


def write(path: Path, people: list[dict[str, Any]]) -> Path:
    """A file `hub subscribers load` reads (JSON, which its YAML reader takes too)."""
    path.write_text(json.dumps({"subscribers": people}), encoding="utf-8")
    return path
