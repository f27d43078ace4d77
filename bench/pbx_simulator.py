"""PBX simulator throughput: how many AMI events a second it can generate and deliver.

Run: `.venv/bin/python -m bench.pbx_simulator [--calls 500] [--agents 50] [--clients 4]`

1. live model: `--calls` queue calls (ring 0.1 s, talk 0.2 s of simulated time, clock at
   1000x), every event broadcast to `--clients` logged-in AMI clients that read and frame it;
2. replay: every capture in tests/fixtures/ami-traces/ streamed as fast as possible to the same
   clients.

Prints events/s of wall time and of the process's CPU time, and bytes delivered per client.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from pbxsim import AgentPhone, PbxSimulator
from telephony.ami.protocol import FrameParser, encode_action
from tests.fixtures import AMI_CAPTURES, AMI_TRACES


class Reader:
    """A logged-in AMI client that frames everything it receives."""

    def __init__(self) -> None:
        self.parser = FrameParser()
        self.messages = 0
        self.bytes = 0
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self, host: str, port: int) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(encode_action("Login", {"Username": "hotline", "Secret": "hotline"}))
        self.task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(1 << 16):
            self.bytes += len(data)
            self.messages += len(self.parser.feed(data))

    async def stop(self) -> None:
        assert self.writer is not None and self.task is not None
        self.writer.close()
        await asyncio.gather(self.task, return_exceptions=True)


async def _clients(sim: PbxSimulator, count: int) -> list[Reader]:
    logged_in = asyncio.Event()
    sim.server.login_hooks.append(
        lambda _: (
            logged_in.set() if sum(s.logged_in for s in sim.server.sessions) >= count else None
        )
    )
    readers = [Reader() for _ in range(count)]
    for r in readers:
        await r.start(*sim.address)
    await logged_in.wait()
    return readers


async def live(calls: int, agents: int, clients: int) -> tuple[int, float, float, int]:
    sim = PbxSimulator.lab(agents=agents, speed=1000.0, history=1000)
    sim.set_default_agent_phone(AgentPhone.answers_after(0.1))
    async with sim:
        readers = await _clients(sim, clients)
        emitted = 0
        original = sim.server.broadcast

        def counting(fields: list[tuple[str, str]]) -> None:
            nonlocal emitted
            emitted += 1
            original(fields)

        sim.server.broadcast = counting  # type: ignore[method-assign]

        async def one(i: int) -> None:
            call = await sim.place_call("hotline", f"08{i:08d}", f"Caller {i}")
            await call.connected.wait()
            await sim.clock.sleep(0.2)
            await sim.hangup(call)

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(calls)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await asyncio.sleep(0.2)
        dropped = clients - len(sim.server.sessions)
        for r in readers:
            await r.stop()
    if dropped:
        print(f"  ({dropped} slow clients were disconnected by the write timeout)")
    return emitted, wall, cpu, min(r.bytes for r in readers)


async def replay(clients: int) -> tuple[int, float, float, int]:
    events = total_bytes = 0
    wall = cpu = 0.0
    for capture in AMI_CAPTURES:
        async with PbxSimulator(replay=AMI_TRACES / capture, replay_autostart=False) as sim:
            readers = await _clients(sim, clients)
            assert sim.replay is not None
            w, c = time.perf_counter(), time.process_time()
            sim.replay.release()
            await sim.wait_replayed(clients)
            wall += time.perf_counter() - w
            cpu += time.process_time() - c
            events += len(sim.replay.items) * clients
            total_bytes += len(sim.replay.data)
            for r in readers:
                await r.stop()
    return events, wall, cpu, total_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    emitted, wall, cpu, size = asyncio.run(live(args.calls, args.agents, args.clients))
    print(f"live model: {args.calls} calls, {args.agents} agents, {args.clients} AMI clients")
    print(f"  {emitted} events, {emitted / wall:,.0f} ev/s wall, {emitted / cpu:,.0f} ev/s cpu,")
    print(f"  {args.calls / wall:,.0f} calls/s wall, {size / 1e6:.1f} MB to the slowest client")
    events, wall, cpu, size = asyncio.run(replay(args.clients))
    print(f"replay: every capture to {args.clients} clients")
    print(
        f"  {events} events delivered, {events / wall:,.0f} ev/s wall, {events / cpu:,.0f} ev/s cpu"
    )


if __name__ == "__main__":
    main()
