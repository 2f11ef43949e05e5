"""Newsletter endpoints: preview, curation and send-now for editors; the archive for readers."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field

from hub.errors import BadRecord
from hub.model.newsletter_state import NewsletterState
from hub.newsletters.archive import (
    atom_feed,
    edition_body,
    edition_view,
    index_entries,
    offered_languages,
    title_in,
)
from hub.newsletters.config import Audience, Newsletter
from hub.newsletters.editions import may_open, render_edition
from hub.newsletters.state import next_items
from hub.planning.audience import ANYONE, OFFICER, Reader
from hub.rendering.environment import Renderer
from hub.services import DirectoryReader, Keyed, NewsletterStore, PartnerReader, utc_now
from hub.subscribers.selfservice import N_, language_name
from hub.subscribers.tokens import Claims, InvalidTokenError, Purpose, Signer
from hub.web.auth import BearerAuth, Principal, Role
from hub.web.pages import SECURITY_HEADERS, reader_language, switcher
from hub.web.routing import KeyRouter

REFUSALS = {
    Audience.PARTNERS: (
        N_("Partners only"),
        N_(
            "This newsletter is for our partner organisations: open it from the link in your email."
        ),
    ),
    Audience.STAFF: (
        N_("Staff only"),
        N_("This newsletter is for staff: open it from the link in your email."),
    ),
}
# The feed's author, in the reader's words (RFC 4287 wants one at feed level).
AUTHOR = N_("Department of International Cooperation and Partnerships")


@dataclass(frozen=True, slots=True)
class Visit:
    """Who reads an archive page, and in which language."""

    reader: Reader
    language: str


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

    def reader_of(request: Request, token: str) -> tuple[Reader, Claims | None]:
        """An officer (bearer), the holder of a signed link, or anyone. A bearer that is wrong
        or lacks the officer role is refused (401/403); a bad or expired link reads as anyone."""
        authorization = request.headers.get("authorization")
        if authorization:
            principal = auth.identify(authorization)
            if not principal.has(Role.OFFICER):
                raise HTTPException(403, detail="this needs the officer role")
            return OFFICER, None
        if not token:
            return ANYONE, None
        try:
            claims = readers.signer.check(token, Purpose.PREFERENCES, utc_now())
        except InvalidTokenError:
            return ANYONE, None
        subscriber = readers.directory.get(claims.subject)
        return (Reader(subscriber), claims) if subscriber is not None else (ANYONE, None)

    def visit(request: Request, token: str) -> Visit:
        """The reader, and their language: the switcher's (?lang=), their link's, their own,
        their browser's, the default."""
        reader, claims = reader_of(request, token)
        own = reader.subscriber.language if reader.subscriber is not None else None
        language = reader_language(
            renderer.languages,
            [request.query_params.get("lang"), claims.language if claims else None, own],
            request.headers.get("accept-language"),
        )
        return Visit(reader, language)

    def say(language: str, message: str) -> str:
        return renderer.catalogs.gettext(language)(message)

    def archive_page(
        request: Request, language: str, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        """An archive page in `language`, with the switcher to show it in the others."""
        params = {"t": request.query_params.get("t", "")}
        html = renderer.render_page(
            f"_pages/{template}.html.j2",
            language,
            {"switcher": switcher(renderer.languages, language, request.url.path, params)}
            | context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def refuse(request: Request, chosen: Newsletter, language: str) -> HTMLResponse:
        heading, text = REFUSALS.get(chosen.audience, REFUSALS[Audience.STAFF])
        context = {
            "heading": say(language, heading),
            "paragraphs": [say(language, text)],
            "action": None,
            "link": None,
        }
        return archive_page(request, language, "message", context, 401)

    def links_of(chosen: Newsletter, language: str, token: str) -> dict[str, str]:
        """Where an archive page leads: its index and its feed, in the reader's language."""
        query = urlencode({"lang": language, **({"t": token} if token else {})})
        base = f"/newsletters/{chosen.name}"
        return {"index_url": f"{base}?{query}", "feed_url": f"{base}/feed.atom?{query}"}

    def edition_links(
        chosen: Newsletter, edition: str, token: str, tags: list[str]
    ) -> list[dict[str, str]]:
        """The edition's page in each language, each named in itself."""
        return [
            {
                "tag": tag,
                "name": language_name(tag),
                "url": f"/newsletters/{chosen.name}/{edition}?"
                + urlencode({"lang": tag, **({"t": token} if token else {})}),
            }
            for tag in tags
        ]

    @router.get("/newsletters/{name}", include_in_schema=False, dependencies=[held_newsletter])
    async def archive_index(request: Request, name: str, t: str = "") -> HTMLResponse:
        chosen = newsletter(name)
        seen = visit(request, t)
        registry = readers.partners.registry()
        if not may_open(chosen, seen.reader, registry):
            return refuse(request, chosen, seen.language)
        languages = renderer.languages
        entries = index_entries(
            editions_of(name), seen.reader, registry, language=seen.language, languages=languages
        )
        others = [tag for tag in offered_languages(chosen, languages) if tag != seen.language]
        title, written = title_in(chosen, seen.language, languages)
        editions = [
            {
                "period_start": entry.period_start,
                "titles": entry.titles,
                "url": edition_links(chosen, entry.id, t, [seen.language])[0]["url"],
                "others": edition_links(chosen, entry.id, t, others),
            }
            for entry in entries
        ]
        context = {
            "title": title,
            "title_language": written,
            "editions": editions,
            **links_of(chosen, seen.language, t),
        }
        return archive_page(request, seen.language, "archive_index", context)

    @router.get(
        "/newsletters/{name}/feed.atom", include_in_schema=False, dependencies=[held_newsletter]
    )
    async def feed(request: Request, name: str, t: str = "") -> Response:
        chosen = newsletter(name)
        seen = visit(request, t)
        registry = readers.partners.registry()
        if not may_open(chosen, seen.reader, registry):
            return refuse(request, chosen, seen.language)
        feed = atom_feed(
            chosen,
            editions_of(name),
            public_url,
            seen.reader,
            registry,
            token=t,
            language=seen.language,
            languages=renderer.languages,
            author=say(seen.language, AUTHOR),
        )
        return Response(
            feed, media_type="application/atom+xml", headers={"Cache-Control": "no-store"}
        )

    @router.get(
        "/newsletters/{name}/{edition}", include_in_schema=False, dependencies=[held_newsletter]
    )
    async def edition_page(request: Request, name: str, edition: str, t: str = "") -> HTMLResponse:
        chosen = newsletter(name)
        seen = visit(request, t)
        registry = readers.partners.registry()
        if not may_open(chosen, seen.reader, registry):
            return refuse(request, chosen, seen.language)
        record = store.edition(edition)
        if not record or record.get("newsletter") != name:
            raise HTTPException(404, detail="no such edition")
        view = edition_view(renderer, chosen, record, seen.language, seen.reader, registry)
        if view is None:
            return refuse(request, chosen, seen.language)
        title, written = title_in(chosen, seen.language, renderer.languages)
        context = {
            "title": title,
            "title_language": written,
            "period_start": view.period_start,
            "edition_language": view.language,
            # the edition as the hub rendered it (escaped there), inside this page
            "edition_html": Markup(edition_body(view.html)),  # noqa: S704
            **links_of(chosen, seen.language, t),
        }
        return archive_page(request, seen.language, "archive_edition", context)

    return router
