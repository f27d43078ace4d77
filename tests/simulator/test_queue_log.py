"""The simulator writes app_queue's queue_log: each milestone's row with app_queue.c's fields,
into the same PostgreSQL table as Asterisk's realtime queue_log when it is given a database."""

from __future__ import annotations

import asyncio

import asyncpg

from pbxsim import AgentPhone, PbxSimulator
from pbxsim.__main__ import build_parser, simulator_from
from pbxsim.clock import SimClock
from pbxsim.queue_log import QueueLog, split_data
from tests.own_postgres import own_postgres

from .queue_log_checks import queue_log_follows_the_ami

CALLER = ("0812345678", "Somchai")


async def test_an_answered_call_after_a_ring_no_answer_is_logged_like_app_queue() -> None:
    sim = PbxSimulator.lab(speed=10.0)
    sim.core.queues["hotline"].start_after("PJSIP/agent103")
    sim.set_agent_phone("PJSIP/agent101", AgentPhone.never_answers())
    async with sim:
        call = await sim.place_call("hotline", *CALLER)
        await call.connected.wait()
        await sim.clock.sleep(3.0)
        await sim.hangup(call, by="caller")
    rows = queue_log_follows_the_ami(sim)
    assert [r[3] for r in rows] == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETECALLER"]
    enter, rna, connect, complete = rows
    assert enter == (call.uniqueid, "hotline", "NONE", "ENTERQUEUE", "", "0812345678", "1")
    assert rna[2:] == ("Agent 101", "RINGNOANSWER", "15000")
    assert connect[2] == "Agent 102" and connect[5] == call.agent.uniqueid  # type: ignore[union-attr]
    assert complete[-1] == "1" and int(complete[-2]) >= 3
    times = [r.time for r in sim.queue_log.rows]
    assert times == sorted(times) and (times[-1] - times[0]).total_seconds() >= 18


async def test_agent_hang_up_abandon_and_members_are_logged() -> None:
    sim = PbxSimulator.lab(speed=10.0)
    sim.set_default_agent_phone(AgentPhone.manual())
    async with sim:
        sim.add_member("hotline", "PJSIP/agent104", "Agent 104", paused=True)
        sim.pause("PJSIP/agent104", False, "back")
        first = await sim.place_call("hotline", *CALLER)
        second = await sim.place_call("hotline", "0899999999", "Somsri")
        await sim.clock.sleep(2.5)
        await sim.abandon(second)
        await sim.answer(first.ringing.member.interface)  # type: ignore[union-attr]
        await first.connected.wait()
        await sim.hangup(first, by="agent")
        sim.pause("PJSIP/agent104", True, "lunch", queue="hotline")
        sim.remove_member("hotline", "PJSIP/agent104")
    rows = queue_log_follows_the_ami(sim)
    events = [(r[3], r[4:]) for r in rows if r[3] not in ("ENTERQUEUE", "CONNECT")]
    assert events[:3] == [
        ("ADDMEMBER", ("PAUSED",)),
        ("UNPAUSEALL", ()),
        ("UNPAUSE", ("back",)),
    ]
    abandon = next(r for r in rows if r[3] == "ABANDON")
    assert abandon[0] == second.uniqueid and abandon[4:6] == ("2", "2")
    assert int(abandon[6]) in (2, 3)
    assert [e for e, _ in events[-3:]] == ["COMPLETEAGENT", "PAUSE", "REMOVEMEMBER"]
    assert events[-2] == ("PAUSE", ("lunch",))


async def test_a_queue_timeout_and_an_exit_by_key_have_their_own_rows() -> None:
    async with PbxSimulator.shipped(speed=20.0, queue_timeout=6) as sim:
        timed_out = await sim.place_call("hotline", *CALLER)
        keyed = await sim.place_call("hotline", "0899999999", "Somsri")
        await sim.clock.sleep(1.0)
        await sim.press(keyed, "5")
        await sim.wait_for_event("QueueCallerAbandon", Uniqueid=timed_out.uniqueid)
    rows = queue_log_follows_the_ami(sim)
    timeout = next(r for r in rows if r[0] == timed_out.uniqueid and r[3] != "ENTERQUEUE")
    assert timeout[3:] == ("EXITWITHTIMEOUT", "1", "1", "6")
    key = next(r for r in rows if r[0] == keyed.uniqueid and r[3] != "ENTERQUEUE")
    assert key[3:] == ("EXITWITHKEY", "5", "2", "2", "1")


def test_the_adaptive_split_keeps_the_rest_in_the_fifth_column() -> None:
    assert split_data("LINK", "a", "b", 3, 40, 1) == ("LINK", "a", "b", "3", "40|1")
    assert split_data(15000) == ("15000", "", "", "", "")


async def test_given_a_database_the_rows_land_in_asterisks_table(fresh_db_url: str) -> None:
    args = build_parser().parse_args(["--queue-log-db", fresh_db_url, "--speed", "10"])
    sim = simulator_from(args)
    assert build_parser().parse_args([]).queue_log_db is None
    async with sim:
        call = await sim.place_call("hotline", *CALLER)
        await call.connected.wait()
        await sim.hangup(call)
        await sim.queue_log.flush()
    conn = await asyncpg.connect(fresh_db_url)
    try:
        stored = await conn.fetch("SELECT * FROM asterisk.queue_log ORDER BY id")
    finally:
        await conn.close()
    columns = ("time", "callid", "queuename", "agent", "event", *(f"data{i}" for i in range(1, 6)))
    assert [tuple(r[c] for c in columns) for r in stored] == [
        (r.time, r.callid, r.queuename, r.agent, r.event, *r.data) for r in sim.queue_log.rows
    ]
    assert [r["event"] for r in stored] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]


async def test_rows_written_after_a_database_outage_still_land() -> None:
    """Like Asterisk, a row written while PostgreSQL is down is lost, but the rows after
    it are stored once the server is back (the writer outlives the refusal)."""
    async with own_postgres() as (server, url):
        log = QueueLog(SimClock(), url)
        await log.start()
        try:
            log.write("hotline", "1.1", "NONE", "ENTERQUEUE", "", "0812345678", "1")
            await log.flush()
            server.stop()
            log.write("hotline", "1.1", "NONE", "ABANDON", "1", "1", "3")
            await asyncio.wait_for(log.flush(), 10)
            server.start()
            log.write("hotline", "1.2", "NONE", "ENTERQUEUE", "", "0812345679", "1")
            await asyncio.wait_for(log.flush(), 10)
        finally:
            await log.stop()
        conn = await asyncpg.connect(url)
        try:
            stored = await conn.fetch("SELECT callid, event FROM asterisk.queue_log ORDER BY id")
        finally:
            await conn.close()
    assert [tuple(r) for r in stored] == [("1.1", "ENTERQUEUE"), ("1.2", "ENTERQUEUE")]
