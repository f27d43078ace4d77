"""The figures supervisors are judged by, exactly as /work/shared/METRICS.md defines them.

Each family of figures is one SQL statement with `$n` parameters over a period of Bangkok
local dates, grouped by one of GROUPS; the grouping expressions come from a fixed table, never
from the request. Ratios are computed here from the counts so the page, the export and the
tests read the same numbers.

Where a figure is credited: queue figures (offered ... SL, ASA, phase compliance) to the day
the caller joined; handle figures (talk, hold, ACW, AHT, occupancy's busy time) to the day the
after-call work ended (Genesys); FCR to the day the case was received; SLA compliance to the
day the case was due. Satisfaction belongs to the survey's own figures: `ivr.results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from cases.working_days import BANGKOK

GROUPS = ("total", "queue", "agent", "team", "day", "month", "hour")
#: Groupings for which agent state intervals can be split: occupancy needs logged-in time.
OCCUPANCY_GROUPS = ("total", "agent", "team")
#: The groupings whose rows are people; a row that is nobody who worked is left out.
PEOPLE_GROUPS = ("agent", "team")
#: The pause reason under which the PBX holds an agent's wrap-up (agent_ui.panel_service).
ACW_PAUSE_REASON = "wrapup"


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days, `first` to `last` inclusive, in the hotline's time zone."""

    first: date
    last: date
    tz: ZoneInfo = BANGKOK

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError("a period must not end before it starts")

    @classmethod
    def day_of(cls, moment: datetime, tz: ZoneInfo = BANGKOK) -> Period:
        """The local day `moment` falls on (the live board's "today")."""
        local = moment.astimezone(tz).date()
        return cls(local, local, tz)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.tz)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The per-queue settings the definitions depend on (settings.standards)."""

    sl_s: float = 20
    short_abandon_s: float = 5
    fcr_days: int = 7
    greeting_max_s: float = 30
    inquiry_min_s: float = 300
    inquiry_max_s: float = 1200
    closing_max_s: float = 30


def percent(part: float, whole: float) -> float | None:
    """part ÷ whole × 100, or None without a whole to divide by."""
    return None if whole <= 0 else part * 100.0 / whole


def _mean(total: float, count: int) -> float | None:
    return None if count <= 0 else total / count


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Counts over the calls that joined a queue in the period."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    exited: int = 0
    answered_in_t: int = 0
    abandoned_in_t: int = 0
    answered_wait_s: float = 0.0
    longest_wait_s: float | None = None
    finished: int = 0
    greeting_ok: int = 0
    inquiry_ok: int = 0
    closing_ok: int = 0
    phases_marked: int = 0
    phases_ok: int = 0

    @property
    def abandon_rate(self) -> float | None:
        """(abandoned − short) ÷ (offered − short) × 100."""
        short = self.short_abandoned
        return percent(self.abandoned - short, self.offered - short)

    @property
    def service_level(self) -> float | None:
        """Answered within T ÷ (answered + abandoned − short) × 100 (Genesys form)."""
        return percent(self.answered_in_t, self.answered + self.abandoned - self.short_abandoned)

    @property
    def sl1(self) -> float | None:
        """Asterisk's SL1: answered within T ÷ answered."""
        return percent(self.answered_in_t, self.answered)

    @property
    def sl2(self) -> float | None:
        """Asterisk's SL2: (answered + abandoned within T) ÷ (answered + abandoned)."""
        return percent(self.answered_in_t + self.abandoned_in_t, self.answered + self.abandoned)

    @property
    def asa_s(self) -> float | None:
        return _mean(self.answered_wait_s, self.answered)

    @property
    def phase_compliance(self) -> float | None:
        """Of the answered calls, once over, whose three phases the agent marked: those whose
        phases each met the standard. An unmarked call says nothing of how it went, so it is
        left out here and counted in `phases_marked_share`. A call still talking is not
        judged yet."""
        return percent(self.phases_ok, self.phases_marked)

    @property
    def phases_marked_share(self) -> float | None:
        """How much of the answered, finished calls phase compliance speaks for."""
        return percent(self.phases_marked, self.finished)


