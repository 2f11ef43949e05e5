"""The API's documentation: OpenAPI stating each route's roles, and /docs that works offline."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from hub.auth import ROLES_ATTRIBUTE
from hub.roles import Role

SCHEME = "bearer"
ASSETS = "/docs/assets"
ROLES_EXTENSION = "x-roles"  # the roles a route accepts, read by the route x role test


def route_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles the route's guard accepts (None: a route open to all)."""
    for dependency in dependant.dependencies:
        roles = getattr(dependency.call, ROLES_ATTRIBUTE, None)
        if roles is not None:
            return frozenset(roles)
        nested = route_roles(dependency)
        if nested is not None:
            return nested
    return None


def describe_roles(api: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, with the bearer scheme and each guarded route's roles."""
    if api.openapi_schema:
        return api.openapi_schema
    document = get_openapi(
        title=api.title, version=api.version, description=api.description, routes=api.routes
    )
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `hub tokens create`; each route names the roles it accepts.",
    }
    for route in api.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        roles = route_roles(route.dependant)
        if roles is None:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            ordered = sorted(r.value for r in roles)
            operation["security"] = [{SCHEME: []}]
            operation[ROLES_EXTENSION] = ordered
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "no bearer token"})
            responses.setdefault(
                "403", {"description": f"a token without the {' or '.join(ordered)} role"}
            )
            note = f"Roles: {', '.join(ordered)}."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
    api.openapi_schema = document
    return document


def mount_docs(api: FastAPI) -> None:
    """/docs from Swagger UI files shipped in a Python package: no CDN, works offline."""

    def openapi() -> dict[str, Any]:
        return describe_roles(api)

    api.openapi = openapi  # type: ignore[method-assign]
    api.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @api.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title=f"{api.title}: API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # No online validator badge: nothing on the page may reach another host.
            swagger_ui_parameters={"validatorUrl": None},
        )
