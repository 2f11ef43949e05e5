"""The FastAPI application: every router, each over the few services it needs.

hub/runtime/services.py builds `WebServices` over the worker's tables and topics; tests build it
from in-memory fakes. Nothing here knows faust or the worker.
"""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import escape

from hub import metrics
from hub.errors import InvalidEventError
from hub.intake.schemas import SchemaCatalog
from hub.model.deliveries import ChannelKey
from hub.rendering.environment import Renderer
from hub.services import (
    AccountReader,
    AuditTrail,
    BotUpdates,
    BounceWriter,
    ConsoleStore,
    CredentialStore,
    DeadLetters,
    DirectoryReader,
    EventPublisher,
    KeyOwners,
    NewsletterStore,
    PartnerCommands,
    PartnerReader,
    PersonalData,
    Readiness,
    StatusReader,
    SubscriberCommands,
    TestSender,
    ThisWorkerOnly,
)
from hub.settings import Settings
from hub.subscribers.tokens import Signer
from hub.web.api import create_event_routes, create_subscriber_routes, refusal
from hub.web.api_docs import mount_docs
from hub.web.auth import BearerAuth, CredentialLookup
from hub.web.bounces import create_bounce_routes
from hub.web.console.routes import ConsoleServices, Refused, SignInNeeded, create_console
from hub.web.console.sessions import Sessions
from hub.web.credentials import create_credential_routes
from hub.web.forms import FormRefused
from hub.web.newsletters import ArchiveReaders, create_newsletter_routes
from hub.web.pages import create_pages
from hub.web.partners import create_partner_routes
from hub.web.prometheus import create_metrics_routes
from hub.web.routing import Forwarded, KeyRouter
from hub.web.telegram_webhook import create_telegram_webhook
from hub.web.workers import create_worker_routes

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@dataclass(frozen=True, slots=True)
class WebServices:
    """What the web layer is given: settings and plain helpers, and one object per service."""

    settings: Settings
    catalog: SchemaCatalog
    renderer: Renderer
    signer: Signer
    channels: Sequence[ChannelKey]  # the channels this hub delivers on
    publisher: EventPublisher
    audit: AuditTrail
    status: StatusReader
    directory: DirectoryReader
    partners: PartnerReader
    partner_commands: PartnerCommands
    subscriber_commands: SubscriberCommands
    personal_data: PersonalData
    newsletters: NewsletterStore
    credentials: CredentialStore
    tokens: CredentialLookup
    # Which worker holds which keys; one worker holding everything unless told otherwise.
    owners: KeyOwners = field(default_factory=ThisWorkerOnly)
    # The officer console (/console), served when its accounts and submissions are given.
    accounts: AccountReader | None = None
    console: ConsoleStore | None = None
    test_sender: TestSender | None = None
    dead_letters: DeadLetters | None = None
    # The Telegram bot's updates by webhook (HUB_TELEGRAM__MODE=webhook): POST /telegram/webhook.
    bot_updates: BotUpdates | None = None
    # GET /api/v1/ready asks it: the broker, partitions, tables, SMTP, Telegram.
    readiness: Readiness | None = None
    oidc_http: Callable[[], httpx.AsyncClient] | None = None
    # Asynchronous bounces (POST /api/v1/bounces), written to the bounces topic.
    bounces: BounceWriter | None = None


def create_api(services: WebServices, lifespan: Lifespan | None = None) -> FastAPI:
    """The app; `lifespan` runs with the web server (the worker follows credentials in it)."""
    s = services
    api = FastAPI(
        title="Communications hub",
        version="1",
        description="Publish institutional announcements, research releases and strategy updates.",
        docs_url=None,  # served by mount_docs from local files, not a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    mount_docs(api)
    api.state.readiness = s.readiness
    auth = BearerAuth(s.tokens)

    keys = KeyRouter(s.owners)

    @api.exception_handler(InvalidEventError)
    async def refused(_request: Request, exc: InvalidEventError) -> JSONResponse:
        return refusal(exc.status, exc.problems)

    @api.exception_handler(Forwarded)
    async def forwarded(_request: Request, exc: Forwarded) -> Response:
        return exc.response

    api.include_router(create_metrics_routes(s.settings.metrics.token))
    api.include_router(
        create_event_routes(
            s.catalog,
            metrics.CountedPublisher(s.publisher, "api"),
            s.audit,
            s.status,
            s.directory,
            s.partners,
            s.settings,
            auth,
            keys,
        )
    )
    api.include_router(
        create_subscriber_routes(
            s.directory, s.partners, s.subscriber_commands, s.personal_data, s.audit, auth
        )
    )
    api.include_router(
        create_pages(
            s.subscriber_commands,
            s.directory,
            s.personal_data,
            s.signer,
            s.renderer,
            s.channels,
            s.settings,
        )
    )
    readers = ArchiveReaders(s.signer, s.directory, s.partners)
    api.include_router(
        create_newsletter_routes(
            s.newsletters, readers, s.renderer, s.settings.web.public_url, auth, keys
        )
    )
    api.include_router(create_worker_routes(s.owners, auth))
    api.include_router(create_partner_routes(s.partners, s.directory, s.partner_commands, auth))
    api.include_router(create_credential_routes(s.credentials, s.audit, auth))
    if s.bounces is not None:
        api.include_router(create_bounce_routes(s.bounces, auth))
    webhook_secret = s.settings.telegram.webhook_secret
    if s.bot_updates is not None and s.settings.telegram.mode == "webhook" and webhook_secret:
        api.include_router(
            create_telegram_webhook(s.bot_updates, webhook_secret.get_secret_value())
        )
    if s.accounts is not None and s.console is not None:
        mount_console(api, s, s.accounts, s.console, keys)
    return api


def mount_console(
    api: FastAPI, s: WebServices, accounts: AccountReader, store: ConsoleStore, keys: KeyRouter
) -> None:
    sessions = Sessions(
        s.signer.keys,
        idle=timedelta(minutes=s.settings.console.idle_minutes),
        lifetime=timedelta(hours=s.settings.console.session_hours),
        secure=s.settings.web.public_url.lower().startswith("https://"),
    )
    services = ConsoleServices(
        settings=s.settings,
        catalog=s.catalog,
        renderer=s.renderer,
        sessions=sessions,
        accounts=accounts,
        store=store,
        publisher=metrics.CountedPublisher(s.publisher, "console"),
        trail=s.audit,
        status=s.status,
        directory=s.directory,
        partners=s.partners,
        test_sender=s.test_sender,
        personal=s.personal_data,
        people=s.subscriber_commands,
        partner_commands=s.partner_commands,
        newsletters=s.newsletters,
        oidc_http=s.oidc_http,
        dead_letters=s.dead_letters,
        keys=keys,
    )

    @api.exception_handler(SignInNeeded)
    async def sign_in_first(_request: Request, exc: SignInNeeded) -> Response:
        query = urlencode({"next": exc.back_to})
        return RedirectResponse(f"/console/sign-in?{query}", status_code=303)

    @api.exception_handler(Refused)
    async def refused_page(_request: Request, exc: Refused) -> Response:
        return exc.response

    @api.exception_handler(FormRefused)
    async def form_refused(_request: Request, exc: FormRefused) -> Response:
        body = f"<!DOCTYPE html><title>{escape(exc.heading)}</title><h1>{escape(exc.heading)}</h1>"
        return HTMLResponse(f"{body}<p>{escape(exc.text)}</p>", status_code=exc.status)

    api.include_router(create_console(services))
