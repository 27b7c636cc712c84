"""Sandbox processes for webhook transformations, driven from asyncio.

``SandboxPool.run`` hands a transformation and its input to one of at most ``processes``
sandbox processes (``hookline.sandbox.worker``, started when first needed) and awaits its
answer without blocking the event loop. A process runs one transformation at a time; a caller
waits for a free one. The customer's code never runs in this interpreter.

What the code did wrong (it threw, ran past its time or memory limit, returned something that
is not JSON) raises ``TransformationFailed`` with a message for the customer. A process that
does not answer within ``backstop`` seconds is killed and replaced (``TransformationFailed``
too: only the customer's code was running there). A process that cannot be started, or stops
without an answer, raises ``SandboxUnavailable``: Hookline's own fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")
# Slack on the backstop: a new isolate's start, a loaded machine.
BACKSTOP_SLACK = 5.0
# Seconds a new sandbox process has to be ready (a few hundred ms unloaded).
START_TIMEOUT = 30.0
# Longest answer line read back: the transformed webhook (payload, URL, headers) as JSON.
MAX_ANSWER = 16 * 1024 * 1024


class TransformationFailed(Exception):
    """The customer's code failed; the message says how."""

    def __init__(self, message: str, *, duration_ms: float) -> None:
        super().__init__(message)
        self.duration_ms = duration_ms


@dataclass(frozen=True, kw_only=True, slots=True)
class Ran:
    """What ``handler`` returned, as JSON text, and the milliseconds the run took."""

    output: str
    duration_ms: float


class SandboxUnavailable(Exception):
    """No sandbox process could run the transformation: Hookline's own fault."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxLimits:
    """Per run: ``time_ms`` of execution (the code's loading, then the call, each) and
    ``memory_bytes`` of V8 heap; ``processes`` sandbox processes at most."""

    time_ms: int
    memory_bytes: int
    processes: int

    @property
    def backstop(self) -> float:
        """Seconds after which a process that has not answered is killed."""
        return 2 * self.time_ms / 1000 + BACKSTOP_SLACK


@dataclass(frozen=True, slots=True)
class _Answer:
    """One answer of a sandbox process: the JSON text of what ``handler`` returned, or the
    error; ``exited`` when the process exits after it (its run reached a limit)."""

    output: str | None
    error: str | None
    exited: bool

    @classmethod
    def parse(cls, line: bytes) -> _Answer:
        answer = json.loads(line)
        return cls(
            output=answer.get("output"), error=answer.get("error"), exited="exited" in answer
        )


class _Process:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls) -> _Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                str(WORKER),
                str(os.getpid()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env={},  # nothing of the deployment's environment
                limit=MAX_ANSWER,
            )
        except OSError as exc:
            raise SandboxUnavailable(f"a sandbox process could not start: {exc}") from exc
        process = cls(proc)
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(START_TIMEOUT):
                ready = await proc.stdout.readline()
        except (TimeoutError, ValueError):
            ready = b""
        if ready.strip() != b'{"ready": true}':
            process.kill()
            raise SandboxUnavailable("a sandbox process did not start")
        return process

    async def ask(self, request: bytes, backstop: float) -> _Answer:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(request)
            async with asyncio.timeout(backstop):
                await self.proc.stdin.drain()
                line = await self.proc.stdout.readline()
        except TimeoutError as exc:
            raise TransformationFailed(
                f"The transformation did not finish within {backstop:g} s; it was stopped.",
                duration_ms=backstop * 1000,
            ) from exc
        except OSError as exc:  # a broken pipe
            raise SandboxUnavailable(f"the sandbox process failed: {exc!r}") from exc
        if not line:
            raise SandboxUnavailable("the sandbox process stopped without an answer")
        return _Answer.parse(line)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()


class SandboxPool:
    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.processes)
        self._idle: list[_Process] = []  # started, waiting for work
        self._busy: set[_Process] = set()
        # Replacements of processes that exited, starting in the background.
        self._starting: list[asyncio.Task[_Process]] = []

    async def run(self, code: str, webhook_json: str) -> Ran:
        """Call ``handler`` of ``code`` with the webhook object that ``webhook_json`` holds:
        the JSON text of what it returned, and how long the run took in its process."""
        limits = self.limits
        request = json.dumps(
            {
                "code": code,
                "input": webhook_json,
                "timeoutMs": limits.time_ms,
                "maxMemory": limits.memory_bytes,
                "maxAnswer": MAX_ANSWER - 1,  # the line, without its newline
            }
        ).encode()
        async with self._slots:
            process = await self._take()
            self._busy.add(process)
            started = time.perf_counter()
            try:
                answer = await process.ask(request + b"\n", limits.backstop)
            except BaseException:
                process.kill()
                self._replace()
                raise
            finally:
                self._busy.discard(process)
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if answer.exited:
                self._replace()
            else:
                self._idle.append(process)
        if answer.error is not None:
            raise TransformationFailed(answer.error, duration_ms=duration_ms)
        assert answer.output is not None
        return Ran(output=answer.output, duration_ms=duration_ms)

    async def _take(self) -> _Process:
        while self._idle:
            process = self._idle.pop()
            if process.alive:
                return process
        if self._starting:
            with contextlib.suppress(SandboxUnavailable):
                return await self._starting.pop()
        return await _Process.start()

    def _replace(self) -> None:
        """Start a process in the background in place of one that exited."""
        task = asyncio.create_task(_Process.start())
        self._starting.append(task)
        task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[_Process]) -> None:
        if task not in self._starting:  # taken by a run meanwhile
            return
        self._starting.remove(task)
        if not task.cancelled() and task.exception() is None:
            self._idle.append(task.result())

    async def close(self) -> None:
        """Stop every sandbox process."""
        for task in self._starting:
            task.cancel()
        self._starting.clear()
        processes = [*self._idle, *self._busy]
        self._idle.clear()
        for process in processes:
            process.kill()
            with contextlib.suppress(Exception):
                await process.proc.wait()
