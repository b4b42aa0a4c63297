"""The `mindwire` console script: serve, migrate, create-user."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from src.core.config import Settings, get_settings
from src.core.logging import configure_logging

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def alembic_config(database_url: str) -> Config:
    """Alembic's config for `database_url`, found next to the package (editable install)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str) -> None:
    """`alembic upgrade head` on `database_url`."""
    command.upgrade(alembic_config(database_url), "head")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers > 1:
        required = {"SECRET_KEY": settings.secret_key_from_env, "REDIS_URL": settings.redis_url}
        missing = [name for name, value in required.items() if not value]
        if missing:
            print(
                f"mindwire serve --workers {args.workers} needs {' and '.join(missing)}: "
                "every worker must sign tokens with the same key, and emits must reach "
                "clients on every worker through Redis.",
                file=sys.stderr,
            )
            return 2
    uvicorn.run(
        "src.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        ws_per_message_deflate=False,
        log_level=settings.log_level.lower(),
    )
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "migrate":
        migrate(settings.database_url)
        return 0
    if args.command == "create-user":
        if not 8 <= len(args.password) <= 128:
            print("the password must be 8 to 128 characters", file=sys.stderr)
            return 2
        return asyncio.run(_create_user(args, settings))
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
