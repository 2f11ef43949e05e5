"""GET /metrics: the worker's metrics (hub.metrics) in Prometheus's text format."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import SecretStr

from hub import metrics


def create_metrics_routes(token: SecretStr | None) -> APIRouter:
    """The scrape endpoint; with `token` (HUB_METRICS__TOKEN), a scrape without it as a bearer
    token gets 401. Not in the OpenAPI document: it is for Prometheus, not API clients."""
    router = APIRouter()
    expected = token.get_secret_value().encode() if token is not None else None

    @router.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        if expected is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), expected
            ):
                return Response(
                    "a bearer token is needed\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                    media_type="text/plain",
                )
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    return router
