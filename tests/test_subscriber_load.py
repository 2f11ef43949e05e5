"""`hub subscribers load` without Kafka: JSON read as JSON, every problem named, commands built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.subscribers import records
from hub.cli.subscribers import _commands
from hub.errors import ConfigurationError
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import load_subscribers, subscriber_from_dict
from hub.subscribers.selfservice import command


def test_a_json_file_loads_with_every_record_as_written(tmp_path: Path) -> None:
    people = list(records(50))
    path = tmp_path / "people.json"
    path.write_text(json.dumps({"subscribers": people}), encoding="utf-8")
    assert [s.to_dict() for s in load_subscribers(path)] == [
        subscriber_from_dict(p).to_dict() for p in people
    ]


def test_a_broken_json_file_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text('{"subscribers": [\n  {"id": "a",}\n]}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="line 2, column 14"):
        load_subscribers(path)


def test_every_bad_entry_is_named_by_its_json_path_and_nothing_loads(tmp_path: Path) -> None:
    people = list(records(5))
    people[1]["email"] = "not an address"
    people[3]["kind"] = "alien"
    path = tmp_path / "people.json"
    path.write_text(json.dumps({"subscribers": people}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        load_subscribers(path)
    message = str(refused.value)
    assert "nothing loaded" in message
    assert "$.subscribers[1].email: not a valid email address" in message
    assert "$.subscribers[3].kind: 'alien' is not one of" in message


def test_the_bulk_commands_are_those_written_one_by_one() -> None:
    subscribers = [subscriber_from_dict(p) for p in records(30)]
    assert _commands(subscribers, Cause.IMPORTED, "officer") == [
        (s.id.encode(), command(s, Cause.IMPORTED, "officer")) for s in subscribers
    ]
