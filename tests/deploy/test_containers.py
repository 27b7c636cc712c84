"""The Dockerfile and deploy/docker-compose.yml run as written. There is no container runtime
here, so the tests read them as Docker and Compose do and run what they would run: the
image's command (ENTRYPOINT and CMD) with its environment, as an unprivileged user in a
working directory it cannot write; each Compose service's command with the image's
environment under the service's (interpolated from the shell as Compose does), against
a real PostgreSQL standing in for the `postgres` service. Each comes up (/readyz) and
delivers. They fail when the files drift from the code: a file the image copies that is
gone, an extra the image installs that the project lacks, a command or flag `hookline`
does not have, an environment variable no setting reads, ports that do not meet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from support.deployed import (
    RECEIVER_ALLOWED,
    Launched,
    Unprivileged,
    delivers,
    doc_block,
    unknown_settings,
)
from support.images import ROOT, Image, extras, installed, read_image
from support.net import free_port
from support.receiver import Receiver

from hookline.settings import Settings

pytestmark = pytest.mark.slow

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
DATA_DIR = "HOOKLINE_DATA_DIR"


class MissingVariable(Exception):
    """A `${NAME:?message}` whose variable is unset: Compose refuses the file with the message."""


VARIABLE = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


def interpolate(value: Any, shell: Mapping[str, str]) -> Any:
    """``value`` (a loaded Compose document or part of it) with ``$NAME``, ``${NAME}``,
    ``${NAME:-default}``, ``${NAME-default}``, ``${NAME:?err}``, ``${NAME?err}`` and ``$$``
    replaced as Compose replaces them from the shell's environment."""
    if isinstance(value, dict):
        return {k: interpolate(v, shell) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, shell) for v in value]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg, found = match["op"], match["arg"], shell.get(name)
        missing = found is None or (op is not None and op.startswith(":") and found == "")
        if op in (":-", "-") and missing:
            return str(arg)
        if op in (":?", "?") and missing:
            raise MissingVariable(f"{name}: {arg}")
        return found or ""

    return VARIABLE.sub(sub, value)


def compose(shell: Mapping[str, str]) -> dict[str, Any]:
    """The Compose file loaded (YAML merge keys resolved) and interpolated."""
    document = interpolate(yaml.safe_load(COMPOSE.read_text()), shell)
    assert isinstance(document, dict)
    return document


