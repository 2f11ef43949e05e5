"""Publishing a submission from the console the moment it is due: on submit and on a decision."""

from __future__ import annotations

from hub.console.publishing import publish_submission
from hub.console.submissions import Submission
from hub.services import utc_now
from hub.web.console.frame import ConsoleServices


async def publish_if_due(s: ConsoleServices, submission: Submission, by: str) -> Submission:
    # A later publication time is left to the console scheduler, which publishes it when due.
    now = utc_now()
    if not submission.due(now):
        return submission
    return await publish_submission(
        submission,
        by,
        now,
        catalog=s.catalog,
        publisher=s.publisher,
        trail=s.trail,
        store=s.store,
        settings=s.settings,
    )
