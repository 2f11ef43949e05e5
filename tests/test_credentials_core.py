"""Credentials and the JSON depth limit as plain Python: issuing, revoking, finding, refusing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub.access.credentials import (
    Credential,
    CredentialError,
    CredentialIndex,
    issue,
    parse_roles,
    revoke,
    token_hash,
)
from hub.access.roles import Role
from hub.intake.json_depth import too_deep

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_an_issued_token_is_random_and_only_its_hash_is_recorded() -> None:
    credential, token = issue("ana", ["publisher"], "admin", NOW, None)
    _other, other_token = issue("ben", ["publisher"], "admin", NOW, None)
    assert token != other_token and len(token) >= 40
    record = credential.as_record()
    assert token not in json.dumps(record)
    assert record["sha256"] == token_hash(token)
    assert "sha256" not in credential.public()
    assert Credential.from_record(record) == credential


def test_the_index_finds_active_credentials_by_token_only() -> None:
    credential, token = issue("ana", ["publisher", "editor"], "admin", NOW, None)
    index = CredentialIndex()
    index.apply("ana", credential.as_record())
    found = index.find(token)
    assert found is not None and found.roles == {Role.PUBLISHER, Role.EDITOR}
    assert index.find(token_hash(token)) is None  # the hash itself is not a token
    assert index.find(token + "x") is None
    index.apply("ana", revoke(credential, "ana", "admin", NOW).as_record())
    assert index.find(token) is None
    index.apply("ana", None)
    assert index.get("ana") is None


def test_a_topic_record_overrides_an_environment_credential() -> None:
    from_environment = Credential("ops", frozenset({Role.ADMIN}), token_hash("t0k3n"), "env", "env")
    index = CredentialIndex([from_environment])
    assert index.find("t0k3n") == from_environment
    index.apply("ops", revoke(from_environment, "ops", "admin", NOW).as_record())
    assert index.find("t0k3n") is None


@pytest.mark.parametrize(
    ("name", "roles", "message"),
    [
        ("Ana Silva", ["publisher"], "credential name"),
        ("", ["publisher"], "credential name"),
        ("ana", ["root"], "unknown role 'root'"),
        ("ana", [], "at least one role"),
    ],
)
def test_bad_credentials_are_refused_with_the_reason(
    name: str, roles: list[str], message: str
) -> None:
    with pytest.raises(CredentialError, match=message):
        issue(name, roles, "admin", NOW, None)


def test_a_name_in_use_or_unknown_is_refused() -> None:
    credential, _token = issue("ana", ["officer"], "admin", NOW, None)
    with pytest.raises(CredentialError, match="exists"):
        issue("ana", ["officer"], "admin", NOW, credential)
    revoked = revoke(credential, "ana", "admin", NOW)
    with pytest.raises(CredentialError, match="already revoked"):
        revoke(revoked, "ana", "admin", NOW)
    with pytest.raises(CredentialError, match="no credential named"):
        revoke(None, "zoe", "admin", NOW)
    reissued, _ = issue("ana", ["officer"], "admin", NOW, revoked)  # a revoked name is free
    assert reissued.active


def test_roles_are_parsed_case_insensitively() -> None:
    assert parse_roles(["Officer", " admin "]) == {Role.OFFICER, Role.ADMIN}


@pytest.mark.parametrize(
    ("text", "limit", "path"),
    [
        ('{"a": [1, {"b c": [[[]]]}]}', 4, '$.a[1]["b c"][0]'),
        ("[[[[]]]]", 4, None),
        ('{"x": "[[[[[[", "y": "\\"{{{{"}', 1, None),  # brackets inside strings do not count
        ('{"k\\"ey": {"n": [0, 1, [[]]]}}', 3, '$["k\\"ey"].n[2]'),
        ("[" * 100_000, 32, "$" + "[0]" * 32),
    ],
)
def test_json_nested_too_deep_is_found_with_its_path(
    text: str, limit: int, path: str | None
) -> None:
    assert too_deep(text, limit) == path
