"""The API's routes for events (publish, status, dry run) and for officers' work on subscribers."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.delivery.status import stuck, summarise
from hub.errors import InvalidEventError, Problem
from hub.intake.publishing import Accepted, accept
from hub.intake.schemas import SchemaCatalog
from hub.model import audit
from hub.model.events import Event
from hub.planning import audience
from hub.planning.dryrun import audience_counts, dry_run, search
from hub.planning.gaps import language_gaps, missing_languages
from hub.services import (
    AuditTrail,
    DirectoryReader,
    EventPublisher,
    Keyed,
    PartnerReader,
    PersonalData,
    Readiness,
    StatusReader,
    SubscriberCommands,
    utc_now,
)
from hub.settings import Settings
from hub.subscribers.selfservice import export
from hub.web.auth import BearerAuth, Principal, Role
from hub.web.routing import KeyRouter


class PublishedEvent(BaseModel):
    id: str
    type: str
    topic: str
    partition: int
    offset: int
    # the supported languages the event lacks: their readers get a fallback (the dry run and
    # /events/validate count them)
    languages_missing: list[str] = []


class ProblemDetail(BaseModel):
    path: str
    message: str


class RefusedEvent(BaseModel):
    error: str
    problems: list[ProblemDetail]


REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": RefusedEvent} for code in (400, 413, 415, 422)
}
# The body is read by the route itself (size-capped): OpenAPI is told it is a JSON object.
JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class Readied(BaseModel):
    ready: bool
    # each check by name: "ok", or what is wrong ({"partitions": "none assigned", ...})
    checks: dict[str, str]


async def readiness_checks(request: Request) -> dict[str, str]:
    """The checks of the Readiness the worker put in the app's state (hub.runtime.worker)."""
    readiness: Readiness | None = getattr(request.app.state, "readiness", None)
    if readiness is None:
        return {"readiness": "no checks set up in this process"}
    try:
        return await readiness.checks()
    except Exception as exc:  # a check that breaks is a failed check, never a 500
        return {"readiness": f"the checks failed: {type(exc).__name__}"}


