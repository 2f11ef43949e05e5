"""Faults injected through the control API: Telegram's errors, 429s, migrations, timeouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.telegram_sandbox.errors import (
    ApiError,
    ControlError,
    GatewayError,
    too_many_requests,
)
from devstack.telegram_sandbox.params import chat_key
from devstack.telegram_sandbox.wire import JSON

_FIXED_FAULTS: dict[str, tuple[int, str]] = {
    "bot_blocked": (403, "Forbidden: bot was blocked by the user"),
    "user_deactivated": (403, "Forbidden: user is deactivated"),
    "bot_kicked": (403, "Forbidden: bot was kicked from the group chat"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "internal_error": (500, "Internal Server Error"),
}
FAULT_KINDS = (*_FIXED_FAULTS, "too_many_requests", "chat_migrated", "bad_gateway", "timeout")


@dataclass
class Fault:
    """The next `count` requests matching method and chat fail as `kind` says, once `after`
    matching requests have gone through untouched (to fail the second part of a message)."""

    kind: str
    count: int = 1
    after: int = 0
    method: str | None = None
    chat_id: int | str | None = None
    retry_after: int = 5
    migrate_to_chat_id: int | None = None
    delay: float = 10.0  # timeout: how long the request is held
    process: bool = True  # timeout: whether the held request is then carried out

    @classmethod
    def from_json(cls, data: JSON) -> Fault:
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ControlError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        try:
            fault = cls(
                kind=kind,
                count=int(data.get("count", 1)),
                after=int(data.get("after", 0)),
                method=str(data["method"]).lower() if data.get("method") else None,
                chat_id=chat_key(data.get("chat_id")),
                retry_after=max(1, int(data.get("retry_after", 5))),
                migrate_to_chat_id=_optional_int(data.get("migrate_to_chat_id")),
                delay=float(data.get("delay", 10.0)),
                process=bool(data.get("process", True)),
            )
        except (TypeError, ValueError) as error:
            raise ControlError(f"invalid fault: {error}") from None
        if fault.count < 1:
            raise ControlError("count must be at least 1")
        if fault.after < 0:
            raise ControlError("after must not be negative")
        return fault

    def matches(self, method: str, chat: int | str | None) -> bool:
        return (
            self.count > 0
            and self.method in (None, method.lower())
            and (self.chat_id is None or self.chat_id == chat)
        )

    def error(self, chat: int | str | None) -> ApiError:
        if self.kind in _FIXED_FAULTS:
            return ApiError(*_FIXED_FAULTS[self.kind])
        if self.kind == "too_many_requests":
            return too_many_requests(self.retry_after)
        if self.kind == "chat_migrated":
            return ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migration_target(chat)},
            )
        return GatewayError(502, "Bad Gateway")

    def migration_target(self, chat: int | str | None) -> int:
        if self.migrate_to_chat_id is not None:
            return self.migrate_to_chat_id
        return int(f"-100{abs(chat)}") if isinstance(chat, int) else -1001000000001


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
