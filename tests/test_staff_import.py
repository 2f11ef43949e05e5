"""Staff directory import: CSV parsing with every problem reported at once, and the diff."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from hub.model.subscribers import (
    EVERYTHING,
    Consent,
    Mode,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
    Subscription,
)
from hub.subscribers.staff_import import (
    StaffDiff,
    StaffImportError,
    diff_staff,
    format_diff,
    offboarded,
    parse_staff_csv,
)

MONDAY = "2025-03-03T08:00:00+00:00"
TUESDAY = "2025-03-04T08:00:00+00:00"
WEDNESDAY = "2025-03-05T08:00:00+00:00"

DIPC = "Department of International Cooperation and Partnerships"
HEADER = "staff_id,name,email,language,department,office,country,region,groups"
AMINA = f"1042,Amina Okafor,aokafor@iom.int,en,{DIPC},Geneva,CH,europe,donor-relations"
MOUSSA = f"2207,Moussa Diop,mdiop@iom.int,fr,{DIPC},Dakar,SN,west-africa,"
LEILA = "3310,Leïla Ben Salah,lbensalah@iom.int,fr-TN,Research Division,Tunis,TN,north-africa,"
SOFIA = (
    "4501,Sofía Jiménez,sjimenez@iom.int,es,Research Division,San José,CR,latin-america,"
    '"migration-data;climate"'
)
DIRECTORY = [AMINA, MOUSSA, LEILA, SOFIA]


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return "\r\n".join([header, *rows, ""]).encode("utf-8")


def problems_of(raw: bytes) -> list[tuple[int, str | None, str]]:
    with pytest.raises(StaffImportError) as caught:
        parse_staff_csv(raw, now=MONDAY)
    return caught.value.problems


def where(raw: bytes) -> list[tuple[int, str | None]]:
    return [(row, column) for row, column, _ in problems_of(raw)]


def apply(state: Iterable[Subscriber], diff: StaffDiff, now: str) -> list[Subscriber]:
    """What the hub would hold after writing the diff's records."""
    records = {s.id: s for s in state}
    for subscriber in diff.joined:
        records[subscriber.id] = subscriber
    for _, new, _ in diff.changed:
        records[new.id] = new
    for subscriber in diff.left:
        records[subscriber.id] = offboarded(subscriber, now)
    return list(records.values())


def partner() -> Subscriber:
    return Subscriber(
        id="partner-unhcr-dakar",
        kind=SubscriberKind.PARTNER,
        name="Fatou Ndiaye",
        language="fr",
        email="ndiaye@unhcr.org",
    )


# --- parsing -------------------------------------------------------------------------------


def test_a_valid_directory_export_becomes_active_staff_subscribers() -> None:
    staff = parse_staff_csv(csv_bytes(*DIRECTORY), now=MONDAY)

    assert [s.id for s in staff] == ["staff-1042", "staff-2207", "staff-3310", "staff-4501"]
    amina = staff[0]
    assert amina.kind is SubscriberKind.STAFF
    assert amina.status is SubscriberStatus.ACTIVE
    assert (amina.name, amina.email, amina.language) == ("Amina Okafor", "aokafor@iom.int", "en")
    assert (amina.department, amina.office, amina.country, amina.region) == (
        DIPC,
        "Geneva",
        "CH",
        "europe",
    )
    assert amina.groups == frozenset({"donor-relations"})
    assert amina.subscriptions == (EVERYTHING,)
    assert amina.consents == (
        Consent(
            at=MONDAY,
            method="staff-directory",
            text="Staff member of the Organization: receives internal communications",
        ),
    )
    assert amina.updated_at == MONDAY
    assert staff[2].name == "Leïla Ben Salah" and staff[2].language == "fr-TN"
    assert staff[3].office == "San José"
    assert staff[3].groups == frozenset({"migration-data", "climate"})
    assert staff[1].groups == frozenset()


