"""Passwords: the one place that hashes and checks them (argon2id), never on the event loop.

An argon2 hash costs ~0.1 s of CPU on purpose; on the loop, a burst of logins would hold up
every screen-pop and the AMI reader. argon2-cffi calls libargon2 through cffi, which releases
the GIL for the call (measured: a pure-Python loop keeps ~96 % of its speed while another
thread hashes), so a thread of the service's hashing pool (runtime.workers) does the work
while the loop carries on, and the pool's size bounds how many hashes run at once.

A login for a name that does not exist is checked against a dummy hash made once with the
same parameters, so it costs what a wrong password costs and the answer's timing does not
tell which names exist.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from concurrent.futures import Executor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_ARGON2 = PasswordHasher()


class Passwords:
    """Hash and verify on `executor`: give it the service's hashing pool (a small one of its
    own), not the loop's default executor, so that logins cannot take every thread."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, _ARGON2.hash, password
        )

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches; `stored_hash` None (no such user) costs the same and
        is always False."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, _matches, stored_hash, password
        )

    @staticmethod
    def needs_rehash(stored_hash: str) -> bool:
        """True when the stored hash was made with weaker parameters than today's (reading
        the parameters is cheap: no hashing)."""
        return _ARGON2.check_needs_rehash(stored_hash)


def _matches(stored_hash: str | None, password: str) -> bool:
    # The dummy is made on the first check of any login, known name or not, so even the first
    # answer after a start does not tell them apart.
    dummy = _dummy_hash()
    try:
        return _ARGON2.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random secret nobody knows, with today's parameters."""
    return _ARGON2.hash(secrets.token_urlsafe(32))
