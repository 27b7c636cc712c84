"""Every code block of README.md and docs/*.md that a reader would run runs as written.

The blocks are found, not listed: a block added to a document is a test here. Each runs in
its document's session (``support.doc_sessions``: the shell blocks in one shell, the Python
blocks in one interpreter, in the document's order) against one ``hookline serve --dev``
started as ``make run`` starts it, in a directory laid out like the project's root. The
README's walk-through runs first, and every other document starts where it leaves a reader.
A block the suite cannot run says why (``<!-- not run: … -->`` above its fence); a block in a
language that is shown rather than run (JSON, HTTP, output, configuration files) is left by its
fence language, and an unknown language fails until it is classified.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from support.doc_sessions import Sessions
from support.server import Hookline
from support.snippets import ROOT, RUN, SHELL, Block, every_block

from hookline.outbox.sqlalchemy import outbox

pytestmark = pytest.mark.slow

# Shown, not run: data and transcripts, other languages (the JavaScript of docs/svix.md runs in
# test_svix_docs.py), configuration files and SQL to read.
SHOWN = frozenset(
    {"", "json", "http", "text", "html", "js", "javascript", "ts", "ini", "yaml", "sql"}
)

BLOCKS = every_block()
RUNNABLE = [block for block in BLOCKS if block.runs]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    root = tmp_path_factory.mktemp("docs") / "project"
    root.mkdir()
    (root / ".venv").symlink_to(Path(sys.executable).parents[1])
    # A reader's clone has the deployment files the docs work with (without their keys).
    shutil.copytree(ROOT / "deploy", root / "deploy", ignore=shutil.ignore_patterns("keys.env"))
    with Hookline(root / ".hookline", admin_key=None, console_script=True).running() as server:
        key = (root / ".hookline" / "admin.key").read_text().strip()
        sessions = Sessions(root, server.base_url, key)
        # Every other document starts where the README's walk-through leaves its reader.
        (walkthrough,) = (b for b in RUNNABLE if b.doc == "README.md" and b.lang in SHELL)
        sessions.outcome(walkthrough)
        yield sessions


def test_every_block_is_classified() -> None:
    unknown = [f"{b.id} ({b.lang})" for b in BLOCKS if b.lang not in RUN | SHOWN]
    assert not unknown, "a fence language neither run nor shown: " + ", ".join(unknown)
    stale = [b.id for b in BLOCKS if b.not_run and b.lang not in RUN]
    assert not stale, "'not run' above a block that would not run anyway: " + ", ".join(stale)
    assert len(RUNNABLE) >= 40


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.id)
def test_block_runs_as_written(block: Block, sessions: Sessions) -> None:
    outcome = sessions.outcome(block)
    assert outcome.ran, outcome.error or "an earlier block of this document failed"
    assert outcome.ok, f"{block.id} failed:\n{outcome.error}\noutput:\n{outcome.output}"
    # curl exits 0 on a refusal: a shell block's answers must not be refusals, unless a
    # comment in the block says that one is (`# refused: …`).
    if block.lang in SHELL and "# refused" not in block.code:
        refused = [line for line in outcome.output.splitlines() if '"ok":false' in line]
        assert not refused, f"{block.id}: Hookline refused a request: {refused}"


def test_the_docs_use_the_readmes_workspace() -> None:
    """The README makes the workspace ``acme``; a snippet that names another one sends to a
    workspace that does not exist (a relay retries its 404 for ever)."""
    named = [b.id for b in BLOCKS if "ws_acme" in b.code]
    assert not named, f"blocks naming ws_acme rather than acme: {named}"


def test_the_outbox_docs_rows_reach_hookline(sessions: Sessions) -> None:
    """What docs/outbox-sqlalchemy.md's examples write, ``hookline relay`` sends to Hookline."""
    doc = "docs/outbox-sqlalchemy.md"
    written = [b for b in RUNNABLE if b.doc == doc and b.lang == "python"]
    assert all(sessions.outcome(b).ok for b in written)
    database = sessions.workdir(doc, "python") / "app.db"
    relay = subprocess.run(
        ["hookline", "relay", "--database-url", f"sqlite:///{database}", "--once"],
        cwd=sessions.root,
        # As the page's relay is set up: rows without a workspace go to the README's.
        env=sessions.env | {"HOOKLINE_WORKSPACE": "acme"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert relay.returncode == 0, relay.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        ids = conn.execute(sa.select(outbox.c.id).where(outbox.c.sent_at.is_not(None))).scalars()
        sent = list(ids)
    engine.dispose()
    # The Session example's row and the Core connection's (the async one writes to PostgreSQL).
    assert len(sent) == 2
    with httpx.Client(base_url=sessions.env["HOOKLINE_URL"]) as hookline:
        auth = {"Authorization": f"Bearer {sessions.env['HOOKLINE_API_KEY']}"}
        events = [hookline.get(f"/v1/events/{event_id}", headers=auth).json() for event_id in sent]
    assert {event["data"]["workspaceId"] for event in events} == {"acme"}
    assert {event["data"]["type"] for event in events} == {"order.created"}
    assert {"orderId": 1, "total": "12.50"} in [event["data"]["data"] for event in events]


def _answers(output: str) -> list[dict[str, Any]]:
    """The API's answers, one a line; the listener in the background may have printed into the
    same line after an answer, before its newline."""
    decoder = json.JSONDecoder()
    return [
        decoder.raw_decode(line)[0] for line in output.splitlines() if line.startswith('{"ok":')
    ]


def test_the_readme_walkthrough_reaches_its_receiver(sessions: Sessions) -> None:
    (block,) = (b for b in RUNNABLE if b.doc == "README.md" and b.lang in SHELL)
    outcome = sessions.outcome(block)
    assert outcome.ok, outcome.error
    workspace, event, send_logs, detail, resent, sent = _answers(outcome.output)
    assert workspace["data"]["id"] == "acme"
    assert event["data"]["deliveries"] == 1
    assert send_logs["data"][0]["status"] == "succeeded"
    # The last attempt succeeded (on a loaded machine the listener may miss the first).
    attempt = detail["data"]["attempts"][-1]
    assert attempt["response"]["status"] == 200
    assert attempt["request"]["url"] == f"http://127.0.0.1:{sessions.receiver_port}/hook"
    assert resent["data"]["tags"] == ["resent"]
    assert sent["data"]["deliveries"] == 1
    assert "standard signature OK" in outcome.output
    assert "REJECTED" not in outcome.output
