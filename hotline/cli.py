"""`hotline`: serve, demo, migrate, create-user.

Every expected failure (a bad setting, a database that cannot be reached, a port in use)
ends with one line naming the problem and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from accounts.password_rules import MIN_LENGTH, password_problem
from accounts.passwords import Passwords
from accounts.users import ROLES, UserExists, UserRepository
from config.settings import Settings, SettingsError, load_settings
from database.migrate import apply_migrations
from database.pool import Database, DatabaseUnavailable, EmbeddedPostgres
from hotline.logs import configure_logging
from hotline.runner import CommandError, run_until_stopped


async def _database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database_url is not None:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir.resolve() / "postgres")
    return await asyncio.to_thread(embedded.start), embedded


async def migrate(settings: Settings) -> None:
    url, embedded = await _database_url(settings)
    try:
        db = await Database.connect(url)
        await db.close()
        applied = await apply_migrations(url)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    print("migrations applied: " + (", ".join(applied) if applied else "none (up to date)"))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords differ")
    return password


PASSWORD_PROBLEMS = {
    "required": "it is empty",
    "too_short": f"it needs at least {MIN_LENGTH} characters",
    "too_long": "it is too long",
    "is_username": "it contains the username",
    "too_common": "it is too common or too easy to guess",
}


async def create_user(settings: Settings, args: argparse.Namespace) -> None:
    password = _read_password(args.password_stdin)
    problem = password_problem(password, username=args.username, display_name=args.name or "")
    if problem is not None:
        raise CommandError(f"password refused: {PASSWORD_PROBLEMS[problem]}")
    with ThreadPoolExecutor(1) as hashing:
        password_hash = await Passwords(hashing).hash(password)
    url, embedded = await _database_url(settings)
    try:
        await apply_migrations(url)
        db = await Database.connect(url)
        try:
            user = await UserRepository(db.pool).create(
                username=args.username,
                display_name=args.name or args.username,
                password_hash=password_hash,
                role=args.role,
                pbx=args.pbx,
                interface=args.interface,
                language=args.language,
                queues=args.queue or [],
            )
        except (UserExists, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            await db.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    print(f"created {user.role} {user.username} (id {user.id})")


def _log_level(command: str, settings: Settings) -> str:
    """The demo keeps its terminal for the logins and warnings unless a level was asked for."""
    if command == "demo" and "log_level" not in settings.model_fields_set:
        return "warning"
    return settings.log_level


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="TOML settings file (else HOTLINE_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service with the configured PBXes")
    commands.add_parser("demo", help="run on embedded defaults with the PBX simulator")
    commands.add_parser("migrate", help="apply pending database migrations")
    user = commands.add_parser("create-user", help="add a person who can log in")
    user.add_argument("username")
    user.add_argument("--role", choices=ROLES, required=True)
    user.add_argument("--name", help="name shown in the UI")
    user.add_argument("--pbx", help="PBX name of the agent's phone")
    user.add_argument("--interface", help="the agent's phone, e.g. PJSIP/agent101")
    user.add_argument("--queue", action="append", help="queue the agent serves (repeatable)")
    user.add_argument("--language", choices=("th", "en"), default="th")
    user.add_argument("--password-stdin", action="store_true", help="read the password")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_logging(settings.log_format, _log_level(args.command, settings))
        if args.command == "serve":
            asyncio.run(run_until_stopped(settings))
        elif args.command == "demo":
            from demo.run import run_demo

            asyncio.run(run_demo(settings))
        elif args.command == "migrate":
            asyncio.run(migrate(settings))
        else:
            asyncio.run(create_user(settings, args))
    except (SettingsError, CommandError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"hotline: setting database_url (HOTLINE_DATABASE_URL): {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