@dataclass(frozen=True, slots=True)
class HandleFigures:
    """Sums over the answered calls whose after-call work ended in the period."""

    handled: int = 0
    ring_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    acw_s: float = 0.0

    @property
    def avg_talk_s(self) -> float | None:
        return _mean(self.talk_s, self.handled)

    @property
    def avg_hold_s(self) -> float | None:
        return _mean(self.hold_s, self.handled)

    @property
    def avg_acw_s(self) -> float | None:
        return _mean(self.acw_s, self.handled)

    @property
    def aht_s(self) -> float | None:
        """(talk + hold + ACW) ÷ handled calls."""
        return _mean(self.talk_s + self.hold_s + self.acw_s, self.handled)


@dataclass(frozen=True, slots=True)
class Presence:
    """Logged-in and paused seconds from the agents' availability log, and the busy seconds
    (ring, talk, hold, ACW) that fell inside the agent's available time.

    The PBX holds wrap-up by pausing the agent with reason `wrapup`: that pause is after-call
    work, so it is not paused time. Busy time is the union of each call's ring-to-ACW-end
    inside the logged-in, unpaused spans, so a call taken while the log says otherwise, or two
    calls overlapping, cannot push occupancy past 100 %.
    """

    logged_in_s: float = 0.0
    paused_s: float = 0.0
    busy_s: float = 0.0

    @property
    def available_s(self) -> float:
        return self.logged_in_s - self.paused_s


@dataclass(frozen=True, slots=True)
class PauseTime:
    """Seconds one agent spent paused with one pause code in the period."""

    agent_id: int
    agent: str
    code: str
    seconds: float


@dataclass(frozen=True, slots=True)
class FirstContact:
    """Cases with a known number, and those not followed by another on the same topic."""

    contacts: int = 0
    resolved_first: int = 0

    @property
    def rate(self) -> float | None:
        return percent(self.resolved_first, self.contacts)


@dataclass(frozen=True, slots=True)
class SlaCompliance:
    """Cases due in the period (and already due, or closed) and those closed on time."""

    due: int = 0
    met: int = 0

    @property
    def rate(self) -> float | None:
        return percent(self.met, self.due)


