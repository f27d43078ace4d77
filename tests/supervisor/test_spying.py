"""Listen, whisper and barge over HTTP on the real service, the PBX simulator over TCP and
PostgreSQL: the supervisor's phone is rung into ChanSpy on the agent's channel, each start,
switch, stop and end is in the audit, a spy ends with its call and never counts as one,
and every refusal is clear."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import get_args

from supervision.spy_audit import SpyAction
from supervision.spy_views import _MESSAGES
from supervision.spying import SPY_MODES
from telephony.commands import Outcome
from tests.supervisor.spy_site import AGENT, SUPERVISOR_PHONE, SpySite, spy_site
from tests.waiting import until, until_true
from web.keys import call_writer_key, db_key, spy_key

__all__ = ["spy_site"]


def originates(site: SpySite) -> list[tuple[str, str, str]]:
    return [
        (r.message["Channel"], r.message["Application"], r.message["Data"])
        for r in site.sim.server.actions
        if r.message.get("Action") == "Originate"
    ]


def spy_legs(site: SpySite) -> list[str]:
    return [c.name for c in site.sim.core.channels.values() if c.name.startswith(SUPERVISOR_PHONE)]


async def test_listen_then_whisper_then_stop_rings_the_supervisors_phone_each_time(
    spy_site: SpySite,
) -> None:
    _, call_key = await spy_site.talking_call()
    suda = await spy_site.browser("suda")
    try:
        status, body = await suda.post(f"/supervisor/calls/{call_key}/spy", mode="listen")
        assert status == 200
        assert [(s["agent"], s["mode"], s["supervisor"]) for s in body["spies"]] == [
            ("Anan", "listen", "Suda")
        ]
        assert originates(spy_site) == [(SUPERVISOR_PHONE, "ChanSpy", f"{AGENT}-,qE")]
        service = spy_site.server.app[spy_key]
        await until(lambda: all(s.hearing for s in service.spies()), within=10)
        assert len(spy_legs(spy_site)) == 1
        status, body = await suda.post(f"/supervisor/calls/{call_key}/spy", mode="whisper")
        assert (status, [s["mode"] for s in body["spies"]]) == (200, ["whisper"])
        assert originates(spy_site)[-1] == (SUPERVISOR_PHONE, "ChanSpy", f"{AGENT}-,qEw")
        await until(lambda: len(spy_legs(spy_site)) == 1, within=10)
        status, body = await suda.post(f"/supervisor/calls/{call_key}/spy/stop")
        assert (status, body) == (200, {"spies": []})
        await until(lambda: not spy_legs(spy_site), within=10)
    finally:
        await suda.session.close()
    audit = await spy_site.audit()
    assert [(r["action"], r["mode"], r["outcome"]) for r in audit] == [
        ("start", "listen", "answered"),
        ("mode", "whisper", "answered"),
        ("stop", "whisper", None),
    ]
    assert {(r["supervisor_id"], r["agent_id"], r["call_key"]) for r in audit} == {
        (spy_site.supervisor.id, spy_site.agent.id, call_key)
    }


async def test_a_barge_ends_with_the_call_and_the_call_is_stored_as_one(
    spy_site: SpySite,
) -> None:
    call, call_key = await spy_site.talking_call()
    suda = await spy_site.browser("suda")
    try:
        assert (await suda.post(f"/supervisor/calls/{call_key}/spy", mode="barge"))[0] == 200
        service = spy_site.server.app[spy_key]
        await until(lambda: all(s.hearing for s in service.spies()), within=10)
        await asyncio.sleep(0.5)
        await spy_site.sim.hangup(call, by="caller")
        await until(lambda: not service.spies() and not spy_legs(spy_site), within=10)
    finally:
        await suda.session.close()
    audit = await spy_site.audit()
    assert [(r["action"], r["mode"], r["outcome"]) for r in audit] == [
        ("start", "barge", "answered"),
        ("ended", "barge", "call_ended"),
    ]
    app = spy_site.server.app
    pool = app[db_key].pool

    async def stored() -> object:
        await app[call_writer_key].flush()
        return await pool.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL")

    assert await until_true(stored, within=10) == 1
    row = await pool.fetchrow("SELECT * FROM calls")
    assert (row["call_key"], row["agent_interface"], row["hung_up_by"]) == (
        call_key,
        AGENT,
        "caller",
    )


async def test_refusals_are_clear_and_nothing_is_dialled(spy_site: SpySite) -> None:
    waiting = await spy_site.sim.place_call("1169", "0811000602", "Waiting")
    suda, nophone, anan = [await spy_site.browser(n) for n in ("suda", "nophone", "anan")]
    try:
        status, body = await anan.post("/supervisor/calls/sim/1169/1.2/spy", mode="listen")
        assert status == 403
        assert (await anan.session.get("/supervisor/spies")).status == 403
        status, body = await suda.post("/supervisor/calls/sim/1169/1.2/spy", mode="listen")
        assert (status, body["error"]) == (404, "spy_unknown_call")
        assert body["message"] == "There is no such call: it may be over, or the call key is wrong"
        await until(lambda: spy_site.server.app[spy_key].talking() == [], within=1)
        waiting_key = f"sim/1169/{waiting.uniqueid}"
        status, body = await suda.post(f"/supervisor/calls/{waiting_key}/spy", mode="listen")
        assert (status, body["error"]) == (409, "spy_call_not_live")
        status, body = await nophone.post(f"/supervisor/calls/{waiting_key}/spy", mode="listen")
        assert (status, body["error"]) == (409, "spy_no_phone")
        status, body = await suda.post(f"/supervisor/calls/{waiting_key}/spy", mode="snoop")
        assert (status, body["error"]) == (422, "spy_bad_mode")
        status, body = await suda.post(f"/supervisor/calls/{waiting_key}/spy/stop")
        assert (status, body["error"]) == (409, "spy_not_spying")
        page = await suda.session.post(
            "/supervisor/calls/sim/1169/1.2/spy", data={"mode": "listen", "csrf_token": suda.csrf}
        )
        assert page.status == 404
        assert "There is no such call" in await page.text()
    finally:
        for browser in (suda, nophone, anan):
            await browser.session.close()
    assert originates(spy_site) == []
    assert await spy_site.audit() == []


def test_every_spy_label_and_refusal_reads_in_thai_and_english() -> None:
    """Each `t("spy...")` of the templates, and each refusal's message, in both languages."""
    templates = Path(__file__).resolve().parents[2] / "web" / "templates" / "supervisor"
    used = {
        key
        for name in ("spies.html", "_spy_controls.html")
        for key in re.findall(r"""t\(\s*["'](spy\.[a-z_.]+?)["']""", (templates / name).read_text())
    }
    used = {key for key in used if not key.endswith(".")}
    dynamic = {f"spy.{kind}.{m}" for kind in ("mode", "hint") for m in SPY_MODES}
    dynamic |= {f"spy.action.{a}" for a in get_args(SpyAction)}
    dynamic |= {
        f"spy.outcome.{o}" for o in (*get_args(Outcome), "refused", "hung_up", "call_ended")
    }
    refusals = {f"spy.error.{code}" for code in (*_MESSAGES, "spy_pbx_error")}
    texts = json.loads((templates.parents[1] / "locales" / "spy.json").read_text())
    for key in used | dynamic | refusals:
        assert set(texts[key]) == {"th", "en"} and all(texts[key].values()), key
