"""``make run`` installs what the server needs and no more; ``make test`` installs the rest.

The server's install set is ``hookline[server]`` and what it requires, resolved from the
installed packages' own metadata. It holds none of the test, lint or application-side tools,
and a ``hookline serve --dev`` that may import nothing else (an import hook in every one of
its processes refuses any module of another distribution, and records the ones Hookline's own
code asks for) starts and delivers.
"""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.receiver import Receiver
from support.server import Hookline

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
TEST_ONLY = {"pytest", "playwright", "moto", "mypy", "ruff", "schemathesis", "hypothesis", "svix"}
APP_SIDE = {"django", "sqlalchemy", "alembic", "flask", "psycopg"}

BLOCKER = """\
import importlib.abc
import sys

REFUSED = {refused!r}
PACKAGE = {package!r}
LOG = {log!r}


def importer():
    frame = sys._getframe(2)
    while frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame.f_code.co_filename


class RuntimeOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in REFUSED:
            return None
        # A library's optional import is its own affair; Hookline's are what this is about.
        if importer().startswith(PACKAGE):
            with open(LOG, "a") as log:
                log.write(f"{{name}} from {{importer()}}\\n")
        raise ModuleNotFoundError(f"{{name}} is not among the server's dependencies")


sys.meta_path.insert(0, RuntimeOnly())
"""


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def install_set(name: str, extras: set[str]) -> set[str]:
    """The distributions ``name[extras]`` brings in, itself included (normalized names)."""
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset(extras))]
    while todo:
        dist, wanted = todo.pop()
        if (_name(dist), wanted) in seen:
            continue
        seen.add((_name(dist), wanted))
        found.add(_name(dist))
        for line in metadata.requires(dist) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *wanted}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def test_the_servers_install_set_holds_no_test_or_application_tools() -> None:
    server = install_set("hookline", {"server"})
    everything = install_set("hookline", {"test"})
    assert {"fastapi", "uvicorn", "asyncpg", "aiohttp"} <= server
    assert not server & (TEST_ONLY | APP_SIDE)
    assert TEST_ONLY | APP_SIDE <= everything


def test_make_run_installs_the_server_and_make_test_the_rest() -> None:
    def installs(target: str) -> list[str]:
        plan = subprocess.run(
            ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return re.findall(r"pip install --quiet -e '(\.\[\w+\])'", plan)

    assert installs("run") == [".[server]"]
    assert installs("test") == [".[test]"]


def test_the_server_runs_on_its_install_set_alone(tmp_path: Path, receiver: Receiver) -> None:
    server = install_set("hookline", {"server"})
    refused = sorted(
        module
        for module, dists in metadata.packages_distributions().items()
        if not {_name(d) for d in dists} & server
    )
    assert "playwright" in refused and "fastapi" not in refused
    blocker, log = tmp_path / "blocker", tmp_path / "refused.log"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        BLOCKER.format(refused=set(refused), package=str(ROOT / "hookline"), log=str(log))
    )

    hook = receiver.endpoint()
    hookline = Hookline(tmp_path / "data", env={"PYTHONPATH": str(blocker)}, console_script=True)
    with hookline.running() as running, running.api() as api:
        ws = api.workspace()
        api.webhook(ws, hook.url)
        event = api.send(ws, "order.created", {"n": 1})
        (delivery,) = api.deliveries_of(event["id"])
        assert api.settled(delivery["id"])["status"] == "succeeded"
    assert not log.exists(), f"the server imported {log.read_text()}"
