"""Calls the AMI never showed are recovered from queue_log: the simulator writes it into the
service's database like Asterisk would, a proxy cuts the AMI link while calls start and
end, and after the reconnect every call is stored once with the simulator's own outcome
and times."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from calls.queue_log import QueueLogRow as LogRow
from calls.queue_log import rebuilt_calls
from config.settings import load_settings
from hotline.app import create_app
from pbxsim import AgentPhone, PbxSimulator
from pbxsim.queue_log import QueueLogRow, split_data
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN
from tests.tcp_proxy import TcpProxy
from tests.waiting import until, until_true
from web.keys import telephony_key

ENDS = {
    "COMPLETECALLER": ("completed", "caller"),
    "COMPLETEAGENT": ("completed", "agent"),
    "ABANDON": ("abandoned", "caller"),
}


@pytest.fixture
async def sim(fresh_db_url: str) -> AsyncIterator[PbxSimulator]:
    # Real time, stamped like timestampevents = yes: the AMI's times and queue_log's agree.
    async with PbxSimulator.lab(timestamp_events=True, queue_log_url=fresh_db_url) as sim:
        yield sim


@pytest.fixture
def service(fresh_db_url: str, tmp_path: Path) -> Callable[..., TestClient]:
    def build(address: tuple[str, int], queue_log_table: str) -> TestClient:
        pbx = {"name": "pbx1", "host": address[0], "port": address[1], "username": "hotline"}
        settings = load_settings(
            database_url=fresh_db_url,
            data_dir=tmp_path,
            pbx=[{**pbx, "secret": "hotline", "queue_log_table": queue_log_table}],
            security={"monitoring_token": MONITORING_TOKEN},
        )
        return TestClient(TestServer(create_app(settings)))

    return build


def _link_up(client: TestClient) -> bool:
    assert client.app is not None
    return all(h.up for h in client.app[telephony_key].health())


def _truth(rows: list[QueueLogRow]) -> dict[str, Any]:
    """What the simulator recorded for one call: outcome and times, from its queue_log."""
    by_event = {r.event: r for r in rows}
    end = next(r for r in rows if r.event in ENDS)
    connect = by_event.get("CONNECT")
    return {
        "end_reason": ENDS[end.event][0],
        "hung_up_by": ENDS[end.event][1],
        "joined_at": by_event["ENTERQUEUE"].time.replace(tzinfo=UTC),
        "answered_at": connect.time.replace(tzinfo=UTC) if connect else None,
        "ended_at": end.time.replace(tzinfo=UTC),
    }


def _off_by(stored: datetime | None, true: datetime | None) -> float:
    if stored is None or true is None:
        return 0.0 if stored is true else float("inf")
    return abs((stored - true).total_seconds())


async def test_calls_that_end_or_happen_while_the_link_is_cut_are_stored_once_and_true(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    sim.set_default_agent_phone(AgentPhone.answers_after(0.5))
    proxy = TcpProxy(sim.address)
    async with service(await proxy.start(), "asterisk.queue_log") as client:
        await until(lambda: _link_up(client), within=10.0)
        live = await sim.place_call("hotline", "0811111111", "Live")
        await live.connected.wait()
        await sim.hangup(live, by="caller")
        across = await sim.place_call("hotline", "0822222222", "Across")
        await across.connected.wait()
        proxy.cut()
        await until(lambda: not _link_up(client), within=5.0)
        await sim.hangup(across, by="caller")
        unseen = await sim.place_call("hotline", "0833333333", "Unseen")
        await unseen.connected.wait()
        await sim.clock.sleep(2.0)
        await sim.hangup(unseen, by="agent")
        sim.set_default_agent_phone(AgentPhone.manual())
        gone = await sim.place_call("hotline", "0844444444", "Gone")
        await sim.clock.sleep(1.5)
        await sim.abandon(gone)
        await sim.queue_log.flush()
        proxy.restore()
        await until(lambda: _link_up(client), within=10.0)
        calls = [live, across, unseen, gone]
        conn = await asyncpg.connect(fresh_db_url)
        try:

            async def stored() -> list[asyncpg.Record]:
                rows = await conn.fetch(
                    "SELECT * FROM calls WHERE uniqueid = ANY($1::text[]) AND ended_at IS NOT NULL",
                    [c.uniqueid for c in calls],
                )
                done = {r["uniqueid"]: r["end_reason"] for r in rows}
                settled = len(done) == 4 and "lost_in_gap" not in done.values()
                return rows if settled else []

            rows = await until_true(stored, within=10.0)
            body = await (await client.get("/healthz", headers=MONITOR)).json()
            # A second gap with nothing new changes nothing.
            proxy.cut()
            await until(lambda: not _link_up(client), within=5.0)
            proxy.restore()
            await until(lambda: _link_up(client), within=10.0)
            await asyncio.sleep(1.0)  # the snapshot after the reconnect reaches the recovery
            again = await conn.fetch(
                "SELECT * FROM calls WHERE uniqueid = ANY($1::text[])", [c.uniqueid for c in calls]
            )
        finally:
            await conn.close()
    await proxy.close()
    assert sorted(r["uniqueid"] for r in rows) == sorted(c.uniqueid for c in calls)
    assert sorted(map(dict, again), key=lambda r: r["id"]) == sorted(
        map(dict, rows), key=lambda r: r["id"]
    )
    for row in rows:
        truth = _truth(sim.queue_log.of_call(row["uniqueid"]))
        assert (row["end_reason"], row["hung_up_by"]) == (
            truth["end_reason"],
            truth["hung_up_by"],
        ), row["uniqueid"]
        for moment in ("joined_at", "answered_at", "ended_at"):
            assert _off_by(row[moment], truth[moment]) <= 1.0, (row["uniqueid"], moment)
    unseen_row = next(r for r in rows if r["uniqueid"] == unseen.uniqueid)
    assert unseen_row["talk_s"] >= 2 and unseen_row["recovered"]
    assert {"name": "queue_log:pbx1", "up": True, "why": "ok"} in body["services"]


async def test_without_a_queue_log_table_the_start_says_gaps_cannot_be_recovered(
    sim: PbxSimulator, service: Callable[..., TestClient]
) -> None:
    with capture_logs() as logs:
        async with service(sim.address, "") as client:
            response = await client.get("/healthz", headers=MONITOR)
            body = await response.json()
    assert any(e["event"] == "queue_log_not_configured" for e in logs)
    assert body["advisories"] == [
        {"name": "queue_log:pbx1", "up": False, "why": "not configured: gaps cannot be recovered"}
    ]
    assert all(p["up"] for p in body["services"])


def _row(n: int, callid: str, event: str, *data: str, agent: str = "NONE") -> LogRow:
    at = datetime(2026, 12, 2, 9, 0, n, tzinfo=UTC)
    return LogRow(n, at, callid, "hotline", agent, event, split_data(*data))


def test_each_end_of_queue_log_becomes_the_outcome_hotline_stores() -> None:
    rows = [
        _row(1, "c1", "ENTERQUEUE", "", "0812345678", "1"),
        _row(2, "c1", "CONNECT", "4", "a1", "3", agent="Agent 101"),
        _row(3, "c1", "BLINDTRANSFER", "1169", "from-agents", "4", "20", "1", agent="Agent 101"),
        _row(4, "c1", "ENTERQUEUE", "", "0812345678", "1"),
        _row(5, "c1", "EXITWITHKEY", "5", "1", "1", "7"),
        _row(6, "c2", "ENTERQUEUE", "", "0899999999", "2"),
        _row(7, "c2", "CONNECT", "9", "a2", "2", agent="Agent 102"),
        _row(8, "c2", "ATTENDEDTRANSFER", "LINK", "x", "y", "9", "31", "2", agent="Agent 102"),
        _row(9, "c3", "ENTERQUEUE", "", "0811111111", "1"),
        _row(10, "c3", "EXITWITHTIMEOUT", "1", "1", "120"),
        _row(11, "c4", "ENTERQUEUE", "", "0822222222", "1"),
    ]
    records = {r.call_key: r for r in rebuilt_calls("main", rows) if r.ended_at is not None}
    assert sorted(records) == [
        "main/hotline/c1",
        "main/hotline/c1#2",
        "main/hotline/c2",
        "main/hotline/c3",
    ]
    first, back = records["main/hotline/c1"], records["main/hotline/c1#2"]
    assert (first.end_reason, first.transfer_kind, first.transferred_to) == (
        "transferred",
        "blind",
        "1169",
    )
    assert (first.wait_s, first.ring_s, first.talk_s, first.agent_name) == (
        4.0,
        3.0,
        20.0,
        "Agent 101",
    )
    assert first.answered_at == rows[1].time and first.ended_at == rows[2].time
    assert (back.end_reason, back.exit_key, back.wait_s, back.joined_at) == (
        "key",
        "5",
        7.0,
        rows[3].time,
    )
    linked = records["main/hotline/c2"]
    assert (linked.transfer_kind, linked.talk_s, linked.hung_up_by) == (
        "attended",
        31.0,
        "transfer",
    )
    timeout = records["main/hotline/c3"]
    assert (timeout.end_reason, timeout.wait_s, timeout.caller_number) == (
        "timeout",
        120.0,
        "0811111111",
    )


async def test_a_queue_log_table_that_cannot_be_read_turns_healthz_red(
    sim: PbxSimulator, service: Callable[..., TestClient]
) -> None:
    async with service(sim.address, "asterisk.missing") as client:

        async def red() -> Any:
            response = await client.get("/healthz", headers=MONITOR)
            body = await response.json()
            part = next(p for p in body["services"] if p["name"] == "queue_log:pbx1")
            return (response.status, part) if not part["up"] else None

        status, part = await until_true(red, within=10.0)
    assert status == 503
    assert part["why"].endswith("gaps cannot be recovered")
    assert "asterisk.missing" in part["why"]


async def test_the_pbx_history_from_before_the_first_start_is_not_imported(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    conn = await asyncpg.connect(fresh_db_url)
    try:
        await conn.executemany(
            "INSERT INTO asterisk.queue_log (time, callid, queuename, agent, event,"
            " data1, data2, data3) VALUES (now() - interval '30 days', 'old.1', 'hotline',"
            " 'NONE', $1, $2, $3, $4)",
            [("ENTERQUEUE", "", "0812345678", "1"), ("ABANDON", "1", "1", "40")],
        )
        proxy = TcpProxy(sim.address)
        async with service(await proxy.start(), "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)

            async def cursor() -> Any:
                return await conn.fetchval(
                    "SELECT last_id FROM queue_log_cursor WHERE pbx = 'pbx1'"
                )

            assert await until_true(cursor, within=10.0) == 2
            proxy.cut()
            await until(lambda: not _link_up(client), within=5.0)
            proxy.restore()
            await until(lambda: _link_up(client), within=10.0)
            await asyncio.sleep(1.0)  # the snapshot after the reconnect reaches the recovery
            assert await conn.fetchval("SELECT count(*) FROM calls") == 0
        await proxy.close()
    finally:
        await conn.close()


async def test_calls_made_while_hotline_was_stopped_are_stored_at_its_next_start(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    conn = await asyncpg.connect(fresh_db_url)
    try:
        cursor = "SELECT EXISTS (SELECT 1 FROM queue_log_cursor WHERE pbx = 'pbx1')"
        async with service(sim.address, "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)
            await until_true(lambda: conn.fetchval(cursor), within=10.0)
        sim.set_default_agent_phone(AgentPhone.answers_after(0.5))
        answered = await sim.place_call("hotline", "0855555555", "While stopped")
        await answered.connected.wait()
        await sim.clock.sleep(1.0)
        await sim.hangup(answered, by="caller")
        await sim.queue_log.flush()
        async with service(sim.address, "asterisk.queue_log") as client:

            async def stored() -> Any:
                return await conn.fetchrow(
                    "SELECT * FROM calls WHERE uniqueid = $1 AND ended_at IS NOT NULL",
                    answered.uniqueid,
                )

            row = await until_true(stored, within=10.0)
    finally:
        await conn.close()
    truth = _truth(sim.queue_log.of_call(answered.uniqueid))
    assert (row["end_reason"], row["hung_up_by"]) == ("completed", "caller")
    for moment in ("joined_at", "answered_at", "ended_at"):
        assert _off_by(row[moment], truth[moment]) <= 1.0, moment


def test_rows_between_the_milestones_do_not_stop_the_recovery() -> None:
    """app_queue also logs RINGNOANSWER, RINGCANCELED, HOLD... on the way: a call with them is
    still rebuilt (a KeyError on the first such row used to stop every recovery)."""
    rows = [
        _row(1, "c1", "ENTERQUEUE", "", "0812345678", "1"),
        _row(2, "c1", "RINGNOANSWER", "15000", agent="Agent 101"),
        _row(3, "c1", "RINGCANCELED", "1000", agent="Agent 102"),
        _row(4, "c1", "CONNECT", "17", "a1", "2", agent="Agent 103"),
        _row(5, "c1", "COMPLETECALLER", "17", "30", "1", agent="Agent 103"),
    ]
    (record,) = rebuilt_calls("main", rows)
    assert (record.end_reason, record.hung_up_by, record.agent_name) == (
        "completed",
        "caller",
        "Agent 103",
    )
    assert (record.wait_s, record.talk_s, record.ended_at) == (17.0, 30.0, rows[4].time)


async def _gap(proxy: TcpProxy, client: TestClient) -> None:
    """Cut the AMI link, then give it back and let the snapshot's recovery run."""
    proxy.cut()
    await until(lambda: not _link_up(client), within=5.0)
    proxy.restore()
    await until(lambda: _link_up(client), within=10.0)
    await asyncio.sleep(1.0)  # the snapshot after the reconnect reaches the recovery


