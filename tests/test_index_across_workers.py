"""Two workers in one group: requests for one address through either worker make one record and
one email, because the subscriber agent (one consumer for all) decides, not the web tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.devstack.mailcatcher import MailCatcher
from tests.conftest import read_outbox
from tests.forms import submit
from tests.helpers import wait_until
from tests.hubprocess import HubProcess, hub_with_mail
from tests.kafka_probe import read_records

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(400)]
REQUESTS = ("subscriber.subscribed", "subscriber.duplicate-ignored")


def test_one_address_through_two_workers_makes_one_record_and_one_email(
    kafka_broker: str, tmp_path: Path
) -> None:
    address = "two-workers@inbox.example.org"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with hub_with_mail(tmp_path / "a", []) as (first, catcher):
        second = HubProcess(
            tmp_path / "b",
            catcher.controller.port,
            HUB_APP_ID=first.env["HUB_APP_ID"],
            HUB_KAFKA__TOPIC_PREFIX=first.prefix,
            HUB_SECRET_KEY=first.env["HUB_SECRET_KEY"],
        )
        second.start()
        try:
            answers = []
            for worker in (first, second, first, second):
                url = f"{worker.base_url}/subscribe"
                answers.append(submit(url, url, {"email": address}))
            assert {a.status_code for a in answers} == {202}
            assert len({a.text for a in answers}) == 1

            audit = f"{first.prefix}.audit.v1"
            # Each worker lets its first request for the address through to Kafka and answers
            # the next at once: two requests reach the subscriber agent.
            wait_until(lambda: len(_requests(audit)) >= 2, what="both workers' requests applied")
            first_request, second_request = _requests(audit)[:2]
            assert "mail" not in first_request["detail"]  # type: ignore[operator]
            # The second request sends nothing: the same record with its email withheld, or a
            # second record refused.
            assert second_request["action"] == "subscriber.duplicate-ignored" or str(
                second_request["detail"]["mail"]  # type: ignore[index]
            ).startswith("withheld")
            wait_until(lambda: _mail_to(catcher, address), what="the confirmation")
            assert len(_mail_to(catcher, address)) == 1
            counts = [
                len(w.get("/api/v1/subscribers", q=address).json()["items"])
                for w in (
                    first,
                    second,
                )
            ]
            assert max(counts) == 1  # the worker that applies the changes holds one record
        finally:
            second.stop()


def _requests(topic: str) -> list[dict[str, object]]:
    return [r for r in read_records(topic) if r["action"] in REQUESTS]


def _mail_to(catcher: MailCatcher, address: str) -> list[object]:
    return [m for m in read_outbox(catcher.outbox) if m["To"].addresses[0].addr_spec == address]
