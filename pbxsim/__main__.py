"""`hotline-pbx-sim`: run the PBX simulator as a stand-in Asterisk for the demo or a bench."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import structlog

from pbxsim.generator import TrafficGenerator, TrafficProfile
from pbxsim.pbx import PbxSimulator
from pbxsim.phones import CustomerPhone

log = structlog.get_logger()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline-pbx-sim",
        description=(
            "A simulated Asterisk 22 for hotline: AMI on --ami-port (banner, Login, queue "
            "actions, Originate) and, for survey calls, the FastAGI client towards --agi-host."
        ),
    )
    net = parser.add_argument_group("network")
    net.add_argument("--ami-host", default="127.0.0.1", help="address to listen on")
    net.add_argument("--ami-port", type=int, default=5038, help="AMI port (default 5038)")
    net.add_argument("--username", default="hotline", help="AMI account name")
    net.add_argument(
        "--secret",
        default=os.environ.get("HOTLINE_AMI_SECRET", "hotline"),
        help="AMI secret (default: $HOTLINE_AMI_SECRET or 'hotline')",
    )
    net.add_argument("--agi-host", default="127.0.0.1", help="FastAGI server of the survey")
    net.add_argument("--agi-port", type=int, default=4573, help="FastAGI port (default 4573)")
    net.add_argument(
        "--timestamp-events", action="store_true", help="add Timestamp: like timestampevents=yes"
    )
    survey = parser.add_argument_group("survey calls")
    survey.add_argument(
        "--survey-keys",
        default="5",
        help="keys every customer presses, one per prompt (default '5'; '' = silent)",
    )
    survey.add_argument(
        "--incall-survey",
        action="store_true",
        help="after the agent hangs up, run AGI survey-incall for the caller",
    )
    survey.add_argument("--pbx-name", default="main", help="PBX name passed to survey-incall")
    config = parser.add_argument_group("configuration")
    config.add_argument(
        "--shipped",
        action="store_true",
        help=(
            "configured like deploy/asterisk: no static members (agents sign in through "
            "hotline), queue timeout with overflow and callback, exit by key, transfers"
        ),
    )
    config.add_argument(
        "--queue-timeout",
        type=float,
        default=120.0,
        help="--shipped: seconds in the queue before the overflow (default 120)",
    )
    config.add_argument(
        "--queue-log-db",
        metavar="URL",
        default=None,
        help="write app_queue's queue_log rows into this PostgreSQL database, like Asterisk's "
        "realtime queue_log (default: kept in memory only)",
    )
    config.add_argument(
        "--queue-log-table",
        default="asterisk.queue_log",
        help="the queue_log table, schema-qualified (default asterisk.queue_log)",
    )
    config.add_argument(
        "--recordings-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help="write MixMonitor's recordings (8 kHz WAV) here, the folder shared with hotline "
        "(default: answered, not written)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--replay", metavar="FILE", help="stream a capture's events to each client")
    mode.add_argument("--generate", action="store_true", help="generate queue traffic")
    parser.add_argument(
        "--replay-speed",
        type=float,
        default=None,
        help="honour the capture's timing, this many times faster (default: as fast as possible)",
    )
    gen = parser.add_argument_group("traffic (--generate)")
    gen.add_argument("--rate", type=float, default=0.5, help="calls per second (Poisson)")
    gen.add_argument(
        "--agents",
        type=int,
        default=3,
        help="PJSIP/agent101..: static members, or with --shipped the endpoints that exist",
    )
    gen.add_argument("--seed", type=int, default=1, help="random seed (reproducible runs)")
    gen.add_argument("--calls", type=int, default=None, help="stop after this many calls")
    gen.add_argument("--talk", type=float, default=90.0, help="mean talk time, seconds")
    gen.add_argument("--patience", type=float, default=60.0, help="mean wait before abandon")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )
    return parser


def simulator_from(args: argparse.Namespace) -> PbxSimulator:
    options: dict[str, object] = dict(
        host=args.ami_host,
        ami_port=args.ami_port,
        accounts={args.username: args.secret},
        timestamp_events=args.timestamp_events,
        speed=args.speed,
        agi_host=args.agi_host,
        agi_port=args.agi_port,
        replay=args.replay,
        replay_speed=args.replay_speed,
        default_customer_phone=CustomerPhone.answers(*args.survey_keys),
        incall_survey=args.incall_survey,
        pbx_name=args.pbx_name,
        queue_log_url=args.queue_log_db,
        queue_log_table=args.queue_log_table,
        recordings_dir=args.recordings_dir,
    )
    if args.shipped:
        return PbxSimulator.shipped(args.agents, queue_timeout=args.queue_timeout, **options)
    return PbxSimulator.lab(args.agents, **options)


async def run(args: argparse.Namespace) -> None:
    sim = simulator_from(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with sim:
        log.info("pbx_sim_ready", host=sim.address[0], port=sim.address[1], replay=args.replay)
        traffic: asyncio.Task[None] | None = None
        generator = None
        if args.generate:
            profile = TrafficProfile(
                rate=args.rate, talk_mean=args.talk, patience_mean=args.patience
            )
            generator = TrafficGenerator(sim, profile=profile, seed=args.seed)
            traffic = asyncio.create_task(generator.run(args.calls))
            traffic.add_done_callback(lambda _: stop.set())
        await stop.wait()
        if generator is not None and traffic is not None:
            traffic.cancel()
            await asyncio.gather(traffic, return_exceptions=True)
            await generator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
