"""Console accounts: argon2id hashes, checked fields, disable and reset; `hub users` on Kafka."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.access import account_store, accounts
from hub.access.accounts import AccountError, AccountIndex
from hub.access.roles import Role
from hub.cli.main import main
from hub.i18n.languages import Languages
from hub.settings import Settings
from tests.conftest import free_port
from tests.hubprocess import HubProcess

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PASSWORD = "twelve chars at least"


def made(name: str = "ana.silva", **changes: object) -> accounts.Account:
    fields: dict[str, object] = {
        "display_name": "Ana Silva",
        "email": "ana@example.org",
        "roles": ["officer"],
        "language": "fr",
        "password": PASSWORD,
        "by": "test",
        "now": NOW,
        "existing": None,
        **changes,
    }
    return accounts.create(name, **fields)  # type: ignore[arg-type]


def test_only_an_argon2id_hash_is_kept_and_it_verifies_the_password() -> None:
    account = made()
    record = account.as_record()
    assert record["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in json.dumps(record)
    assert "password_hash" not in account.public()
    index = AccountIndex()
    index.apply(account.name, record)
    assert index.verify("ana.silva", PASSWORD) == account
    assert index.verify("Ana.Silva ", PASSWORD) == account  # as typed on a phone
    assert index.verify("ana.silva", PASSWORD + "x") is None
    assert index.verify("nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"password": "short"}, "at least 12"),
        ({"password": "x" * 300}, "at most 256"),
        ({"roles": ["chief"]}, "unknown role"),
        ({"roles": []}, "at least one role"),
        ({"language": "de"}, "not a language this hub speaks"),
        ({"language": "not a tag"}, "is not a language tag"),
        ({"email": "ana at example"}, "is not an address"),
        ({"email": "a@b.org\r\nBcc: x@y.org"}, "is not an address"),
    ],
)
def test_bad_fields_are_refused_with_the_reason(changes: dict[str, object], says: str) -> None:
    with pytest.raises(AccountError, match=says):
        made(**changes)


def test_an_accounts_language_is_one_the_hub_speaks_normalised() -> None:
    assert made(language="AR").language == "ar"
    assert made(language="fr_ca").language == "fr-CA"  # a form of a language spoken
    only_english = Languages.of(["en"])
    with pytest.raises(AccountError, match=r"speaks \(en\)"):
        made(language="fr", languages=only_english)


def test_users_create_refuses_a_language_the_hub_does_not_speak(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Refused before anything is written: no broker is needed to be told.
    command = ["users", "create", "ana.silva", "--email", "ana@example.org", "--role", "officer"]
    code = main([*command, "--language", "de", "--password-stdin"])
    assert code == 2
    assert "'de' is not a language this hub speaks (en, fr, es, ar)" in capsys.readouterr().err


def test_a_taken_name_or_a_bad_name_is_refused() -> None:
    with pytest.raises(AccountError, match="exists"):
        made(existing=made())
    with pytest.raises(AccountError, match="account name"):
        made("Ana Silva")


def test_disabled_accounts_do_not_verify_and_a_reset_changes_the_session_stamp() -> None:
    account = made()
    index = AccountIndex()
    off = accounts.disable(account, account.name, "admin", NOW)
    index.apply(account.name, off.as_record())
    assert index.verify(account.name, PASSWORD) is None
    with pytest.raises(AccountError, match="already disabled"):
        accounts.disable(off, account.name, "admin", NOW)
    back = accounts.enable(off, account.name)
    assert back.active
    later = NOW + timedelta(minutes=1)
    renewed = accounts.reset(back, back.name, "another long password", later)
    assert renewed.password_set_at != account.password_set_at
    index.apply(back.name, renewed.as_record())
    assert index.verify(back.name, PASSWORD) is None
    assert index.verify(back.name, "another long password") is not None
    with pytest.raises(AccountError, match="no account"):
        accounts.reset(None, "ghost", "another long password", later)


def test_a_record_that_does_not_read_is_refused_naming_the_field() -> None:
    record = made().as_record()
    record["roles"] = ["emperor"]
    with pytest.raises(Exception, match=r"\$\.roles"):
        AccountIndex().apply("ana.silva", record)


@pytest.mark.kafka
def test_users_cli_creates_resets_disables_and_lists_without_hashes(
    kafka_broker: str, tmp_path: Path
) -> None:
    hub = HubProcess(tmp_path, free_port())  # its settings only: no worker is needed

    def users(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", "users", *args],
            input=None if password is None else password + "\n",
            env=hub.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    created = users(
        "create",
        "ana.silva",
        "--email",
        "ana@example.org",
        "--role",
        "officer",
        "--language",
        "fr",
        "--password-stdin",
        password=PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout == ""  # a password from stdin is never printed
    again = users(
        "create",
        "ana.silva",
        "--email",
        "ana@example.org",
        "--role",
        "editor",
        "--password-stdin",
        password=PASSWORD,
    )
    assert again.returncode == 2 and "exists" in again.stderr
    weak = users(
        "create",
        "bo",
        "--email",
        "bo@example.org",
        "--role",
        "editor",
        "--password-stdin",
        password="short",
    )
    assert weak.returncode == 2 and "at least 12" in weak.stderr

    made_up = users("reset", "ana.silva")
    assert made_up.returncode == 0, made_up.stderr
    new_password = made_up.stdout.strip()
    assert len(new_password) >= 12

    settings = Settings(_env_file=None, **{"kafka": {"topic_prefix": hub.prefix}})  # type: ignore[call-arg]
    index = asyncio.run(account_store.load(settings))
    assert index.verify("ana.silva", new_password) is not None
    assert index.verify("ana.silva", PASSWORD) is None

    assert users("disable", "ana.silva").returncode == 0
    index = asyncio.run(account_store.load(settings))
    assert index.verify("ana.silva", new_password) is None
    listing = json.loads(users("list", "--json").stdout)
    (entry,) = listing
    assert entry["name"] == "ana.silva" and entry["roles"] == [Role.OFFICER.value]
    assert entry["disabled_at"] is not None and "password_hash" not in entry
    assert "$argon2" not in users("list").stdout
    assert users("enable", "ana.silva").returncode == 0
    assert users("disable", "nobody").returncode == 2
