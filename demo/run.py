"""`hotline demo`: the whole service on embedded defaults, with a simulated PBX taking calls.

The simulator is the same one the tests use: it speaks AMI and FastAGI over TCP, so the
service runs exactly as it would against Asterisk. Its queue starts with no member: every
agent is signed out until they log in. Two demo agents work shifts by themselves through
the service's own web paths (demo.shift); agent1 is left for the person trying the demo.
Demo logins get random passwords, kept in the data folder (readable by its owner only) and
printed at every start.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr

from accounts.passwords import Passwords
from accounts.users import UserRepository
from config.settings import PbxSettings, Settings
from demo.knowledge import ensure_articles
from demo.mail_catcher import MailCatcher
from demo.mail_page import add_mail_page
from demo.shift import ShiftPlan, SimulatedAgent
from hotline.runner import run_until_stopped
from mail.settings import MailSettings
from pbxsim import CustomerPhone, PbxSimulator
from pbxsim.dialplan import SHIPPED_NOTICE, InboundPlan
from pbxsim.generator import TrafficGenerator, TrafficProfile
from web import auth
from web.keys import clock_key, knowledge_key, users_key

DEMO_PBX = "demo"
DEMO_QUEUE = "hotline"


@dataclass(frozen=True)
class DemoPerson:
    username: str
    display_name: str
    role: str
    interface: str | None = None


PEOPLE = (
    DemoPerson("agent1", "สมชาย ใจดี (Agent 101)", "agent", "PJSIP/agent101"),
    DemoPerson("agent2", "Suda Rakdee (Agent 102)", "agent", "PJSIP/agent102"),
    DemoPerson("agent3", "วิภา ศรีสุข (Agent 103)", "agent", "PJSIP/agent103"),
    DemoPerson("supervisor", "Supervisor", "supervisor"),
    DemoPerson("admin", "Administrator", "admin"),
)

# The agents the demo drives itself; the others wait for a person to log in.
SIMULATED = ("agent2", "agent3")
# Calls every ~20 s, a minute or two of talk: enough to watch, not enough to drown in. The
# simulated agents pause through the panel, so the generator's own pauses are left out.
DEMO_TRAFFIC = TrafficProfile(rate=1 / 20, talk_mean=75.0, patience_mean=60.0, pause_every=1e9)
# Survey callbacks soon after the call, at any hour, so the demo shows them.
DEMO_SURVEY = {
    "delay_after_hangup": 15,
    "window_start": "00:00",
    "window_end": "23:59",
    "call_on_holidays": True,
    "min_days_between_surveys": 0,
}


def _load_passwords(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {k: v for k, v in stored.items() if isinstance(k, str) and isinstance(v, str)}


def demo_passwords(data_dir: Path) -> dict[str, str]:
    """The demo logins' passwords: made once per data folder, then reused."""
    path = data_dir / "demo-logins.json"
    passwords = _load_passwords(path)
    missing = [p.username for p in PEOPLE if p.username not in passwords]
    if missing:
        passwords.update({name: secrets.token_urlsafe(9) for name in missing})
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(passwords, indent=2), encoding="utf-8")
        path.chmod(0o600)
    return passwords


async def ensure_people(
    users: UserRepository, hasher: Passwords, passwords: dict[str, str]
) -> None:
    """Create the demo people, or give them back their demo password."""
    for person in PEOPLE:
        password_hash = await hasher.hash(passwords[person.username])
        found = await users.credentials(person.username)
        if found is not None:
            await users.set_password_hash(found[0].id, password_hash)
            continue
        await users.create(
            username=person.username,
            display_name=person.display_name,
            password_hash=password_hash,
            role=person.role,
            pbx=DEMO_PBX if person.interface else None,
            interface=person.interface,
            queues=(DEMO_QUEUE,) if person.interface else (),
        )


def _print_logins(settings: Settings, passwords: dict[str, str]) -> None:
    print(f"\nhotline demo: open http://{settings.web_host}:{settings.web_port}/")
    print("log in as (username / password):")
    for person in PEOPLE:
        print(f"  {person.username:<11} {passwords[person.username]:<14} {person.role}")
    print(f"(kept in {settings.data_dir / 'demo-logins.json'})")
    print("A simulated PBX places a call every ~20 s; Ctrl-C stops the demo.", flush=True)
    print("Mails to callers are caught locally: /demo/mails (supervisor, admin).", flush=True)
    print(
        f"{' and '.join(SIMULATED)} work shifts by themselves (sign in, Ready, calls, wrap-up,"
        " pauses, sign out); everyone else is signed out until they log in.\n",
        flush=True,
    )


def _simulated(settings: Settings, username: str, password: str, *, seed: int) -> SimulatedAgent:
    host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "") else settings.web_host
    return SimulatedAgent(
        f"http://{host}:{settings.web_port}",
        username,
        password,
        pause_codes=[c.code for c in settings.shift.pause_codes],
        wrapup_codes=[c.code for c in settings.shift.wrapup_codes],
        plan=ShiftPlan(),
        seed=seed,
    )


def _recordings_folder(settings: Settings) -> Path:
    """The demo records every call, in its data folder: the simulator writes the files
    where hotline serves them from."""
    folder = settings.data_dir / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def run_demo(settings: Settings) -> None:
    secret = secrets.token_urlsafe(16)
    recordings = _recordings_folder(settings)
    sim = PbxSimulator(
        accounts={"hotline": secret},
        timestamp_events=True,
        agi_host="127.0.0.1" if settings.agi_host in ("0.0.0.0", "") else settings.agi_host,
        agi_port=settings.agi_port,
        pbx_name=DEMO_PBX,
        default_customer_phone=CustomerPhone.answers("1", ring=3.0, after=3.0),
        recordings_dir=recordings,
        plan=InboundPlan(notice_event=SHIPPED_NOTICE),
    )
    sim.add_queue(DEMO_QUEUE)
    host, port = await sim.start()
    catcher = MailCatcher()
    _, smtp_port = await catcher.start("127.0.0.1")
    demo = settings.model_copy(
        update={
            "pbx": [
                PbxSettings(
                    name=DEMO_PBX,
                    host=host,
                    port=port,
                    username="hotline",
                    secret=SecretStr(secret),
                )
            ],
            "survey": {**DEMO_SURVEY, **settings.survey},
            # Every mail to a caller goes to the local catcher, shown at /demo/mails.
            "mail": MailSettings(
                enabled=True,
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                security="none",
                from_address="1169@demo.invalid",
                interval_s=2.0,
            ),
            "recording": settings.recording.model_copy(
                update={"enabled": True, "folder": recordings}
            ),
        }
    )
    passwords = demo_passwords(demo.data_dir)
    traffic = TrafficGenerator(sim, DEMO_QUEUE, DEMO_TRAFFIC, seed=secrets.randbelow(10**6))

    running: list[asyncio.Task[None]] = []

    async def started(app: web.Application) -> None:
        await ensure_people(app[users_key], auth.passwords(app), passwords)
        boss = await app[users_key].credentials("supervisor")
        if boss is not None:
            await ensure_articles(app[knowledge_key], boss[0].id, app[clock_key].now())
        _print_logins(demo, passwords)
        running.append(asyncio.create_task(traffic.run(), name="demo-traffic"))
        for n, username in enumerate(SIMULATED):
            agent = _simulated(demo, username, passwords[username], seed=n)
            running.append(asyncio.create_task(agent.run(), name=f"demo-{username}"))

    try:
        await run_until_stopped(demo, started, lambda app: add_mail_page(app, catcher))
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await traffic.stop()
        await sim.stop()
        await catcher.stop()
