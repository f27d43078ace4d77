"""Caller-ID text as the caller's phone sent it, read from AMI in this one place.

Asterisk's manager C-escapes the caller and connected-line *names* of every channel event
(manager_channels.c runs them through ast_escape_c_alloc, main/utils.c): a backslash goes
before `\\ ' " ?`, and the control characters BEL BS FF LF CR TAB VT become `\\a \\b \\f \\n
\\r \\t \\v`. Nothing else is touched, and numbers are sent as they are. Undoing exactly that,
and nothing more, gives back the bytes the phone put in its From header: `\\'; DROP TABLE`
is `'; DROP TABLE` again, and a backslash Asterisk did not add stays.
"""

from __future__ import annotations

import re

from telephony.ami.protocol import AmiMessage

# The escape letter after a backslash -> the character ast_escape_c replaced with it.
_UNESCAPED = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ESCAPE = re.compile(r"\\([abfnrtv\\'\"?])")

# Asterisk's placeholders for "no caller ID" (channel events, QueueStatus entries).
_UNKNOWN = frozenset({"<unknown>", "unknown"})


def unescape_name(text: str) -> str:
    """The name as the phone sent it, from the C-escaped form the manager prints."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], text)


def caller_id_text(msg: AmiMessage, key: str) -> str:
    """A caller-ID field (`CallerIDNum`, `ConnectedLineName`, ...): '' when Asterisk has
    none, names unescaped. Still untrusted text: storage and pages clean and escape it."""
    value = msg.get(key) or ""
    if value in _UNKNOWN:
        return ""
    return unescape_name(value) if key.endswith("Name") else value