@dataclass(slots=True)
class Figures:
    """Every figure of one group (a queue, an agent, a day, ... or the total)."""

    key: str
    label: str
    queue: QueueFigures = field(default_factory=QueueFigures)
    handle: HandleFigures = field(default_factory=HandleFigures)
    presence: Presence | None = None
    first_contact: FirstContact = field(default_factory=FirstContact)
    sla: SlaCompliance = field(default_factory=SlaCompliance)

    @property
    def occupancy(self) -> float | None:
        """(ring + talk + hold + ACW) ÷ (logged-in − paused) × 100; None without presence."""
        if self.presence is None:
            return None
        return percent(self.presence.busy_s, self.presence.available_s)

    @property
    def is_person(self) -> bool:
        """A row of the agent or team tables stands for people who worked the queues in the
        period: answered or handled a call, or were logged in."""
        worked = self.queue.answered or self.handle.handled
        return bool(worked or (self.presence is not None and self.presence.logged_in_s > 0))


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a family of figures reads its time, agent and queue."""

    at: str
    agent: str
    queue: str


def _group_sql(group: str, source: _Source) -> tuple[str, str]:
    """The key and label expressions of a grouping (from this fixed table only). By agent and
    by team, what no person did (a call nobody answered) has no key and no row."""
    if group not in GROUPS:
        raise ValueError(f"unknown grouping {group!r}; one of {', '.join(GROUPS)}")
    expressions = {
        "total": ("''", "''"),
        "queue": (f"COALESCE({source.queue}, '')", f"COALESCE({source.queue}, '')"),
        "agent": (f"{source.agent}::text", "COALESCE(u.display_name, '')"),
        "team": (
            f"CASE WHEN {source.agent} IS NOT NULL THEN COALESCE(un.id::text, '') END",
            "COALESCE(un.name, '')",
        ),
        "day": (f"to_char({source.at} AT TIME ZONE p.tz, 'YYYY-MM-DD')",) * 2,
        "month": (f"to_char({source.at} AT TIME ZONE p.tz, 'YYYY-MM')",) * 2,
        "hour": (f"to_char({source.at} AT TIME ZONE p.tz, 'HH24')",) * 2,
    }
    return expressions[group]


_PEOPLE = """
LEFT JOIN users u ON u.id = {agent}
LEFT JOIN units un ON un.id = u.unit_id
"""

# A call's wait: the one recorded, else until it was answered or ended. One definition for
# the figures and the call lists, so a wait reads the same on both.
_WAIT = """
CROSS JOIN LATERAL (
    SELECT COALESCE(
        c.wait_s,
        EXTRACT(EPOCH FROM COALESCE(c.answered_at, c.ended_at) - c.joined_at)::float8
    ) AS wait
) w
""".strip()
# Callers who left the queue without an agent and without hanging up.
_EXITED = "c.end_reason IN ('timeout', 'full', 'empty', 'key', 'redirected')"

# $1/$2 period bounds, $3 time zone, $4 queue or NULL, $5 S, $6 T, $7-$10 phase standards.
_QUEUE_SQL = f"""
WITH p AS (
    SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $3::text AS tz, $4::text AS queue,
           $5::float8 AS short_s, $6::float8 AS sl_s, $7::float8 AS greeting_max,
           $8::float8 AS inquiry_min, $9::float8 AS inquiry_max, $10::float8 AS closing_max
)
SELECT {{select}},
    count(*) AS offered,
    count(*) FILTER (WHERE c.answered_at IS NOT NULL) AS answered,
    count(*) FILTER (WHERE c.abandoned) AS abandoned,
    count(*) FILTER (WHERE c.abandoned AND w.wait < p.short_s) AS short_abandoned,
    count(*) FILTER (WHERE {_EXITED}) AS exited,
    count(*) FILTER (WHERE c.answered_at IS NOT NULL AND w.wait <= p.sl_s) AS answered_in_t,
    count(*) FILTER (WHERE c.abandoned AND w.wait <= p.sl_s) AS abandoned_in_t,
    COALESCE(sum(w.wait) FILTER (WHERE c.answered_at IS NOT NULL), 0) AS answered_wait_s,
    max(w.wait) AS longest_wait_s,
    count(*) FILTER (WHERE g.finished) AS finished,
    count(*) FILTER (WHERE g.finished AND g.greeting) AS greeting_ok,
    count(*) FILTER (WHERE g.finished AND g.inquiry) AS inquiry_ok,
    count(*) FILTER (WHERE g.finished AND g.closing) AS closing_ok,
    count(*) FILTER (WHERE g.finished AND g.marked) AS phases_marked,
    count(*) FILTER (WHERE g.finished AND g.greeting AND g.inquiry AND g.closing) AS phases_ok
FROM calls c
CROSS JOIN p
{_WAIT}
CROSS JOIN LATERAL (
    SELECT c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL AS finished,
           COALESCE(c.greeting_s <= p.greeting_max, false) AS greeting,
           COALESCE(c.inquiry_s BETWEEN p.inquiry_min AND p.inquiry_max, false) AS inquiry,
           COALESCE(c.closing_s <= p.closing_max, false) AS closing,
           num_nonnulls(c.greeting_s, c.inquiry_s, c.closing_s) = 3 AS marked
) g
{{people}}
WHERE c.joined_at >= p.t0 AND c.joined_at < p.t1 AND (p.queue IS NULL OR c.queue = p.queue)
GROUP BY {{grouping}}
"""

_HANDLE_SQL = """
WITH p AS (
    SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $3::text AS tz, $4::text AS queue
)
SELECT {select},
    count(*) AS handled,
    COALESCE(sum(c.ring_s), 0) AS ring_s,
    COALESCE(sum(c.talk_s), 0) AS talk_s,
    COALESCE(sum(c.hold_s), 0) AS hold_s,
    COALESCE(sum(c.wrapup_s), 0) AS acw_s
FROM calls c
CROSS JOIN p
{people}
WHERE c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL
  AND (c.wrapup_started_at IS NULL OR c.wrapup_ended_at IS NOT NULL)
  AND COALESCE(c.wrapup_ended_at, c.ended_at) >= p.t0
  AND COALESCE(c.wrapup_ended_at, c.ended_at) < p.t1
  AND (p.queue IS NULL OR c.queue = p.queue)
