"""The register: filters, pagination, visibility, and exports holding exactly its rows."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import asyncpg
import pytest
from openpyxl import load_workbook

from cases.errors import ExportTooLarge
from cases.export import CODE_KEYS, COLUMNS, ExportLabels, csv_rows, csv_start, to_xlsx
from cases.lifecycle import CaseType, Channel, Status
from cases.models import Actor
from cases.register import MAX_EXPORT_ROWS, RegisterFilter, RegisterRow, export_rows, search
from cases.repository import CaseRepository
from cases.spreadsheet import csv_cell
from tests.cases.factories import NOW, People, complaint_form, forward

LABELS = ExportLabels(headers={c: c.upper() for c in COLUMNS}, codes={k: k for k in CODE_KEYS})


async def all_rows(
    pool: asyncpg.Pool, flt: RegisterFilter, actor: Actor, limit: int = MAX_EXPORT_ROWS
) -> list[RegisterRow]:
    """What an export reads, chunk after chunk."""
    async with export_rows(pool, flt, actor, NOW, limit) as rows:
        return [RegisterRow.from_values(v) async for chunk in rows.chunks(2) for v in chunk]


def to_csv(rows: list[RegisterRow]) -> bytes:
    return csv_start(LABELS) + csv_rows(rows, LABELS)


async def seed(repo: CaseRepository, people: People) -> dict[str, int]:
    ids: dict[str, int] = {}
    specs = [
        ("old_compliment", CaseType.COMPLIMENT, Channel.PHONE, "ชมเชย", "กรุงเทพมหานคร", 40),
        ("kb", CaseType.INFORMATION_KB, Channel.EMAIL, "ค่าน้ำ 100%", "เชียงใหม่", 5),
        ("complaint", CaseType.COMPLAINT, Channel.PHONE, "น้ำไม่ไหล", "เชียงใหม่", 10),
        ("letter", CaseType.COMPLAINT, Channel.LETTER, '=HYPERLINK("x")', "ภูเก็ต", 1),
    ]
    for name, case_type, channel, topic, province, days_ago in specs:
        case = await repo.create_case(
            complaint_form(case_type=case_type, channel=channel, topic=topic, province=province),
            actor=people.agent,
            now=NOW - timedelta(days=days_ago),
        )
        ids[name] = case.id
    await forward(repo, ids["complaint"], people.unit_id, people.agent)
    return ids


async def test_filters_combine_and_count(repo: CaseRepository, people: People) -> None:
    ids = await seed(repo, people)
    everyone = await search(repo.pool, RegisterFilter(), people.supervisor, NOW)
    assert everyone.total == 4
    assert [r.id for r in everyone.rows] == [
        ids["letter"],
        ids["kb"],
        ids["complaint"],
        ids["old_compliment"],
    ]
    cases = [
        (RegisterFilter(case_type=CaseType.COMPLAINT), {"complaint", "letter"}),
        (RegisterFilter(channel=Channel.PHONE), {"complaint", "old_compliment"}),
        (RegisterFilter(province="เชียง"), {"kb", "complaint"}),
        (RegisterFilter(topic="100%"), {"kb"}),
        (RegisterFilter(topic="%"), {"kb"}),
        (RegisterFilter(status=Status.FORWARDED), {"complaint"}),
        (RegisterFilter(unit_id=people.unit_id), {"complaint"}),
        (RegisterFilter(overdue=True), {"complaint", "kb"}),
        (RegisterFilter(date_from=(NOW - timedelta(days=6)).date()), {"kb", "letter"}),
        (
            RegisterFilter(date_to=(NOW - timedelta(days=10)).date()),
            {"complaint", "old_compliment"},
        ),
        (RegisterFilter(q="HL-2569-000003"), {"complaint"}),
    ]
    for flt, expected in cases:
        page = await search(repo.pool, flt, people.supervisor, NOW)
        assert {r.id for r in page.rows} == {ids[n] for n in expected}, flt
        assert page.total == len(expected)


async def test_pagination_walks_every_row_once(repo: CaseRepository, people: People) -> None:
    await seed(repo, people)
    seen: list[int] = []
    for number in (1, 2, 3):
        page = await search(repo.pool, RegisterFilter(page=number, page_size=2), people.agent, NOW)
        assert page.pages == 2
        seen.extend(r.id for r in page.rows)
    # page 3 does not exist: the last page is shown again
    assert len(set(seen)) == 4


async def test_a_unit_user_sees_only_its_forwarded_cases(
    repo: CaseRepository, people: People
) -> None:
    ids = await seed(repo, people)
    mine = await search(repo.pool, RegisterFilter(), people.unit, NOW)
    assert [r.id for r in mine.rows] == [ids["complaint"]]
    assert (await search(repo.pool, RegisterFilter(), people.other_unit, NOW)).total == 0


def test_query_strings_round_trip_and_garbage_is_ignored() -> None:
    flt = RegisterFilter.from_query(
        {"case_type": "complaint", "overdue": "1", "page": "2", "province": " ตาก ", "unit_id": "x"}
    )
    assert flt == RegisterFilter(case_type=CaseType.COMPLAINT, overdue=True, page=2, province="ตาก")
    assert RegisterFilter.from_query(flt.to_query()) == flt
    assert flt.to_query(page=1) == {"case_type": "complaint", "overdue": "1", "province": "ตาก"}
    odd = RegisterFilter.from_query({"status": "<x>", "page": "²", "page_size": "99999"})
    assert odd.status is None and odd.page == 1 and odd.page_size == 200


async def test_xlsx_and_csv_hold_exactly_the_filtered_rows_with_thai_intact(
    repo: CaseRepository, people: People
) -> None:
    await seed(repo, people)
    flt = RegisterFilter(province="เชียงใหม่")
    screen = await search(repo.pool, flt, people.supervisor, NOW)
    rows = await all_rows(repo.pool, flt, people.supervisor)

    sheet = load_workbook(io.BytesIO(to_xlsx(rows, LABELS))).active
    assert sheet is not None
    lines = [list(line) for line in sheet.iter_rows(values_only=True)]
    assert lines[0] == [c.upper() for c in COLUMNS]
    assert [line[0] for line in lines[1:]] == [r.reference for r in screen.rows]
    assert [line[4] for line in lines[1:]] == [r.topic for r in screen.rows]
    assert lines[1][7] == "เชียงใหม่"

    raw = to_csv(rows)
    assert raw.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [line[0] for line in parsed[1:]] == [r.reference for r in screen.rows]
    assert parsed[1][4] in {"ค่าน้ำ 100%", "น้ำไม่ไหล"}


async def test_exports_never_turn_caller_text_into_formulas(
    repo: CaseRepository, people: People
) -> None:
    await seed(repo, people)
    rows = await all_rows(repo.pool, RegisterFilter(channel=Channel.LETTER), people.agent)
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, LABELS))).active
    assert sheet is not None
    cell = sheet.cell(row=2, column=5)
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("x")', "a text cell as typed, no visible apostrophe"
    assert to_csv(rows).decode("utf-8-sig").splitlines()[1].split(",")[4].startswith("\"'=")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("น้ำไม่ไหล", "น้ำไม่ไหล"),
        ("=1+1", "'=1+1"),
        ("\t=cmd", "'\t=cmd"),
        ("ค่าน้ำ;=cmd|' /C calc'!A0", "ค่าน้ำ;'=cmd|' /C calc'!A0"),
        ("a;b;@SUM(A1)", "a;b;'@SUM(A1)"),
        ("-5;+6", "'-5;'+6"),
    ],
)
def test_csv_keeps_formulas_inert_also_where_excel_splits_on_semicolons(
    typed: str, written: str
) -> None:
    assert csv_cell(typed) == written
    assert csv_cell(42) == 42


async def test_an_export_too_large_is_refused_rather_than_cut_short(
    repo: CaseRepository, people: People
) -> None:
    await seed(repo, people)
    assert len(await all_rows(repo.pool, RegisterFilter(), people.agent, limit=4)) == 4
    with pytest.raises(ExportTooLarge):
        await all_rows(repo.pool, RegisterFilter(), people.agent, limit=3)


async def test_the_register_is_searched_by_the_callers_phone_and_name(
    repo: CaseRepository, people: People
) -> None:
    """However the number was written, and by the start of the name or any word of it."""
    typed = {
        "plus": ("+66 81-234-5678", "สมชาย ใจดี"),
        "dashes": ("081-234-5678", "Somchai Jaidee"),
        "other": ("0899999999", "สมหญิง ใจดี"),
        "nobody": ("", ""),
    }
    ids = {}
    for key, (phone, name) in typed.items():
        form = complaint_form(contact_phone=phone, contact_name=name)
        ids[key] = (await repo.create_case(form, actor=people.agent, now=NOW)).id

    async def found(**query: str) -> set[str]:
        flt = RegisterFilter.from_query(query)
        page = await search(repo.pool, flt, people.supervisor, NOW)
        return {key for key, case_id in ids.items() if case_id in {r.id for r in page.rows}}

    assert await found(phone="0812345678") == {"plus", "dashes"}
    assert await found(phone="+66812345678") == {"plus", "dashes"}
    assert await found(phone="not a number") == set()
    assert await found(name="สมช") == {"plus"}  # the start of the name
    assert await found(name="ใจดี") == {"plus", "other"}  # a whole word: the surname
    assert await found(name="somchai") == {"dashes"}
    assert await found(name="%") == set()  # typed literally
    two = await search(repo.pool, RegisterFilter(name="ใจดี", page_size=1), people.supervisor, NOW)
    assert (two.total, two.pages, len(two.rows)) == (2, 2, 1)
    # an agent finds by phone or name only the cases whose caller data they may read
    for flt in (RegisterFilter(phone="0812345678"), RegisterFilter(name="ใจดี")):
        assert (await search(repo.pool, flt, people.other_agent, NOW)).total == 0
        assert (await search(repo.pool, flt, people.agent, NOW)).total == 2