def test_column_order_header_case_and_spaces_do_not_matter_and_groups_is_optional() -> None:
    header = " Email ,STAFF_ID,Name,Language,Department,Office,Country,Region"
    row = f"mdiop@iom.int,2207,Moussa Diop,fr,{DIPC},Dakar,SN,west-africa"

    (moussa,) = parse_staff_csv(csv_bytes(row, header=header), now=MONDAY)

    assert (moussa.id, moussa.email, moussa.office) == ("staff-2207", "mdiop@iom.int", "Dakar")
    assert moussa.groups == frozenset()


def test_a_utf8_bom_from_a_spreadsheet_export_is_accepted() -> None:
    staff = parse_staff_csv(b"\xef\xbb\xbf" + csv_bytes(LEILA), now=MONDAY)

    assert staff[0].id == "staff-3310" and staff[0].name == "Leïla Ben Salah"


def test_values_are_trimmed_and_blank_rows_are_skipped() -> None:
    padded = f" 2207 , Moussa Diop , mdiop@iom.int ,fr, {DIPC} , Dakar ,SN,west-africa, "

    (moussa,) = parse_staff_csv(csv_bytes(padded, "", ",,,,,,,,"), now=MONDAY)

    assert (moussa.id, moussa.name, moussa.office) == ("staff-2207", "Moussa Diop", "Dakar")


def test_a_header_only_file_means_there_are_no_staff() -> None:
    assert parse_staff_csv(csv_bytes(), now=MONDAY) == []


def test_a_completely_empty_file_is_refused() -> None:
    assert where(b"") == [(1, None)]
    assert "empty" in problems_of(b"\r\n\r\n")[0][2]


def test_missing_required_columns_are_all_named() -> None:
    header = "staff_id,name,language,department,office,region"
    row = f"2207,Moussa Diop,fr,{DIPC},Dakar,west-africa"

    ((row_number, column, message),) = problems_of(csv_bytes(row, header=header))

    assert (row_number, column) == (1, None)
    assert message == "missing required columns: email, country"


def test_an_unknown_column_is_refused_so_a_typo_cannot_drop_data() -> None:
    header = "staff_id,name,e-mail,email,language,department,office,country,region,groupes"
    row = f"2207,Moussa Diop,mdiop@iom.int,mdiop@iom.int,fr,{DIPC},Dakar,SN,west-africa,x"

    ((row_number, column, message),) = problems_of(csv_bytes(row, header=header))

    assert (row_number, column) == (1, None)
    assert message.startswith("unknown columns: 'e-mail', 'groupes'")


def test_a_bad_email_on_row_3_and_a_bad_country_on_row_5_are_reported_together() -> None:
    bad_email = MOUSSA.replace("mdiop@iom.int", "mdiop@iom")
    bad_country = SOFIA.replace(",CR,", ",Costa Rica,")

    problems = problems_of(csv_bytes(AMINA, bad_email, LEILA, bad_country))

    assert problems == [
        (3, "email", "not a valid email address: 'mdiop@iom'"),
        (
            5,
            "country",
            "'Costa Rica' is not a two-letter ISO country code in capitals, like SN or CH",
        ),
    ]


def test_every_bad_value_in_a_row_is_reported_with_its_column() -> None:
    row = "5120,,not-an-email,French,,Tunis,tn,North Africa,"

    assert where(csv_bytes(AMINA, row)) == [
        (3, "name"),
        (3, "email"),
        (3, "language"),
        (3, "department"),
        (3, "country"),
        (3, "region"),
    ]


def test_a_missing_email_is_an_error_for_staff() -> None:
    row = MOUSSA.replace("mdiop@iom.int", "")

    assert problems_of(csv_bytes(row)) == [(2, "email", "is required")]


def test_a_duplicate_staff_id_names_both_rows() -> None:
    twin = LEILA.replace("3310", "2207")

    ((row_number, column, message),) = problems_of(csv_bytes(AMINA, MOUSSA, twin))

    assert (row_number, column) == (4, "staff_id")
    assert message == "'2207' is already used on row 3"


