"""The `mindwire` console script: serve, migrate, create-user, disable-user, enable-user, and
the contract generators."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from src.core.config import Settings, get_settings
from src.core.logging import configure_logging, logging_config
from src.core.paths import PACKAGE_DIR
from src.core.settings_errors import SettingsError

MIGRATIONS = PACKAGE_DIR / "migrations"
"""Alembic's scripts (env.py, versions/), shipped inside the package."""

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    """Alembic's config for `database_url`, made in code: an installed Mindwire has no
    alembic.ini, and `mindwire migrate` must work from any folder."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str) -> None:
    """`alembic upgrade head` on `database_url`. Alembic is imported here, not at the top:
    it brings ~8 MiB (every dialect's DDL, mako, pygments) that `mindwire serve` never uses."""
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from src.app.server_imports import import_socketio_without_clients

    import_socketio_without_clients()  # before anything imports it: this process only serves
    import uvicorn

    from src.app.serving import uvicorn_options

    if args.workers > 1:
        # Not the development key of DATA_DIR: a deployment of several workers is production.
        required = {"SECRET_KEY": settings.secret_key, "REDIS_URL": settings.redis_url}
        missing = [name for name, value in required.items() if not value]
        if missing:
            print(
                f"mindwire serve --workers {args.workers} needs {' and '.join(missing)}: "
                "every worker must sign tokens with the same key, and emits must reach "
                "clients on every worker through Redis.",
                file=sys.stderr,
            )
            return 2
        if "polling" in settings.transports:
            if "SOCKET_TRANSPORTS" in os.environ:
                print(
                    f"mindwire serve --workers {args.workers} needs SOCKET_TRANSPORTS=websocket: "
                    "the workers share one port without sticky sessions, so a long-polling "
                    "client's requests would reach workers that do not know its session.",
                    file=sys.stderr,
                )
                return 2
            # Inherited by the worker processes, which read their settings at start-up.
            os.environ["SOCKET_TRANSPORTS"] = "websocket"
    uvicorn.run(
        "src.app.served:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=logging_config(settings.log_level, settings.log_format),
        log_level=settings.log_level.lower(),
        **uvicorn_options(settings),
    )
    return 0


def _create_user_refusal(args: argparse.Namespace) -> str | None:
    """Why `create-user` would refuse its arguments (as register would), or None."""
    from src.auth.email_rule import InvalidEmail, email_address

    try:
        email_address(args.email)
    except InvalidEmail as exc:
        return str(exc)
    if not 8 <= len(args.password) <= 128:
        return "the password must be 8 to 128 characters"
    return None


async def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from src.auth import service as auth_service
    from src.auth.exceptions import EmailTaken
    from src.core.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                user = await auth_service.create_user(
                    session,
                    email=args.email,
                    password=args.password,
                    display_name=args.display_name,
                    is_admin=args.admin,
                )
            except EmailTaken:
                print(f"a user with email {args.email} already exists", file=sys.stderr)
                return 1
        print(user.id)
        return 0
    finally:
        await engine.dispose()


async def _set_active(args: argparse.Namespace, settings: Settings) -> int:
    """`disable-user` / `enable-user`: as `PATCH /api/users/{id}` `{is_active}` does. With
    `REDIS_URL`, running workers are told at once to close a disabled user's sockets."""
    from src.app.backend import choose_backend
    from src.auth import service as auth_service
    from src.auth.notices import tell_workers
    from src.core.db import create_engine, create_sessionmaker

    active = args.command == "enable-user"
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await auth_service.get_user_by_email(session, args.email)
            if user is None:
                print(f"no user with email {args.email}", file=sys.stderr)
                return 1
            user.is_active = active
            await session.commit()
    finally:
        await engine.dispose()
    backend = choose_backend(settings)
    if not active and backend.redis is not None:
        try:
            await tell_workers(backend.redis, backend.channel, user.id)
        finally:
            await backend.close()
    print(user.id)
    return 0


CONTRACT_COMMANDS = frozenset({"asyncapi", "gen-ts", "gen-docs"})


def _contract(args: argparse.Namespace) -> int:
    """`asyncapi`, `gen-ts` and `gen-docs`: render the contract of the built-in events."""
    from src.contract import build_contract, typescript_source
    from src.contract.files import asyncapi_json, readme_with_table

    contract = build_contract()
    if args.command == "asyncapi":
        return _emit(args, args.out, asyncapi_json(contract))
    if args.command == "gen-ts":
        return _emit(args, args.out, typescript_source(contract))
    if args.readme is None:
        print("mindwire gen-docs needs --readme: there is no source checkout here", file=sys.stderr)
        return 2
    try:
        current = args.readme.read_text(encoding="utf-8")
        expected = readme_with_table(contract, current)
    except (OSError, ValueError) as exc:
        print(f"{args.readme}: {exc}", file=sys.stderr)
        return 2
    return _emit(args, args.readme, expected)


def _emit(args: argparse.Namespace, path: Path | None, text: str) -> int:
    """Print `text` when there is no `path` (an installed package has no source tree to
    write into), else write `path`, or with `--check` only compare it."""
    from src.contract.files import sync

    check: bool = getattr(args, "check", False)
    if path is None:
        if check:
            print(
                f"mindwire {args.command} --check needs --out: there is no source checkout here",
                file=sys.stderr,
            )
            return 2
        sys.stdout.write(text)
        return 0
    outcome = sync(path, text, check=check)
    if not outcome.changed:
        print(f"{outcome.path} is up to date", file=sys.stderr)
        return 0
    if check:
        print(outcome.diff, end="", file=sys.stderr)
        print(f"{outcome.path} is out of date: run `mindwire {args.command}`", file=sys.stderr)
        return 1
    print(f"wrote {outcome.path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mindwire", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve REST and Socket.IO")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    create = commands.add_parser("create-user", help="create a user; prints the new id")
    create.add_argument("email")
    create.add_argument("--password", required=True)
    create.add_argument("--admin", action="store_true")
    create.add_argument("--display-name", default=None)
    for name, verb in (("disable-user", "disable"), ("enable-user", "re-enable")):
        command_parser = commands.add_parser(name, help=f"{verb} a user; prints their id")
        command_parser.add_argument("email")
    _add_contract_commands(commands)
    return parser


def _add_contract_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from src.contract.files import EVENTS_README, TYPESCRIPT_EVENTS
    from src.core.paths import SOURCE_CHECKOUT

    asyncapi = commands.add_parser("asyncapi", help="print the AsyncAPI 3 document of the events")
    asyncapi.add_argument("--out", type=Path, default=None, help="write it to a file instead")
    gen_ts = commands.add_parser(
        "gen-ts",
        help="regenerate the TypeScript event types (clients/typescript in a source checkout; "
        "printed by an installed package unless --out is given)",
    )
    gen_ts.add_argument("--out", type=Path, default=TYPESCRIPT_EVENTS if SOURCE_CHECKOUT else None)
    gen_ts.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    gen_docs = commands.add_parser("gen-docs", help="regenerate the events table of the docs")
    gen_docs.add_argument("--readme", type=Path, default=EVENTS_README if SOURCE_CHECKOUT else None)
    gen_docs.add_argument("--check", action="store_true", help="exit 1 if the table is out of date")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in CONTRACT_COMMANDS:
        return _contract(args)  # needs no settings: nothing to configure, nothing to log
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "migrate":
        migrate(settings.database_url)
        return 0
    if args.command == "create-user":
        refusal = _create_user_refusal(args)
        if refusal is not None:
            print(refusal, file=sys.stderr)
            return 2
        return asyncio.run(_create_user(args, settings))
    if args.command in ("disable-user", "enable-user"):
        return asyncio.run(_set_active(args, settings))
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
