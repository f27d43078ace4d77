"""`hotline demo`: the whole service on embedded defaults, with a simulated PBX taking calls.

The simulator is the same one the tests use: it speaks AMI and FastAGI over TCP, so the
service runs exactly as it would against Asterisk. Demo logins get random passwords, kept
in the data folder (readable by its owner only) and printed at every start.
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
from hotline.runner import run_until_stopped
from pbxsim import CustomerPhone, PbxSimulator
from pbxsim.generator import TrafficGenerator, TrafficProfile
from web import auth
from web.keys import users_key

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

# Calls every ~20 s, a minute or two of talk: enough to watch, not enough to drown in.
DEMO_TRAFFIC = TrafficProfile(rate=1 / 20, talk_mean=75.0, patience_mean=60.0)
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
    print("A simulated PBX places a call every ~20 s; Ctrl-C stops the demo.\n", flush=True)


async def run_demo(settings: Settings) -> None:
    secret = secrets.token_urlsafe(16)
    sim = PbxSimulator.lab(
        agents=3,
        accounts={"hotline": secret},
        timestamp_events=True,
        agi_host="127.0.0.1" if settings.agi_host in ("0.0.0.0", "") else settings.agi_host,
        agi_port=settings.agi_port,
        pbx_name=DEMO_PBX,
        default_customer_phone=CustomerPhone.answers("1", ring=3.0, after=3.0),
    )
    host, port = await sim.start()
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
        }
    )
    passwords = demo_passwords(demo.data_dir)
    traffic = TrafficGenerator(sim, DEMO_QUEUE, DEMO_TRAFFIC, seed=secrets.randbelow(10**6))

    running: list[asyncio.Task[None]] = []

    async def started(app: web.Application) -> None:
        await ensure_people(app[users_key], auth.passwords(app), passwords)
        _print_logins(demo, passwords)
        running.append(asyncio.create_task(traffic.run(), name="demo-traffic"))

    try:
        await run_until_stopped(demo, started)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await traffic.stop()
        await sim.stop()
