"""The supervisor pages as a browser sees them: who may open them, what they show, exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from html.parser import HTMLParser

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from cases.dates import format_date, format_datetime
from cases.working_days import BANGKOK
from telephony.events import AgentStateChanged, CallQueued, LinkDown, PbxSnapshot
from tests.foundation.conftest import MONITOR, log_in
from tests.supervisor.factories import add_call, add_case, add_survey, add_user, local
from web.keys import db_key, floor_key

MakeUser = Callable[..., Awaitable[None]]
HOSTILE = '<script>alert("x")</script>'
PAGES = (
    "/supervisor",
    "/supervisor/live.json",
    "/supervisor/reports",
    "/supervisor/reports.xlsx",
    "/supervisor/reports.csv",
)


class _Tables(HTMLParser):
    """The report tables of a page: {data-table: [[cell text, ...], ...]} (body rows only)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("data-table")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table and self._in_body:
            self.tables[self._table].append([])
        elif tag == "td" and self._table and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> dict[str, list[list[str]]]:
    """What the tests compare: each report table's body rows, by name."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


async def _as_boss(app_client: TestClient, make_user: MakeUser) -> None:
    """Logged in as a supervisor, who may open every page here."""
    await make_user("boss", "supervisor")
    await log_in(app_client, "boss")


def _as_page(cell: object, shown: str) -> str:
    """A workbook cell as the page writes it: numbers stay numbers in Excel (50.0 reads back
    as 50), dates stay dates (the page words them), text exactly as typed."""
    if isinstance(cell, datetime):
        local = cell.replace(tzinfo=BANGKOK)
        words = {format_date(local, "be", "en"), format_datetime(local, "be", "en", True)}
        return shown if shown in words else repr(cell)
    if isinstance(cell, int | float):
        return shown if float(shown) == cell else repr(cell)
    return "" if cell is None else str(cell)


async def _seed(app: web.Application) -> None:
    pool = app[db_key].pool
    anan = await add_user(pool, "anan")
    await add_call(
        pool,
        "1",
        local(2, 9),
        20,
        answered=True,
        agent=anan,
        talk_s=300,
        wrapup_s=30,
        caller_name="สมศรี",
    )
    await add_call(pool, "2", local(2, 9, 30), 3, abandoned=True, position=2, caller_name=HOSTILE)
    await add_call(
        pool,
        "3",
        local(2, 10),
        42,
        abandoned=True,
        position=1,
        caller_name='=HYPERLINK("http://evil")',
        caller_number="0899999999",
    )
    await add_case(pool, local(2, 9), topic="ค่าน้ำประปา", occupation="ชาวนา", province="น่าน")


@pytest.mark.parametrize("path", PAGES)
async def test_an_agent_is_refused_every_supervisor_page(
    app_client: TestClient, make_user: MakeUser, path: str
) -> None:
    await make_user("somchai", "agent")
    assert await log_in(app_client, "somchai") == 303
    response = await app_client.get(path, headers={"Accept": "text/html"})
    assert response.status == 403


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_supervisors_and_admins_open_every_page(
    app_client: TestClient, make_user: MakeUser, role: str
) -> None:
    await make_user("boss", role)
    assert await log_in(app_client, "boss") == 303
    for path in PAGES:
        response = await app_client.get(path)
        assert response.status == 200, path


async def test_an_anonymous_visitor_is_sent_to_log_in(app_client: TestClient) -> None:
    response = await app_client.get(
        "/supervisor", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert response.status == 302
    assert response.headers["Location"].startswith("/login")


async def test_the_live_board_shows_waiting_callers_agents_and_today(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)
    board = app[floor_key]
    await board.handle(
        CallQueued(
            "pbx1", local(2, 12, 59), "pbx1/q1169/9", "q1169", "9", "9", "0811111111", HOSTILE, 1, 1
        )
    )
    await board.handle(
        AgentStateChanged(
            "pbx1", local(2, 12), "q1169", "PJSIP/101", "Anan", "paused", True, "ประชุม"
        )
    )
    await _as_boss(app_client, make_user)

    data = await (await app_client.get("/supervisor/live.json")).json()
    (queue,) = data["board"]["queues"]
    assert queue["waiting"] == [
        {"caller_number": "0811111111", "caller_name": HOSTILE, "position": 1, "wait_s": 60}
    ]
    (agent,) = data["board"]["agents"]
    assert (agent["state"], agent["reason"], agent["in_state_s"]) == ("paused", "ประชุม", 3600)
    # today so far: q1169 then the total; offered, answered, abandoned, short abandons
    assert [row[:5] for row in data["today"]["rows"]] == [
        ["q1169", "3", "1", "2", "1"],
        ["All", "3", "1", "2", "1"],
    ]

    page = await (await app_client.get("/supervisor")).text()
    assert HOSTILE not in page
    assert "\\u003cscript\\u003e" in page  # inside the JSON the script reads, inert


async def _a_caller_waiting(app: web.Application) -> None:
    board = app[floor_key]
    await board.handle(
        CallQueued(
            "pbx1", local(2, 12, 59), "pbx1/q1169/9", "q1169", "9", "9", "0811111111", "Nok", 1, 1
        )
    )
    await board.handle(
        AgentStateChanged("pbx1", local(2, 12), "q1169", "PJSIP/101", "Anan", "idle", False, "")
    )


@pytest.mark.parametrize(("role", "shown"), [("supervisor", "0811111111"), ("admin", "••••••1111")])
async def test_the_board_shows_callers_numbers_only_to_the_roles_that_call_back(
    app_client: TestClient, app: web.Application, make_user: MakeUser, role: str, shown: str
) -> None:
    await _a_caller_waiting(app)
    await make_user("someone", role)
    await log_in(app_client, "someone")
    data = await (await app_client.get("/supervisor/live.json")).json()
    (queue,) = data["board"]["queues"]
    assert [w["caller_number"] for w in queue["waiting"]] == [shown]
    page = await (await app_client.get("/supervisor")).text()
    assert ("0811111111" in page) is (role == "supervisor")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_a_report_export_with_callers_numbers_is_in_the_pdpa_log(
    app_client: TestClient, app: web.Application, make_user: MakeUser, kind: str
) -> None:
    await _seed(app)
    await _as_boss(app_client, make_user)
    response = await app_client.get(f"/supervisor/reports.{kind}?from=2026-03-02&to=2026-03-02")
    assert response.status == 200
    rows = await app[db_key].pool.fetch(
        "SELECT u.username, l.purpose, l.subject, l.viewed_at FROM pdpa_view_log l"
        " JOIN users u ON u.id = l.user_id"
    )
    assert [tuple(r)[:3] for r in rows] == [
        ("boss", f"report_export_{kind}", "report 2026-03-02..2026-03-02")
    ]
    empty = await app_client.get(f"/supervisor/reports.{kind}?from=2025-01-01&to=2025-01-02")
    assert empty.status == 200
    assert await app[db_key].pool.fetchval("SELECT count(*) FROM pdpa_view_log") == 1, (
        "a report without callers' numbers is not a personal-data view"
    )


async def test_healthz_says_when_the_live_picture_is_not_current(
    app_client: TestClient, app: web.Application
) -> None:
    floor = app[floor_key]
    await floor.handle(LinkDown("pbx1", local(2, 12, 58), "connection reset"))
    response = await app_client.get("/healthz", headers=MONITOR)
    assert response.status == 503
    (shown,) = [s for s in (await response.json())["services"] if s["name"] == "floor"]
    assert shown == {
        "name": "floor",
        "up": False,
        "why": "not current for pbx1: link lost",
        "since": local(2, 12, 58).isoformat(),
    }
    await floor.handle(PbxSnapshot("pbx1", local(2, 12, 59), (), (), ()))
    assert (await app_client.get("/healthz", headers=MONITOR)).status == 200


async def test_reports_show_figures_and_lists_with_names_escaped(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)
    await _as_boss(app_client, make_user)
    response = await app_client.get("/supervisor/reports?from=2026-03-02&to=2026-03-02")
    html = await response.text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "2 Mar 2569" in html  # English words, Buddhist Era by default

    tables = _tables(html)
    summary = dict(tables["summary"])
    # one short abandon (3 s) leaves rate and SL: 1 ÷ (3 − 1) and 1 ÷ (1 + 2 − 1)
    assert summary["Abandon rate (%)"] == "50.0"
    assert summary["Service level (%)"] == "50.0"  # answered exactly at T counts
    assert summary["AHT (s)"] == "330.0"
    assert [row[3:] for row in tables["abandoned"]] == [
        [HOSTILE, "3.0", "2", "Yes"],
        ['=HYPERLINK("http://evil")', "42.0", "1", "No"],
    ]
    assert tables["by_occupation"] == [["ชาวนา", "1", "1"]]

    in_ce = await (await app_client.get("/supervisor/reports?from=2026-03-02&era=ce")).text()
    assert "2 Mar 2026" in in_ce


async def test_the_excel_export_has_the_rows_of_the_page_with_thai_intact(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)
    await _as_boss(app_client, make_user)
    query = "from=2026-03-01&to=2026-03-02"
    page = _tables(await (await app_client.get(f"/supervisor/reports?{query}")).text())

    response = await app_client.get(f"/supervisor/reports.xlsx?{query}")
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await response.read()))
    assert set(page) <= set(book.sheetnames)
    for name, rows in page.items():
        sheet = list(book[name].iter_rows(min_row=3, values_only=True))
        assert [
            [_as_page(cell, shown) for cell, shown in zip(r, p, strict=True)]
            for r, p in zip(sheet, rows, strict=True)
        ] == rows, name
    abandoned = list(book["abandoned"].iter_rows(min_row=3, values_only=True))
    # A text cell as typed: never a formula, and no apostrophe shows.
    assert abandoned[1][3] == '=HYPERLINK("http://evil")'
    assert book["abandoned"].cell(row=4, column=4).data_type == "s"
    assert book["by_topic"]["A3"].value == "ค่าน้ำประปา"


async def test_the_csv_export_is_utf8_with_a_bom_for_excel(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)
    await _as_boss(app_client, make_user)
    body = await (await app_client.get("/supervisor/reports.csv?from=2026-03-02")).read()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert ["Callers by province"] in rows
    assert ["น่าน", "1", "1"] in rows


async def test_satisfaction_comes_from_the_survey_figures(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    pool = app[db_key].pool
    anan = await add_user(pool, "anan")
    calls = [
        await add_call(pool, str(n), local(2, 9, n), 5, answered=True, agent=anan, talk_s=60)
        for n in range(4)
    ]
    for call, rating in zip(calls[:3], (1, 2, 3), strict=True):
        await add_survey(pool, call, local(2, 10), rating=rating, agent=anan)
    await add_survey(pool, calls[3], local(2, 10), attempts=2, agent=anan)  # never answered
    await add_survey(pool, None, local(2, 11), attempts=0, queue="q1662")  # never dialled
    await add_survey(pool, None, local(5, 11), rating=1)  # another week
    await _as_boss(app_client, make_user)

    page = _tables(
        await (await app_client.get("/supervisor/reports?from=2026-03-02&to=2026-03-02")).text()
    )
    summary = dict(page["summary"])
    assert summary["Satisfaction (%)"] == "66.7"  # (1 impressed + 1 satisfied) ÷ 3 responses
    assert summary["Satisfaction target (%)"] == "85.0"
    assert [
        summary[f"{word} ({n})"]
        for n, word in enumerate(("Impressed", "Satisfied", "Dissatisfied"), 1)
    ] == ["1", "1", "1"]
    assert summary["Survey response rate (%)"] == "75.0"  # 3 responses ÷ 4 attempted
    (anan_row,) = page["by_agent"]
    assert anan_row[0] == "Anan" and "66.7" in anan_row
    assert [(row[0], row[-1]) for row in page["by_day"]] == [("2 Mar 2569", "66.7")]
    assert [(row[0], row[-1]) for row in page["by_month"]] == [("March 2569", "66.7")]

    other = _tables(
        await (await app_client.get("/supervisor/reports?from=2026-03-02&queue=q1662")).text()
    )
    assert dict(other["summary"])["Satisfaction (%)"] == ""  # no response there


@pytest.mark.parametrize(
    "query", ["from=2026-03-05&to=2026-03-01", "from=yesterday", "from=2025-01-01&to=2026-03-01"]
)
async def test_a_bad_period_is_explained_not_crashed(
    app_client: TestClient, make_user: MakeUser, query: str
) -> None:
    await _as_boss(app_client, make_user)
    response = await app_client.get(f"/supervisor/reports?{query}")
    assert response.status == 400


async def test_thai_readers_get_thai_labels_and_the_month_so_far_by_default(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)
    await add_call(app[db_key].pool, "feb", local(28, 9, month=2), 5, abandoned=True)
    await make_user("hua_na", "supervisor", language="th")
    await log_in(app_client, "hua_na")
    html = await (await app_client.get("/supervisor/reports")).text()
    assert "1 มี.ค. 2569" in html and "2 มี.ค. 2569" in html
    assert dict(_tables(html)["summary"])["สายเข้าคิว"] == "3"  # February's call is not in it


async def test_team_rows_carry_their_satisfaction_and_the_share_of_calls_marked(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    pool = app[db_key].pool
    team = await pool.fetchval("INSERT INTO units (name) VALUES ('ทีมเช้า') RETURNING id")
    anan = await add_user(pool, "anan", unit_id=team)
    marked = await add_call(
        pool, "1", local(2, 9), 5, answered=True, agent=anan, talk_s=400, phases=(20, 400, 10)
    )
    plain = await add_call(pool, "2", local(2, 9, 10), 5, answered=True, agent=anan, talk_s=60)
    await add_survey(pool, marked, local(2, 10), rating=1, agent=anan)
    await add_survey(pool, plain, local(2, 10), rating=3, agent=anan)
    await add_survey(pool, None, local(2, 10), rating=1)  # no agent: no team's
    await _as_boss(app_client, make_user)

    page = _tables(
        await (await app_client.get("/supervisor/reports?from=2026-03-02&to=2026-03-02")).text()
    )
    (row,) = page["by_team"]  # the boss who looks has no row of her own
    # name, answered, handled, talk, hold, ACW, AHT, occupancy, then these three
    phases, share_marked, satisfaction = row[8:11]
    assert (row[0], row[1]) == ("ทีมเช้า", "2")
    assert (phases, share_marked, satisfaction) == ("100.0", "50.0", "50.0")
    summary = dict(page["summary"])
    assert summary["Phase compliance (%)"] == "100.0"
    assert summary["Calls with phases marked (%)"] == "50.0"


async def test_the_report_draws_its_charts_with_their_values_as_text_in_thai(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)  # 09:00 answered, 09:30 and 10:00 abandoned, all on Monday 2 March
    await make_user("hua_na", "supervisor", language="th")
    await log_in(app_client, "hua_na")
    html = await (await app_client.get("/supervisor/reports?from=2026-03-01&to=2026-03-02")).text()

    charts = _chart_values(html)
    assert set(charts) == {"calls", "service_level", "satisfaction", "abandons"}
    assert charts["calls"][9] == ["09:00–09:59", "2"] and charts["calls"][10][1] == "1"
    assert charts["abandons"] == [["1 มี.ค. 2569", "0"], ["2 มี.ค. 2569", "2"]]
    # one short abandon out: 1 answered in T ÷ (1 + 2 − 1)
    assert charts["service_level"] == [["1 มี.ค. 2569", "–"], ["2 มี.ค. 2569", "50.0"]]
    assert '<svg viewBox="0 0 640 220" role="img"' in html
    assert '<title id="chart-calls-title">สายเข้าคิวตามชั่วโมง</title>' in html
    assert html.count('<rect class="bar"') == 2 + 1  # hours 9 and 10, and 2 March's abandons


def _chart_values(html: str) -> dict[str, list[list[str]]]:
    """Each chart's table of values, by chart: [[when, value], ...]."""
    marked = html.replace("data-chart-values=", "data-table=")
    tables = _tables(marked)
    return {key: rows for key, rows in tables.items() if key in _CHARTS}


