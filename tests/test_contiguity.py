"""The agents' own check that no offset of a partition is skipped, its reads from Kafka through a
broker outage, and the kill points. No Kafka."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from hub.delivery.faults import KillPoints, parse
from hub.runtime.agents import guard
from hub.runtime.contiguity import Contiguity, baseline, never_committed, repair_pending

TP = ("hub.deliveries.email.v1", 1)


def test_baseline_is_the_lower_of_the_commit_and_an_unfinished_repair() -> None:
    assert baseline(78, None) == 78
    assert baseline(87, 85) == 85  # died repairing 85-86 after faust committed past them
    assert baseline(None, 12) == 12
    assert baseline(40, None) == 40
    assert baseline(None, None) is None


def test_without_a_commit_work_starts_at_the_log_start() -> None:
    # The group reads from the earliest offset: a skip before faust's first commit is a gap too.
    assert baseline(None, None, 0) == 0
    assert baseline(None, None, 40) == 40  # older records deleted or compacted away
    assert baseline(-1, None, 7) == 7
    assert baseline(78, None, 0) == 78  # a commit wins over the log start
    assert baseline(None, 12, 30) == 12


def test_partitions_never_committed_are_rewound_but_not_changelogs() -> None:
    events = TopicPartition("hub.events.announcement.published.v1", 0)
    deliveries = TopicPartition("hub.deliveries.email.v1", 1)
    outcomes = TopicPartition("hub.outcomes.v1", 2)
    changelog = TopicPartition("hub-delivery-status-changelog", 0)
    committed = {events: None, deliveries: 0, outcomes: 171, changelog: None}
    assert never_committed(committed, {"hub-delivery-status-changelog"}) == [events, deliveries]
    assert never_committed({outcomes: 1}, set()) == []


def test_a_compacted_gap_is_read_up_to_the_offset_handed_over_not_awaited() -> None:
    gap = range(56, 108)
    assert repair_pending(56, gap)
    # Compaction left only 90 and 101 of the gap: after fetching 101 the reader is at 102...
    assert repair_pending(102, gap)
    # ...and once the fetch reaches the record faust handed over, the repair is done, whatever
    # offsets of the gap never existed.
    assert not repair_pending(108, gap)
    assert not repair_pending(109, gap)  # a fetch goes past the gap's end


def test_skipped_offsets_are_reported_once_and_read_again_ones_are_not() -> None:
    seen = Contiguity()
    seen.start(TP, 78)
    for offset in range(78, 85):
        assert not seen.missing(TP, offset)
        assert seen.handled(TP, offset) == offset + 1
    # faust never hands over 85 and 86: the agent sees 87 next.
    assert seen.missing(TP, 87) == range(85, 87)
    seen.handled(TP, 87)
    assert seen.expected[TP] == 88
    # After a seek back, older offsets come again: not a gap, and progress does not go back.
    assert not seen.missing(TP, 80)
    assert seen.handled(TP, 80) is None
    assert seen.expected[TP] == 88


def test_a_partition_whose_first_message_is_past_its_commit_has_a_gap() -> None:
    seen = Contiguity()
    seen.start(TP, baseline(78, None))
    assert seen.missing(TP, 80) == range(78, 80)


def test_without_any_baseline_the_first_message_starts_the_partition() -> None:
    seen = Contiguity()
    seen.start(TP, None)
    assert not seen.missing(TP, 5)
    seen.handled(TP, 5)
    assert seen.missing(TP, 7) == range(6, 7)


def test_revocation_forgets_every_partition() -> None:
    seen = Contiguity()
    seen.start(TP, 3)
    seen.forget()
    assert not seen.knows(TP)


def test_kill_points_parse_and_refuse_bad_specs() -> None:
    assert parse("deliver.sent:3, plan.delivery:100") == {"deliver.sent": 3, "plan.delivery": 100}
    assert parse("") == {}
    for bad in ("deliver.sent", "nowhere:3", "deliver.sent:0", "deliver.sent:x"):
        with pytest.raises(ValueError, match="HUB_FAULT_KILL_AT"):
            parse(bad)


def test_kill_points_count_hits_only_when_armed() -> None:
    points = KillPoints("deliver.done:1000")
    for _ in range(3):
        points.reached("deliver.done")
    assert points.hits["deliver.done"] == 3
    idle = KillPoints()
    idle.reached("deliver.done")
    assert not idle.hits


async def test_a_read_kafka_cannot_answer_is_tried_again_until_it_can(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(guard, "READ_AGAIN_AFTER", (0.0,))
    tries: list[int] = []

    async def committed() -> int:
        tries.append(len(tries))
        if len(tries) < 4:  # the broker restarting: no answer for a while
            raise KafkaConnectionError("Unable to bootstrap")
        return 42

    assert await guard.until_read(committed, ("hub.deliveries.email.v1", 3)) == 42
    assert len(tries) == 4


async def test_a_read_that_fails_otherwise_is_not_hidden() -> None:
    async def broken() -> int:
        raise ValueError("not a Kafka error")

    with pytest.raises(ValueError, match="not a Kafka error"):
        await guard.until_read(broken, ("t", 0))
