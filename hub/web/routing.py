"""One answer from any worker: a request about a key goes to the worker that holds it, and a list
spanning every partition gathers each worker's part.

faust's own `@app.table_route` is not mounted when FastAPI is served through `serve_asgi`, so this
does the same in FastAPI: the owner comes from the group's assignment (hub.services.KeyOwners);
another worker's request is forwarded there with httpx, headers (the bearer token, a reader's
cookie) passed through. A forwarded request carries ROUTED_BY, and a worker that receives one
answers it itself (faust's SameNode) or, if it no longer holds the key (the group has just moved
it), answers 503 rather than forward again: no request goes round in circles. No known owner, or
an owner that does not answer, is 503 with Retry-After (faust's ServiceUnavailable).
"""

# No `from __future__ import annotations` here: FastAPI must see real annotations.

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import Response

from hub.services import Keyed, KeyOwners, OwnerUnknown

ROUTED_BY = "x-hub-routed-by"  # set on a forwarded request: the worker that forwarded it
PART_ONLY = "x-hub-part-only"  # set on a gathering request: answer with this worker's part only
# Never passed on: they describe one connection, not the request or its answer.
_HOP_BY_HOP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    }
)


class Forwarded(Exception):
    """The owner's answer, raised from a dependency so the route's body never runs here."""

    def __init__(self, response: Response) -> None:
        self.response = response


def unavailable(detail: str) -> HTTPException:
    return HTTPException(503, detail=detail, headers={"Retry-After": "1"})


class KeyRouter:
    """Forwards requests to the owner of their key; gathers the parts of whole-hub lists."""

    def __init__(
        self,
        owners: KeyOwners,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,  # tests: workers in one process
    ) -> None:
        self.owners = owners
        self.timeout = timeout
        self.transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        # Made on first use, inside the server's event loop.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, transport=self.transport)
        return self._client

    def holds(self, kind: Keyed, key: str) -> bool:
        """Whether this worker holds the key; 503 when no worker is known to."""
        return self._owner(kind, key) is None

    def _owner(self, kind: Keyed, key: str) -> str | None:
        try:
            return self.owners.owner(kind, key)
        except OwnerUnknown as exc:
            raise unavailable(f"no worker holds this {kind} yet; try again") from exc

    def owner(self, request: Request, kind: Keyed, key: str) -> str | None:
        """The owner's base URL to forward the request to, or None to answer here."""
        owner = self._owner(kind, key)
        if owner is not None and request.headers.get(ROUTED_BY):
            # Forwarded here, and the group has moved the key on since: do not forward again.
            raise unavailable(f"this {kind} is moving to another worker; try again")
        return owner

    def by_path(self, kind: Keyed, parameter: str) -> Callable[[Request], Awaitable[None]]:
        """A route dependency: raises Forwarded with the owner's answer unless this worker holds
        the key in the path parameter `parameter`."""

        async def dependency(request: Request) -> None:
            key = str(request.path_params[parameter])
            owner = self.owner(request, kind, key)
            if owner is not None:
                raise Forwarded(await self.forward(request, owner))

        return dependency

    @staticmethod
    def _headers(request: Request, **extra: str) -> dict[str, str]:
        kept = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        return {**kept, **extra}

    async def forward(self, request: Request, owner: str) -> Response:
        """The owner's answer to this request, as it gave it."""
        url = owner + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            answer = await self.client.request(
                request.method,
                url,
                headers=self._headers(request, **{ROUTED_BY: self.owners.me}),
                content=await request.body(),
            )
        except httpx.HTTPError as exc:
            raise unavailable("the worker that holds this does not answer; try again") from exc
        response = Response(answer.content, status_code=answer.status_code)
        for name, value in answer.headers.multi_items():  # each Set-Cookie on its own
            if name.lower() not in _HOP_BY_HOP:
                response.headers.append(name, value)
        return response

    @staticmethod
    def is_part(request: Request) -> bool:
        """Whether this request only wants this worker's part of a whole-hub list."""
        return bool(request.headers.get(PART_ONLY))

    async def gather(self, request: Request) -> list[Any]:
        """The JSON answers of every other worker to this request, each for its own part.

        A list with a part missing would be a wrong answer: any worker that cannot answer
        makes it a 503.
        """
        if self.is_part(request):
            return []
        try:
            others = [url for url in self.owners.members() if url != self.owners.me]
        except OwnerUnknown as exc:
            raise unavailable("the workers have not shared out the partitions yet") from exc
        headers = self._headers(request, **{PART_ONLY: "1"})
        query = f"?{request.url.query}" if request.url.query else ""

        async def part(url: str) -> Any:
            answer = await self.client.get(url + request.url.path + query, headers=headers)
            answer.raise_for_status()
            return answer.json()

        try:
            return list(await asyncio.gather(*(part(url) for url in others)))
        except httpx.HTTPError as exc:
            raise unavailable("a worker did not give its part; try again") from exc
