"""A reader's sessions with one document: its shell blocks in one shell, its Python blocks in one
process, each in the document's order, against a running server.

A reader who follows a document pastes its shell blocks one after the other into one
terminal, so a block may use what an earlier one set: an ``export``, a shell function, an id
captured with ``$(…)``. They run in one ``bash -euo pipefail``: the first command that fails
ends the session there. Each Python block is a file of its own (``support.pyblocks``): it
imports what it uses, and takes only what the document says comes from the reader's
application (``docs_given``). Both start where the README's
walk-through leaves a reader: in the project's root, with ``HOOKLINE_URL`` and
``HOOKLINE_API_KEY`` exported and ``.venv/bin`` on the ``PATH``.

The server listens on a free port rather than 8000, so ``127.0.0.1:8000`` in a block becomes
the server's address, as the README tells a reader whose port 8000 is taken; a receiver's
``9000`` likewise becomes a free port.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .net import free_port
from .snippets import ROOT, SHELL, Block, blocks

PYBLOCKS = Path(__file__).with_name("pyblocks.py")
GIVEN = ROOT / "tests" / "acceptance" / "docs_given"
TIMEOUT = 120.0


@dataclass(frozen=True)
class Outcome:
    """What one block did: ``ran`` is False for a block after the one that failed."""

    ran: bool
    output: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.ran and self.error is None


def given_module(doc: str) -> Path:
    """``tests/acceptance/docs_given/for_<doc's name>.py``: what the document takes from the
    reader's application, if it takes anything."""
    return GIVEN / f"for_{Path(doc).stem.replace('-', '_').lower()}.py"


class Sessions:
    """The sessions of every document, against one server, each run once when first asked."""

    def __init__(self, root: Path, base_url: str, admin_key: str) -> None:
        self.root = root
        self.port = base_url.rsplit(":", 1)[1]
        self.receiver_port = str(free_port())
        venv_bin = root / ".venv" / "bin"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        self.env |= {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
            "HOOKLINE_URL": base_url,
            "HOOKLINE_API_KEY": admin_key,
            "PYTHONUNBUFFERED": "1",
        }
        self._done: dict[tuple[str, str], dict[int, Outcome]] = {}

    def outcome(self, block: Block) -> Outcome:
        kind = "sh" if block.lang in SHELL else "python"
        key = (block.doc, kind)
        if key not in self._done:
            chosen = [
                b
                for b in blocks(ROOT / block.doc)
                if b.runs and (b.lang in SHELL) == (kind == "sh")
            ]
            run = self._shell if kind == "sh" else self._python
            self._done[key] = run(block.doc, chosen)
        return self._done[key][block.line]

    def as_written(self, block: Block) -> str:
        """The block's code with the documented ports replaced by the ones in use here."""
        code = block.code
        if block.lang == "console":
            code = "".join(f"{line[2:]}\n" for line in code.splitlines() if line.startswith("$ "))
        code = code.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        code = re.sub(r"(127\.0\.0\.1:|--port )9000\b", rf"\g<1>{self.receiver_port}", code)
        return code

    def workdir(self, doc: str, kind: str) -> Path:
        """Where a document's ``sh`` or ``python`` session keeps its files (``SESSION_DIR``:
        the givens' databases too)."""
        return self.root.parent / "sessions" / f"{Path(doc).stem}-{kind}"

    def _workdir(self, doc: str, kind: str) -> Path:
        path = self.workdir(doc, kind)
        path.mkdir(parents=True)
        return path

    def _shell(self, doc: str, blocks: list[Block]) -> dict[int, Outcome]:
        work = self._workdir(doc, "sh")
        script = ["set -euo pipefail"]
        for block in blocks:
            code = work / f"{block.line}.sh"
            code.write_text(self.as_written(block))
            out, err, done = (work / f"{block.line}.{ext}" for ext in ("out", "err", "done"))
            script.append(f"{{ source {code}; }} >{out} 2>{err} </dev/null; touch {done}")
        log = self._run(["bash", "-c", "\n".join(script)], work)
        outcomes = {}
        for block in blocks:
            out, err, done = (work / f"{block.line}.{ext}" for ext in ("out", "err", "done"))
            if not out.exists():
                outcomes[block.line] = Outcome(ran=False, output="", error=None)
                continue
            error = None if done.exists() else f"a command failed:\n{err.read_text()}{log}"
            outcomes[block.line] = Outcome(ran=True, output=out.read_text(), error=error)
        return outcomes

    def _python(self, doc: str, blocks: list[Block]) -> dict[int, Outcome]:
        work = self._workdir(doc, "python")
        blocks_file, results_file = work / "blocks.json", work / "results.json"
        blocks_file.write_text(
            json.dumps([{"doc": b.doc, "line": b.line, "code": self.as_written(b)} for b in blocks])
        )
        given = given_module(doc)
        command = [sys.executable, str(PYBLOCKS), str(blocks_file), str(results_file)]
        log = self._run([*command, *([str(given)] if given.exists() else [])], work)
        results = (
            {r["line"]: r for r in json.loads(results_file.read_text())}
            if results_file.exists()
            else {}
        )
        outcomes = {}
        for block in blocks:
            result = results.get(block.line)
            if result is None:
                outcomes[block.line] = Outcome(ran=False, output="", error=None if results else log)
                continue
            outcomes[block.line] = Outcome(ran=True, output=result["output"], error=result["error"])
        return outcomes

    def _run(self, command: list[str], work: Path) -> str:
        """Run a session to its end in its own process group, then end whatever it left
        running (a receiver started in the background by a block that failed); its log."""
        log_path = work / "session.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env | {"SESSION_DIR": str(work)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                log.write(f"\nthe session did not end within {TIMEOUT} s\n".encode())
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        return log_path.read_text(errors="replace")
