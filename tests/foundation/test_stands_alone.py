"""A clean clone with nothing beside it passes its tests: no test or benchmark reaches for a
file outside the repository (the captures once lived in a folder next to it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"""/work/|\bshared/|["']shared["']|["']\.\./""")
# `Path(__file__).resolve()` followed by `.parent` and `.parents[n]` steps.
CLIMB = re.compile(r"Path\(__file__\)\.resolve\(\)((?:\.parents\[\d+\]|\.parent\b)+)")
STEP = re.compile(r"\.parents\[(\d+)\]|\.parent\b")


def _sources() -> list[Path]:
    """Every Python file of tests/ and bench/ but this one, whose patterns would match."""
    this = Path(__file__).resolve()
    files = (p for folder in ("tests", "bench") for p in (ROOT / folder).rglob("*.py"))
    return sorted(p for p in files if p != this)


def _levels_up(chain: str) -> int:
    return sum(int(n) + 1 if n else 1 for n in STEP.findall(chain))


def test_no_test_or_benchmark_names_a_path_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "use the fixtures in tests/fixtures instead:\n" + "\n".join(found)


def test_no_test_or_benchmark_climbs_above_the_repository_root() -> None:
    found = []
    for path in _sources():
        depth = len(path.relative_to(ROOT).parts)
        for chain in CLIMB.findall(path.read_text(encoding="utf-8")):
            if _levels_up(chain) > depth:
                found.append(f"{path.relative_to(ROOT)}: Path(__file__).resolve(){chain}")
    assert not found, "these reach outside the repository:\n" + "\n".join(found)
