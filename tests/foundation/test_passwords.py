"""Passwords are checked on the service's hashing threads: logins still work, every refusal
looks and costs the same, and the service keeps answering while hashes are computed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from accounts.passwords import Passwords
from runtime.workers import HASHING_THREADS
from tests.foundation.conftest import PASSWORD, csrf_from, log_in
from web.keys import db_key, workers_key

MakeUser = Callable[..., Awaitable[None]]


@pytest.fixture
def hashing() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as pool:
        yield pool


async def test_a_hash_matches_its_password_only(hashing: ThreadPoolExecutor) -> None:
    passwords = Passwords(hashing)
    stored = await passwords.hash(PASSWORD)
    assert await passwords.verify(stored, PASSWORD)
    assert not await passwords.verify(stored, PASSWORD + "!")
    assert not await passwords.verify(None, PASSWORD)
    assert not await passwords.verify("not a hash", PASSWORD)
    assert not passwords.needs_rehash(stored)
    assert passwords.needs_rehash(PasswordHasher(time_cost=1).hash(PASSWORD))


async def test_an_unknown_name_waits_for_a_hash_like_a_known_one(
    hashing: ThreadPoolExecutor,
) -> None:
    """Checking a name nobody has costs a hash too, so refusals cannot be told apart by time:
    with the hashing thread busy, neither check can finish."""
    passwords = Passwords(hashing)
    stored = await passwords.hash(PASSWORD)
    with _held(hashing) as release:
        checks = [asyncio.create_task(passwords.verify(h, "a guess")) for h in (stored, None)]
        await asyncio.sleep(0)
        assert not any(check.done() for check in checks)
        release()
        assert await asyncio.gather(*checks) == [False, False]


async def test_a_weak_stored_hash_is_replaced_at_the_next_login(
    app_client: TestClient, make_user: MakeUser
) -> None:
    await make_user("somchai")
    pool = app_client.app[db_key].pool  # type: ignore[index]
    weak = PasswordHasher(time_cost=1).hash(PASSWORD)
    await pool.execute("UPDATE users SET password_hash = $1 WHERE username = 'somchai'", weak)
    assert await log_in(app_client, "somchai") == 303
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE username = 'somchai'")
    assert stored != weak and not Passwords.needs_rehash(stored)


async def test_unknown_names_inactive_users_and_wrong_passwords_get_the_same_refusal(
    app_client: TestClient, make_user: MakeUser
) -> None:
    await make_user("somchai")
    await make_user("retired")
    pool = app_client.app[db_key].pool  # type: ignore[index]
    await pool.execute("UPDATE users SET active = false WHERE username = 'retired'")

    async def refusal(username: str, password: str) -> tuple[int, str]:
        token = csrf_from(await (await app_client.get("/login")).text())
        form = {"username": username, "password": password, "csrf_token": token, "next": "/"}
        response = await app_client.post("/login", data=form, allow_redirects=False)
        return response.status, (await response.text()).replace(username, "NAME")

    wrong = await refusal("somchai", "not the password")
    assert wrong[0] == 401
    assert await refusal("nobody", "not the password") == wrong
    assert await refusal("retired", PASSWORD) == wrong


async def test_the_service_answers_while_logins_wait_for_their_hash(
    app_client: TestClient, make_user: MakeUser
) -> None:
    """With every hashing thread busy, logins wait their turn and the rest of the service
    carries on; then they are answered as usual."""
    await make_user("somchai")
    hashing = app_client.app[workers_key].hashing  # type: ignore[index]
    with _held(hashing, HASHING_THREADS) as release:
        right = asyncio.create_task(log_in(app_client, "somchai"))
        wrong = asyncio.create_task(log_in(app_client, "somchai", "not the password"))
        for _ in range(3):
            assert (await app_client.get("/login")).status == 200
        assert not right.done() and not wrong.done()
        release()
        assert [await right, await wrong] == [303, 401]


@contextmanager
def _held(pool: Executor, threads: int = 1) -> Iterator[Callable[[], None]]:
    """Occupy `threads` threads of `pool` until released (at the latest when the block ends)."""
    gate = threading.Event()
    for _ in range(threads):
        pool.submit(gate.wait)
    try:
        yield gate.set
    finally:
        gate.set()
