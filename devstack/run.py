"""`make run`: Kafka, the mail catcher and one hub worker, in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from hub.access import account_store, accounts, credential_store
from hub.access.credentials import token_hash
from hub.access.roles import Role
from hub.settings import REPO_ROOT, Settings, WebSettings

VAR = REPO_ROOT / "var"
TOKEN_FILE = VAR / "dev-publisher-token"
SECRET_FILE = VAR / "dev-secret-key"
DEMO_SUBSCRIBERS = REPO_ROOT / "devstack" / "demo" / "subscribers.yaml"
DEMO_PARTNERS = REPO_ROOT / "devstack" / "demo" / "partners.yaml"
DEMO_EVENT = "schemas/examples/announcement.published.v1/valid/partnership-west-africa.json"


def _python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def _sandbox_command(settings: Settings, *args: str) -> list[str]:
    """The Telegram sandbox, without its line per request (aiohttp's access log: the worker
    long-polls it every second) unless HUB_LOG_LEVEL=debug."""
    if settings.log_level == "debug":
        return _python_module("devstack.telegram_sandbox", *args)
    quiet = (
        "import logging, sys; logging.getLogger('aiohttp.access').setLevel(logging.WARNING); "
        "from devstack.telegram_sandbox.__main__ import main; main(sys.argv[1:])"
    )
    return [sys.executable, "-c", quiet, *args]


def _token_file(role: Role) -> Path:
    return VAR / f"dev-{role.value}-token"


async def _dev_credentials(settings: Settings) -> dict[Role, str]:
    """One development credential per role (dev-publisher, ...), its token kept in var/.

    A token already in var/ that Kafka still knows is kept; otherwise a new one is issued (and
    a stale one revoked), so `make run` works after var/ or the broker's data was wiped.
    """
    index = await credential_store.load(settings)
    tokens: dict[Role, str] = {}
    for role in Role:
        name, path = f"dev-{role.value}", _token_file(role)
        kept = path.read_text().strip() if path.exists() else ""
        existing = index.get(name)
        still_valid = existing is not None and existing.active and existing.roles == {role}
        if still_valid and kept and existing is not None and existing.sha256 == token_hash(kept):
            tokens[role] = kept
            continue
        now = datetime.now(UTC)
        if existing is not None and existing.active:
            await credential_store.revoke_named(settings, name, "make-run", now)
        _credential, tokens[role] = await credential_store.create(
            settings, name, [role.value], "make-run", now
        )
        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(tokens[role])
        path.chmod(0o600)
    return tokens


# One console account per role, and a second officer to approve what the first submits.
DEMO_ACCOUNTS = [(f"demo-{role.value}", role) for role in Role] + [("demo-officer-2", Role.OFFICER)]


async def _demo_accounts(settings: Settings) -> list[tuple[str, Role, str]]:
    """The demo console accounts with their passwords (kept in var/, made once).

    An account whose password no longer matches the one in var/ (var/ or Kafka's data wiped)
    gets that password again, or is created.
    """
    index = await account_store.load(settings)
    found = []
    now = datetime.now(UTC)
    for name, role in DEMO_ACCOUNTS:
        path = VAR / f"dev-console-{name}-password"
        password = _dev_secret(path)
        existing = index.get(name)
        if existing is None:
            account = accounts.create(
                name,
                display_name=f"Demo {role.value}" + (" 2" if name.endswith("-2") else ""),
                email=f"{name}@hub.example.org",
                roles=[role.value],
                language="en",
                password=password,
                by="make-run",
                now=now,
                existing=None,
            )
            await account_store.save(settings, account, "account.created", "make-run", now)
        elif index.verify(name, password) is None:
            await account_store.reset_password(settings, name, password, "make-run", now)
        found.append((name, role, password))
    return found


def _dev_secret(path: Path) -> str:
    """A local secret (the signing key), made once, kept in var/, never committed."""
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def health_url(web: WebSettings) -> str:
    """Where `make run` asks whether the worker is up: the address it binds to, not its public
    URL, which may be https on a TLS proxy in front of it (links and List-Unsubscribe use that)."""
    host = web.host
    if host in ("", "0.0.0.0"):  # noqa: S104 - compared, not bound
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{web.port}/api/v1/health"


def _wait_for_health(url: str, worker: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with status {worker.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the worker did not answer on {url} within {timeout:.0f} s")


def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {name} exited at start (is {host}:{port} already in use?)")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.2)
    raise SystemExit(f"the {name} did not listen on {host}:{port} within 30 s")


def main() -> int:
    settings = Settings()
    kafka_was_running = (
        subprocess.run(
            _python_module("devstack.kafka", "status"), capture_output=True, check=False
        ).returncode
        == 0
    )
    subprocess.run(_python_module("devstack.kafka", "start"), check=True)

    env = dict(os.environ)
    if settings.secret_key is None:
        env["HUB_SECRET_KEY"] = _dev_secret(SECRET_FILE)
    tokens = asyncio.run(_dev_credentials(settings))
    demo = asyncio.run(_demo_accounts(settings))
    account_lines = "\n".join(
        f"    {name:<16} {role.value:<10} password {password}" for name, role, password in demo
    )
    token_lines = "\n".join(
        f"    {role.value:<10} {tokens[role]}  ({_token_file(role).relative_to(REPO_ROOT)})"
        for role in Role
    )

    outbox = VAR / "outbox" / "email"
    hub = str(Path(sys.executable).parent / "hub")
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(
            subprocess.Popen(
                _python_module(
                    "devstack.mailcatcher",
                    "--host",
                    settings.smtp.host,
                    "--port",
                    str(settings.smtp.port),
                    "--outbox",
                    str(outbox),
                )
            )
        )
        _wait_for_port(settings.smtp.host, settings.smtp.port, started[-1], "mail catcher")
        sandbox_port = urllib.parse.urlsplit(settings.telegram.base_url).port or 8081
        if settings.telegram.enabled and settings.telegram.base_url.startswith("http://127.0.0.1"):
            started.append(
                subprocess.Popen(
                    _sandbox_command(
                        settings,
                        "--port",
                        str(sandbox_port),
                        "--token",
                        settings.telegram.token.get_secret_value(),
                        "--record-dir",
                        str(VAR / "outbox" / "telegram"),
                    ),
                    stdout=subprocess.DEVNULL,
                )
            )
            _wait_for_port("127.0.0.1", sandbox_port, started[-1], "Telegram sandbox")
        worker = subprocess.Popen([hub, "worker"], env=env)
        started.append(worker)
        base = settings.web.public_url.rstrip("/")
        _wait_for_health(health_url(settings.web), worker)
        subprocess.run([hub, "partners", "load", str(DEMO_PARTNERS)], env=env, check=True)
        subprocess.run([hub, "subscribers", "load", str(DEMO_SUBSCRIBERS)], env=env, check=True)
        print(
            f"""
The hub is running.
  Publish over HTTP:  curl -H "Authorization: Bearer $(cat {TOKEN_FILE.relative_to(REPO_ROOT)})" \\
                        -H 'Content-Type: application/json' \\
                        --data @{DEMO_EVENT} {base}/api/v1/events
  Publish from here:  .venv/bin/hub publish {DEMO_EVENT}
  API documentation:  {base}/docs
  Subscribe page:     {base}/subscribe
  Officer console:    {base}/console (`hub users list` shows every account)
{account_lines}
  Demo subscribers:   {DEMO_SUBSCRIBERS.relative_to(REPO_ROOT)} (loaded)
  Emails land in:     {outbox.relative_to(REPO_ROOT)}/ (one .eml file per message)
  Telegram sandbox:   http://127.0.0.1:8081/ (what the bot sent, per chat)
  Development tokens, one per role (`hub tokens list` shows them all):
{token_lines}
Ctrl-C stops everything this command started.
""",
            flush=True,
        )
        stopping = False

        def request_stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        while not stopping and all(p.poll() is None for p in started):
            time.sleep(0.5)
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if not kafka_was_running:
            subprocess.run(_python_module("devstack.kafka", "stop"), check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