def refusal(status: int, problems: list[Problem]) -> JSONResponse:
    body = {"error": "event refused", "problems": [p.as_dict() for p in problems]}
    return JSONResponse(body, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    """Read at most limit + 1 bytes, so an oversized body is refused without being buffered."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InvalidEventError(
            [Problem("$", f"event is {declared} bytes; the limit is {limit} bytes")], status=413
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidEventError(
                [Problem("$", f"event is over the limit of {limit} bytes")], status=413
            )
        chunks.append(chunk)
    return b"".join(chunks)


def create_event_routes(
    catalog: SchemaCatalog,
    publisher: EventPublisher,
    trail: AuditTrail,
    status: StatusReader,
    directory: DirectoryReader,
    partners: PartnerReader,
    settings: Settings,
    auth: BearerAuth,
    keys: KeyRouter,
) -> APIRouter:
    router = APIRouter()
    as_publisher = Depends(auth.requires(Role.PUBLISHER))
    as_reader_of_status = Depends(auth.requires(Role.PUBLISHER, Role.OFFICER))
    as_officer = Depends(auth.requires(Role.OFFICER))

    async def accept_request(request: Request) -> Accepted:
        """The JSON event in the body, validated; InvalidEventError names every problem."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/json":
            raise InvalidEventError(
                [Problem("$", f"content type must be application/json, not {content_type!r}")],
                status=415,
            )
        return accept(
            await _read_body(request, settings.limits.max_event_bytes),
            catalog,
            topic_prefix=settings.kafka.topic_prefix,
            max_bytes=settings.limits.max_event_bytes,
            max_depth=settings.limits.max_json_depth,
        )

    @router.get("/api/v1/health")
    async def health() -> dict[str, str]:
        """Alive: the worker's web server answers (says nothing of Kafka, SMTP or Telegram)."""
        return {"status": "ok"}

    @router.get("/api/v1/ready", response_model=Readied, responses={503: {"model": Readied}})
    async def ready(request: Request) -> JSONResponse:
        """Ready: 200 only when every check is ok (the broker answers, this worker holds
        partitions and its tables are recovered, the SMTP relay answers, Telegram accepts the
        bot's token when it is on); otherwise 503, each check named with its state."""
        checks = await readiness_checks(request)
        ready = bool(checks) and all(state == "ok" for state in checks.values())
        body = Readied(ready=ready, checks=checks).model_dump()
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.post(
        "/api/v1/events",
        status_code=202,
        responses={**REFUSALS, 401: {}, 403: {}},
        openapi_extra=JSON_BODY,
    )
    async def publish(
        request: Request, caller: Annotated[Principal, as_publisher]
    ) -> PublishedEvent:
        """Validate an event against its schema and write it to its type's topic."""
        accepted = await accept_request(request)
        placed = await publisher.publish(accepted, caller.name)
        entry = audit.record(
            caller.name,
            "event.published",
            accepted.document["id"],
            utc_now(),
            type=accepted.document["type"],
            classification=accepted.document["classification"],
            topic=accepted.topic,
            offset=placed.offset,
        )
        await trail.record(accepted.key, entry)
        return PublishedEvent(
            id=accepted.document["id"],
            type=accepted.document["type"],
            topic=accepted.topic,
            partition=placed.partition,
            offset=placed.offset,
            languages_missing=list(
                missing_languages(settings.spoken(), set(accepted.document["content"]))
            ),
        )

    # The worker holding the event's partition answers (after the caller is known, so a
    # refused caller is refused by whichever worker they asked).
    held_event = Depends(keys.by_path(Keyed.EVENT, "event_id"))

    @router.get("/api/v1/events/{event_id}/status", responses={401: {}, 403: {}, 404: {}, 503: {}})
    async def event_status(
        event_id: str,
        reader: Annotated[Principal, as_reader_of_status],
        _held_here: Annotated[None, held_event],
    ) -> dict[str, Any]:
        """Planned, sent, retrying and failed deliveries per channel and language, and why.

        Officers see any event's status; publishers only that of the events they published.
        """
        event_record, deliveries = status.event(event_id)
        known = event_record is not None or bool(deliveries)
        if not reader.has(Role.OFFICER) and (
            not known or status.publisher_of(event_id) != reader.name
        ):
            # The same answer as for an unknown event: others' event ids are not confirmed.
            raise HTTPException(404, detail=f"no status for event {event_id} that you published")
        if not known:
            raise HTTPException(404, detail=f"no status for event {event_id}")
        return summarise(event_id, event_record, deliveries)

    @router.get("/api/v1/deliveries/stuck", responses={401: {}, 403: {}, 503: {}})
    async def stuck_deliveries(
        request: Request,
        _officer: Annotated[Principal, as_officer],
        older_than: Annotated[float | None, Query(ge=0, description="seconds")] = None,
        channel: Annotated[str | None, Query(pattern="^(email|telegram)$")] = None,
    ) -> dict[str, Any]:
        """Deliveries planned or retrying with no outcome for longer than the threshold."""
        after = settings.stuck.after_seconds if older_than is None else older_than
        now, threshold = utc_now(), timedelta(seconds=after)
        found = stuck(status.deliveries(), now, threshold)
        # Each worker holds the partitions it was given: every other worker adds its own.
        others = [d for part in await keys.gather(request) for d in part["deliveries"]]
        if others:
            found = stuck([*found, *others], now, threshold)
        found = [s for s in found if channel is None or s["channel"] == channel]
        return {"older_than_seconds": after, "total": len(found), "deliveries": found}

    @router.post(
        "/api/v1/events/validate",
        responses={**REFUSALS, 401: {}, 403: {}},
        openapi_extra=JSON_BODY,
    )
    async def validate_event(
        request: Request, _publisher: Annotated[Principal, as_reader_of_status]
    ) -> dict[str, Any]:
        """Check an event as publishing would, without writing it: 422 naming every problem,
        or its id and type with the supported languages it lacks and how many recipients would
        read another language for each."""
        accepted = await accept_request(request)
        event = Event.from_document(accepted.document)
        spoken = settings.spoken()
        reached = audience.audience_of(event, directory, partners.registry())
        gaps = language_gaps(event, spoken, (s.language for s, _channels in reached))
        return {
            "valid": True,
            "id": event.id,
            "type": event.type,
            "recipients": len(reached),
            "languages": gaps.as_dict(),
        }

    @router.post(
        "/api/v1/events/dry-run",
        responses={**REFUSALS, 401: {}, 403: {}},
        openapi_extra=JSON_BODY,
    )
    async def dry_run_event(
        request: Request, _publisher: Annotated[Principal, as_reader_of_status]
    ) -> dict[str, Any]:
        """Who would receive this event, on which channel, in which language, and the supported
        languages it lacks with who would read another language for it; nothing is sent."""
        accepted = await accept_request(request)
        event = Event.from_document(accepted.document)
        registry, spoken = partners.registry(), settings.spoken()
        # The audience once: the dry run plans over it, the gaps count its languages.
        reached = [s for s, _channels in audience.audience_of(event, directory, registry)]
        answer = dry_run(event, reached, utc_now(), languages=spoken, partners=registry)
        gaps = language_gaps(event, spoken, (s.language for s in reached))
        return {**answer, "languages": gaps.as_dict()}

    return router


def create_subscriber_routes(
    directory: DirectoryReader,
    partners: PartnerReader,
    people: SubscriberCommands,
    personal: PersonalData,
    trail: AuditTrail,
    auth: BearerAuth,
) -> APIRouter:
    router = APIRouter()
    as_officer = Depends(auth.requires(Role.OFFICER))

    @router.get("/api/v1/subscribers", responses={401: {}, 403: {}})
    async def list_subscribers(
        _reader: Annotated[Principal, as_officer],
        q: Annotated[str, Query(max_length=200)] = "",
        kind: Annotated[str | None, Query()] = None,
        status: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Search subscribers by name, email, organisation, department or office."""
        found = search(directory, q, kind, status)
        registry = partners.registry()
        items = []
        for s in found[offset : offset + limit]:
            grant = registry.grant(s)
            request = registry.request_state(s)
            items.append(
                {
                    **export(s),
                    # What they count as now: partner only by the registry, never by the record.
                    "audience": audience.standing(s, registry).value,
                    "partner_organisation": grant.organisation.id if grant else None,
                    "partner_request": request.value if request else None,
                }
            )
        return {"total": len(found), "items": items}

    @router.get("/api/v1/audiences", responses={401: {}, 403: {}})
    async def audiences(_reader: Annotated[Principal, as_officer]) -> dict[str, Any]:
        """How many people each audience has."""
        return audience_counts(directory, partners.registry())

    @router.get("/api/v1/subscribers/{subscriber_id}/export", responses={401: {}, 403: {}, 404: {}})
    async def export_subscriber(
        subscriber_id: str, _officer: Annotated[Principal, as_officer]
    ) -> dict[str, Any]:
        """Everything held about a person (record, deliveries, dead letters, audit), for them."""
        subscriber = directory.get(subscriber_id)
        if subscriber is None:
            raise HTTPException(404, detail="no such subscriber")
        return await personal.export(subscriber)

    @router.delete("/api/v1/subscribers/{subscriber_id}", status_code=202)
    async def erase_subscriber(
        subscriber_id: str, officer: Annotated[Principal, as_officer]
    ) -> dict[str, str]:
        """Erase a person on their request: a tombstone on the subscribers topic."""
        if directory.get(subscriber_id) is None:
            raise HTTPException(404, detail="no such subscriber")
        await people.erase(subscriber_id)
        entry = audit.record(officer.name, "subscriber.erasure-requested", subscriber_id, utc_now())
        await trail.record(subscriber_id.encode(), entry)
        return {"id": subscriber_id, "status": "erasing"}

    @router.get("/api/v1/audit", responses={401: {}, 403: {}})
    async def audit_trail(
        _reader: Annotated[Principal, as_officer],
        subject: Annotated[str | None, Query(description="an event id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """The latest audit entries (who did what, when), newest last."""
        return await trail.entries(subject, limit)

    return router
