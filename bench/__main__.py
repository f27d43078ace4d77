"""`python -m bench` (`make bench`): every benchmark in turn, each printing its own figures.

Each runs in a process of its own so that one's event loop, database and memory never
colour another's numbers. Name some to run only those: `python -m bench screenpop`.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "ami_throughput",
    "call_storage",
    "pbx_simulator",
    "survey_queue",
    "screenpop",
    "loop_stall",
    "reports",
    "knowledge",
    "mail_outbox",
)


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in names or BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
