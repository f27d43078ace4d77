"""Password hashes for the users tests seed, made by the service's own accounts.passwords.

Each password is hashed once per test run: argon2 costs ~0.1 s on purpose, and which salt a
seeded user's hash carries never matters to a test.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from accounts.passwords import Passwords

_HASHING = Passwords(ThreadPoolExecutor(1, thread_name_prefix="test-hash"))
_made: dict[str, str] = {}


async def password_hash(password: str) -> str:
    if password not in _made:
        _made[password] = await _HASHING.hash(password)
    return _made[password]