GROUP BY {grouping}
"""

# Each availability lasts until the agent's next change, or until $4 (now) for the last one;
# a span is clipped to the period. $5 is the pause reason under which the PBX holds wrap-up
# (agent_ui.panel_service): after-call work, not a pause.
_SPANS = """
WITH p AS (
    SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $3::text AS tz,
           $4::timestamptz AS now_, $5::text AS acw_reason
),
known AS (
    -- Each agent's state when the period starts, then every change within it; both found
    -- through the (user_id, at) index, agent by agent.
    SELECT e.user_id, e.availability, e.reason, e.at, e.id
    FROM users u CROSS JOIN p
    CROSS JOIN LATERAL (
        SELECT x.user_id, x.availability, x.reason, x.at, x.id FROM agent_state_events x
        WHERE x.user_id = u.id AND x.at <= p.t0 ORDER BY x.at DESC, x.id DESC LIMIT 1
    ) e
    UNION ALL
    SELECT x.user_id, x.availability, x.reason, x.at, x.id
    FROM users u CROSS JOIN p
    JOIN agent_state_events x ON x.user_id = u.id AND x.at > p.t0 AND x.at < p.t1
),
ev AS (
    SELECT known.user_id, known.availability, known.reason, known.at,
           lead(known.at) OVER (PARTITION BY known.user_id ORDER BY known.at, known.id)
               AS next_at
    FROM known
),
spans AS (
    SELECT ev.user_id, ev.availability, ev.reason, b.lo, b.hi,
           EXTRACT(EPOCH FROM b.hi - b.lo)::float8 AS s,
           ev.availability = 'paused' AND ev.reason <> p.acw_reason AS paused,
           ev.availability = 'ready' OR (ev.availability = 'paused' AND ev.reason = p.acw_reason)
               AS available
    FROM ev CROSS JOIN p
    CROSS JOIN LATERAL (
        SELECT GREATEST(ev.at, p.t0) AS lo, LEAST(COALESCE(ev.next_at, p.now_), p.t1) AS hi
    ) b
)
"""
# Busy: each finished call from its ringing to the end of its after-call work, merged per
# agent and kept to the agent's available spans. A call lasts less than a day, which lets the
# answer-time index find the calls that may reach into the period.
_PRESENCE_SQL = (
    _SPANS
    + """,
per_agent AS (
    SELECT spans.user_id,
        sum(spans.s) FILTER (WHERE spans.availability IN ('ready', 'paused')) AS logged_in_s,
        COALESCE(sum(spans.s) FILTER (WHERE spans.paused), 0) AS paused_s,
        range_agg(tstzrange(spans.lo, spans.hi)) FILTER (WHERE spans.available) AS available
    FROM spans
    WHERE spans.s > 0
    GROUP BY 1
),
worked AS (
    SELECT c.agent_user_id AS user_id, range_agg(tstzrange(b.lo, GREATEST(b.lo, b.hi))) AS busy
    FROM calls c
    CROSS JOIN p
    CROSS JOIN LATERAL (
        SELECT c.answered_at - make_interval(secs => COALESCE(c.ring_s, 0)) AS lo,
               COALESCE(c.wrapup_ended_at, c.ended_at) AS hi
    ) b
    WHERE c.agent_user_id IS NOT NULL AND c.ended_at IS NOT NULL
      AND (c.wrapup_started_at IS NULL OR c.wrapup_ended_at IS NOT NULL)
      AND c.answered_at >= p.t0 - interval '1 day' AND c.answered_at < p.t1
    GROUP BY 1
)
SELECT {select},
    COALESCE(sum(pa.logged_in_s), 0) AS logged_in_s,
    sum(pa.paused_s) AS paused_s,
    sum(o.busy_s) AS busy_s
FROM per_agent pa
LEFT JOIN worked w ON w.user_id = pa.user_id
CROSS JOIN LATERAL (
    SELECT COALESCE(sum(EXTRACT(EPOCH FROM upper(x) - lower(x))), 0)::float8 AS busy_s
    FROM unnest(COALESCE(pa.available * w.busy, '{{}}'::tstzmultirange)) x
) o
{people}
GROUP BY {grouping}
"""
)

# Paused time per agent and pause code (the PBX's QueueMemberPause reasons, as the panel
# logged them), over the same spans as the presence figures.
_PAUSE_CODES_SQL = (
    _SPANS
    + """
