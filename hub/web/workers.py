"""The consumer group as this worker sees it: every worker and the partitions it holds."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from hub.services import KeyOwners, OwnerUnknown
from hub.web.auth import BearerAuth, Principal, Role
from hub.web.routing import unavailable


def create_worker_routes(owners: KeyOwners, auth: BearerAuth) -> APIRouter:
    router = APIRouter()
    as_officer = Depends(auth.requires(Role.OFFICER))

    @router.get("/api/v1/workers", responses={401: {}, 403: {}, 503: {}})
    async def workers(_officer: Annotated[Principal, as_officer]) -> dict[str, Any]:
        """Every worker of the group (its base URL) and the partitions it holds; `me` is the one
        that answered. Every worker forwards requests about a key to the one holding it."""
        try:
            members = owners.members()
        except OwnerUnknown as exc:
            raise unavailable("the workers have not shared out the partitions yet") from exc
        return {"me": owners.me, "workers": members}

    return router
