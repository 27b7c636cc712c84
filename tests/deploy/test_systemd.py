"""deploy/hookline@.service runs as written: `systemd-analyze verify` finds nothing to say,
and its ExecStartPre and ExecStart lines, run the way systemd runs them (the unit's user,
its environment and environment files, its state directory, a working directory it cannot
write), bring up a server that delivers: alone on SQLite, or as api and worker instances on
PostgreSQL with the keys from the environment file.

The unit is read here as systemd reads it: specifiers (%i, %S, %%), Environment= lists,
EnvironmentFile= (which overrides Environment=), `$VAR` (split into words) and `${VAR}` in
command lines. The paths it names are mapped onto the test's own: /opt/hookline/.venv/bin to
the tests' venv, /etc/hookline to a directory of the test's environment files, /var/lib
(%S) to a directory where the state directory is made as systemd makes it (owned by the
user, StateDirectoryMode). Whatever the test does not know how to read fails it.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from support.deployed import (
    RECEIVER_ALLOWED,
    Launched,
    Unprivileged,
    delivers,
    unknown_settings,
)
from support.images import VENV_BIN
from support.net import free_port
from support.receiver import Receiver
from support.requirements import unavailable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "hookline@.service"
INSTALLED_BIN = "/opt/hookline/.venv/bin/"
CONFIG_DIR = "/etc/hookline/"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def directives(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for each line of a unit file, in order (continuations joined)."""
    found: list[tuple[str, str, str]] = []
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a directive: {line!r}"
        found.append((section, key.strip(), value.strip()))
    return found


def service(text: str) -> dict[str, list[str]]:
    """The [Service] directives: each key's values in order."""
    out: dict[str, list[str]] = {}
    for section, key, value in directives(text):
        if section == "Service":
            out.setdefault(key, []).append(value)
    return out


def specifiers(value: str, *, instance: str, state_root: Path) -> str:
    known = {"i": instance, "S": str(state_root), "%": "%"}

    def expand(match: re.Match[str]) -> str:
        letter = match.group(1)
        assert letter in known, f"the test does not know the specifier %{letter} in {value!r}"
        return known[letter]

    return re.sub(r"%(.)", expand, value)


def env_file(path: Path) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads it: KEY=VALUE lines, # and ; comments."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip().strip("\"'")
    return env


def command_line(value: str, env: dict[str, str]) -> list[str]:
    """An Exec line's argv: `$VAR` alone is split into words, `${VAR}` is one word's text."""
    assert not value.startswith(("@", "-", ":", "+", "!")), f"prefix not handled: {value!r}"
    argv: list[str] = []
    for word in shlex.split(value):
        alone = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if alone:
            argv.extend(env.get(alone.group(1), "").split())
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], ""), word))
    executable = argv[0]
    assert executable.startswith(INSTALLED_BIN), f"{executable} is not in {INSTALLED_BIN}"
    mapped = VENV_BIN / executable.removeprefix(INSTALLED_BIN)
    assert mapped.exists(), f"{executable}: no {mapped.name} is installed"
    return [str(mapped), *argv[1:]]


