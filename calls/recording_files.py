"""The folder shared with Asterisk: the only place recordings are read from or deleted in.

A name is served only when it is a bare recording name (`calls.recordings`' 40 hex digits +
`.wav`), is a regular file (never a symlink), and resolves inside the folder. Anything else
(`../`, an absolute path, a NUL, a link out of the folder) is simply not there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import structlog

log = structlog.get_logger()

_NAME = re.compile(r"[0-9a-f]{40}\.wav")


class RecordingFolder:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_of(self, name: str) -> Path | None:
        """The file to serve for a stored name, or None when it must not be served."""
        if not _NAME.fullmatch(name):
            return None
        path = self.root / name
        if path.is_symlink() or not path.is_file():
            return None
        resolved = path.resolve()
        return resolved if resolved.parent == self.root else None

    def delete(self, names: Iterable[str]) -> int:
        """Remove these recordings' files; returns how many were there to remove."""
        removed = 0
        for name in names:
            path = self.root / name if _NAME.fullmatch(name) else None
            if path is None or not (path.is_file() or path.is_symlink()):
                continue
            try:
                path.unlink()
                removed += 1
            except OSError:
                log.exception("recording_file_not_deleted", file=name)
        return removed