def test_a_row_with_the_wrong_number_of_fields_is_reported_with_the_others() -> None:
    unquoted_comma = f"2207,Diop, Moussa,mdiop@iom.int,fr,{DIPC},Dakar,SN,west-africa,"
    too_short = "3310,Leïla Ben Salah,lbensalah@iom.int"
    bad_region = SOFIA.replace("latin-america", "Latin America")

    problems = problems_of(csv_bytes(AMINA, unquoted_comma, too_short, bad_region))

    assert [(row, column) for row, column, _ in problems] == [(3, None), (4, None), (5, "region")]
    assert problems[0][2].startswith("has 10 fields but the header has 9")
    assert "double quotes" in problems[0][2]
    assert problems[1][2] == "has 3 fields but the header has 9"


def test_header_and_row_problems_are_reported_together() -> None:
    header = "staff_id,name,email,language,department,office,region"
    row = f"2207,Moussa Diop,mdiop@iom,fr,{DIPC},Dakar,west-africa"

    assert where(csv_bytes(row, header=header)) == [(1, None), (2, "email")]


def test_a_latin1_file_is_refused_naming_the_line_of_the_first_bad_byte() -> None:
    raw = csv_bytes(AMINA, MOUSSA, LEILA, SOFIA).decode("utf-8").encode("latin-1")

    ((row_number, column, message),) = problems_of(raw)

    assert (row_number, column) == (4, None)
    assert "not UTF-8" in message and "0xef" in message and "line 4" in message


def test_a_semicolon_separated_export_gets_a_hint() -> None:
    raw = csv_bytes(MOUSSA.replace(",", ";"), header=HEADER.replace(",", ";"))

    ((_, _, message),) = problems_of(raw)

    assert "separated by ';'" in message


def test_a_line_break_inside_a_quoted_name_is_refused() -> None:
    row = MOUSSA.replace("Moussa Diop", '"Moussa\nDiop"')

    assert where(csv_bytes(AMINA, row)) == [(3, "name")]


def test_the_error_message_lists_one_problem_per_line() -> None:
    bad_email = MOUSSA.replace("mdiop@iom.int", "x")
    bad_country = SOFIA.replace(",CR,", ",cr,")

    with pytest.raises(StaffImportError) as caught:
        parse_staff_csv(csv_bytes(AMINA, bad_email, LEILA, bad_country), now=MONDAY)

    assert str(caught.value).splitlines() == [
        "row 3, email: not a valid email address: 'x'",
        "row 5, country: 'cr' is not a two-letter ISO country code in capitals, like SN or CH",
    ]


# --- diffing -------------------------------------------------------------------------------


def test_a_first_import_makes_everyone_join_and_leaves_other_subscribers_alone() -> None:
    incoming = parse_staff_csv(csv_bytes(*DIRECTORY), now=MONDAY)

    diff = diff_staff([partner()], incoming)

    assert [s.id for s in diff.joined] == ["staff-1042", "staff-2207", "staff-3310", "staff-4501"]
    assert diff.changed == [] and diff.left == []


def test_diff_reports_joined_changed_and_left_sorted_by_id() -> None:
    state = apply(
        [partner()], diff_staff([], parse_staff_csv(csv_bytes(*DIRECTORY), now=MONDAY)), MONDAY
    )
    moved = MOUSSA.replace(DIPC, "Research Division").replace("Dakar", "Tunis")
    newcomer = f"0977,Jean Dupont,jdupont@iom.int,fr,{DIPC},Geneva,CH,europe,"

    diff = diff_staff(state, parse_staff_csv(csv_bytes(newcomer, AMINA, moved), now=TUESDAY))

    assert [s.id for s in diff.joined] == ["staff-0977"]
    ((old, new, fields),) = diff.changed
    assert (old.id, old.office, new.office) == ("staff-2207", "Dakar", "Tunis")
    assert fields == ["department", "office"]
    assert new.updated_at == TUESDAY
    assert [s.id for s in diff.left] == ["staff-3310", "staff-4501"]
    assert not diff.is_empty


