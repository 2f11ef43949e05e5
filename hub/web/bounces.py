"""POST /api/v1/bounces: asynchronous bounces from a mail relay, as a DSN or as JSON."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hub.services import BounceWriter
from hub.subscribers.bounces import Bounce, bounce_from_json, parse_dsn
from hub.web.auth import BearerAuth, Principal, Role

MAX_BOUNCE_BYTES = 1024 * 1024  # a DSN quotes at most the headers (or the start) of the message
DSN_TYPES = frozenset({"message/rfc822", "multipart/report"})


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": "bounce refused", "problem": message}, status_code=status)


def read_bounces(content_type: str, body: bytes) -> list[Bounce]:
    """The bounces in a request body; ValueError naming what is wrong."""
    if content_type in DSN_TYPES:
        return parse_dsn(body)
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValueError("no bounce in the body")
    found, problems = [], []
    for index, item in enumerate(items):
        try:
            found.append(bounce_from_json(item))
        except ValueError as exc:
            problems.append(f"[{index}] {exc}" if isinstance(data, list) else str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return found


def create_bounce_routes(writer: BounceWriter, auth: BearerAuth) -> APIRouter:
    router = APIRouter()
    as_officer = Depends(auth.requires(Role.OFFICER))

    @router.post(
        "/api/v1/bounces",
        status_code=202,
        responses={400: {}, 401: {}, 403: {}, 413: {}, 415: {}, 422: {}},
    )
    async def report_bounces(
        request: Request, _officer: Annotated[Principal, as_officer]
    ) -> JSONResponse:
        """A delivery status notification (`Content-Type: message/rfc822` or `multipart/report`,
        RFC 3464) or a relay's JSON (`{"recipient", "status", "action", "diagnostic"}`, or a list
        of them). Each hard bounce counts against its address; after HUB_BOUNCES__HARD_LIMIT the
        address's email channel is paused. 202 with how many bounces were read."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in DSN_TYPES and content_type != "application/json":
            return _problem(
                415,
                f"content type {content_type or 'missing'} is not one of application/json,"
                " message/rfc822, multipart/report",
            )
        body = await request.body()
        if len(body) > MAX_BOUNCE_BYTES:
            return _problem(413, f"the body is over {MAX_BOUNCE_BYTES} bytes")
        if content_type == "multipart/report":  # the parameters belong to the message itself
            body = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + body
        try:
            bounces = read_bounces(content_type, body)
        except ValueError as exc:
            status = 400 if content_type == "application/json" and "not JSON" in str(exc) else 422
            return _problem(status, str(exc))
        await writer.write([bounce.record() for bounce in bounces])
        hard = sum(1 for b in bounces if b.hard)
        return JSONResponse({"read": len(bounces), "hard": hard}, status_code=202)

    return router
