"""Bad input is refused at the edge with every problem named, and nothing reaches Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import invalid_examples, load_example
from tests.hubprocess import TOKEN, HubProcess
from tests.kafka_probe import topic_message_count

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def hub(kafka_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    workdir = tmp_path_factory.mktemp("edge")
    subscribers = workdir / "subscribers.yaml"
    subscribers.write_text("subscribers: []\n")
    process = HubProcess(
        workdir, smtp_port=1, subscribers_file=subscribers, HUB_LIMITS__MAX_EVENT_BYTES="65536"
    ).start()
    yield process
    process.stop()
    # Nothing refused may have reached any event topic.
    for event_type in ("announcement.published", "research.released", "strategy.updated"):
        assert topic_message_count(process.topic("events", event_type)) == 0


def post_raw(hub: HubProcess, body: bytes, **headers: str) -> httpx.Response:
    headers.setdefault("Authorization", f"Bearer {TOKEN}")
    headers.setdefault("Content-Type", "application/json")
    return httpx.post(f"{hub.base_url}/api/v1/events", content=body, headers=headers, timeout=30)


def test_missing_token_is_401_with_a_challenge(hub: HubProcess) -> None:
    response = hub.publish(load_example(), token=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_token_is_403(hub: HubProcess) -> None:
    assert hub.publish(load_example(), token="not-the-token").status_code == 403
    assert post_raw(hub, b"{}", Authorization="Basic dXNlcjpwYXNz").status_code == 401


def test_malformed_json_is_400_with_its_position(hub: HubProcess) -> None:
    response = post_raw(hub, b'{"id": "x",\n "type": }')
    assert response.status_code == 400
    (problem,) = response.json()["problems"]
    assert "line 2" in problem["message"]


@pytest.mark.parametrize(
    ("path", "expected_paths"), invalid_examples(), ids=lambda v: getattr(v, "name", "")
)
def test_each_invalid_example_is_422_naming_every_path(
    hub: HubProcess, path: Path, expected_paths: list[str]
) -> None:
    response = post_raw(hub, path.read_bytes())
    assert response.status_code == 422, response.text
    assert sorted({p["path"] for p in response.json()["problems"]}) == expected_paths


def test_unknown_type_is_422(hub: HubProcess) -> None:
    response = hub.publish(load_example(type="rumour.spread"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["path"] == "$.type"


def test_oversized_body_is_413(hub: HubProcess) -> None:
    document = load_example()
    document["content"]["en"]["body"] = "x" * 70_000
    response = post_raw(hub, json.dumps(document).encode())
    assert response.status_code == 413


def test_wrong_content_type_is_415(hub: HubProcess) -> None:
    response = post_raw(hub, json.dumps(load_example()).encode(), **{"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_openapi_document_describes_the_publish_endpoint(hub: HubProcess) -> None:
    spec = httpx.get(f"{hub.base_url}/openapi.json", timeout=10).json()
    operation = spec["paths"]["/api/v1/events"]["post"]
    assert {"202", "401", "403", "413", "422"} <= set(operation["responses"])
