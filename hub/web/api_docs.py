"""The API's documentation: OpenAPI stating each route's roles, and /docs that works offline."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from hub.web.auth import SCHEME

ASSETS = "/docs/assets"
ROLES_EXTENSION = "x-roles"  # the roles an operation accepts, also shown in its description


def describe_roles(document: dict[str, Any]) -> dict[str, Any]:
    """Each guarded operation: its roles (the bearer requirement's scopes), 401 and 403."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            requirements = operation.get("security") if isinstance(operation, dict) else None
            roles = sorted({r for req in requirements or () for r in req.get(SCHEME, ())})
            if not roles:
                continue
            operation[ROLES_EXTENSION] = roles
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "no bearer token"})
            responses.setdefault(
                "403", {"description": f"a token without the {' or '.join(roles)} role"}
            )
            note = f"Roles: {', '.join(roles)}."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
    return document


def mount_docs(api: FastAPI) -> None:
    """/docs from Swagger UI files shipped in a Python package: no CDN, works offline."""

    def openapi() -> dict[str, Any]:
        if not api.openapi_schema:
            api.openapi_schema = describe_roles(
                get_openapi(
                    title=api.title,
                    version=api.version,
                    description=api.description,
                    routes=api.routes,
                )
            )
        return api.openapi_schema

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