_CHARTS = ("calls", "service_level", "satisfaction", "abandons")


async def test_the_workbook_holds_real_dates_shown_in_the_buddhist_era_on_thai_sheets(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    await _seed(app)
    await make_user("hua_na", "supervisor", language="th")
    await log_in(app_client, "hua_na")
    query = "from=2026-03-01&to=2026-03-02"
    response = await app_client.get(f"/supervisor/reports.xlsx?{query}")
    book = load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames[0] == "ตัวชี้วัดของช่วงเวลา" and "summary" not in book.sheetnames
    abandoned = next(book[n] for n in book.sheetnames if n.startswith("สายที่ผู้โทรวาง"))
    joined = abandoned["A3"]
    assert joined.is_date and joined.value == datetime(2026, 3, 2, 9, 30)
    assert joined.number_format == "[$-107041E]d/m/yyyy h:mm:ss"
    days = book[book.sheetnames[4]]  # summary, queue, agent, team, then day
    assert days["A3"].is_date and days["A3"].number_format == "[$-107041E]d/m/yyyy"

    in_ce = await app_client.get(f"/supervisor/reports.xlsx?{query}&era=ce")
    ce_book = load_workbook(io.BytesIO(await in_ce.read()))
    assert ce_book[
        book.sheetnames[4]
    ]  # summary, queue, agent, team, then day["A3"].number_format == "d/m/yyyy"
    csv_body = await (await app_client.get(f"/supervisor/reports.csv?{query}")).read()
    assert "2 มี.ค. 2569 09:30:00" in csv_body.decode("utf-8-sig")  # the CSV reads as before


async def test_complaints_per_region_and_unit_and_their_root_causes_by_quarter(
    app_client: TestClient, app: web.Application, make_user: MakeUser
) -> None:
    """PWA's daily results per region and unit (step 8), its quarterly root causes (step 9)."""
    pool = app[db_key].pool
    region = await pool.fetchval("INSERT INTO units (name) VALUES ('กปภ.เขต 1') RETURNING id")
    branch = await pool.fetchval(
        "INSERT INTO units (name, parent_id) VALUES ('กปภ.สาขาชลบุรี', $1) RETURNING id", region
    )

    async def complaint(
        received: datetime, resolved: int | None, cause: str | None, due: int = 4
    ) -> None:
        case = await add_case(pool, received, due_at=local(due, 16, 30))
        await pool.execute(
            "UPDATE cases SET unit_id = $2, resolved_at = $3, root_cause = $4 WHERE id = $1",
            case,
            branch,
            None if resolved is None else local(resolved, 10),
            cause,
        )

    await complaint(local(2, 9), 3, "pipe_leak")  # within SLA
    await complaint(local(2, 9), 6, "pipe_leak")  # late
    await complaint(local(2, 9), None, None)  # still open
    await complaint(local(27, 9, month=2), None, None, due=1)  # open, overdue now (2 March)
    await add_case(pool, local(2, 11), due_at=local(4, 16, 30))  # not forwarded yet
    await make_user("hua_na", "supervisor", language="th")
    await log_in(app_client, "hua_na")

    html = await (await app_client.get("/supervisor/reports?from=2026-03-02&to=2026-03-06")).text()
    tables = _tables(html)
    assert tables["complaints_by_unit"] == [
        ["", "ยังไม่ส่งต่อหน่วยงาน", "1", "0", "0", "", "1", "0"],
        ["กปภ.เขต 1", "กปภ.สาขาชลบุรี", "3", "2", "1", "50.0", "2", "1"],
        ["กปภ.เขต 1", "รวมทั้งเขต", "3", "2", "1", "50.0", "2", "1"],
    ]
    assert "ไตรมาส 2 ปีงบประมาณ 2569" in html
    causes = {row[0]: row[1:] for row in tables["root_causes"]}
    assert causes["ท่อแตก/ท่อรั่ว"] == ["2", "2"]
    assert causes["คุณภาพน้ำ"] == ["0", "0"]
