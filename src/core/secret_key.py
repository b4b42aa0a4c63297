"""The key that signs access tokens: `SECRET_KEY`, or in development one kept on disk.

Without `SECRET_KEY`, development signs with a key stored in `DATA_DIR/secret_key` (mode
0600), made on the first start and read on every later one: a restart keeps tokens valid, so
clients reconnect and are replayed what they missed. Production refuses to start without a
real key (`Settings` checks it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from src.core.config import Settings
from src.core.settings_errors import SettingsError

logger = logging.getLogger("mindwire.config")

KEY_FILE = "secret_key"


def development_key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise SettingsError(
            f"invalid setting SECRET_KEY='': {path} is empty; delete it (a new key is made at "
            "the next start) or set SECRET_KEY"
        )
    return key


def stored_key(path: Path) -> str:
    """The key in `path`, made first if there is none, readable by its owner only.

    Processes starting together agree on one key: each writes a whole key to a file of its
    own, then hard-links it to `path`; the first link wins and every process reads the winner
    (so none ever reads a half-written key).
    """
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as draft_file:
            draft_file.write(secrets.token_urlsafe(32) + "\n")
            draft_file.flush()
            os.fsync(draft_file.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read_key(path)


def with_signing_key(settings: Settings) -> Settings:
    """`settings` with the key tokens are signed with; warns when it is not a real secret.

    Raises `SettingsError` when the development key can be neither read nor made.
    """
    if settings.secret_key:
        if settings.has_placeholder_key:
            logger.warning("SECRET_KEY is a placeholder: fine for development only")
        return settings
    path = development_key_path(settings)
    try:
        key = stored_key(path)
    except OSError as exc:
        raise SettingsError(
            f"invalid setting SECRET_KEY='': the development key cannot be kept in {path} "
            f"({exc.strerror or exc}); set SECRET_KEY, or DATA_DIR to a writable folder"
        ) from None
    logger.warning(
        "SECRET_KEY is not set: signing tokens with the development key stored in %s "
        "(tokens survive restarts; set SECRET_KEY in production)",
        path,
    )
    return settings.model_copy(update={"secret_key": key})
