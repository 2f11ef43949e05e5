"""The one Jinja2 environment: strict, autoescaped HTML, translated through the catalogs, template
lookup along the type and language fallbacks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from channels.telegram.format import markdown_to_telegram
from hub.errors import TemplateError
from hub.i18n.catalogs import LOCALE_FOLDER, Catalogs
from hub.i18n.formatting import format_date, format_datetime, format_number, isolate_if_mixed
from hub.i18n.languages import DEFAULT_LANGUAGES, Languages, direction, truncations
from hub.model.events import Event
from hub.rendering.links import link_marks, new_nonce

DEFAULT_TEMPLATES = "_default"


@dataclass(frozen=True, slots=True)
class Rendered:
    """The parts of one message for one (event, channel, language)."""

    subject: str
    text: str
    html: str
    # Names the link markers in text and html (hub.rendering.links.link_marks).
    nonce: str = ""


class Converted:
    """Markup converted from Markdown the first time a template shows it (`__html__`)."""

    __slots__ = ("_convert", "_source", "_value")

    def __init__(self, convert: Callable[[str], str], source: str) -> None:
        self._convert = convert
        self._source = source
        self._value: Markup | None = None

    def __html__(self) -> Markup:
        if self._value is None:
            self._value = Markup(self._convert(self._source))  # noqa: S704 (escaped by the converter)
        return self._value

    def __str__(self) -> str:
        return str(self.__html__())


def _markdown() -> MarkdownIt:
    # Raw HTML in an event body is shown as text, never passed through.
    return MarkdownIt("commonmark", {"html": False, "linkify": False})


class Renderer:
    """Renders events with templates/<type>/<channel>/<part>.j2 (or a language's own copy in
    <channel>/<lang>/), shared defaults in _default/, words from the catalogs in _locale/."""

    def __init__(self, templates_dir: Path, *, languages: Languages = DEFAULT_LANGUAGES) -> None:
        self.templates_dir = templates_dir
        self.languages = languages
        self.default_language = languages.default
        self.catalogs = Catalogs(templates_dir / LOCALE_FOLDER, languages)
        self._env = jinja2.Environment(
            extensions=["jinja2.ext.i18n"],
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "html.j2"), default_for_string=True, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        # `{% trans %}` takes its variables by name and is autoescaped; the functions come with
        # each render's context (locale_context), since one environment serves every language.
        self._env.newstyle_gettext = True  # type: ignore[attr-defined]
        self._md = _markdown()
        self._cache: OrderedDict[tuple[str, str, str, str], Rendered] = OrderedDict()
        self._cache_size = 512

    @property
    def environment(self) -> jinja2.Environment:
        return self._env

    def locale_context(self, language: str) -> dict[str, Any]:
        """What every template needs to speak `language`: its words (`_`, `gettext`, `ngettext`
        and `{% trans %}`), its tag and direction, its date and number formats."""
        return {
            **self.catalogs.jinja_functions(language),
            "lang": language,
            "dir": direction(language),
            # the side text starts on, for mail clients that ignore `dir` on table cells
            "start": "right" if direction(language) == "rtl" else "left",
            "end": "left" if direction(language) == "rtl" else "right",
            "format_date": lambda value, form="long": format_date(value, language, form),
            "format_datetime": lambda value, form="medium": format_datetime(value, language, form),
            "format_number": lambda value: format_number(value, language),
            # for plain text: bidi marks around text written in the other direction than the
            # message's (HTML templates use <bdi> instead)
            "isolate": lambda text: isolate_if_mixed(str(text), language),
            "direction": direction,
        }

    def render_page(self, name: str, language: str, context: dict[str, Any]) -> str:
        """A page (self-service, archive, console) in the reader's language."""
        return self._env.get_template(name).render({**self.locale_context(language), **context})

    def template_name(self, event_type: str, channel: str, language: str, part: str) -> str:
        """The first template that exists: the type's own before the default; in each, a copy
        for the reader's language (`fr-TN`, then `fr`) before the one every language shares
        (its words from the catalogs), and only then a copy for a fallback language."""
        # an event type without templates of its own uses the defaults; a system message never
        folders = [event_type] if event_type.startswith("_") else [event_type, DEFAULT_TEMPLATES]
        own = truncations(language) if language else []
        fallbacks = [lang for lang in self.languages.chain(language) if lang not in own]
        candidates = [
            name
            for folder in folders
            for name in [f"{folder}/{channel}/{lang}/{part}" for lang in own]
            + [f"{folder}/{channel}/{part}"]
        ] + [f"{folder}/{channel}/{lang}/{part}" for folder in folders for lang in fallbacks]
        for name in candidates:
            if (self.templates_dir / f"{name}.j2").is_file():
                return f"{name}.j2"
        raise TemplateError(f"no template {part!r} for {event_type}/{channel}/{language}")

    def render(self, event: Event, channel: str, language: str) -> Rendered:
        """Render once per (event, channel, language); cached, since every recipient shares it."""
        key = (event.id, event.fingerprint, channel, language)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        rendered = self._render_uncached(event, channel, language)
        self._cache[key] = rendered
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return rendered

    def _render_uncached(self, event: Event, channel: str, language: str) -> Rendered:
        nonce = new_nonce()
        context = self.context(event, language, nonce)
        if channel == "telegram":
            # Telegram's HTML subset, one message (split later if it is too long).
            message = self._render_part(event.type, channel, language, "message.html", context)
            return Rendered(subject="", text="", html=message.strip(), nonce=nonce)
        return self._email(event.type, language, context, nonce)

    def _email(self, folder: str, language: str, context: dict[str, Any], nonce: str) -> Rendered:
        parts = {
            part: self._render_part(folder, "email", language, part, context)
            for part in ("subject.txt", "body.txt", "body.html")
        }
        subject = " ".join(parts["subject.txt"].split())  # one line: no header injection
        return Rendered(subject, parts["body.txt"], parts["body.html"], nonce)

    def _render_part(
        self, event_type: str, channel: str, language: str, part: str, context: dict[str, Any]
    ) -> str:
        name = self.template_name(event_type, channel, language, part)
        try:
            return self._env.get_template(name).render(context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{name}: {exc}") from exc

    def render_system(self, name: str, language: str, context: dict[str, Any]) -> Rendered:
        """A transactional message (confirmation and the like) from templates/_system/<name>/."""
        nonce = new_nonce()
        preferences, unsubscribe = link_marks(nonce)
        data = {
            **self.locale_context(language),
            "language": language,
            "preferences_url": preferences,
            "unsubscribe_url": unsubscribe,
            **context,
        }
        return self._email(f"_system/{name}", language, data, nonce)

    def context(self, event: Event, language: str, nonce: str = "") -> dict[str, Any]:
        """Data prepared in Python, so templates stay dumb."""
        if language not in event.content:
            raise TemplateError(f"event {event.id} has no content in {language!r}")
        content = event.content[language]
        doc = event.document
        preferences, unsubscribe = link_marks(nonce)
        return {
            **self.locale_context(language),
            "language": language,
            "event_type": event.type,
            "classification": event.classification.value,
            "is_internal": event.classification.value in ("staff", "restricted"),
            "publisher": event.publisher_name,
            "published_on": format_date(event.occurred_at, language),
            "title": content.title,
            "summary": content.summary,
            "body_markdown": content.body,
            # Converted when a template first shows them: each channel's templates need one.
            "body_html": Converted(self._md.render, content.body),  # escaped by markdown-it
            "body_telegram": Converted(markdown_to_telegram, content.body),  # escaped
            "full_text_url": _full_text_url(doc, content.links),
            "links": [{"title": link.title, "url": link.url} for link in content.links],
            "research": doc.get("research"),
            "strategy": doc.get("strategy"),
            "themes": sorted(event.tags.themes),
            "preferences_url": preferences,
            "unsubscribe_url": unsubscribe,
        }


def _full_text_url(document: dict[str, Any], links: tuple[Any, ...]) -> str | None:
    """Where the whole text lives: the publication, else the event's first link."""
    research = document.get("research") or {}
    if research.get("publication_url"):
        return str(research["publication_url"])
    return links[0].url if links else None
