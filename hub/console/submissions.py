"""An officer's event from draft to published: approval (maker-checker) and scheduling. Pure.

A submission is the whole latest state of one event in the console, kept on the compacted
console topic under the event's id. Every change is a new state with one more history entry, so
the page of an event shows who did what, when and why; each change is also audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from hub.access.roles import Role
from hub.console.words import N_, Said
from hub.errors import HubError
from hub.model.records import Record


# Each state's value is also its name in the console catalog: pages show it translated.
class State(StrEnum):
    DRAFT = N_("draft")  # being written; only its author sees and changes it
    AWAITING_APPROVAL = N_("awaiting-approval")  # needs a second officer before it goes out
    DECLINED = N_("declined")  # sent back with a comment; the author may change and submit again
    SCHEDULED = N_("scheduled")  # approved or not needing approval; goes out at `publish_at`
    PUBLISHED = N_("published")  # on its type's topic: fanned out from there
    CANCELLED = N_("cancelled")


OPEN = (State.DRAFT, State.DECLINED)  # the author may still change the content
WAITING = (State.AWAITING_APPROVAL, State.SCHEDULED)  # may be cancelled


# What a submission's history records as its actions, and why it needs approval: kept in English
# on the console topic, said in the reader's language by the pages (RECORDED).
ACTIONS = (
    N_("drafted"),
    N_("submitted"),
    N_("approved"),
    N_("declined"),
    N_("cancelled"),
    N_("rescheduled"),
    N_("published"),
    N_("refused"),
)
TO_PARTNERS = N_("it goes to partners")
TO_ALL_STAFF = N_("it goes to all staff")
OVER_THRESHOLD = N_("its audience (%(size)s) is over %(threshold)s people")
NOT_VALID_NOW = N_("not valid now: %(problems)s")
RECORDED = (
    *(state.value for state in State),
    *ACTIONS,
    TO_PARTNERS,
    TO_ALL_STAFF,
    OVER_THRESHOLD,
    NOT_VALID_NOW,
)


class RefusedChange(HubError):
    """A change the submission's state or the person's roles do not allow; says why (`said`,
    for the page to say in the officer's language)."""

    def __init__(self, message: str, **values: Any) -> None:
        self.said = Said(message, values)
        super().__init__(str(self.said))


class HistoryEntry(Record):
    at: str
    by: str
    action: str
    comment: str = ""


class SubmissionRecord(Record):
    """One submission as kept on the console topic (key: the event id)."""

    record_name: ClassVar[str] = "submission"

    id: str
    event_type: str
    author: str
    author_name: str
    state: State
    document: dict[str, Any]  # the event as composed so far (valid once submitted)
    publish_at: str | None = None  # RFC 3339; None: as soon as it may go
    zone: str = "UTC"  # the IANA zone the author chose the time in, shown beside it
    approval_reasons: list[str] = Field(default_factory=list)
    created_at: str
    updated_at: str
    history: list[HistoryEntry] = Field(default_factory=list)
    published_offset: int | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    id: str
    event_type: str
    author: str
    author_name: str
    state: State
    document: dict[str, Any]
    created_at: str
    updated_at: str
    publish_at: str | None = None
    zone: str = "UTC"
    approval_reasons: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = field(default=())
    published_offset: int | None = None

    @classmethod
    def from_record(cls, value: object) -> Submission:
        r = SubmissionRecord.parse(value)
        return cls(
            id=r.id,
            event_type=r.event_type,
            author=r.author,
            author_name=r.author_name,
            state=r.state,
            document=r.document,
            created_at=r.created_at,
            updated_at=r.updated_at,
            publish_at=r.publish_at,
            zone=r.zone,
            approval_reasons=tuple(r.approval_reasons),
            history=tuple(r.history),
            published_offset=r.published_offset,
        )

    def as_record(self) -> dict[str, Any]:
        return SubmissionRecord(
            id=self.id,
            event_type=self.event_type,
            author=self.author,
            author_name=self.author_name,
            state=self.state,
            document=self.document,
            publish_at=self.publish_at,
            zone=self.zone,
            approval_reasons=list(self.approval_reasons),
            created_at=self.created_at,
            updated_at=self.updated_at,
            history=list(self.history),
            published_offset=self.published_offset,
        ).dump()

    def _next(
        self, state: State, by: str, action: str, now: datetime, comment: str = "", **changes: Any
    ) -> Submission:
        entry = HistoryEntry(at=now.isoformat(), by=by, action=action, comment=comment)
        return replace(
            self,
            state=state,
            updated_at=now.isoformat(),
            history=(*self.history, entry),
            **changes,
        )

    def due(self, now: datetime) -> bool:
        """Scheduled, and its time has come (or it has none)."""
        return self.state is State.SCHEDULED and (
            self.publish_at is None or datetime.fromisoformat(self.publish_at) <= now
        )


def new_draft(
    event_id: str,
    event_type: str,
    author: str,
    author_name: str,
    document: dict[str, Any],
    now: datetime,
) -> Submission:
    draft = Submission(
        event_id,
        event_type,
        author,
        author_name,
        State.DRAFT,
        document,
        now.isoformat(),
        now.isoformat(),
    )
    return draft._next(State.DRAFT, author, "drafted", now)


def save_draft(
    submission: Submission, by: str, document: dict[str, Any], now: datetime
) -> Submission:
    _author_only(submission, by, N_("only its author can change a draft"))
    if submission.state not in OPEN:
        raise RefusedChange(
            N_("an event that is %(state)s can no longer be changed"), state=submission.state
        )
    return replace(submission, document=document, updated_at=now.isoformat())


def submit(
    submission: Submission,
    by: str,
    document: dict[str, Any],
    reasons: list[str],
    publish_at: datetime | None,
    zone: str,
    now: datetime,
) -> Submission:
    """Submitted by its author: awaiting approval if `reasons` say it needs one, else scheduled
    (for `publish_at`, or at once)."""
    _author_only(submission, by, N_("only its author can submit a draft"))
    if submission.state not in OPEN:
        raise RefusedChange(
            N_("an event that is %(state)s cannot be submitted again"), state=submission.state
        )
    check_zone(zone)
    when = _future(publish_at, now)
    state = State.AWAITING_APPROVAL if reasons else State.SCHEDULED
    return submission._next(
        state,
        by,
        "submitted",
        now,
        document=document,
        publish_at=when,
        zone=zone,
        approval_reasons=tuple(reasons),
    )


def approve(
    submission: Submission, by: str, roles: frozenset[Role], comment: str, now: datetime
) -> Submission:
    _checker(
        submission,
        by,
        roles,
        N_("only an officer can approve an event"),
        N_("you cannot approve an event you wrote: a second officer must"),
    )
    return submission._next(State.SCHEDULED, by, "approved", now, comment)


def decline(
    submission: Submission, by: str, roles: frozenset[Role], comment: str, now: datetime
) -> Submission:
    _checker(
        submission,
        by,
        roles,
        N_("only an officer can decline an event"),
        N_("you cannot decline an event you wrote: a second officer must"),
    )
    if not comment.strip():
        raise RefusedChange(N_("say why it is declined: the author reads the comment"))
    return submission._next(State.DECLINED, by, "declined", now, comment)


def cancel(submission: Submission, by: str, roles: frozenset[Role], now: datetime) -> Submission:
    if by != submission.author and Role.OFFICER not in roles:
        raise RefusedChange(N_("only its author or an officer can cancel an event"))
    if submission.state not in (*WAITING, State.DRAFT, State.DECLINED):
        raise RefusedChange(
            N_("an event that is %(state)s cannot be cancelled"), state=submission.state
        )
    return submission._next(State.CANCELLED, by, "cancelled", now)


def reschedule(
    submission: Submission,
    by: str,
    roles: frozenset[Role],
    publish_at: datetime | None,
    zone: str,
    now: datetime,
) -> Submission:
    if by != submission.author and Role.OFFICER not in roles:
        raise RefusedChange(N_("only its author or an officer can reschedule an event"))
    if submission.state not in WAITING:
        raise RefusedChange(
            N_("an event that is %(state)s cannot be rescheduled"), state=submission.state
        )
    check_zone(zone)
    when = _future(publish_at, now)
    return submission._next(submission.state, by, "rescheduled", now, publish_at=when, zone=zone)


def published(
    submission: Submission, by: str, document: dict[str, Any], offset: int, now: datetime
) -> Submission:
    return submission._next(
        State.PUBLISHED, by, "published", now, document=document, published_offset=offset
    )


def refused(submission: Submission, by: str, problems: str, now: datetime) -> Submission:
    """Sent back to its author: it could not be published as it is (a schema changed since)."""
    comment = str(Said(NOT_VALID_NOW, {"problems": problems}))
    return submission._next(State.DECLINED, by, "refused", now, comment)


# Whole sentences per case rather than a verb put into one: each language words them its way.
def _author_only(submission: Submission, by: str, refusal: str) -> None:
    if by != submission.author:
        raise RefusedChange(refusal)


def _checker(
    submission: Submission, by: str, roles: frozenset[Role], not_officer: str, own_event: str
) -> None:
    if Role.OFFICER not in roles:
        raise RefusedChange(not_officer)
    if by == submission.author:
        raise RefusedChange(own_event)
    if submission.state is not State.AWAITING_APPROVAL:
        raise RefusedChange(
            N_("this event is %(state)s, not awaiting approval"), state=submission.state
        )


def _future(publish_at: datetime | None, now: datetime) -> str | None:
    if publish_at is None:
        return None
    if publish_at.tzinfo is None:
        raise RefusedChange(N_("a publication time needs its time zone"))
    if publish_at <= now:
        raise RefusedChange(N_("the publication time has passed: choose a later one or none"))
    return publish_at.isoformat()


def check_zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RefusedChange(
            N_("unknown time zone “%(zone)s”: use an IANA name like Europe/Paris"), zone=zone
        ) from None


def approval_reasons(document: dict[str, Any], audience_size: int, threshold: int) -> list[str]:
    """Why an event needs a second officer's approval (none: it does not)."""
    reasons = []
    classification = document.get("classification")
    if classification in ("public", "partners"):
        reasons.append(TO_PARTNERS)
    audience = document.get("audience") or {}
    targeted = any(audience.get(k) for k in ("departments", "regions", "countries", "offices"))
    if classification == "staff" and not targeted:
        reasons.append(TO_ALL_STAFF)
    if audience_size > threshold:
        said = Said(OVER_THRESHOLD, {"size": audience_size, "threshold": threshold})
        reasons.append(str(said))
    return reasons


class SubmissionIndex:
    """Every submission, as the console topic has them."""

    def __init__(self) -> None:
        self._by_id: dict[str, Submission] = {}
        self.ready = False

    def apply(self, key: str, value: object) -> None:
        if value is None:
            self._by_id.pop(key, None)
        else:
            self._by_id[key] = Submission.from_record(value)

    def get(self, submission_id: str) -> Submission | None:
        return self._by_id.get(submission_id)

    def all(self) -> list[Submission]:
        return sorted(self._by_id.values(), key=lambda s: s.updated_at, reverse=True)

    def due(self, now: datetime) -> list[Submission]:
        return [s for s in self._by_id.values() if s.due(now)]
