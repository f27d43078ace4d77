"""The sha256 of every migration file, so an applied migration is never edited again.

A database that has run a migration never runs it again: an edit would reach new databases
only, and the two would silently differ. `database/migrations.lock` records each file's hash
the first time `make schema` sees it; a test fails when a recorded file changes or vanishes.
The lock only grows: a change to the schema is a new migration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from database.migrate import MIGRATIONS_DIR

LOCK_FILE = Path(__file__).with_name("migrations.lock")


def migration_hashes(folder: Path = MIGRATIONS_DIR) -> dict[str, str]:
    """Each migration file's name and the sha256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.sql")}


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    """The recorded hashes; the file is `sha256sum` output, so `sha256sum -c` reads it too."""
    lines = path.read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines if line)}


def format_lock(hashes: dict[str, str]) -> str:
    return "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes))


@dataclass(frozen=True)
class LockCheck:
    """How the migration files on disk differ from the lock."""

    edited: list[str]
    removed: list[str]
    new: list[str]

    def refusal(self) -> str:
        """Why the files cannot be locked as they are, or "" when they can."""
        broken = self.edited + self.removed
        if not broken:
            return ""
        return (
            f"applied migrations were edited or removed: {', '.join(broken)}. Restore them and "
            "put the change in a new migration (the next number): databases that already ran "
            "them would never see the edit. Only a migration that has never left your branch may "
            "change: delete its line from database/migrations.lock, then run `make schema`."
        )


def check_lock(locked: dict[str, str], current: dict[str, str]) -> LockCheck:
    return LockCheck(
        edited=sorted(n for n in locked.keys() & current.keys() if locked[n] != current[n]),
        removed=sorted(locked.keys() - current.keys()),
        new=sorted(current.keys() - locked.keys()),
    )
