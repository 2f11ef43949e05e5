"""Routing requests to the worker holding their key, and gathering lists, over in-process workers
(hub.web.routing): no Kafka, two FastAPI apps that reach each other through one ASGI transport."""

# No `from __future__ import annotations` here: FastAPI must see the routes' real annotations.

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from hub.services import Keyed, OwnerUnknown
from hub.web.routing import PART_ONLY, ROUTED_BY, Forwarded, KeyRouter

A, B = "http://a.test", "http://b.test"


@dataclass
class Owners:
    """KeyOwners as worker `me` sees a group where `held` maps keys to their worker."""

    me: str
    held: dict[str, str]
    workers: list[str] = field(default_factory=lambda: [A, B])

    def owner(self, kind: Keyed, key: str) -> str | None:
        if key not in self.held:
            raise OwnerUnknown(key)
        return None if self.held[key] == self.me else self.held[key]

    def members(self) -> dict[str, list[int]]:
        return {url: [n] for n, url in enumerate(self.workers)}


class ByHost(httpx.AsyncBaseTransport):
    """One transport for every worker: a request goes to the app of its host."""

    def __init__(self) -> None:
        self.apps: MutableMapping[str, httpx.ASGITransport] = {}
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return await self.apps[f"http://{request.url.host}"].handle_async_request(request)


def worker(me: str, held: dict[str, str], transport: ByHost) -> FastAPI:
    """A worker whose status answers name itself, and whose list gives its own part."""
    keys = KeyRouter(Owners(me, held), transport=transport)
    api = FastAPI()

    @api.exception_handler(Forwarded)
    async def forwarded(_request: Request, exc: Forwarded) -> Response:
        return exc.response

    held_here: Callable[[Request], Awaitable[None]] = keys.by_path(Keyed.EVENT, "event_id")

    @api.get("/status/{event_id}")
    async def status(
        event_id: str, request: Request, _held: Annotated[None, Depends(held_here)]
    ) -> dict[str, Any]:
        return {"event": event_id, "by": me, "token": request.headers.get("authorization")}

    @api.get("/list")
    async def listing(request: Request) -> list[str]:
        parts = await keys.gather(request)
        return sorted([me, *(entry for part in parts for entry in part)])

    transport.apps[me] = httpx.ASGITransport(app=api)
    return api


@pytest.fixture
async def group() -> AsyncIterator[tuple[httpx.AsyncClient, ByHost]]:
    transport = ByHost()
    held = {"on-a": A, "on-b": B}
    worker(A, held, transport)
    worker(B, held, transport)
    async with httpx.AsyncClient(transport=transport) as client:
        yield client, transport


async def test_a_request_is_answered_by_the_worker_holding_its_key(
    group: tuple[httpx.AsyncClient, ByHost],
) -> None:
    client, transport = group
    answer = await client.get(f"{A}/status/on-b", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 200
    assert answer.json() == {"event": "on-b", "by": B, "token": "Bearer t"}
    forwarded = transport.seen[-1]
    assert forwarded.url.host == "b.test" and forwarded.headers[ROUTED_BY] == A
    local = await client.get(f"{A}/status/on-a")
    assert local.json()["by"] == A and len(transport.seen) == 3  # not forwarded


async def test_a_forwarded_request_is_not_forwarded_again(
    group: tuple[httpx.AsyncClient, ByHost],
) -> None:
    client, transport = group
    # B forwarded it to A, but A sees the key on B: the group moved it in between.
    answer = await client.get(f"{A}/status/on-b", headers={ROUTED_BY: B})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert len(transport.seen) == 1


async def test_a_key_no_worker_holds_yet_is_503(group: tuple[httpx.AsyncClient, ByHost]) -> None:
    client, _transport = group
    answer = await client.get(f"{A}/status/nowhere")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"


async def test_a_list_gathers_every_workers_part_once(
    group: tuple[httpx.AsyncClient, ByHost],
) -> None:
    client, transport = group
    assert (await client.get(f"{A}/list")).json() == [A, B]
    assert (await client.get(f"{B}/list")).json() == [A, B]
    asked = [r for r in transport.seen if r.headers.get(PART_ONLY)]
    assert [r.url.host for r in asked] == ["b.test", "a.test"]


async def test_a_list_with_a_worker_missing_is_503(
    group: tuple[httpx.AsyncClient, ByHost],
) -> None:
    client, transport = group
    del transport.apps[B]
    transport.apps[B] = httpx.ASGITransport(app=FastAPI())  # answers 404 to everything
    answer = await client.get(f"{A}/list")
    assert answer.status_code == 503
