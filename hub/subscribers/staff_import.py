"""Staff directory import: parse the HR CSV export, and diff it against the staff the hub knows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub.i18n.languages import DEFAULT_LANGUAGES, LanguageError, Languages
from hub.model.subscribers import (
    EVERYTHING,
    Consent,
    InvalidSubscriberError,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
    check_email,
)

REQUIRED_COLUMNS = (
    "staff_id",
    "name",
    "email",
    "language",
    "department",
    "office",
    "country",
    "region",
)
OPTIONAL_COLUMNS = ("groups",)
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# The fields the staff directory owns. Everything else on a staff record (subscriptions, consents,
# Telegram chat, status) belongs to the person or to the hub and must survive a re-import.
DIRECTORY_FIELDS = (
    "name",
    "email",
    "language",
    "department",
    "office",
    "country",
    "region",
    "groups",
)

ID_PREFIX = "staff-"
CONSENT_METHOD = "staff-directory"
CONSENT_TEXT = "Staff member of the Organization: receives internal communications"

COUNTRY = re.compile(r"[A-Z]{2}")
REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# Line breaks or other control characters in a name would end up in email headers.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Problem = tuple[int, str | None, str]  # (spreadsheet row, column or None, message)


class StaffImportError(Exception):
    """The file cannot be imported; `problems` lists every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(_describe(problem) for problem in self.problems)


def _describe(problem: Problem) -> str:
    row, column, message = problem
    return f"row {row}, {column}: {message}" if column else f"row {row}: {message}"


@dataclass(frozen=True, slots=True)
class StaffDiff:
    """What an import would change, each list sorted by subscriber id."""

    joined: list[Subscriber]
    changed: list[tuple[Subscriber, Subscriber, list[str]]]  # (old, new, changed field names)
    left: list[Subscriber]

    @property
    def is_empty(self) -> bool:
        return not (self.joined or self.changed or self.left)


# --- parsing -------------------------------------------------------------------------------


def parse_staff_csv(
    raw: bytes, *, now: str, languages: Languages = DEFAULT_LANGUAGES
) -> list[Subscriber]:
    """The staff in a directory export; raises StaffImportError listing every problem."""
    text = _decode(raw)
    records = _read_records(text)
    if not records or not any(cell.strip() for cell in records[0]):
        raise StaffImportError([(1, None, _no_header_message(records))])
    columns, problems = _read_header(records[0])
    staff: list[Subscriber] = []
    first_row_of: dict[str, int] = {}
    for number, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets often export trailing blank rows, or rows of bare commas
        if len(cells) != len(columns):
            problems.append((number, None, _field_count_message(len(cells), len(columns))))
            continue  # the values are misaligned: checking them would only add noise
        row = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
        row_problems = _check_row(row, languages) + _check_unique(row, number, first_row_of)
        problems.extend((number, column, message) for column, message in row_problems)
        if not problems:  # once anything is wrong the file is refused: no need to build more
            staff.append(_subscriber(row, now, languages))
    if problems:
        raise StaffImportError(problems)
    return staff


