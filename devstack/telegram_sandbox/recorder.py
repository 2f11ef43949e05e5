"""The record on disk of what the bots did, one JSON Lines file per chat."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.telegram_sandbox.wire import dumps


class Recorder:
    """Appends what the bots did to <directory>/<chat_id>.jsonl, one JSON object a line."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def append(self, chat_id: int, event: str, **fields: Any) -> None:
        if self.directory is None:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        record = {"recorded_at": now, "event": event, "chat_id": chat_id, **fields}
        with (self.directory / f"{chat_id}.jsonl").open("a", encoding="utf-8") as file:
            file.write(dumps(record) + "\n")
