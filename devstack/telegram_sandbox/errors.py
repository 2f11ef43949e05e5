"""Errors shaped as Telegram's {"ok": false, ...} answers, and the control API's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from devstack.telegram_sandbox.wire import JSON, dumps


class ApiError(Exception):
    """An answer with ok=false: error_code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.code, dumps=dumps)


class GatewayError(ApiError):
    """A failure in the proxy in front of the Bot API: nginx's HTML page, not JSON."""

    def response(self) -> web.Response:
        title = f"{self.code} {self.description}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return web.Response(status=self.code, text=page, content_type="text/html")


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    # Telegram: 429 "Too Many Requests: retry after N", parameters.retry_after = N (seconds).
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


class ControlError(Exception):
    """A mistake in a call to the sandbox's own control API."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Described:
    """A successful result that Telegram sends with a description, as setWebhook does."""

    result: Any
    description: str