def test_a_change_keeps_the_persons_own_preferences() -> None:
    (moussa,) = parse_staff_csv(csv_bytes(MOUSSA), now=MONDAY)
    digest = Subscription(channels=frozenset({"email", "telegram"}), mode=Mode.DIGEST)
    chosen = moussa.with_changes(subscriptions=(digest,), telegram_chat_id=778812)
    renamed = MOUSSA.replace("Moussa Diop", "Moussa Diop Ndiaye").replace(",fr,", ",en,")

    diff = diff_staff([chosen], parse_staff_csv(csv_bytes(renamed), now=TUESDAY))

    ((_, new, fields),) = diff.changed
    assert fields == ["name", "language"]
    assert (new.name, new.language) == ("Moussa Diop Ndiaye", "en")
    assert new.subscriptions == (digest,)
    assert new.telegram_chat_id == 778812
    assert new.consents == moussa.consents  # agreed on Monday; still the same agreement


def test_reimporting_the_same_file_changes_nothing() -> None:
    raw = csv_bytes(*DIRECTORY)
    state = apply([partner()], diff_staff([partner()], parse_staff_csv(raw, now=MONDAY)), MONDAY)

    diff = diff_staff(state, parse_staff_csv(raw, now=TUESDAY))

    assert diff.is_empty
    assert format_diff(diff) == "no changes"


def test_reimporting_after_people_left_changes_nothing() -> None:
    state = apply([], diff_staff([], parse_staff_csv(csv_bytes(*DIRECTORY), now=MONDAY)), MONDAY)
    smaller = csv_bytes(AMINA, SOFIA)
    state = apply(state, diff_staff(state, parse_staff_csv(smaller, now=TUESDAY)), TUESDAY)

    assert diff_staff(state, parse_staff_csv(smaller, now=WEDNESDAY)).is_empty
    assert {s.id for s in state if not s.is_active} == {"staff-2207", "staff-3310"}


def test_a_header_only_file_makes_every_current_staff_member_leave() -> None:
    state = apply(
        [partner()], diff_staff([], parse_staff_csv(csv_bytes(*DIRECTORY), now=MONDAY)), MONDAY
    )

    diff = diff_staff(state, parse_staff_csv(csv_bytes(), now=TUESDAY))

    assert [s.id for s in diff.left] == ["staff-1042", "staff-2207", "staff-3310", "staff-4501"]


def test_a_leaver_is_unsubscribed_not_erased() -> None:
    (leila,) = parse_staff_csv(csv_bytes(LEILA), now=MONDAY)

    gone = offboarded(leila, TUESDAY)

    assert gone.status is SubscriberStatus.UNSUBSCRIBED and gone.updated_at == TUESDAY
    assert (gone.id, gone.name, gone.email, gone.consents) == (
        leila.id,
        leila.name,
        leila.email,
        leila.consents,
    )


def test_someone_who_left_and_comes_back_joins_again() -> None:
    (leila,) = parse_staff_csv(csv_bytes(LEILA), now=MONDAY)
    gone = offboarded(leila.with_changes(telegram_chat_id=55501), TUESDAY)
    back = LEILA.replace("Research Division", DIPC)

    diff = diff_staff([gone], parse_staff_csv(csv_bytes(back), now=WEDNESDAY))

    (again,) = diff.joined
    assert diff.changed == [] and diff.left == []
    assert again.status is SubscriberStatus.ACTIVE
    assert again.department == DIPC and again.updated_at == WEDNESDAY
    assert again.telegram_chat_id == 55501
    assert [c.at for c in again.consents] == [MONDAY, WEDNESDAY]
    assert diff_staff([again], parse_staff_csv(csv_bytes(back), now=WEDNESDAY)).is_empty


def test_format_diff_has_one_line_per_person_and_a_count() -> None:
    state = apply(
        [], diff_staff([], parse_staff_csv(csv_bytes(AMINA, MOUSSA, LEILA), now=MONDAY)), MONDAY
    )
    moved = MOUSSA.replace(DIPC, "Research Division").replace("Dakar", "Tunis")

    diff = diff_staff(state, parse_staff_csv(csv_bytes(moved, SOFIA), now=TUESDAY))

    assert format_diff(diff).splitlines() == [
        "joined  staff-4501  Sofía Jiménez <sjimenez@iom.int>",
        "changed staff-2207  department, office",
        "left    staff-1042  Amina Okafor <aokafor@iom.int>",
        "left    staff-3310  Leïla Ben Salah <lbensalah@iom.int>",
        "1 joined, 1 changed, 2 left",
    ]