class Instance:
    """``hookline@<name>.service`` as systemd would start it, on the test's directories."""

    def __init__(
        self, name: str, *, user: Unprivileged, state_root: Path, config: Path, cwd: Path
    ) -> None:
        unit = service(UNIT.read_text())
        assert unit["User"] == ["hookline"]
        assert "WorkingDirectory" not in unit, "the test runs the unit in a read-only directory"

        def expand(value: str) -> str:
            return specifiers(value, instance=name, state_root=state_root)

        mode = int(unit.get("StateDirectoryMode", ["0755"])[-1], 8)
        states = [state_root / s for value in unit.get("StateDirectory", []) for s in value.split()]
        for state in states:
            if not state.exists():  # systemd makes it at start, owned by the unit's user
                user.owned_dir(state.parent, state.name, mode=mode)
        env = user.env(STATE_DIRECTORY=":".join(str(s) for s in states))
        for value in unit.get("Environment", []):
            for assignment in shlex.split(expand(value)):
                key, _, val = assignment.partition("=")
                env[key] = val
        for value in unit.get("EnvironmentFile", []):
            path = expand(value)
            assert path.startswith(CONFIG_DIR), f"{path} is not in {CONFIG_DIR}"
            env.update(env_file(config / path.removeprefix(CONFIG_DIR)))
        self.env = env
        self.states = states
        self.before = [user.command(command_line(expand(v), env)) for v in unit["ExecStartPre"]]
        (start,) = unit["ExecStart"]
        self.start = user.command(command_line(expand(start), env))
        self.user = user
        self.cwd = cwd
        self.name = name

    def launched(self, port: int, log_dir: Path) -> Launched:
        """ExecStartPre run to completion (each must exit 0), then ExecStart started."""
        for argv in self.before:
            done = subprocess.run(
                argv, env=self.env, cwd=self.cwd, capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
        return Launched(
            self.start, env=self.env, cwd=self.cwd, port=port, log_dir=log_dir, name=self.name
        )


@pytest.fixture
def dirs(user: Unprivileged) -> tuple[Path, Path, Path]:
    """The state root (/var/lib), the configuration directory (/etc/hookline), the working
    directory (read-only)."""
    return user.dir(), user.dir(), user.read_only_dir()


def write_env(path: Path, **values: str) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None or not SYSTEM_UNITS.is_dir():
        unavailable("systemd-analyze is not installed", "HOOKLINE_REQUIRE_DEPLOY")
    # A root with the unit installed where the docs install it, the system's own units (the
    # targets it depends on) and an executable where its commands are.
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system" / UNIT.name)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    installed = root / INSTALLED_BIN.strip("/")
    installed.mkdir(parents=True)
    shutil.copy(VENV_BIN / "hookline", installed / "hookline")
    for instance in ("api", "worker1"):
        done = subprocess.run(
            [analyze, "verify", f"--root={root}", f"hookline@{instance}.service"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_keeps_its_hardening() -> None:
    unit = service(UNIT.read_text())
    hardening = {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "StateDirectory": "hookline",
        "StateDirectoryMode": "0700",
    }
    assert {key: unit.get(key, [""])[-1] for key in hardening} == hardening


def test_every_hookline_variable_the_unit_names_is_a_setting_or_its_own() -> None:
    text = UNIT.read_text()
    own = set(re.findall(r"\$\{?(HOOKLINE_[A-Z0-9_]+)", text))
    assert own == {"HOOKLINE_ROLE_ARGS"}
    named = set(re.findall(r"\bHOOKLINE_[A-Z0-9_]+", text)) - own
    assert named and unknown_settings(sorted(named)) == []


def test_the_unit_runs_alone_on_sqlite_in_its_state_directory(
    user: Unprivileged, dirs: tuple[Path, Path, Path], receiver: Receiver, tmp_path: Path
) -> None:
    state_root, config, cwd = dirs
    port = free_port()
    write_env(config / "hookline.env", **RECEIVER_ALLOWED)
    write_env(config / "main.env", HOOKLINE_ROLE_ARGS=f"--port {port}")
    instance = Instance("main", user=user, state_root=state_root, config=config, cwd=cwd)
    (state,) = instance.states
    with instance.launched(port, tmp_path) as server:
        admin_key = (state / "admin.key").read_text().strip()
        delivers(server.base_url, admin_key, receiver)
    assert {"hookline.db", "admin.key", "encryption.key"} <= {p.name for p in state.iterdir()}
    assert list(cwd.iterdir()) == []


@pytest.mark.postgres
def test_api_and_worker_instances_run_on_postgresql_with_keys_from_the_environment_file(
    user: Unprivileged,
    dirs: tuple[Path, Path, Path],
    database: str,
    keys: dict[str, str],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    state_root, config, cwd = dirs
    api_port, worker_port = free_port(), free_port()
    write_env(config / "hookline.env", HOOKLINE_DATABASE_URL=database, **keys, **RECEIVER_ALLOWED)
    write_env(config / "api.env", HOOKLINE_ROLE_ARGS=f"--role api --port {api_port}")
    write_env(config / "worker1.env", HOOKLINE_ROLE_ARGS=f"--role worker --port {worker_port}")
    api = Instance("api", user=user, state_root=state_root, config=config, cwd=cwd)
    worker = Instance("worker1", user=user, state_root=state_root, config=config, cwd=cwd)
    with api.launched(api_port, tmp_path) as server, worker.launched(worker_port, tmp_path):
        delivers(server.base_url, keys["HOOKLINE_ADMIN_KEY"], receiver)
    (state,) = api.states
    assert list(state.iterdir()) == []  # the settings leave nothing to it
    assert list(cwd.iterdir()) == []
