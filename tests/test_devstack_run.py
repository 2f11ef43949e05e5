"""`make run` waits for the worker where it listens, whatever address people reach it at."""

from __future__ import annotations

import pytest

from devstack.run import health_url
from hub.settings import WebSettings


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:6066/api/v1/health"),
        ("0.0.0.0", "http://127.0.0.1:6066/api/v1/health"),  # noqa: S104 - a setting's value
        ("::", "http://[::1]:6066/api/v1/health"),
        ("::1", "http://[::1]:6066/api/v1/health"),
        ("hub-worker-1", "http://hub-worker-1:6066/api/v1/health"),
    ],
)
def test_the_health_check_asks_the_bind_address_not_the_public_url(
    host: str, expected: str
) -> None:
    # Behind a TLS proxy the public URL is https on another host: make run does not start it.
    web = WebSettings(host=host, port=6066, public_url="https://hub.example.org")
    assert health_url(web) == expected


def test_the_health_check_follows_the_port() -> None:
    assert health_url(WebSettings(port=7077)) == "http://127.0.0.1:7077/api/v1/health"
