"""The data directory is touched only when something needs it: the SQLite database by default,
a generated admin or encryption key. With all three from the settings, `hookline migrate` and
`hookline serve` run as a user who can write nowhere; when it is needed and cannot be written,
they exit 1 with one line saying which directory, what needs it and what to set instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.deployed import Launched, Unprivileged
from support.images import VENV_BIN
from support.net import free_port

pytestmark = pytest.mark.slow

HOOKLINE = str(VENV_BIN / "hookline")


def contents(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


@pytest.mark.postgres
def test_migrate_and_serve_need_no_data_directory_with_postgresql_and_keys(
    user: Unprivileged, database: str, keys: dict[str, str], tmp_path: Path
) -> None:
    cwd = user.read_only_dir()
    env = user.env(HOOKLINE_DATABASE_URL=database, **keys)
    migrated = user.run([HOOKLINE, "migrate"], env=env, cwd=cwd)
    assert migrated.returncode == 0, migrated.stdout
    assert migrated.stdout == "migrations applied\n"
    port = free_port()
    command = user.command([HOOKLINE, "serve", "--role", "api", "--port", str(port)])
    with Launched(command, env=env, cwd=cwd, port=port, log_dir=tmp_path, name="api"):
        pass
    assert contents(cwd) == []


@pytest.mark.postgres
def test_a_data_directory_that_cannot_be_made_is_never_tried_when_nothing_needs_it(
    user: Unprivileged, database: str, keys: dict[str, str]
) -> None:
    cwd = user.read_only_dir()
    env = user.env(HOOKLINE_DATABASE_URL=database, HOOKLINE_DATA_DIR=str(cwd / "data"), **keys)
    migrated = user.run([HOOKLINE, "migrate"], env=env, cwd=cwd)
    assert migrated.returncode == 0, migrated.stdout
    assert contents(cwd) == []


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"]])
def test_the_default_sqlite_database_in_a_directory_that_cannot_be_written_is_one_line(
    user: Unprivileged, command: list[str]
) -> None:
    cwd = user.read_only_dir()
    done = user.run([HOOKLINE, *command], env=user.env(), cwd=cwd)
    assert done.returncode == 1, done.stdout
    assert done.stdout == (
        f"Error: Hookline cannot use its data directory {cwd}/.hookline (HOOKLINE_DATA_DIR), "
        "which holds the SQLite database, the generated admin key and the generated "
        "encryption key: Permission denied. Set HOOKLINE_DATA_DIR to a directory this user "
        "can write, or set HOOKLINE_DATABASE_URL, HOOKLINE_ADMIN_KEY and "
        "HOOKLINE_ENCRYPTION_KEY: then none is needed.\n"
    )
    assert contents(cwd) == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("unset", "held"),
    [
        ("HOOKLINE_ADMIN_KEY", "the generated admin key"),
        ("HOOKLINE_ENCRYPTION_KEY", "the generated encryption key"),
    ],
)
def test_serve_names_the_one_thing_that_needs_the_data_directory(
    user: Unprivileged, database: str, keys: dict[str, str], unset: str, held: str
) -> None:
    cwd = user.read_only_dir()
    data = cwd / "data"
    del keys[unset]
    env = user.env(HOOKLINE_DATABASE_URL=database, HOOKLINE_DATA_DIR=str(data), **keys)
    done = user.run([HOOKLINE, "serve", "--role", "api", "--port", "0"], env=env, cwd=cwd)
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith(
        f"Error: Hookline cannot use its data directory {data} (HOOKLINE_DATA_DIR), which "
        f"holds {held}: Permission denied. "
    ), done.stdout
    assert done.stdout.count("\n") == 1


def test_a_sqlite_database_in_a_directory_that_cannot_be_written_is_one_line(
    user: Unprivileged, keys: dict[str, str]
) -> None:
    cwd = user.read_only_dir()
    env = user.env(HOOKLINE_DATABASE_URL=f"sqlite:///{cwd}/hooks.db", **keys)
    done = user.run([HOOKLINE, "migrate"], env=env, cwd=cwd)
    assert done.returncode == 1, done.stdout
    assert done.stdout == (
        f"Error: Hookline cannot use the directory of the SQLite database, {cwd} "
        "(HOOKLINE_DATABASE_URL): Permission denied. Point HOOKLINE_DATABASE_URL at a file in "
        "a directory this user can write.\n"
    )


def test_a_data_directory_of_its_own_holds_the_database_and_the_generated_keys(
    user: Unprivileged, tmp_path: Path
) -> None:
    data = user.owned_dir()
    done = user.run(
        [HOOKLINE, "migrate"], env=user.env(HOOKLINE_DATA_DIR=str(data)), cwd=user.read_only_dir()
    )
    assert done.returncode == 0, done.stdout
    assert {"hookline.db", "encryption.key"} <= set(contents(data))
