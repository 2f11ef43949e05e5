"""Newsletter endpoints: preview, curation and send-now for editors; the archive for readers."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from hub.errors import BadRecord
from hub.model.newsletter_state import NewsletterState
from hub.newsletters.archive import atom_feed, edition_page
from hub.newsletters.config import Audience, Newsletter
from hub.newsletters.editions import may_open, render_edition
from hub.newsletters.state import next_items
from hub.planning.audience import ANYONE, OFFICER, Reader
from hub.rendering.environment import Renderer
from hub.services import DirectoryReader, Keyed, NewsletterStore, PartnerReader, utc_now
from hub.subscribers.tokens import InvalidTokenError, Purpose, Signer
from hub.web.auth import BearerAuth, Principal, Role
from hub.web.pages import SECURITY_HEADERS
from hub.web.routing import KeyRouter

REFUSALS = {
    Audience.PARTNERS: (
        "Partners only",
        "This newsletter is for our partner organisations: open it from the link in your email.",
    ),
    Audience.STAFF: (
        "Staff only",
        "This newsletter is for staff: open it from the link in your email.",
    ),
}


@dataclass(frozen=True, slots=True)
class ArchiveReaders:
    """Who may read an archive: a signed link names a person in the directory, whose standing
    the partner registry decides."""

    signer: Signer
    directory: DirectoryReader
    partners: PartnerReader


class Curation(BaseModel):
    pinned: list[str] | None = None
    excluded: list[str] | None = None
    order: list[str] | None = None
    intro: dict[str, str] = Field(default_factory=dict)


def create_newsletter_routes(
    store: NewsletterStore,
    readers: ArchiveReaders,
    renderer: Renderer,
    public_url: str,
    auth: BearerAuth,
    keys: KeyRouter,
) -> APIRouter:
    router = APIRouter()
    as_editor = Depends(auth.requires(Role.EDITOR))
    # A newsletter's state and editions are on the worker holding its name's partition.
    held_newsletter = Depends(keys.by_path(Keyed.NEWSLETTER, "name"))

    def newsletter(name: str) -> Newsletter:
        found = store.newsletters.get(name)
        if found is None:
            raise HTTPException(404, detail=f"no newsletter {name!r}")
        return found

    def state_of(name: str) -> NewsletterState:
        # An unreadable stored state is left as it is by the worker (hub.runtime.agents); here
        # it is an error naming the reason, never an empty newsletter.
        try:
            return store.state(name)
        except BadRecord as exc:
            raise HTTPException(500, detail=str(exc)) from exc

    @router.get("/api/v1/newsletters", responses={401: {}, 403: {}, 503: {}})
    async def newsletters(
        request: Request, _editor: Annotated[Principal, as_editor]
    ) -> list[dict[str, Any]]:
        # Each worker describes the newsletters it holds; the others add theirs.
        mine = [
            {
                "name": n.name,
                "title": n.title,
                "audience": n.audience.value,
                "schedule": n.schedule,
                "timezone": n.timezone,
                "pending_items": len(state_of(n.name).pending),
            }
            for n in store.newsletters.values()
            if keys.holds(Keyed.NEWSLETTER, n.name)
        ]
        found = {entry["name"]: entry for part in await keys.gather(request) for entry in part}
        found.update({entry["name"]: entry for entry in mine})
        return [found[name] for name in store.newsletters if name in found]

    @router.get("/api/v1/newsletters/{name}/preview", responses={503: {}})
    async def preview(
        name: str,
        _editor: Annotated[Principal, as_editor],
        _held_here: Annotated[None, held_newsletter],
        lang: Annotated[str, Query(pattern=r"^[a-z]{2}$")] = "en",
    ) -> dict[str, Any]:
        """The next edition as it stands: its items in order, the introduction, the page."""
        chosen = newsletter(name)
        state = state_of(name)
        items = next_items(state, chosen)
        now = utc_now()
        rendered = render_edition(
            renderer,
            chosen,
            chosen.period_start(now),
            items,
            state.curation.intro,
            lang,
            archive=True,
        )
        return {
            "edition": chosen.edition_id(now),
            "items": [
                {"id": e.id, "type": e.type, "title": e.content[sorted(e.languages)[0]].title}
                for e in items
            ],
            "curation": state.curation.model_dump(mode="json"),
            "html": rendered.html,
        }

    @router.post("/api/v1/newsletters/{name}/curation", status_code=202)
    async def curate(
        name: str, curation: Curation, editor: Annotated[Principal, as_editor]
    ) -> dict[str, str]:
        """Pin, leave out or reorder items, and write the introduction, for the next edition."""
        newsletter(name)
        record = {"kind": "curate", "by": editor.name, **curation.model_dump(exclude_none=True)}
        await store.request(name, record)
        return {"newsletter": name, "status": "curated"}

    @router.post("/api/v1/newsletters/{name}/send-now", status_code=202)
    async def send_now(name: str, editor: Annotated[Principal, as_editor]) -> dict[str, str]:
        """Send this period's edition ahead of schedule (still once per period)."""
        chosen = newsletter(name)
        now = utc_now()
        await store.request(name, {"kind": "compile", "at": now.isoformat(), "by": editor.name})
        return {"newsletter": name, "edition": chosen.edition_id(now), "status": "requested"}

    def editions_of(name: str) -> list[dict[str, Any]]:
        found = [e for e in store.editions() if e and e.get("newsletter") == name]
        return sorted(found, key=lambda e: str(e["period_start"]), reverse=True)

    def reader_of(request: Request, token: str) -> Reader:
        """An officer (bearer), the holder of a signed link, or anyone. A bearer that is wrong
        or lacks the officer role is refused (401/403); a bad or expired link reads as anyone."""
        authorization = request.headers.get("authorization")
        if authorization:
            principal = auth.identify(authorization)
            if not principal.has(Role.OFFICER):
                raise HTTPException(403, detail="this needs the officer role")
            return OFFICER
        if not token:
            return ANYONE
        try:
            claims = readers.signer.check(token, Purpose.PREFERENCES, utc_now())
        except InvalidTokenError:
            return ANYONE
        subscriber = readers.directory.get(claims.subject)
        return Reader(subscriber) if subscriber is not None else ANYONE

    def refuse(chosen: Newsletter) -> HTMLResponse:
        heading, text = REFUSALS.get(chosen.audience, REFUSALS[Audience.STAFF])
        html = renderer.environment.get_template("_pages/message.html.j2").render(
            heading=heading, paragraphs=[text], action=None, link=None
        )
        return HTMLResponse(html, status_code=401, headers=SECURITY_HEADERS)

    @router.get("/newsletters/{name}", include_in_schema=False, dependencies=[held_newsletter])
    async def archive_index(request: Request, name: str, t: str = "") -> HTMLResponse:
        chosen = newsletter(name)
        reader = reader_of(request, t)
        if not may_open(chosen, reader, readers.partners.registry()):
            return refuse(chosen)
        html = renderer.environment.get_template("_pages/archive_index.html.j2").render(
            newsletter=chosen, editions=editions_of(name), token=t, feed=True
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    @router.get(
        "/newsletters/{name}/feed.atom", include_in_schema=False, dependencies=[held_newsletter]
    )
    async def feed(request: Request, name: str, t: str = "") -> Response:
        chosen = newsletter(name)
        reader = reader_of(request, t)
        registry = readers.partners.registry()
        if not may_open(chosen, reader, registry):
            return refuse(chosen)
        feed = atom_feed(chosen, editions_of(name), public_url, reader, registry, token=t)
        return Response(
            feed, media_type="application/atom+xml", headers={"Cache-Control": "no-store"}
        )

    @router.get(
        "/newsletters/{name}/{edition}", include_in_schema=False, dependencies=[held_newsletter]
    )
    async def archive_page(
        request: Request,
        name: str,
        edition: str,
        lang: Annotated[str, Query(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] = "en",
        t: str = "",
    ) -> HTMLResponse:
        chosen = newsletter(name)
        reader = reader_of(request, t)
        registry = readers.partners.registry()
        if not may_open(chosen, reader, registry):
            return refuse(chosen)
        record = store.edition(edition)
        if not record or record.get("newsletter") != name:
            raise HTTPException(404, detail="no such edition")
        html = edition_page(renderer, chosen, record, lang, reader, registry)
        if html is None:
            return refuse(chosen)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    return router
