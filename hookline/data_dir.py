"""The data directory: what Hookline keeps for itself when the settings do not say.

``HOOKLINE_DATA_DIR`` holds the SQLite database when ``HOOKLINE_DATABASE_URL`` is unset, and
the admin and encryption keys when ``HOOKLINE_ADMIN_KEY`` and ``HOOKLINE_ENCRYPTION_KEY`` are
unset (generated there on first use). A deployment that sets all three never touches it.
When it is needed and cannot be created, written or read, ``DataDirError`` says which
directory, what needs it and what to set instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr

from hookline.settings import Settings


class DataDirError(Exception):
    """A directory Hookline must write to cannot be used; the message says what to change."""


def needs(settings: Settings) -> list[str]:
    """What these settings keep in the data directory; empty when it is never touched."""
    kept = []
    if not settings.database_url:
        kept.append("the SQLite database")
    if settings.admin_key is None:
        kept.append("the generated admin key")
    if settings.encryption_key is None:
        kept.append("the generated encryption key")
    return kept


def prepare_database_dir(settings: Settings) -> None:
    """Make sure the SQLite database's directory exists and can be written: the data directory
    (private) by default, else the directory of the file ``HOOKLINE_DATABASE_URL`` names."""
    if not settings.database_url:
        _private_dir(settings)
        return
    directory = settings.sqlite_path.parent
    with _refused(
        f"the directory of the SQLite database, {_shown(directory)} (HOOKLINE_DATABASE_URL)",
        "Point HOOKLINE_DATABASE_URL at a file in a directory this user can write.",
    ):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


def ensure_generated_keys(settings: Settings) -> tuple[str, bool]:
    """Return the admin key, generating and storing it on first start.

    Also makes sure an encryption key exists. Returns (admin key, newly generated).
    """
    ensure_encryption_key(settings)
    if settings.admin_key is not None:
        return settings.admin_key.get_secret_value(), False
    with _data_dir_refused(settings):
        path = _private_dir(settings) / "admin.key"
        generated = not path.exists()
        if generated:
            _write_private(path, "hk_admin_" + secrets.token_urlsafe(32))
        key = path.read_text().strip()
    settings.admin_key = SecretStr(key)
    return key, generated


def ensure_encryption_key(settings: Settings) -> str:
    """The deployment's encryption key, generated and stored on first use."""
    if settings.encryption_key is None:
        from cryptography.fernet import Fernet

        with _data_dir_refused(settings):
            path = _private_dir(settings) / "encryption.key"
            if not path.exists():
                _write_private(path, Fernet.generate_key().decode())
            settings.encryption_key = SecretStr(path.read_text().strip())
    return settings.encryption_key.get_secret_value()


def _private_dir(settings: Settings) -> Path:
    """The data directory, created if missing and kept private to its owner (0700)."""
    with _data_dir_refused(settings):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)  # a mode given to mkdir would be cut by the umask
    return settings.data_dir


def _data_dir_refused(settings: Settings) -> contextlib.AbstractContextManager[None]:
    *first, last = needs(settings) or ["its files"]
    held = f"{', '.join(first)} and {last}" if first else last
    return _refused(
        f"its data directory {_shown(settings.data_dir)} (HOOKLINE_DATA_DIR), which holds {held}",
        "Set HOOKLINE_DATA_DIR to a directory this user can write, or set "
        "HOOKLINE_DATABASE_URL, HOOKLINE_ADMIN_KEY and HOOKLINE_ENCRYPTION_KEY: then none is "
        "needed.",
    )


@contextlib.contextmanager
def _refused(what: str, remedy: str) -> Iterator[None]:
    """Turn an ``OSError`` of the block into a ``DataDirError`` naming ``what`` and the remedy."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataDirError(f"Hookline cannot use {what}: {reason}. {remedy}") from exc


def _shown(path: Path) -> str:
    """``path`` made absolute, as far as the working directory can be known."""
    try:
        return str(path.absolute())
    except OSError:  # the working directory is gone
        return str(path)


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text + "\n")