async def test_a_call_answered_in_a_gap_keeps_queue_logs_answer_and_join_when_it_ends_live(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    """The snapshot only knows the agent channel's age, which counts the 2 s of ringing:
    CONNECT and ENTERQUEUE correct the open call, so its talk is not 2 s too long. Read
    again from the start, queue_log changes nothing."""
    sim.set_default_agent_phone(AgentPhone.answers_after(2.0))
    proxy = TcpProxy(sim.address)
    conn = await asyncpg.connect(fresh_db_url)
    try:
        async with service(await proxy.start(), "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)
            proxy.cut()
            await until(lambda: not _link_up(client), within=5.0)
            call = await sim.place_call("hotline", "0866666666", "In the gap")
            await call.connected.wait()
            await sim.clock.sleep(1.0)
            await sim.queue_log.flush()
            proxy.restore()
            await until(lambda: _link_up(client), within=10.0)
            await sim.clock.sleep(3.0)
            await sim.hangup(call, by="caller")
            await sim.queue_log.flush()

            async def ended() -> Any:
                return await conn.fetchrow(
                    "SELECT * FROM calls WHERE uniqueid = $1 AND ended_at IS NOT NULL",
                    call.uniqueid,
                )

            row = await until_true(ended, within=10.0)
            await conn.execute("UPDATE queue_log_cursor SET last_id = 0")
            await _gap(proxy, client)
            again = await conn.fetch("SELECT * FROM calls WHERE uniqueid = $1", call.uniqueid)
            endings = await conn.fetchval("SELECT count(*) FROM call_endings")
        await proxy.close()
    finally:
        await conn.close()
    truth = _truth(sim.queue_log.of_call(call.uniqueid))
    assert (row["end_reason"], row["hung_up_by"]) == ("completed", "caller")
    for moment in ("joined_at", "answered_at", "ended_at"):
        assert _off_by(row[moment], truth[moment]) <= 0.5, moment
    talk = (truth["ended_at"] - truth["answered_at"]).total_seconds()
    assert abs(row["talk_s"] - talk) <= 0.5 and row["ring_s"] == 2
    assert not row["times_estimated"]
    assert [dict(r) for r in again] == [dict(row)] and endings == 1


async def test_calls_cut_by_a_pbx_restart_end_once_by_the_system_seen_live_or_not(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    """A `core restart now` is seen live (SoftHangupRequest Cause 4, Shutdown); a crash
    shows nothing and app_queue logs no end, so the next QUEUESTART closes its calls.
    Either way each call ends once, hung up by the system."""
    sim.set_default_agent_phone(AgentPhone.answers_after(0.5))
    proxy = TcpProxy(sim.address)
    conn = await asyncpg.connect(fresh_db_url)

    async def ended(uniqueids: list[str]) -> list[asyncpg.Record]:
        rows = await conn.fetch(
            "SELECT * FROM calls WHERE uniqueid = ANY($1::text[]) AND ended_at IS NOT NULL"
            " AND end_reason <> 'lost_in_gap' ORDER BY id",
            uniqueids,
        )
        return rows if len(rows) == len(uniqueids) else []

    try:
        async with service(await proxy.start(), "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)
            live = await sim.place_call("hotline", "0811111111", "Live restart")
            await live.connected.wait()
            await asyncio.sleep(0.5)
            await sim.restart(downtime=1.0)
            (seen,) = await until_true(lambda: ended([live.uniqueid]), within=10.0)
            await until(lambda: _link_up(client), within=10.0)
            talking = await sim.place_call("hotline", "0822222222", "Cut talking")
            await talking.connected.wait()
            sim.set_default_agent_phone(AgentPhone.manual())
            waiting = await sim.place_call("hotline", "0833333333", "Cut waiting")

            async def tracked() -> Any:
                return await conn.fetchval(
                    "SELECT count(*) = 2 FROM calls WHERE uniqueid = ANY($1::text[])",
                    [talking.uniqueid, waiting.uniqueid],
                )

            await until_true(tracked, within=10.0)
            crashed_at = datetime.now(UTC)
            await sim.restart(downtime=1.0, crash=True)
            await sim.queue_log.flush()
            cut = await until_true(lambda: ended([talking.uniqueid, waiting.uniqueid]), within=10.0)
            await _gap(proxy, client)
            uniqueids = [live.uniqueid, talking.uniqueid, waiting.uniqueid]
            again = await conn.fetch(
                "SELECT * FROM calls WHERE uniqueid = ANY($1::text[]) ORDER BY id", uniqueids
            )
            endings = await conn.fetchval("SELECT count(*) FROM call_endings")
        await proxy.close()
    finally:
        await conn.close()
    queue_starts = [
        r.time.replace(tzinfo=UTC) for r in sim.queue_log.rows if r.event == "QUEUESTART"
    ]
    assert len(queue_starts) == 2
    assert not [
        r for r in sim.queue_log.of_call(talking.uniqueid) if r.event.startswith("COMPLETE")
    ]
    assert (seen["end_reason"], seen["hung_up_by"]) == ("completed", "system")
    on_call, in_queue = cut
    assert (on_call["end_reason"], on_call["hung_up_by"]) == ("completed", "system")
    assert (in_queue["end_reason"], in_queue["hung_up_by"]) == ("unknown", "system")
    for row in cut:
        assert crashed_at <= row["ended_at"] <= queue_starts[1]
    assert on_call["talk_s"] == (on_call["ended_at"] - on_call["answered_at"]).total_seconds()
    assert [dict(r) for r in again] == [dict(seen), *map(dict, cut)] and endings == 3


async def test_a_call_queue_log_shows_connected_with_no_end_is_closed_once_when_gone(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    """queue_log can miss an end (an attended transfer, an agent's `*` hang-up:
    METRICS.md). A call it shows connected that the snapshot no longer has is closed as
    lost in the gap with queue_log's join and answer, not left open forever, and a second
    reading closes nothing again."""
    proxy = TcpProxy(sim.address)
    conn = await asyncpg.connect(fresh_db_url)
    try:
        async with service(await proxy.start(), "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)
            await until_true(
                lambda: conn.fetchval("SELECT count(*) FROM queue_log_cursor"), within=10.0
            )
            proxy.cut()
            await until(lambda: not _link_up(client), within=5.0)
            await conn.executemany(
                "INSERT INTO asterisk.queue_log (time, callid, queuename, agent, event,"
                " data1, data2, data3) VALUES"
                " (timezone('UTC', now()) - $1 * interval '1 second', 'ghost.1', 'hotline',"
                " $2, $3, $4, $5, $6)",
                [
                    (8, "NONE", "ENTERQUEUE", "", "0877777777", "1"),
                    (5, "Agent 101", "CONNECT", "3", "ghost.2", "1"),
                ],
            )
            proxy.restore()
            await until(lambda: _link_up(client), within=10.0)

            async def closed() -> Any:
                return await conn.fetchrow(
                    "SELECT * FROM calls WHERE uniqueid = 'ghost.1' AND ended_at IS NOT NULL"
                )

            row = await until_true(closed, within=10.0)
            await conn.execute("UPDATE queue_log_cursor SET last_id = 0")
            await _gap(proxy, client)
            again = await conn.fetch("SELECT * FROM calls WHERE uniqueid = 'ghost.1'")
            logged = await conn.fetch(
                "SELECT time FROM asterisk.queue_log WHERE callid = 'ghost.1' ORDER BY id"
            )
            endings = await conn.fetchval("SELECT count(*) FROM call_endings")
        await proxy.close()
    finally:
        await conn.close()
    joined, answered = (r["time"].replace(tzinfo=UTC) for r in logged)
    assert (row["end_reason"], row["joined_at"], row["answered_at"]) == (
        "lost_in_gap",
        joined,
        answered,
    )
    assert row["ended_at"] > answered and row["agent_name"] == "Agent 101"
    assert [dict(r) for r in again] == [dict(row)] and endings == 1


def test_a_queuestart_closes_only_the_calls_still_going_when_asterisk_restarted() -> None:
    rows = [
        _row(1, "c1", "ENTERQUEUE", "", "0812345678", "1"),
        _row(2, "c1", "CONNECT", "3", "a1", "1", agent="Agent 101"),
        _row(3, "c2", "ENTERQUEUE", "", "0899999999", "2"),
        _row(4, "c3", "ENTERQUEUE", "", "0811111111", "3"),
        _row(5, "c3", "ABANDON", "3", "3", "1"),
        _row(9, "NONE", "QUEUESTART", "", agent="NONE"),
    ]
    restart = rows[-1]
    records = {r.uniqueid: r for r in rebuilt_calls("main", rows[:-1], [restart])}
    talking, waiting, abandoned = records["c1"], records["c2"], records["c3"]
    assert (talking.end_reason, talking.hung_up_by, talking.ended_at) == (
        "completed",
        "system",
        restart.time,
    )
    assert (talking.talk_s, waiting.end_reason, waiting.hung_up_by, waiting.wait_s) == (
        7.0,
        "unknown",
        "system",
        6.0,
    )
    assert (abandoned.end_reason, abandoned.ended_at) == ("abandoned", rows[4].time)


async def test_a_hold_in_progress_when_the_link_is_cut_is_never_counted_as_talk(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    """queue_log's talk counts holds; the hold the live stream saw begin stays a hold up to
    queue_log's end, whatever the gap hid."""
    sim.set_default_agent_phone(AgentPhone.answers_after(0.5))
    proxy = TcpProxy(sim.address)
    conn = await asyncpg.connect(fresh_db_url)
    try:
        async with service(await proxy.start(), "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)
            call = await sim.place_call("hotline", "0888888888", "On hold")
            await call.connected.wait()
            await sim.clock.sleep(1.0)
            await sim.hold(call)

            async def held() -> Any:
                return await conn.fetchval(
                    "SELECT held_since IS NOT NULL FROM calls WHERE uniqueid = $1", call.uniqueid
                )

            await until_true(held, within=10.0)
            held_at = datetime.now(UTC)
            proxy.cut()
            await until(lambda: not _link_up(client), within=5.0)
            await sim.clock.sleep(2.0)
            await sim.unhold(call)
            await sim.clock.sleep(1.0)
            await sim.hangup(call, by="caller")
            await sim.queue_log.flush()
            proxy.restore()

            async def ended() -> Any:
                return await conn.fetchrow(
                    "SELECT * FROM calls WHERE uniqueid = $1 AND end_reason = 'completed'",
                    call.uniqueid,
                )

            row = await until_true(ended, within=10.0)
        await proxy.close()
    finally:
        await conn.close()
    truth = _truth(sim.queue_log.of_call(call.uniqueid))
    assert _off_by(row["ended_at"], truth["ended_at"]) <= 0.5
    assert row["talk_s"] <= (held_at - truth["answered_at"]).total_seconds() + 0.5
    assert row["hold_s"] >= 3.0 and row["held_since"] is None


async def test_a_call_answered_while_hotline_was_stopped_gets_queue_logs_times_at_start(
    sim: PbxSimulator, service: Callable[..., TestClient], fresh_db_url: str
) -> None:
    """Adopted from the first snapshot after a start (answered 1.5 s of ringing ago by the
    agent channel's age), the call is corrected from queue_log before it ends live."""
    conn = await asyncpg.connect(fresh_db_url)
    try:
        cursor = "SELECT EXISTS (SELECT 1 FROM queue_log_cursor WHERE pbx = 'pbx1')"
        async with service(sim.address, "asterisk.queue_log") as client:
            await until(lambda: _link_up(client), within=10.0)
            await until_true(lambda: conn.fetchval(cursor), within=10.0)
        sim.set_default_agent_phone(AgentPhone.answers_after(1.5))
        call = await sim.place_call("hotline", "0899999999", "While stopped")
        await call.connected.wait()
        await sim.queue_log.flush()
        async with service(sim.address, "asterisk.queue_log") as client:

            async def adopted() -> Any:
                return await conn.fetchrow(
                    "SELECT * FROM calls WHERE uniqueid = $1 AND answered_at IS NOT NULL",
                    call.uniqueid,
                )

            open_row = await until_true(adopted, within=10.0)
            await sim.clock.sleep(1.0)
            await sim.hangup(call, by="agent")

            async def ended() -> Any:
                return await conn.fetchrow(
                    "SELECT * FROM calls WHERE uniqueid = $1 AND ended_at IS NOT NULL",
                    call.uniqueid,
                )

            row = await until_true(ended, within=10.0)
    finally:
        await conn.close()
    truth = _truth(sim.queue_log.of_call(call.uniqueid))
    assert open_row["ended_at"] is None and open_row["recovered"]
    assert (row["end_reason"], row["hung_up_by"]) == ("completed", "agent")
    for moment in ("joined_at", "answered_at", "ended_at"):
        assert _off_by(row[moment], truth[moment]) <= 0.5, moment