SELECT spans.user_id AS agent_id, COALESCE(u.display_name, '') AS agent, spans.reason AS code,
       sum(spans.s) AS seconds
FROM spans LEFT JOIN users u ON u.id = spans.user_id
WHERE spans.s > 0 AND spans.paused
GROUP BY 1, 2, 3
ORDER BY 2, 1, 3
"""
)


def _contact_number(case: str, caller: str) -> str:
    """The number a case came from: its caller record's, else the one given at intake."""
    return f"COALESCE(NULLIF({caller}.number, ''), NULLIF({case}.contact_phone, ''))"


# $5: the FCR window in days. A repeat is a later case from the same number on the same topic
# within the window: counted in one pass over the period's cases and the window after it,
# each case looking ahead in its own number and topic.
_FCR_SQL = f"""
WITH p AS (
    SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $3::text AS tz, $4::text AS queue,
           make_interval(days => $5::int) AS window_
),
k AS (
    SELECT k.id, k.call_id, k.created_by, k.received_at,
        count(*) OVER (
            PARTITION BY n.number, lower(btrim(k.topic)) ORDER BY k.received_at
            RANGE BETWEEN interval '1 microsecond' FOLLOWING
                      AND make_interval(days => $5::int) FOLLOWING
        ) AS repeats
    FROM cases k
    CROSS JOIN p
    LEFT JOIN callers cr ON cr.id = k.caller_id
    CROSS JOIN LATERAL (SELECT {_contact_number("k", "cr")} AS number) n
    WHERE n.number IS NOT NULL AND k.received_at >= p.t0 AND k.received_at < p.t1 + p.window_
)
SELECT {{select}},
    count(*) AS contacts,
    count(*) FILTER (WHERE k.repeats = 0) AS resolved_first
FROM k
CROSS JOIN p
LEFT JOIN calls c ON c.id = k.call_id
{{people}}
WHERE k.received_at < p.t1 AND (p.queue IS NULL OR c.queue = p.queue)
GROUP BY {{grouping}}
"""

# $5: now. A case due later than now and still open is not yet judged.
_SLA_SQL = """
WITH p AS (
    SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $3::text AS tz, $4::text AS queue,
           $5::timestamptz AS now_
)
SELECT {select},
    count(*) AS due,
    count(*) FILTER (WHERE k.closed_at IS NOT NULL AND k.closed_at <= k.due_at) AS met
FROM cases k
CROSS JOIN p
LEFT JOIN calls c ON c.id = k.call_id
{people}
WHERE k.due_at >= p.t0 AND k.due_at < p.t1 AND (k.due_at <= p.now_ OR k.closed_at IS NOT NULL)
  AND (p.queue IS NULL OR c.queue = p.queue)
GROUP BY {grouping}
"""

_CALL_SOURCE = _Source(at="c.joined_at", agent="c.agent_user_id", queue="c.queue")
_HANDLE_SOURCE = _Source(
    at="COALESCE(c.wrapup_ended_at, c.ended_at)", agent="c.agent_user_id", queue="c.queue"
)
_PRESENCE_SOURCE = _Source(at="NULL", agent="pa.user_id", queue="NULL")
_FCR_SOURCE = _Source(at="k.received_at", agent="k.created_by", queue="c.queue")
_SLA_SOURCE = _Source(at="k.due_at", agent="k.created_by", queue="c.queue")


def _sql(template: str, groups: Sequence[str], source: _Source) -> str:
    """One statement for several groupings: each grouping's key and label are columns of a
    lateral row, grouped by GROUPING SETS so the rows are read once; `grouping_` says which
    set a result row belongs to."""
    columns = []
    for index, group in enumerate(groups):
        key, label = _group_sql(group, source)
        columns.append(f"{key} AS k{index}, {label} AS l{index}")
    people = _PEOPLE.format(agent=source.agent)
    people += f"CROSS JOIN LATERAL (SELECT {', '.join(columns)}) grp"
    keys = ", ".join(f"grp.k{index}" for index in range(len(groups)))
    select = f"GROUPING({keys}) AS grouping_, " + ", ".join(
        f"grp.k{index}, grp.l{index}" for index in range(len(groups))
    )
    sets = ", ".join(f"(grp.k{index}, grp.l{index})" for index in range(len(groups)))
    return template.format(select=select, people=people, grouping=f"GROUPING SETS ({sets})")


