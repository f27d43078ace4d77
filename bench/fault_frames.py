"""Fuzzed AMI frames written into the simulator's live sessions between its real events.

Each is made from an event the simulator really sent a moment before, damaged the ways
broken links, buggy proxies and hostile peers damage frames: cut mid-line, its ids
removed or given twice, moved to a channel no call has, ended with stray CRs, carrying a
NUL, a huge value or bytes that are not UTF-8. None names a call the way a real event
does, so none may become a call or change one.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from itertools import islice

from pbxsim import PbxSimulator
from pbxsim.templates import Fields

IDS = frozenset({"Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"})
CHANNELS = frozenset({"Channel", "DestChannel", "Interface", "MemberName", "StateInterface"})
# A QueueCallerJoin for a channel hotline has not seen is a real call as far as anyone can
# tell (a NUL removed or a byte that is not UTF-8 replaced leaves a good join), so the
# damages that move an event to an unknown channel are never applied to one.
JOINS = frozenset({"QueueCallerJoin"})
EOL = b"\r\n"
HUGE = 300 * 1024  # beyond the 256 KiB frame limit


def _encode(fields: Fields, line_end: bytes = b"\r\n") -> bytes:
    lines = [f"{k}: {v}".encode(errors="surrogateescape") for k, v in fields]
    return line_end.join(lines) + line_end + line_end


def _elsewhere(fields: Fields, rng: random.Random) -> Fields:
    """The same event for a channel and ids no call has."""
    uid = f"1600{rng.randrange(10**6):06d}.{rng.randrange(10**4)}"
    return [
        (k, uid if k in IDS else f"PJSIP/ghost-{uid[-4:]}" if k in CHANNELS else v)
        for k, v in fields
    ]


def cut_mid_line(fields: Fields, rng: random.Random) -> bytes:
    data = _encode(fields)[:-4]
    breaks = [i for i in range(1, len(data)) if data[i - 1] not in EOL and data[i] not in EOL]
    return data[: rng.choice(breaks)] + b"\r\n\r\n"


def without_ids(fields: Fields, rng: random.Random) -> bytes:
    return _encode([(k, v) for k, v in fields if k not in IDS])


def ids_twice(fields: Fields, rng: random.Random) -> bytes:
    extra = [(k, f"1600{rng.randrange(10**6):06d}.1") for k, _ in fields if k in IDS]
    return _encode([*fields, *extra])


def unknown_channel(fields: Fields, rng: random.Random) -> bytes:
    return _encode(_elsewhere(fields, rng))


def stray_carriage_returns(fields: Fields, rng: random.Random) -> bytes:
    return _encode(fields, b"\r\r\n")


def with_nul(fields: Fields, rng: random.Random) -> bytes:
    moved = _elsewhere(fields, rng)
    at = rng.randrange(1, len(moved))
    key, value = moved[at]
    moved[at] = (key, value[:3] + "\x00" + value[3:])
    return _encode(moved)


def huge_value(fields: Fields, rng: random.Random) -> bytes:
    moved = _elsewhere(fields, rng)
    size = rng.choice((HUGE, 64 * 1024))
    return _encode([*moved, ("CallerIDName", "x" * size)])


def not_utf8(fields: Fields, rng: random.Random) -> bytes:
    data = _encode(_elsewhere(fields, rng))
    at = rng.randrange(len(data) - 4)
    return data[:at] + b"\xff\xfe\xc3" + data[at:]


Damage = Callable[[Fields, random.Random], bytes]
DAMAGES: tuple[Damage, ...] = (
    cut_mid_line,
    without_ids,
    ids_twice,
    unknown_channel,
    stray_carriage_returns,
    with_nul,
    huge_value,
    not_utf8,
)


RELOCATING = frozenset({unknown_channel, with_nul, huge_value, not_utf8})


def fuzzed(fields: Fields, rng: random.Random) -> bytes:
    joins = fields[0][1] in JOINS
    damages = [d for d in DAMAGES if not (joins and d in RELOCATING)]
    return rng.choice(damages)(fields, rng)


async def inject(sim: PbxSimulator, frames: int, per_second: float, seed: int) -> int:
    """Write `frames` fuzzed frames into every logged-in AMI session, between real events,
    `per_second` on average; how many were written."""
    rng = random.Random(f"{seed}:fuzz")
    written = 0
    while written < frames:
        await asyncio.sleep(rng.expovariate(per_second))
        recent = [f for f in islice(reversed(sim.events), 200) if f and f[0][0] == "Event"]
        sessions = [s for s in sim.server.sessions if s.logged_in]
        if not recent or not sessions:
            continue
        data = fuzzed(list(rng.choice(recent)), rng)
        for session in sessions:
            session.write(data)
        written += 1
    return written
