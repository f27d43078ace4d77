"""Traffic for the demo and the benchmarks: Poisson arrivals and plausible agent behaviour.

Everything random comes from one `random.Random(seed)`, so a run is reproducible up to the
interleaving of concurrent timers; the simulator's clock speed makes it real time or faster.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

import structlog

from pbxsim.members import MemberError
from pbxsim.pbx import PbxSimulator
from pbxsim.phones import AgentPhone
from pbxsim.queue_calls import HangupSide, QueueCall
from pbxsim.tasks import BackgroundTasks

log = structlog.get_logger()

NAMES = (
    "สมชาย ใจดี",
    "สมหญิง รักไทย",
    "Somsak Boonmee",
    "วิไล ศรีสุข",
    "Malee Chaiyo",
    "ประเสริฐ มั่นคง",
    "Anan Wong",
    "นภา แสงทอง",
)
PAUSE_REASONS = ("Lunch break", "Training", "Paperwork", "Short break")


@dataclass(frozen=True)
class TrafficProfile:
    """Means are in seconds of simulated time; ratios are probabilities per call."""

    rate: float = 0.5
    ring_min: float = 1.0
    ring_max: float = 6.0
    no_answer_ratio: float = 0.1
    talk_mean: float = 90.0
    patience_mean: float = 60.0
    agent_hangup_ratio: float = 0.3
    hold_ratio: float = 0.15
    hold_mean: float = 15.0
    transfer_ratio: float = 0.05
    repeat_caller_ratio: float = 0.2
    pause_every: float = 300.0
    pause_mean: float = 60.0


class TrafficGenerator:
    def __init__(
        self,
        sim: PbxSimulator,
        queue: str = "hotline",
        profile: TrafficProfile | None = None,
        seed: int = 1,
        transfer_to: str = "1662",
    ) -> None:
        self.sim = sim
        self.queue = queue
        self.profile = profile or TrafficProfile()
        # Separate streams: concurrent calls draw in a timing-dependent order, arrivals do not.
        self.seed = seed
        self.rng = random.Random(f"{seed}:arrivals")
        self._pause_rng = random.Random(f"{seed}:pauses")
        self.transfer_to = transfer_to
        self.placed = 0
        self._callers: list[tuple[str, str]] = []
        self._calls = BackgroundTasks("traffic")

    async def run(self, calls: int | None = None) -> None:
        """Place calls until `calls` were placed (or forever), then wait for them to end."""
        pauses = BackgroundTasks("pauses")
        pauses.spawn(self._pauses())
        try:
            while calls is None or self.placed < calls:
                await self.sim.clock.sleep(self.rng.expovariate(self.profile.rate))
                self._shuffle_phones()
                number, name = self._caller()
                self.placed += 1
                rng = random.Random(f"{self.seed}:{self.placed}")
                self._calls.spawn(self._call(number, name, rng))
            await self.drain()
            log.info("sim_traffic_done", calls=self.placed, seed=self.seed)
        finally:
            await pauses.close()

    async def drain(self) -> None:
        """Wait for the calls in progress to end."""
        await self._calls.join()

    async def stop(self) -> None:
        await self._calls.close()

    def _caller(self) -> tuple[str, str]:
        if self._callers and self.rng.random() < self.profile.repeat_caller_ratio:
            return self.rng.choice(self._callers)
        caller = f"08{self.rng.randrange(10**8):08d}", self.rng.choice(NAMES)
        self._callers.append(caller)
        return caller

    def _shuffle_phones(self) -> None:
        """Each agent's next ring: answered after a random delay, or left ringing."""
        p = self.profile
        for member in self.sim.members(self.queue):
            if self.rng.random() < p.no_answer_ratio:
                phone = AgentPhone.never_answers()
            else:
                phone = AgentPhone.answers_after(self.rng.uniform(p.ring_min, p.ring_max))
            self.sim.set_agent_phone(member.interface, phone)

    async def _call(self, number: str, name: str, rng: random.Random) -> None:
        p, clock = self.profile, self.sim.clock
        call = await self.sim.place_call(self.queue, number, name)
        if not await clock.wait(call.connected, rng.expovariate(1 / p.patience_mean)):
            if call.state == "queued":
                await self.sim.abandon(call)
            return
        talk = rng.expovariate(1 / p.talk_mean)
        if rng.random() < p.hold_ratio:
            await clock.sleep(talk / 3)
            if not self._live(call):
                return
            await self.sim.hold(call)
            await clock.sleep(rng.expovariate(1 / p.hold_mean))
            if not self._live(call):
                return
            await self.sim.unhold(call)
        if rng.random() < p.transfer_ratio:
            await clock.sleep(talk / 2)
            if self._live(call):
                await self.sim.transfer(call, self.transfer_to)
                await clock.sleep(rng.uniform(5, 30))
                await self.sim.hangup(call)
            return
        await clock.sleep(talk)
        if self._live(call):
            by: HangupSide = "agent" if rng.random() < p.agent_hangup_ratio else "caller"
            await self.sim.hangup(call, by=by)

    @staticmethod
    def _live(call: QueueCall) -> bool:
        return call.state == "connected"

    async def _pauses(self) -> None:
        p = self.profile
        while True:
            rng = self._pause_rng
            await self.sim.clock.sleep(rng.expovariate(1 / p.pause_every))
            members = [m for m in self.sim.members(self.queue) if not m.paused]
            if not members:
                continue
            member = rng.choice(members)
            self.sim.pause(member.interface, True, rng.choice(PAUSE_REASONS), self.queue)
            await self.sim.clock.sleep(rng.expovariate(1 / p.pause_mean))
            with contextlib.suppress(MemberError):
                self.sim.pause(member.interface, False, "", self.queue)
