"""Templates are strict and escaped; every template renders every example in every language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.errors import TemplateError
from hub.i18n.languages import DEFAULT_LANGUAGES
from hub.model.events import Event
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from tests.helpers import event, valid_examples

RENDERER = Renderer(REPO_ROOT / "templates")
LANGUAGES = list(DEFAULT_LANGUAGES.supported)


@pytest.mark.parametrize("path", valid_examples(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
@pytest.mark.parametrize("wanted", LANGUAGES)
def test_every_valid_example_renders_in_every_language(path: Path, wanted: str) -> None:
    news = Event.from_document(json.loads(path.read_text()))
    language = DEFAULT_LANGUAGES.choose(wanted, news.languages)
    rendered = RENDERER.render(news, "email", language)
    content = news.content[language]
    assert "\n" not in rendered.subject and content.title.split()[0] in rendered.subject
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert f'lang="{language}"' in rendered.html
    assert content.summary in rendered.text


def test_language_specific_labels() -> None:
    news = event()
    assert "Liens" in RENDERER.render(news, "email", "fr").html
    assert "Enlaces" in RENDERER.render(news, "email", "es").html


def test_hostile_title_and_body_are_escaped_in_html_and_subject_stays_one_line() -> None:
    news = event(
        content={
            "en": {
                "title": 'Talks <script>alert("x")</script> &\nBcc: victim@example.com',
                "summary": "<img src=x onerror=alert(1)>",
                "body": "Hello <b>raw</b> [click](javascript:alert(1))",
            }
        }
    )
    rendered = RENDERER.render(news, "email", "en")
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<img" not in rendered.html and "<b>raw</b>" not in rendered.html
    assert 'href="javascript:' not in rendered.html  # left as text, never a link
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_internal_content_is_marked_internal() -> None:
    news = event(classification="staff")
    rendered = RENDERER.render(news, "email", "en")
    assert rendered.subject.startswith("[Internal]")
    assert "for staff only" in rendered.text


def test_missing_template_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        RENDERER.template_name("announcement.published", "pigeon", "en", "body.txt")


def test_rendering_a_language_the_event_lacks_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        RENDERER.render(event(), "email", "de")


def test_template_language_falls_back_to_english_for_content_in_other_languages() -> None:
    news = event(content={"pt": {"title": "Título", "summary": "Resumo", "body": "Texto"}})
    rendered = RENDERER.render(news, "email", "pt")
    assert "Título" in rendered.subject and "Links" not in rendered.html
    assert "Published by" in rendered.text
