"""A real hub worker in a subprocess, isolated by its own topic prefix, app id and data dir."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from hub.access.credentials import token_hash
from hub.access.roles import Role
from tests.conftest import free_port
from tests.helpers import wait_until
from tests.kafka_probe import delete_topics_naming

# Test credentials, given to the worker as hashes (HUB_CREDENTIALS): TOKEN holds every role, so
# tests about something else need not care; ROLE_TOKENS hold one role each.
TOKEN = "hub_test-all-roles-token-0123456789"
ROLE_TOKENS = {role: f"hub_test-{role.value}-token-0123456789" for role in Role}


def _test_credentials() -> str:
    every = {"test-officer": {"roles": [r.value for r in Role], "sha256": token_hash(TOKEN)}}
    for role, token in ROLE_TOKENS.items():
        every[f"test-{role.value}-only"] = {"roles": [role.value], "sha256": token_hash(token)}
    return json.dumps(every)


# The fixtures' partners have addresses on this domain; partner status comes from the registry.
TEST_PARTNERS = [
    {
        "id": "test-partners",
        "name": "Test partners",
        "kind": "ngo",
        "domains": ["partner.example.net"],
    }
]


class HubProcess:
    """Starts `hub worker` with settings of its own; kill() and start() again for fault tests."""

    def __init__(
        self,
        workdir: Path,
        smtp_port: int,
        subscribers_file: Path | None = None,
        partners_file: Path | None = None,
        run_id: str | None = None,
        **env: str,
    ) -> None:
        # Workers given the same run_id are one hub: topics, consumer group and secret shared.
        run_id = run_id or uuid.uuid4().hex[:10]
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.prefix = f"t{run_id}"
        self.log_path = workdir / "worker.log"
        self.env = {
            **os.environ,
            "HUB_APP_ID": f"hub-test-{run_id}",
            "HUB_KAFKA__TOPIC_PREFIX": self.prefix,
            "HUB_DATA_DIR": str(workdir / "data"),
            "HUB_WEB__PORT": str(self.port),
            "HUB_WEB__PUBLIC_URL": self.base_url,
            "HUB_SMTP__PORT": str(smtp_port),
            "HUB_CREDENTIALS": _test_credentials(),
            "HUB_SECRET_KEY": f"test-secret-{run_id}-0123456789",
            # Telegram tests start a sandbox and turn polling back on; others need none.
            "HUB_TELEGRAM__POLL_UPDATES": "false",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.subscribers_file = subscribers_file
        self.partners_file = partners_file
        self._loaded = False

    def start(self, *, wait: bool = True) -> HubProcess:
        """Start the worker; with wait=False, return at once (it may be meant to kill itself)."""
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                # Its level from HUB_LOG_LEVEL (info unless a test asks for more).
                [sys.executable, "-m", "hub.cli", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        return self.ready() if wait else self

    def ready(self, timeout: float = 120) -> HubProcess:
        """Wait until the started worker answers, knows its credentials and holds partitions."""
        wait_until(
            self._healthy, timeout=timeout, what=f"the worker's health check\n{self.log_tail()}"
        )
        # Credentials are read from Kafka after start; until then every token gets a 503.
        wait_until(
            lambda: self.get("/api/v1/credentials/me").status_code == 200,
            timeout=60,
            what="the worker to have read its credentials",
        )
        # Until the group has given out its partitions, requests about an event get a 503.
        # A restarted worker may wait for a killed one's session to time out first.
        wait_until(
            lambda: self.get("/api/v1/workers").status_code == 200,
            timeout=120,
            what=f"the worker to hold its partitions\n{self.log_tail()}",
        )
        if self.partners_file is not None and not self._loaded:
            self.load_partners(self.partners_file)
        if self.subscribers_file is not None and not self._loaded:
            self.load_subscribers(self.subscribers_file)
        return self

    def load_partners(self, path: Path) -> None:
        """Register partner organisations and wait until the worker holds them all."""
        import yaml

        wanted = {p["id"] for p in yaml.safe_load(path.read_text(encoding="utf-8"))["partners"]}
        self.cli("partners", "load", str(path))
        wait_until(
            lambda: wanted <= {o["id"] for o in self.get("/api/v1/partners").json()},
            timeout=60,
            what=f"partner organisations {sorted(wanted)} in the worker",
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def load_subscribers(self, path: Path) -> None:
        """Write them to the subscribers topic and wait until the worker holds them all."""
        import yaml

        expected = len(yaml.safe_load(path.read_text(encoding="utf-8"))["subscribers"])
        self.cli("subscribers", "load", str(path))
        wait_until(
            lambda: self.subscriber_count() >= expected,
            timeout=60,
            what=f"{expected} subscribers in the worker",
        )
        self._loaded = True

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )

    def subscriber_count(self, **params: str) -> int:
        return int(self.get("/api/v1/subscribers", limit="1", **params).json()["total"])

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.base_url}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def publish(self, document: dict[str, Any], token: str | None = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(
            f"{self.base_url}/api/v1/events", json=document, headers=headers, timeout=30
        )

    def topic(self, kind: str, name: str) -> str:
        return f"{self.prefix}.{kind}.{name}.v1"


@contextlib.contextmanager
def hub_with_mail(
    workdir: Path,
    people: list[dict[str, Any]],
    partners: list[dict[str, Any]] | None = None,
    *,
    newsletters: dict[str, Any] | None = None,
    **env: str,
) -> Iterator[tuple[HubProcess, MailCatcher]]:
    """A worker, its own mail catcher, these partner organisations (by default one for the
    fixtures' partner.example.net), these newsletters (by default the demo's) and these
    subscribers loaded; all stopped afterwards."""
    if newsletters is not None:
        config = workdir / "newsletters.yaml"
        config.write_text(yaml.safe_dump(newsletters, allow_unicode=True), encoding="utf-8")
        env = {"HUB_NEWSLETTERS_FILE": str(config), **env}
    subscribers = workdir / "people.yaml"
    subscribers.write_text(yaml.safe_dump({"subscribers": people}, allow_unicode=True), "utf-8")
    registry = workdir / "partners.yaml"
    chosen = TEST_PARTNERS if partners is None else partners
    registry.write_text(yaml.safe_dump({"partners": chosen}, allow_unicode=True), "utf-8")
    with MailCatcher(workdir / "outbox", port=free_port()) as catcher:
        hub = HubProcess(
            workdir, catcher.controller.port, subscribers, registry if chosen else None, **env
        ).start()
        try:
            yield hub, catcher
        finally:
            hub.stop()
            forget_topics(hub)


def forget_topics(hub: HubProcess) -> None:
    """Delete a stopped hub's topics; a failure to do so is reported, not fatal to the test."""
    try:
        delete_topics_naming(hub.prefix)
    except Exception as exc:  # cleanup only: the test's own verdict stands
        warnings.warn(f"topics of {hub.prefix} not deleted: {exc!r}", stacklevel=2)


Stack = tuple[HubProcess, MailCatcher]


def shared_hub(
    people: list[dict[str, Any]],
    partners: list[dict[str, Any]] | None = None,
    *,
    newsletters: dict[str, Any] | None = None,
    **env: str,
) -> Callable[..., Iterator[Stack]]:
    """A module-scoped fixture: one worker of hub_with_mail(...) shared by a module's tests.

    In a test module: `stack = shared_hub(PEOPLE, HUB_TELEGRAM__ENABLED="false")`.
    """

    @pytest.fixture(scope="module")
    def stack(kafka_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        workdir = tmp_path_factory.mktemp("hub")
        with hub_with_mail(workdir, people, partners, newsletters=newsletters, **env) as running:
            yield running

    return stack
