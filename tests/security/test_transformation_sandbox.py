"""The sandbox that runs webhook transformations, on real V8 processes: the customer's code
reaches no file system, network, environment, module loader or Python object; an endless
loop, a huge allocation and a thrown error each end with a message within the limits; a hung
process is killed and replaced, and the pool goes on serving."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.polling import poll
from support.procfs import alive, children

from hookline.sandbox import pool
from hookline.sandbox.pool import SandboxLimits, SandboxPool, TransformationFailed

LIMITS = SandboxLimits(time_ms=100, memory_bytes=64 * 1024 * 1024, processes=2)
GIVEN = json.dumps({"eventType": "t", "payload": {"n": 1}, "url": "https://x.test/", "headers": {}})


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxPool]:
    made = SandboxPool(LIMITS)
    yield made
    await made.close()


def returning(expression: str) -> str:
    return f"function handler(w) {{ w.payload = {expression}; return w; }}"


# What the code can see of the world outside V8: nothing but the language.
UNREACHABLE = [
    "typeof require",
    "typeof process",
    "typeof fetch",
    "typeof XMLHttpRequest",
    "typeof WebSocket",
    "typeof module",
    "typeof exports",
    "typeof Deno",
    "typeof Bun",
    "typeof setTimeout",
    "typeof setInterval",
    "typeof ArrayBuffer",
    "typeof SharedArrayBuffer",
    "typeof WebAssembly",
    "typeof Atomics",
    "typeof importScripts",
    "typeof os",
    "typeof __builtins__",
    "typeof py",
]


@pytest.mark.parametrize("expression", UNREACHABLE)
async def test_nothing_outside_the_language_is_there(sandbox: SandboxPool, expression: str) -> None:
    out = json.loads((await sandbox.run(returning(expression), GIVEN)).output)
    assert out["payload"] == "undefined"


@pytest.mark.parametrize(
    "code",
    [
        "function handler(w) { return import('fs'); }",
        "async function handler(w) { return w; }",
        "function handler(w) { return require('fs').readFileSync('/etc/passwd', 'utf8'); }",
        "function handler(w) { return process.env; }",
        "function handler(w) { return fetch('http://169.254.169.254/'); }",
        "function handler(w) { return new XMLHttpRequest(); }",
        "function handler(w) { return Function('return this')().process.env; }",
        "import fs from 'fs'; function handler(w) { return w; }",
    ],
)
async def test_reaching_out_fails_with_a_message(sandbox: SandboxPool, code: str) -> None:
    with pytest.raises(TransformationFailed) as failed:
        await sandbox.run(code, GIVEN)
    assert str(failed.value)


async def test_the_global_object_holds_only_javascript(sandbox: SandboxPool) -> None:
    code = returning("Object.getOwnPropertyNames(globalThis)")
    names = set(json.loads((await sandbox.run(code, GIVEN)).output)["payload"])
    assert not names & {"require", "process", "fetch", "ArrayBuffer", "WebAssembly"}
    assert {"JSON", "Math", "Date", "Object", "Array", "String"} <= names


async def test_the_environment_of_the_deployment_is_not_in_the_sandbox_process(
    sandbox: SandboxPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKLINE_ENCRYPTION_KEY", "do-not-leak")
    await sandbox.run(returning("1"), GIVEN)
    (process,) = sandbox._idle
    environ = Path(f"/proc/{process.proc.pid}/environ").read_bytes()  # noqa: ASYNC240
    assert b"do-not-leak" not in environ


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("function handler(w) { while (true) {} }", "time limit"),
        ("function handler(w) { const a = []; for (;;) a.push({n: a.length}); }", "limit"),
        ("function handler(w) { return new Array(2 ** 27).fill(1.5); }", "limit"),
        ("function handler(w) { return 'x'.repeat(2 ** 30); }", "Invalid string length"),
        ("function handler(w) { throw new Error('broken'); }", "Error: broken"),
    ],
)
async def test_a_loop_a_huge_allocation_and_a_throw_end_within_the_limits(
    sandbox: SandboxPool, code: str, message: str
) -> None:
    await sandbox.run(returning("0"), GIVEN)  # a process started
    started = time.monotonic()
    with pytest.raises(TransformationFailed, match=message) as failed:
        await sandbox.run(code, GIVEN)
    assert time.monotonic() - started < 1.0  # the limit (100 ms), a new isolate, a loaded machine
    assert failed.value.duration_ms < 1000
    out = json.loads((await sandbox.run(returning("w.payload.n + 1"), GIVEN)).output)
    assert out["payload"] == 2  # and the pool goes on


async def test_a_result_too_large_to_send_is_the_codes_failure() -> None:
    # Within the time and memory limits, but more than any answer the sandbox gives back:
    # the customer's fault, not Hookline's.
    roomy = SandboxPool(SandboxLimits(time_ms=5000, memory_bytes=256 * 2**20, processes=1))
    try:
        with pytest.raises(TransformationFailed, match="returned more than 16 MiB"):
            await roomy.run(returning("new Array(3e6).fill('abcdefgh')"), GIVEN)
        assert json.loads((await roomy.run(returning("4"), GIVEN)).output)["payload"] == 4
    finally:
        await roomy.close()


async def test_a_hung_process_is_killed_and_replaced(
    sandbox: SandboxPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.run(returning("1"), GIVEN)
    (process,) = sandbox._idle
    process.proc.send_signal(19)  # SIGSTOP: it will not answer
    monkeypatch.setattr(pool, "BACKSTOP_SLACK", 0.3)
    with pytest.raises(TransformationFailed, match="stopped"):
        await sandbox.run(returning("2"), GIVEN)
    await asyncio.wait_for(process.proc.wait(), 5)
    assert json.loads((await sandbox.run(returning("3"), GIVEN)).output)["payload"] == 3


async def test_runs_go_on_in_parallel_while_one_loops(sandbox: SandboxPool) -> None:
    looping = asyncio.create_task(sandbox.run("function handler(w) { for (;;) {} }", GIVEN))
    await sandbox.run(returning("0"), GIVEN)  # both processes started
    started = time.monotonic()
    quick = [(await sandbox.run(returning(str(n)), GIVEN)).output for n in range(5)]
    assert len(quick) == 5 and time.monotonic() - started < 1.0
    with pytest.raises(TransformationFailed):
        await looping


# A process that owns a pool of one sandbox process on uvloop, as a dispatcher does: it starts
# the process, gives it an endless loop with a minute's limit, says so, and waits to be killed.
HOLDER = """
import asyncio, sys
import uvloop
from hookline.sandbox.pool import SandboxLimits, SandboxPool

async def main():
    pool = SandboxPool(SandboxLimits(time_ms=60_000, memory_bytes=64 * 2**20, processes=1))
    await pool.run("function handler(w) { return w; }", sys.argv[1])
    looping = asyncio.create_task(pool.run("function handler(w) { for (;;) {} }", sys.argv[1]))
    await asyncio.sleep(0.5)  # the request is written at once; the loop has begun by now
    print("ready", flush=True)
    await looping

uvloop.run(main())
"""


def test_a_sandbox_process_ends_with_the_process_that_started_it() -> None:
    """Killed at once (as the kernel kills a dispatcher whose server died), the pool's owner
    leaves no sandbox process behind, even one in the middle of a run."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, GIVEN], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "ready"
            (sandbox,) = children(holder.pid)
        finally:
            holder.kill()
    poll(lambda: alive(sandbox), lambda running: not running, timeout=10, what="the sandbox gone")
