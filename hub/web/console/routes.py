"""The console's router: its frame, and the routes of each part of it in their order."""

from fastapi import APIRouter

from hub.web.console.access import register_access_routes
from hub.web.console.compose import register_compose_routes
from hub.web.console.dead_letters import register_dead_letter_routes
from hub.web.console.follow import register_follow_routes
from hub.web.console.frame import ConsoleFrame, ConsoleServices, Refused, SignInNeeded
from hub.web.console.newsletters import register_newsletter_routes
from hub.web.console.people import register_people_routes
from hub.web.console.single_sign_on import register_single_sign_on_routes

__all__ = ["ConsoleServices", "Refused", "SignInNeeded", "create_console"]


def create_console(s: ConsoleServices) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    frame = ConsoleFrame(s)
    register_access_routes(router, frame)
    register_single_sign_on_routes(router, frame)
    # Compose before follow: its POST /events/{id}/edit must come before the decisions' POST
    # /events/{id}/{decision}, which would otherwise take it (and answer 404).
    register_compose_routes(router, frame)
    register_follow_routes(router, frame)
    register_people_routes(router, frame)
    register_newsletter_routes(router, frame)
    register_dead_letter_routes(router, frame)
    return router
