"""Sending the hub's HTML forms as a browser does: open the page, then post with its token."""

from __future__ import annotations

import re
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def form_token(client: httpx.Client, page_url: str) -> str:
    """Open a page (which sets the form cookie in the client) and return its form's token."""
    page = client.get(page_url, timeout=30)
    found = CSRF.search(page.text)
    assert found, f"no form token on {page_url} ({page.status_code})"
    return found.group(1)


def submit(
    page_url: str, action_url: str, data: dict[str, Any], client: httpx.Client | None = None
) -> httpx.Response:
    """Open `page_url`, then POST `data` and its token to `action_url`, as one browser."""
    own = client or httpx.Client()
    try:
        token = form_token(own, page_url)
        return own.post(action_url, data={**data, "csrf": token}, timeout=30)
    finally:
        if client is None:
            own.close()
