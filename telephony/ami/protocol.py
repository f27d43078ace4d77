"""AMI wire format: bytes in, messages out, and actions back to bytes.

Pure code with no I/O, so framing can be tested with input split at any byte. Frames are cut
on the empty line *before* decoding, so a UTF-8 character split across two TCP reads survives.
This is the one boundary every AMI text crosses, so what PostgreSQL refuses in text (NUL) is
removed here, per field, and no later layer ever sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass

import structlog

log = structlog.get_logger()

BANNER_PREFIX = b"Asterisk Call Manager/"
DEFAULT_MAX_FRAME = 256 * 1024

# One frame ends at an empty line; Asterisk sends CRLF, a lone LF is tolerated. Stray CRs
# are part of the boundary too (so they never glue a frame to the next), but a boundary
# longer than CRLF CRLF marks its frame as malformed.
_BOUNDARY = re.compile(rb"\r*\n\r*\n")
_CLEAN_BOUNDARY = 4
# Every rejected frame is logged up to this many per link, then one in LOG_EVERY.
_LOG_FIRST = 10
_LOG_EVERY = 1000
# Longest boundary minus one: bytes kept from a scan so a boundary split across reads is found.
_BOUNDARY_TAIL = 3
# Fast path: a frame made only of `Key: Value` lines (every AMI event) in one C-level pass.
# Header names are printable ASCII without ':' (a range class is also the fastest to match).
_KEY = "[!-9;-~]+"
_HEADER_LINE = re.compile(f"^({_KEY}): (.*)$", re.MULTILINE)
_HEADER_KEY = re.compile(_KEY)
_PREVIEW = 80

Pairs = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(slots=True)
class FrameStats:
    """Frames a parser refused or repaired; one per link, kept across its connections."""

    malformed: int = 0
    oversized: int = 0
    cleaned: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _worth_logging(count: int) -> bool:
    """Rate limit for a flood of junk: the first few, then a sample with the running count."""
    return count <= _LOG_FIRST or count % _LOG_EVERY == 0


class AmiMessage:
    """One AMI event or response: ordered (key, value) pairs, repeated keys kept.

    Keys are matched case-insensitively, as Asterisk does. Command output that is not made of
    `Key: Value` lines (old `Response: Follows`) is kept in `body`.
    """

    __slots__ = ("_index", "_pairs", "body")
    _pairs: tuple[tuple[str, str], ...]
    _index: dict[str, str] | None
    body: str

    def __init__(self, pairs: Iterable[tuple[str, str]], body: str = "") -> None:
        object.__setattr__(self, "_pairs", tuple(pairs))
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "_index", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("AmiMessage is immutable")

    def _lookup(self) -> dict[str, str]:
        index = self._index
        if index is None:
            # Built backwards so the first occurrence of a repeated key wins.
            index = {key.lower(): value for key, value in reversed(self._pairs)}
            object.__setattr__(self, "_index", index)
        return index

    def __getitem__(self, key: str) -> str:
        return self._lookup()[key.lower()]

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._lookup().get(key.lower(), default)

    def getall(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self._pairs if name.lower() == wanted]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lookup()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return self._pairs

    @property
    def name(self) -> str | None:
        pairs = self._pairs
        if pairs and pairs[0][0] == "Event":  # how Asterisk always sends it: no index needed
            return pairs[0][1]
        return self.get("Event")

    @property
    def is_response(self) -> bool:
        pairs = self._pairs
        if pairs and pairs[0][0] in ("Event", "Response"):
            return pairs[0][0] == "Response"
        return "response" in self._lookup()

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def encode(self) -> bytes:
        """The message as Asterisk would send it (used by the simulator and tests)."""
        return _encode_lines(self._pairs) + b"\r\n"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return self._pairs == other._pairs and self.body == other.body

    def __hash__(self) -> int:
        return hash((self._pairs, self.body))

    def __repr__(self) -> str:
        return f"AmiMessage({list(self._pairs)!r})"


def _check_field(key: str, value: str) -> None:
    if not _HEADER_KEY.fullmatch(key):
        raise ValueError(f"invalid AMI header name {key!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"CR/LF in the value of AMI header {key!r}")


def _encode_lines(pairs: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for key, value in pairs:
        _check_field(key, value)
        lines.append(f"{key}: {value}\r\n")
    return "".join(lines).encode("utf-8")


def encode_action(action: str, fields: Pairs = ()) -> bytes:
    """Encode one action; repeated keys (e.g. `Variable`) are allowed as repeated pairs.

    Raises ValueError on CR or LF anywhere in a key or value: that would inject headers.
    """
    items = fields.items() if isinstance(fields, Mapping) else fields
    return _encode_lines([("Action", action), *items]) + b"\r\n"


def _next_boundary(buf: bytearray, start: int) -> tuple[int, int] | None:
    """Span of the next empty line at or after `start`, None when no whole frame is there yet.

    Plain `find` for Asterisk's CRLF CRLF; the regex only when a lone LF or a stray CR
    shows up.
    """
    crlf = buf.find(b"\r\n\r\n", start)
    limit = len(buf) if crlf < 0 else crlf
    stray_cr = crlf > start and buf[crlf - 1] == 0x0D
    if not stray_cr and buf.find(b"\n\n", start, limit) < 0 and buf.find(b"\n\r", start, limit) < 0:
        return None if crlf < 0 else (crlf, crlf + 4)
    match = _BOUNDARY.search(buf, start)
    return None if match is None else match.span()


class FrameParser:
    """Incremental AMI framer: feed it raw socket bytes, get whole messages back.

    A frame larger than `max_frame` is dropped (logged) and parsing resumes at the next frame
    boundary, so a hostile or broken peer cannot make the buffer grow without bound. A
    malformed frame is dropped and counted, never glued to the next one. NULs are removed
    from every field and the frame logged. Counts go to `stats` (shared by a link's parsers).
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, stats: FrameStats | None = None):
        self.max_frame = max_frame
        self.banner: str | None = None
        self.stats = stats if stats is not None else FrameStats()
        self._buf = bytearray()
        self._scanned = 0
        self._skipping = False
        self._banner_pending = True

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._buf
        buf += data
        if self._banner_pending and not self._take_banner():
            return []
        out: list[AmiMessage] = []
        pos = 0
        while True:
            span = _next_boundary(buf, max(pos, self._scanned))
            if span is None:
                break
            start, end = span
            if self._skipping:
                self._skipping = False
            elif start - pos > self.max_frame:
                self._drop_oversized(start - pos)
            elif end - start > _CLEAN_BOUNDARY:
                self._reject(bytes(buf[pos : min(start, pos + _PREVIEW)]), "stray CR at its end")
            else:
                message = self._decode(buf[pos:start])
                if message is not None:
                    out.append(message)
            pos = end
            self._scanned = end
        del buf[:pos]
        self._scanned = max(0, len(buf) - _BOUNDARY_TAIL)
        if len(buf) > self.max_frame:
            if not self._skipping:
                self._drop_oversized(len(buf))
                self._skipping = True
            del buf[: self._scanned]
            self._scanned = 0
        return out

    def _take_banner(self) -> bool:
        """Strip the one-line greeting if present; False while it may still be arriving."""
        buf = self._buf
        head = bytes(buf[: len(BANNER_PREFIX)])
        end = buf.find(b"\n")
        if BANNER_PREFIX.startswith(head) and end < 0 and len(buf) <= self.max_frame:
            return False
        self._banner_pending = False
        if head == BANNER_PREFIX and end >= 0:
            self.banner = bytes(buf[:end]).decode("utf-8", "replace").rstrip("\r")
            del buf[: end + 1]
            log.debug("ami_banner", banner=self.banner)
        return True

    @property
    def malformed(self) -> int:
        return self.stats.malformed

    @property
    def oversized(self) -> int:
        return self.stats.oversized

    def _drop_oversized(self, size: int) -> None:
        self.stats.oversized += 1
        if _worth_logging(self.stats.oversized):
            log.error("ami_frame_oversized", size=size, max_frame=self.max_frame)

    def _reject(self, preview: object, why: str) -> None:
        self.stats.malformed += 1
        if _worth_logging(self.stats.malformed):
            log.warning("ami_frame_malformed", why=why, frame=preview, count=self.stats.malformed)

    def _decode(self, raw: bytes | bytearray) -> AmiMessage | None:
        text = raw.decode("utf-8", "replace").strip("\r\n").replace("\r\n", "\n")
        if not text:
            return None
        if "\x00" in text:
            self.stats.cleaned += 1
            if _worth_logging(self.stats.cleaned):
                log.warning(
                    "ami_frame_nul_removed", frame=text[:_PREVIEW], count=self.stats.cleaned
                )
            text = text.replace("\x00", "")
        pairs = _HEADER_LINE.findall(text)
        if len(pairs) == text.count("\n") + 1:
            return AmiMessage(pairs)
        return self._decode_lines(text)

    def _decode_lines(self, text: str) -> AmiMessage | None:
        """Line by line: bare `Key:` lines, command output, or a malformed frame."""
        pairs: list[tuple[str, str]] = []
        body: list[str] = []
        for line in text.split("\n"):
            key, sep, value = line.partition(": ")
            if not sep and line.endswith(":"):
                key, sep, value = line[:-1], ":", ""
            if sep and not body and _HEADER_KEY.fullmatch(key):
                pairs.append((key, value))
            elif pairs and pairs[0] == ("Response", "Follows"):
                body.append(line)
            else:
                self._reject(line[:_PREVIEW], "a line that is not `Key: Value`")
                return None
        return AmiMessage(pairs, "\n".join(body))
