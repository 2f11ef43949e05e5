"""JSON as the sandbox writes it: UTF-8 text as is, without ASCII escapes."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

dumps = functools.partial(json.dumps, ensure_ascii=False)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)
