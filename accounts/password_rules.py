"""What makes a password acceptable: long, not the username, not one people commonly pick.

Commonness is judged by zxcvbn, which knows the passwords leaked most often, dictionary
words, names, keyboard patterns and dates, and counts the username and the person's name
as words an attacker would try first. A score under 3 ("safely unguessable" starts there)
is refused. The admin pages and `hotline create-user` both ask this module, so the rule
is one.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_SCORE = 3


def password_problem(password: str, *, username: str, display_name: str = "") -> str | None:
    """An error code for the password (`required`, `too_short`, `too_long`, `is_username`,
    `too_common`), or None when it will do."""
    if not password:
        return "required"
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    if username and username.casefold() in password.casefold():
        return "is_username"
    known = [word for word in (username, *display_name.split()) if word]
    # zxcvbn's cost grows with length; what lies past its first 100 characters only adds
    # strength, so judging the start is enough.
    if zxcvbn(password[:100], user_inputs=known)["score"] < MIN_SCORE:
        return "too_common"
    return None