def _decode(raw: bytes) -> str:
    """UTF-8 text, without a BOM; any other encoding is refused rather than guessed."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Stop here: a file in another encoding is usually wrong throughout, and the fix is to
        # save it again as UTF-8, not to correct it row by row.
        line = raw[: exc.start].count(b"\n") + 1
        raise StaffImportError([(line, None, _encoding_message(raw, exc.start, line))]) from exc


def _encoding_message(raw: bytes, position: int, line: int) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the file is UTF-16: save it as 'CSV UTF-8' and import it again"
    return (
        f"not UTF-8 (byte 0x{raw[position]:02x} on line {line}): "
        "save the file as 'CSV UTF-8' and import it again"
    )


def _read_records(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise StaffImportError([(1, None, f"not a readable CSV file: {exc}")]) from exc


def _no_header_message(records: list[list[str]]) -> str:
    if not any(any(cell.strip() for cell in record) for record in records):
        return f"the file is empty: expected a header row with {', '.join(REQUIRED_COLUMNS)}"
    return f"is blank: expected a header row with {', '.join(REQUIRED_COLUMNS)}"


def _read_header(cells: list[str]) -> tuple[list[str], list[Problem]]:
    """The normalised column names, and what is wrong with them."""
    columns = [cell.strip().lower() for cell in cells]
    if len(columns) == 1 and ";" in columns[0]:
        # A spreadsheet in a French or Spanish locale saves "CSV" with semicolons.
        message = "the columns are separated by ';': save the file with commas as separators"
        raise StaffImportError([(1, None, message)])
    problems: list[Problem] = []
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        problems.append((1, None, f"missing required columns: {', '.join(missing)}"))
    unknown = [
        repr(name) if name else f"column {index} (no name)"
        for index, name in enumerate(columns, start=1)
        if name not in KNOWN_COLUMNS
    ]
    if unknown:
        expected = ", ".join(KNOWN_COLUMNS)
        problems.append((1, None, f"unknown columns: {', '.join(unknown)} (expected {expected})"))
    for name in KNOWN_COLUMNS:
        if columns.count(name) > 1:
            problems.append((1, name, f"the column appears {columns.count(name)} times"))
    return columns, problems


def _field_count_message(found: int, expected: int) -> str:
    message = f"has {found} fields but the header has {expected}"
    if found > expected:
        message += " (a value containing a comma must be in double quotes)"
    return message


def _check_row(row: dict[str, str], languages: Languages) -> list[tuple[str, str]]:
    """(column, message) for each bad value, in column order; absent columns are not checked."""
    problems: list[tuple[str, str]] = []
    for column in KNOWN_COLUMNS:
        if column in row:
            message = _check_value(column, row[column], languages)
            if message:
                problems.append((column, message))
    return problems


def _check_value(column: str, value: str, languages: Languages) -> str | None:
    if column in REQUIRED_COLUMNS and not value:
        return "is required"
    if CONTROL.search(value):
        return "contains a line break or another control character"
    if column == "email":
        return _email_problem(value)
    if column == "language":
        # a language the hub does not speak would be read in the default one without a word
        try:
            languages.check(value)
        except LanguageError as exc:
            return str(exc)
    if column == "country" and not COUNTRY.fullmatch(value):
        return f"{value!r} is not a two-letter ISO country code in capitals, like SN or CH"
    if column == "region" and not REGION.fullmatch(value):
        return f"{value!r} is not a region slug like west-africa (a-z, 0-9 and hyphens)"
    return None


def _email_problem(value: str) -> str | None:
    try:
        check_email(value)
    except InvalidSubscriberError as exc:
        return exc.problems[0][1]
    return None


def _check_unique(
    row: dict[str, str], number: int, first_row_of: dict[str, int]
) -> list[tuple[str, str]]:
    staff_id = row.get("staff_id", "")
    if not staff_id:
        return []
    first = first_row_of.setdefault(staff_id, number)
    if first != number:
        return [("staff_id", f"{staff_id!r} is already used on row {first}")]
    return []


def _subscriber(row: dict[str, str], now: str, languages: Languages) -> Subscriber:
    return Subscriber(
        id=ID_PREFIX + row["staff_id"],
        kind=SubscriberKind.STAFF,
        name=row["name"],
        language=languages.check(row["language"]),
        email=row["email"],
        department=row["department"],
        office=row["office"],
        country=row["country"],
        region=row["region"],
        groups=_groups(row.get("groups", "")),
        status=SubscriberStatus.ACTIVE,
        subscriptions=(EVERYTHING,),
        consents=(Consent(at=now, method=CONSENT_METHOD, text=CONSENT_TEXT),),
        updated_at=now,
    )


def _groups(cell: str) -> frozenset[str]:
    return frozenset(name.strip() for name in cell.split(";") if name.strip())


# --- diffing -------------------------------------------------------------------------------


def diff_staff(current: Iterable[Subscriber], incoming: list[Subscriber]) -> StaffDiff:
    """Who joins, changes and leaves if `incoming` becomes the staff list; non-staff are ignored."""
    known = {s.id: s for s in current if s.is_staff}
    incoming_ids = _unique_ids(incoming)
    joined: list[Subscriber] = []
    changed: list[tuple[Subscriber, Subscriber, list[str]]] = []
    for new in incoming:
        old = known.get(new.id)
        if old is None:
            joined.append(new)
        elif old.status is SubscriberStatus.UNSUBSCRIBED:
            joined.append(_rejoined(old, new))
        else:
            fields = changed_fields(old, new)
            if fields:
                changed.append((old, _refreshed(old, new), fields))
    left = [
        s
        for s in known.values()
        if s.id not in incoming_ids and s.status is not SubscriberStatus.UNSUBSCRIBED
    ]
    return StaffDiff(
        joined=sorted(joined, key=_id),
        changed=sorted(changed, key=lambda change: change[0].id),
        left=sorted(left, key=_id),
    )


def changed_fields(old: Subscriber, new: Subscriber) -> list[str]:
    """The directory fields that differ; timestamps and consents are not changes."""
    return [name for name in DIRECTORY_FIELDS if getattr(old, name) != getattr(new, name)]


def offboarded(subscriber: Subscriber, now: str) -> Subscriber:
    """The record to write for a leaver: they stop receiving; the record itself stays."""
    return subscriber.with_changes(status=SubscriberStatus.UNSUBSCRIBED, updated_at=now)


def _unique_ids(incoming: list[Subscriber]) -> set[str]:
    ids: set[str] = set()
    for subscriber in incoming:
        if subscriber.id in ids:
            raise ValueError(f"{subscriber.id} appears twice in the incoming staff list")
        ids.add(subscriber.id)
    return ids


def _refreshed(old: Subscriber, new: Subscriber) -> Subscriber:
    """The current record with the directory's fields: the person's own choices are kept."""
    changes: dict[str, Any] = {name: getattr(new, name) for name in DIRECTORY_FIELDS}
    return old.with_changes(**changes, updated_at=new.updated_at)


def _rejoined(old: Subscriber, new: Subscriber) -> Subscriber:
    # Someone who comes back is active again on the new directory consent; the earlier consents
    # stay as the record of what was agreed before.
    return _refreshed(old, new).with_changes(
        status=SubscriberStatus.ACTIVE, consents=old.consents + new.consents
    )


def _id(subscriber: Subscriber) -> str:
    return subscriber.id


# --- reporting -----------------------------------------------------------------------------


def format_diff(diff: StaffDiff) -> str:
    """One line per person, then a count line (or just `no changes`)."""
    if diff.is_empty:
        return "no changes"
    lines = [f"joined  {s.id}  {_who(s)}" for s in diff.joined]
    lines += [f"changed {old.id}  {', '.join(fields)}" for old, _, fields in diff.changed]
    lines += [f"left    {s.id}  {_who(s)}" for s in diff.left]
    lines.append(f"{len(diff.joined)} joined, {len(diff.changed)} changed, {len(diff.left)} left")
    return "\n".join(lines)


def _who(subscriber: Subscriber) -> str:
    return f"{subscriber.name} <{subscriber.email}>" if subscriber.email else subscriber.name


__all__ = [
    "DIRECTORY_FIELDS",
    "StaffDiff",
    "StaffImportError",
    "changed_fields",
    "diff_staff",
    "format_diff",
    "offboarded",
    "parse_staff_csv",
]
