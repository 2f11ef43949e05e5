"""Translation catalogs: extract the hub's words, merge them into each language, compile.

    python -m devstack.catalogs extract     # templates/_locale/<domain>.pot, then every .po
    python -m devstack.catalogs init ar     # a new language's catalogs, to translate
    python -m devstack.catalogs compile     # the .mo files the hub reads
    python -m devstack.catalogs check       # exit 1 naming each untranslated string

`make catalogs` runs extract and compile; `make test` fails on any untranslated string.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from hub.i18n.catalogs import DOMAINS, SOURCE_LANGUAGE, po_path, read_catalog

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "templates" / "_locale"
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
JINJA = ("jinja2", JINJA_OPTIONS)
# Which files hold each domain's words: templates with {% trans %} / _(), code with _() / N_().
SOURCES: dict[str, list[str]] = {
    "messages": [
        "templates/_default/**.j2",
        "templates/_system/**.j2",
        "templates/_layouts/email.html.j2",
        "hub/newsletters/**.py",
        "hub/rendering/**.py",
        "channels/email/**.py",
    ],
    "pages": [
        "templates/_pages/**.j2",
        "templates/_layouts/system.html.j2",
        "hub/web/pages.py",
        "hub/web/newsletters.py",
        "hub/web/forms.py",
        "hub/subscribers/selfservice.py",
    ],
    "console": ["templates/_console/**.j2", "hub/web/console/**.py", "hub/console/**.py"],
    "telegram": ["channels/telegram/**.py"],
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
HEADER = "Translations of the communications hub"


def extract(domain: str) -> Catalog:
    """Every message of a domain, from its templates and code."""
    catalog = Catalog(project="comms-hub", header_comment=f"# {HEADER}: {domain}.")
    for pattern in SOURCES[domain]:
        for path in sorted(ROOT.glob(pattern.replace("**.", "**/*."))):
            method, options = JINJA if path.suffix == ".j2" else ("python", {})
            found = extract_from_file(method, str(path), keywords=KEYWORDS, options=options)
            where = str(path.relative_to(ROOT))
            for line, message, comments, context in found:
                catalog.add(message, None, [(where, line)], auto_comments=comments, context=context)
    return catalog


def messages() -> dict[str, set[str]]:
    """The message ids of every domain (the singular of plural messages)."""
    ids: dict[str, set[str]] = {}
    for domain in DOMAINS:
        ids[domain] = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(domain) if m.id}
    return ids


def languages() -> list[str]:
    return sorted(p.name.replace("_", "-") for p in LOCALE_DIR.iterdir() if p.is_dir())


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, omit_header=False)


def update(language: str, domains: list[str]) -> None:
    """Merge each domain's current messages into a language's catalogs (new ones empty)."""
    for domain in domains:
        with (LOCALE_DIR / f"{domain}.pot").open("rb") as handle:
            template = read_po(handle)
        path = po_path(LOCALE_DIR, language, domain)
        catalog = (
            read_catalog(path, language)
            if path.is_file()
            else Catalog(locale=language.replace("-", "_"), header_comment=f"# {HEADER}.")
        )
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        _write(path, catalog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack.catalogs", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    extract_ = sub.add_parser("extract")
    init = sub.add_parser("init")
    init.add_argument("language")
    for command in (extract_, init):
        command.add_argument("--domain", choices=DOMAINS, help="only this part's catalogs")
    sub.add_parser("compile")
    sub.add_parser("check")
    args = parser.parse_args(argv)
    if args.command in ("extract", "init"):
        domains = [args.domain] if args.domain else list(DOMAINS)
        for domain in domains:
            _write(LOCALE_DIR / f"{domain}.pot", extract(domain))
        for language in [*languages(), *([args.language] if args.command == "init" else [])]:
            if language != SOURCE_LANGUAGE:
                update(language, domains)
        return 0
    if args.command == "compile":
        for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
            language = po.parent.parent.name
            with po.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, read_catalog(po, language))
        return 0
    missing = list(untranslated())
    for language, domain, message in missing:
        where = po_path(LOCALE_DIR, language, domain).relative_to(ROOT)
        print(f"{where}: untranslated: {message!r}")
    return 1 if missing else 0


def untranslated() -> Iterator[tuple[str, str, str]]:
    """(language, domain, message) for every string a catalog lacks, in every language there."""
    from hub.i18n.catalogs import Catalogs
    from hub.i18n.languages import Languages

    spoken = Languages.of([*languages(), SOURCE_LANGUAGE])
    yield from Catalogs(LOCALE_DIR, spoken).untranslated(messages())


if __name__ == "__main__":
    sys.exit(main())
