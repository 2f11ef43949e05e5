"""A request's parameters: JSON bodies keep their types, form values are strings."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from devstack.telegram_sandbox.errors import bad_request
from devstack.telegram_sandbox.wire import dumps


def chat_key(value: Any) -> int | str | None:
    """A chat_id as sent: an integer identifier, or a lower-cased @username."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text.lower() if text.startswith("@") else None


class Params:
    """A request's parameters. Nested objects (reply_markup, commands...) may be JSON text."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def string(self, name: str, *, missing: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        return value if isinstance(value, str) else dumps(value)

    def integer(self, name: str, *, missing: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str) -> float:
        try:
            return float(self.values.get(name) or 0)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def structure(self, name: str, *, what: str | None = None) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def chat(self) -> int | str:
        if self.values.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        key = chat_key(self.values["chat_id"])
        if key is None:
            raise bad_request("chat not found")
        return key
