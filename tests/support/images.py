"""The repository's Dockerfile as a container runtime reads it, and its image's command run
here: there is no container runtime in the tests, so the tests run what the image would.

``read_image()`` parses the instructions the Dockerfile uses (any other fails the test that
reads it): WORKDIR, USER, ENV, EXPOSE, COPY sources, RUN lines, and ENTRYPOINT and CMD in
their exec (JSON) form. ``installed(argv)`` maps the image's command onto the tests' venv:
its first word must be a console script the project declares, installed there.
"""

from __future__ import annotations

import json
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"
# The bin directory of the venv running the tests: where `hookline` is installed here.
VENV_BIN = Path(sys.executable).parent


@dataclass
class Image:
    workdir: str = "/"
    user: str = "root"
    env: dict[str, str] = field(default_factory=dict)
    expose: list[int] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    @property
    def command(self) -> list[str]:
        """What the image runs without arguments: ENTRYPOINT then CMD."""
        return [*self.entrypoint, *self.cmd]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        found.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends in a continuation"
    return found


def read_image(path: Path = DOCKERFILE) -> Image:
    image = Image()
    for word, rest in instructions(path.read_text()):
        if word == "FROM":
            continue
        if word == "WORKDIR":
            image.workdir = rest
        elif word == "USER":
            image.user = rest
        elif word == "ENV":
            words = shlex.split(rest)
            if "=" not in words[0]:  # the legacy form: ENV NAME value
                image.env[words[0]] = rest.partition(" ")[2].strip()
            else:
                image.env.update(w.split("=", 1) for w in words)  # type: ignore[misc]
        elif word == "EXPOSE":
            image.expose += [int(p.partition("/")[0]) for p in rest.split()]
        elif word == "COPY":
            image.copies += [w for w in shlex.split(rest)[:-1] if not w.startswith("--")]
        elif word == "RUN":
            image.runs.append(rest)
        elif word in ("ENTRYPOINT", "CMD"):
            argv = json.loads(rest)  # the exec form; the shell form is not read here
            assert isinstance(argv, list), f"{word} {rest}: not the exec form"
            setattr(image, word.lower(), [str(a) for a in argv])
        else:
            raise AssertionError(f"the tests do not read the Dockerfile's {word}")
    return image


def console_scripts() -> set[str]:
    """The console scripts the project declares."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return set(project.get("scripts", {}))


def extras() -> set[str]:
    """The project's optional dependency groups (extras)."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return set(project.get("optional-dependencies", {}))


def installed(argv: list[str]) -> list[str]:
    """``argv`` with its program, a console script of the project, as installed in the venv."""
    program, *args = argv
    assert program in console_scripts(), f"{program} is not a console script of the project"
    path = VENV_BIN / program
    assert path.exists(), f"{program} is not installed in {VENV_BIN}"
    return [str(path), *args]
