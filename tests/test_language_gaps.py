"""Language gaps before publishing: the pure count, the API's dry run, `hub validate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.access.roles import Role
from hub.cli.main import main
from hub.i18n.languages import Languages
from hub.model.subscribers import Subscriber, SubscriberKind
from hub.partners.registry import PartnerRegistry
from hub.planning.gaps import Fallback, language_gaps
from hub.settings import Settings
from tests.helpers import EXAMPLES, PARTNERS, event, load_example, subscriber
from tests.test_web_services import Hub
from tests.test_web_services import hub as hub  # the API over fakes, a fixture

SPOKEN = Languages.of(["en", "fr", "es", "ar"])
EN_FR = {
    "en": {"title": "Talks", "summary": "Talks open", "body": "Text"},
    "fr": {"title": "Pourparlers", "summary": "Ouverture", "body": "Texte"},
}
EVERY_LANGUAGE = {
    **EN_FR,
    "es": {"title": "Conversaciones", "summary": "Apertura", "body": "Texto"},
    "ar": {"title": "محادثات", "summary": "افتتاح", "body": "نص"},
}
RESEARCH = EXAMPLES / "research.released.v1" / "valid" / "digital-remittances-west-africa.json"


def test_the_languages_an_event_lacks_and_who_reads_another() -> None:
    readers = ["ar", "ar-TN", "es", "fr", "fr-TN", "en", "de", "es-MX"]
    gaps = language_gaps(event(content=EN_FR), SPOKEN, readers)
    assert gaps.missing == ("es", "ar")
    assert gaps.fallbacks == (Fallback("es", 2, "en"), Fallback("ar", 2, "en"))
    assert gaps.total == 4 and gaps.fallback == {"es": 2, "ar": 2}
    assert gaps.as_dict() == {
        "missing": ["es", "ar"],
        "fallbacks": [
            {"language": "es", "recipients": 2, "reads": "en"},
            {"language": "ar", "recipients": 2, "reads": "en"},
        ],
    }


def test_a_configured_fallback_is_what_the_readers_get() -> None:
    north_africa = Languages.of(["en", "fr", "es", "ar"], "en", {"ar": ["fr"]})
    gaps = language_gaps(event(content=EN_FR), north_africa, ["ar-TN", "ar"])
    assert gaps.fallbacks == (Fallback("es", 0, "en"), Fallback("ar", 2, "fr"))


def test_a_lacking_language_nobody_reads_is_still_listed() -> None:
    gaps = language_gaps(event(content=EN_FR), SPOKEN, [])
    assert gaps.missing == ("es", "ar")
    assert gaps.fallbacks == (Fallback("es", 0, "en"), Fallback("ar", 0, "en"))
    assert gaps.total == 0 and gaps.fallback == {}


def test_nothing_lacks_when_every_language_is_there() -> None:
    complete = event(content=EVERY_LANGUAGE)
    gaps = language_gaps(complete, SPOKEN, ["ar", "es", "fr", "en"])
    assert gaps.missing == () and gaps.fallbacks == ()


def test_a_regional_form_serves_its_language() -> None:
    canadian = {"en": EN_FR["en"], "fr-CA": EN_FR["fr"]}
    gaps = language_gaps(event(content=canadian), SPOKEN, ["fr", "fr-TN"])
    assert "fr" not in gaps.missing and gaps.total == 0


def test_readers_of_languages_the_hub_does_not_speak_count_under_the_default() -> None:
    french_only = {"fr": EN_FR["fr"]}
    gaps = language_gaps(event(content=french_only), SPOKEN, ["de", "en", "", "not a tag"])
    assert gaps.missing == ("en", "es", "ar")
    assert gaps.fallbacks[0] == Fallback("en", 4, "fr")


@pytest.fixture
def readers() -> list[Subscriber]:
    kinds = [("ar", 3), ("ar-TN", 1), ("es", 2), ("fr", 1), ("en", 1)]
    return [
        subscriber(f"p-{tag}-{n}", SubscriberKind.PARTNER, tag)
        for tag, count in kinds
        for n in range(count)
    ]


async def test_the_dry_run_answers_with_the_language_gaps(
    hub: Hub,
    readers: list[Subscriber],
) -> None:
    hub.directory.people.update({s.id: s for s in readers})
    # A member of the public the partners' event does not reach: not counted.
    public = subscriber("u-ar", SubscriberKind.PUBLIC, "ar")
    hub.directory.people[public.id] = public
    document = load_example(content=EN_FR, classification="partners")
    answer = await hub.client.post(
        "/api/v1/events/dry-run", json=document, headers=hub.as_role(Role.OFFICER)
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["recipients"] == 8
    assert report["languages"] == {
        "missing": ["es", "ar"],
        "fallbacks": [
            {"language": "es", "recipients": 2, "reads": "en"},
            {"language": "ar", "recipients": 4, "reads": "en"},
        ],
    }


def test_validate_names_the_missing_languages_from_the_file_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", str(RESEARCH)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("valid research.released event ")
    assert out[1] == "languages: missing es, ar (supported: en, fr, es, ar)"
    assert "  es readers will read en" in out and "  ar readers will read en" in out


def test_validate_of_an_event_in_every_language_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "complete.json"
    path.write_text(json.dumps(load_example(content=EVERY_LANGUAGE)), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert "languages: every supported language (en, fr, es, ar)" in capsys.readouterr().out


def test_validate_with_the_audience_counts_who_reads_another_language(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    readers: list[Subscriber],
    tmp_path: Path,
) -> None:
    async def current(_settings: Settings) -> list[Subscriber]:
        return readers

    async def registry(_settings: Settings) -> PartnerRegistry:
        return PARTNERS

    monkeypatch.setattr("hub.cli.subscribers._current", current)
    monkeypatch.setattr("hub.cli.partners.registry_now", registry)
    document: dict[str, Any] = load_example(RESEARCH)
    path = tmp_path / "research.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert main(["validate", "--audience", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  es: 2 recipient(s) will read en" in out
    assert "  ar: 4 recipient(s) will read en" in out


def test_an_invalid_event_still_exits_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = load_example(RESEARCH)
    del document["classification"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert "event refused" in capsys.readouterr().err


async def test_the_validation_answer_names_the_gaps_and_writes_nothing(
    hub: Hub,
    readers: list[Subscriber],
) -> None:
    hub.directory.people.update({s.id: s for s in readers})
    document = load_example(content=EN_FR, classification="partners")
    answer = await hub.client.post(
        "/api/v1/events/validate", json=document, headers=hub.as_role(Role.PUBLISHER)
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["valid"] is True and report["id"] == document["id"]
    assert report["recipients"] == 8
    assert report["languages"]["missing"] == ["es", "ar"]
    assert {"language": "ar", "recipients": 4, "reads": "en"} in report["languages"]["fallbacks"]
    assert hub.publisher.published == []

    broken = {**document, "content": {"de": document["content"]["en"]}, "classification": "x"}
    refused = await hub.client.post(
        "/api/v1/events/validate", json=broken, headers=hub.as_role(Role.PUBLISHER)
    )
    assert refused.status_code == 422
    assert {p["path"] for p in refused.json()["problems"]} >= {"$.classification"}


async def test_the_publish_answer_names_the_missing_languages(hub: Hub) -> None:
    document = load_example(content=EN_FR)
    answer = await hub.client.post(
        "/api/v1/events", json=document, headers=hub.as_role(Role.PUBLISHER)
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["languages_missing"] == ["es", "ar"]