async def _fetch(
    pool: asyncpg.Pool, template: str, groups: Sequence[str], source: _Source, *args: Any
) -> list[tuple[str, str, str, asyncpg.Record]]:
    """(grouping, key, label, row) for each result row; a row of no key (what no person did,
    by agent or team) is left out."""
    rows = await fetch_aggregate(pool, _sql(template, groups, source), *args)
    found = []
    last = len(groups) - 1
    for row in rows:
        index = next(i for i in range(len(groups)) if not row["grouping_"] >> (last - i) & 1)
        key = row[f"k{index}"]
        if key is not None:
            found.append((groups[index], key, row[f"l{index}"], row))
    return found


#: Memory for one report statement's sorts and hashes: every grouping set aggregated in
#: memory rather than sorted through temporary files (PostgreSQL's default is 4 MB).
REPORT_WORK_MEM = "64MB"


async def fetch_aggregate(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    """A read-only report statement with REPORT_WORK_MEM, in a transaction of its own."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        return list(await conn.fetch(sql, *args))


def _counts(row: asyncpg.Record, *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


async def figures(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    group: str = "total",
    queue: str | None = None,
    now: datetime,
    calls_only: bool = False,
) -> list[Figures]:
    """Every figure of the period, one `Figures` per group, sorted by key (see figures_by)."""
    found = await figures_by(
        pool, period, thresholds, (group,), queue=queue, now=now, calls_only=calls_only
    )
    return found[group]


async def figures_by(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    groups: Sequence[str],
    *,
    queue: str | None = None,
    now: datetime,
    calls_only: bool = False,
) -> dict[str, list[Figures]]:
    """Every figure of the period for each of `groups`, one `Figures` per group sorted by
    key; each family of figures is one statement for all the groupings. `calls_only` stops
    after the queue and handle figures (the live board's "today so far").

    Satisfaction is not here: the survey's own figures are `ivr.results`.

    Occupancy is given only for OCCUPANCY_GROUPS and without a queue filter: agents'
    logged-in time is not split by queue or by day.
    """
    t = thresholds
    bounds = (period.start, period.end, period.tz.key, queue)
    out: dict[str, dict[str, Figures]] = {group: {} for group in groups}

    async def each(
        template: str, chosen: Sequence[str], source: _Source, *args: Any
    ) -> list[tuple[Figures, asyncpg.Record]]:
        if not chosen:
            return []
        found = []
        for group, key, label, row in await _fetch(pool, template, chosen, source, *args):
            item = out[group].setdefault(key, Figures(key=key, label=label))
            found.append((item, row))
        return found

    standards = (
        *(t.short_abandon_s, t.sl_s, t.greeting_max_s),
        *(t.inquiry_min_s, t.inquiry_max_s, t.closing_max_s),
    )
    for item, row in await each(_QUEUE_SQL, groups, _CALL_SOURCE, *bounds, *standards):
        item.queue = QueueFigures(**_counts(row, *QueueFigures.__slots__))
    for item, row in await each(_HANDLE_SQL, groups, _HANDLE_SOURCE, *bounds):
        item.handle = HandleFigures(**_counts(row, *HandleFigures.__slots__))
    if not calls_only:
        for item, row in await each(_FCR_SQL, groups, _FCR_SOURCE, *bounds, t.fcr_days):
            item.first_contact = FirstContact(**_counts(row, *FirstContact.__slots__))
        for item, row in await each(_SLA_SQL, groups, _SLA_SOURCE, *bounds, now):
            item.sla = SlaCompliance(**_counts(row, *SlaCompliance.__slots__))
        staffed = [g for g in groups if g in OCCUPANCY_GROUPS] if queue is None else []
        presence_args = (period.start, period.end, period.tz.key, now, ACW_PAUSE_REASON)
        for item, row in await each(_PRESENCE_SQL, staffed, _PRESENCE_SOURCE, *presence_args):
            item.presence = Presence(**_counts(row, *Presence.__slots__))
        for group in staffed:
            for item in out[group].values():
                item.presence = item.presence or Presence()
    return {group: _sorted(out[group], group) for group in groups}


def _sorted(out: dict[str, Figures], group: str) -> list[Figures]:
    """The groups by key; the total exists even for a period without a single call. A person
    who did no queue work in the period (a supervisor who only keyed in cases) has no row."""
    if group == "total" and not out:
        out[""] = Figures(key="", label="")
    kept = (f for f in out.values() if group not in PEOPLE_GROUPS or f.is_person)
    return sorted(kept, key=lambda f: f.key)


async def pause_times(pool: asyncpg.Pool, period: Period, *, now: datetime) -> list[PauseTime]:
    """Time per pause code per agent: where the paused part of occupancy went."""
    rows = await pool.fetch(
        _PAUSE_CODES_SQL, period.start, period.end, period.tz.key, now, ACW_PAUSE_REASON
    )
    return [PauseTime(*row) for row in rows]


async def totals(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    queue: str | None = None,
    now: datetime,
) -> Figures:
    """The whole period's figures as one group."""
    return (await figures(pool, period, thresholds, queue=queue, now=now))[0]


@dataclass(frozen=True, slots=True)
class CallLine:
    """One call in a supervisor's list (abandoned calls, longest waits)."""

    joined_at: datetime
    ended_at: datetime | None
    queue: str
    caller_number: str
    caller_name: str
    wait_s: float | None
    position: int | None
    original_position: int | None
    outcome: str
    agent: str
    short: bool


_OUTCOME = f"""
CASE WHEN c.answered_at IS NOT NULL THEN 'answered'
     WHEN c.abandoned THEN 'abandoned'
     WHEN {_EXITED} THEN 'exited'
     WHEN c.ended_at IS NULL THEN 'waiting'
     ELSE COALESCE(c.end_reason, 'unknown') END
"""

# $1/$2 period, $3 queue or NULL, $4 S, $5 only abandons?, $6 order by wait?, $7 limit.
_CALL_LINES_SQL = f"""
SELECT c.joined_at, c.ended_at, c.queue, COALESCE(c.caller_number, '') AS caller_number,
       COALESCE(c.caller_name, '') AS caller_name, w.wait AS wait_s, c.position,
       c.original_position, {_OUTCOME} AS outcome,
       COALESCE(u.display_name, c.agent_name, '') AS agent,
       (c.abandoned AND w.wait < $4::float8) AS short
FROM calls c
{_WAIT}
LEFT JOIN users u ON u.id = c.agent_user_id
WHERE c.joined_at >= $1 AND c.joined_at < $2 AND ($3::text IS NULL OR c.queue = $3)
  AND (NOT $5::bool OR c.abandoned)
  AND (NOT $6::bool OR w.wait IS NOT NULL)
ORDER BY CASE WHEN $6::bool THEN w.wait END DESC NULLS LAST, c.joined_at, c.id
LIMIT $7
"""


def _line(row: asyncpg.Record) -> CallLine:
    return CallLine(**_counts(row, *CallLine.__slots__))


async def _call_lines(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    queue: str | None,
    *,
    abandoned_only: bool,
    by_wait: bool,
    limit: int,
) -> list[CallLine]:
    """The one query behind both call lists; they differ only in filter and order."""
    rows = await pool.fetch(
        _CALL_LINES_SQL,
        period.start,
        period.end,
        queue,
        thresholds.short_abandon_s,
        abandoned_only,
        by_wait,
        limit,
    )
    return [_line(row) for row in rows]


async def abandoned_calls(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    queue: str | None = None,
    limit: int = 500,
) -> list[CallLine]:
    """Every abandoned call of the period, oldest first, short abandons flagged."""
    return await _call_lines(
        pool, period, thresholds, queue, abandoned_only=True, by_wait=False, limit=limit
    )


async def longest_waits(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    queue: str | None = None,
    limit: int = 20,
) -> list[CallLine]:
    """The calls that waited longest in the period, whatever became of them."""
    return await _call_lines(
        pool, period, thresholds, queue, abandoned_only=False, by_wait=True, limit=limit
    )


async def queue_names(pool: asyncpg.Pool) -> list[str]:
    """Queues known from configuration or seen in calls, for the report's filter."""
    rows = await pool.fetch(
        "SELECT name FROM queues UNION SELECT DISTINCT queue FROM calls ORDER BY 1"
    )
    return [row["name"] for row in rows]