def keys_from_docs() -> dict[str, str]:
    """The keys docs/deploy.md's export lines make for Compose, run by bash as written."""
    block = doc_block("export HOOKLINE_ADMIN_KEY")
    done = subprocess.run(
        ["bash", "-euc", f"{block}\nenv -0"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    env = dict(item.split("=", 1) for item in done.stdout.split("\0") if item)
    return {name: env[name] for name in ("HOOKLINE_ADMIN_KEY", "HOOKLINE_ENCRYPTION_KEY")}


def on(argv: list[str], flag: str, value: str) -> list[str]:
    """``argv`` with the value of ``flag`` replaced (the flag must be there)."""
    assert flag in argv, f"{argv} has no {flag}"
    at = argv.index(flag) + 1
    return [*argv[:at], value, *argv[at + 1 :]]


def flag(argv: list[str], name: str) -> str:
    assert name in argv, f"{argv} has no {name}"
    return argv[argv.index(name) + 1]


def test_the_image_builds_from_what_the_repository_has() -> None:
    image = read_image()
    for source in image.copies:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is gone"
    installs = re.findall(r"pip install [^&]*\"\.\[([\w,-]+)\]\"", " ".join(image.runs))
    assert installs, "the image installs the project with pip"
    for named in installs:
        assert set(named.split(",")) <= extras(), f"the project has no extra among {named}"
    assert image.user not in ("root", "0"), "the image runs as root"
    # Its data directory exists and belongs to its user, and nothing else is set that no
    # setting reads.
    data = image.env[DATA_DIR]
    assert f"mkdir -p {data}" in " ".join(image.runs)
    assert f"chown {image.user} {data}" in " ".join(image.runs)
    assert unknown_settings(sorted(image.env)) == []
    # It listens on every interface of the container, on the port it exposes.
    assert image.env.get("HOOKLINE_HOST") == "0.0.0.0"
    assert image.expose == [Settings.model_fields["port"].default]


def run_env(user: Unprivileged, image: Image, data: Path, **env: str) -> dict[str, str]:
    """The container's environment, its data directory at ``data``."""
    return user.env(**{**image.env, DATA_DIR: str(data), **env})


def test_the_image_command_serves_and_delivers(
    user: Unprivileged, receiver: Receiver, tmp_path: Path
) -> None:
    image = read_image()
    data = user.owned_dir()
    port = free_port()
    # `docker run -p 8000:8000 hookline` (the port mapping done by HOOKLINE_PORT here; the
    # container's own interfaces are the loopback one here).
    env = run_env(user, image, data, HOOKLINE_HOST="127.0.0.1", HOOKLINE_PORT=str(port))
    command = user.command(installed(image.command))
    cwd = user.read_only_dir()  # the image's WORKDIR belongs to root
    with Launched(
        command, env={**env, **RECEIVER_ALLOWED}, cwd=cwd, port=port, log_dir=tmp_path, name="image"
    ) as server:
        admin_key = (data / "admin.key").read_text().strip()
        delivers(server.base_url, admin_key, receiver)
    assert {"hookline.db", "admin.key", "encryption.key"} <= {p.name for p in data.iterdir()}


def test_compose_refuses_to_start_without_the_keys() -> None:
    with pytest.raises(MissingVariable, match="HOOKLINE_ADMIN_KEY: set HOOKLINE_ADMIN_KEY"):
        compose({})


def test_every_variable_compose_gives_hookline_is_a_setting(keys: dict[str, str]) -> None:
    services = compose(keys)["services"]
    built = {name: s for name, s in services.items() if "build" in s}
    assert set(built) == {"api", "worker"}
    for name, service in built.items():
        assert unknown_settings(sorted(service["environment"])) == [], name


def database_of(services: dict[str, Any], url: str, test_database: str) -> str:
    """The test's database for the URL the services are given, once the URL is checked to
    name the Compose file's own PostgreSQL service, its user, password and database."""
    parts = urlsplit(url)
    assert parts.hostname in services, f"{url}: no service {parts.hostname}"
    postgres = services[parts.hostname]["environment"]
    assert (parts.username, parts.password, parts.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert parts.port == 5432
    return test_database


@pytest.mark.postgres
def test_compose_services_run_on_postgresql_and_deliver(
    user: Unprivileged, database: str, receiver: Receiver, tmp_path: Path
) -> None:
    keys = keys_from_docs()
    image = read_image()
    services = compose(keys)["services"]
    cwd = user.read_only_dir()
    data = user.owned_dir()
    launched = []
    for name in ("api", "worker"):
        service = services[name]
        env = {**service["environment"], **RECEIVER_ALLOWED}
        env["HOOKLINE_DATABASE_URL"] = database_of(services, env["HOOKLINE_DATABASE_URL"], database)
        argv = [*image.entrypoint, *service["command"]]
        assert flag(argv, "--host") == "0.0.0.0", f"{name} listens on every interface"
        port = free_port()
        argv = on(on(argv, "--host", "127.0.0.1"), "--port", str(port))
        launched.append(
            Launched(
                user.command(installed(argv)),
                env=run_env(user, image, data, **env),
                cwd=cwd,
                port=port,
                log_dir=tmp_path,
                name=name,
            )
        )
    api, worker = launched
    check = services["api"]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "python"]
    published = services["api"]["ports"][0].rpartition(":")[2]
    assert published == flag(services["api"]["command"], "--port")
    assert any(f"127.0.0.1:{published}/readyz" in arg for arg in check[2:])
    with api, worker:
        # The API's healthcheck, on the port the API listens on here.
        probe = [sys.executable, *(a.replace(f":{published}/", f":{api.port}/") for a in check[2:])]
        assert subprocess.run(probe, check=False, timeout=30).returncode == 0
        delivers(api.base_url, keys["HOOKLINE_ADMIN_KEY"], receiver)
    assert list(data.iterdir()) == []  # the settings leave nothing to the data directory
    grace = services["worker"]["stop_grace_period"]
    assert float(grace.removesuffix("s")) > Settings.model_fields["shutdown_grace"].default
