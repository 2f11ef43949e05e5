"""A record of a deliveries topic read as its messages: one, or a planned batch."""

from __future__ import annotations

from hub.model.deliveries import messages_in
from hub.runtime.agents.channels import messages_of
from hub.runtime.agents.guard import Record, Taken

ONE = {"id": "d-1", "recipient": {"id": "s-1"}}
TWO = {"id": "d-2", "recipient": {"id": "s-2"}}


def taken(value: object) -> Taken:
    return Taken(
        Record(b"key", value, {"h": b"1"}, 41), ("hub.deliveries.email.v1", 2), None, print
    )


def test_a_record_holds_one_message_or_a_batch() -> None:
    assert messages_in(ONE) == [ONE]
    assert messages_in({"batch": [ONE, TWO]}) == [ONE, TWO]
    assert messages_in({"batch": []}) == []
    # Not a batch: read as one message (which the dispatcher dead-letters if it is not one).
    assert messages_in({"batch": "x"}) == [{"batch": "x"}]
    assert messages_in(None) == [None]


def test_a_batch_is_sent_as_its_messages_and_acknowledged_with_its_last() -> None:
    record = taken({"batch": [ONE, TWO, ONE]})
    messages = messages_of(record)
    assert [m.record.value for m in messages] == [ONE, TWO, ONE]
    # Keyed by recipient: one recipient's messages go one after another.
    assert [m.record.key for m in messages] == [b"s-1", b"s-2", b"s-1"]
    assert [m.last for m in messages] == [False, False, True]
    assert all(m.taken is record and m.record.offset == 41 for m in messages)
    assert all(m.record.headers == {"h": b"1"} for m in messages)


def test_a_single_message_keeps_its_record_and_an_empty_batch_is_one_bad_message() -> None:
    single = taken(ONE)
    [message] = messages_of(single)
    assert message.record is single.record and message.last
    empty = taken({"batch": []})
    [bad] = messages_of(empty)
    assert bad.record.value == {"batch": []} and bad.last
