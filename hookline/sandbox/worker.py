"""One sandbox process: runs webhook transformations in V8, one at a time, and nothing else.

Started by ``hookline.sandbox.pool`` as ``python -I worker.py PARENT_PID`` with an empty
environment; it imports nothing of Hookline's, and dies with its parent. Each line on stdin
is a JSON request ``{"code", "input", "timeoutMs", "maxMemory", "maxAnswer"}`` (``input``:
the webhook object as JSON text). Once ready it writes ``{"ready": true}``; then each line
written to stdout answers one request: ``{"output": <JSON text of what handler returned>}``
or ``{"error": text}``, an error too when the answer would be longer than ``maxAnswer``.

The code runs in a V8 isolate with no I/O at all (no ``require``, ``process``, ``fetch``,
timers or modules), under a time limit and a heap limit per run; once a limit is reached the
process answers (``"exited": true``) and exits, and the pool starts another. Memory that V8's
heap limit does not count (array buffers, WebAssembly memories) cannot be had: those globals
are removed before the customer's code runs. An isolate is kept per code (by its hash) for the
next run of the same code (dropped when a limit ends a run), and a blank one is made ready
between runs for the next new code.
"""

import ctypes
import hashlib
import json
import os
import re
import signal
import sys
from collections import OrderedDict

from py_mini_racer import JSOOMException, JSParseException, JSTimeoutException, MiniRacer
from py_mini_racer._exc import JSTerminatedException

LOCATED = re.compile(r"<anonymous>:(?P<line>\d+): (?P<message>.*)")
CACHED = 16  # isolates kept, one per code, most recently used first out last

# Run before the customer's code: keep the JSON functions it cannot then replace for us, remove
# what allocates outside the V8 heap's limit, and define the entry point.
PRELUDE = """
(() => {
  const parse = JSON.parse, stringify = JSON.stringify;
  for (const name of ["ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "WebAssembly",
      "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
      "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array",
      "BigUint64Array", "setTimeout", "clearTimeout", "setInterval", "clearInterval",
      "__timer_manager"]) {
    if (!delete globalThis[name]) globalThis[name] = undefined;  // kept by the embedder
  }
  Object.defineProperty(globalThis, "__hookline_run", {
    value: (text) => {
      if (typeof handler !== "function") {
        throw new TypeError("the code defines no function handler(webhook)");
      }
      const returned = handler(parse(text));
      if (returned instanceof Promise) {
        throw new TypeError("handler(webhook) must return the webhook object, not a promise");
      }
      const out = stringify(returned);
      if (typeof out !== "string") {
        throw new TypeError("handler(webhook) returned nothing");
      }
      return out;
    },
  });
})();
"""


class Isolates:
    """Isolates with a customer's code loaded, by the code's hash, and a blank one ready."""

    def __init__(self) -> None:
        self._isolates: OrderedDict[str, MiniRacer] = OrderedDict()
        self._blank: MiniRacer | None = None
        # Isolates a limit terminated: never closed (closing one waits for its thread, which
        # may still be in a builtin such as a huge Array.fill); the process exits instead.
        self.terminated: list[MiniRacer] = []

    def prepare(self) -> None:
        """Have a blank isolate ready for the next new code (done between runs)."""
        if self._blank is None:
            self._blank = MiniRacer()
            self._blank.eval(PRELUDE)

    def run(self, code: str, text: str, *, timeout: float, max_memory: int) -> str:
        key = hashlib.sha256(code.encode()).hexdigest()
        racer = self._isolates.pop(key, None)
        fresh = racer is None
        if racer is None:
            self.prepare()
            racer, self._blank = self._blank, None
            assert racer is not None
        try:
            if fresh:
                racer.eval(code, timeout_sec=timeout, max_memory=max_memory)
            out = racer.eval(
                f"__hookline_run({json.dumps(text)})", timeout_sec=timeout, max_memory=max_memory
            )
        except (JSTimeoutException, JSOOMException, JSTerminatedException):
            self.terminated.append(racer)
            raise
        except JSParseException:
            raise  # the code does not load: not kept
        except Exception:
            self._keep(key, racer)  # a throw leaves the isolate as good as the code left it
            raise
        self._keep(key, racer)
        return str(out)

    def _keep(self, key: str, racer: MiniRacer) -> None:
        self._isolates[key] = racer
        while len(self._isolates) > CACHED:
            self._isolates.popitem(last=False)


def message(exc: Exception) -> str:
    """What went wrong, in a line or a few, as the customer's code made it go wrong."""
    if isinstance(exc, JSTimeoutException):
        return "The transformation ran past its time limit."
    if isinstance(exc, JSOOMException):
        return "The transformation ran past its memory limit."
    # V8's messages start with "<anonymous>:LINE: " and end with a stack: keep the error line.
    lines = [line for line in str(exc).splitlines() if line.strip()]
    first = lines[0].strip() if lines else type(exc).__name__
    located = LOCATED.fullmatch(first)
    if located:
        first = f"{located['message']} (line {located['line']})"
    return first[:1000]


def die_with(parent: int) -> None:
    """Ask Linux to kill this process when ``parent`` dies, whatever it is doing then: a run,
    or waiting on V8 (a process stuck there would otherwise never read its stdin's end)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def main() -> None:
    die_with(int(sys.argv[1]))
    isolates = Isolates()
    isolates.prepare()
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, object]
        try:
            answer = {
                "output": isolates.run(
                    request["code"],
                    request["input"],
                    timeout=request["timeoutMs"] / 1000,
                    max_memory=request["maxMemory"],
                )
            }
        except (JSTimeoutException, JSOOMException, JSTerminatedException) as exc:
            answer = {"error": message(exc), "exited": True}  # see Isolates.terminated
        except Exception as exc:
            answer = {"error": message(exc)}
        written = json.dumps(answer)
        if len(written) > request["maxAnswer"]:
            mib = round(request["maxAnswer"] / (1024 * 1024))
            written = json.dumps({"error": f"The transformation returned more than {mib} MiB."})
        sys.stdout.write(written + "\n")
        sys.stdout.flush()
        if isolates.terminated:
            break
        isolates.prepare()
    os._exit(0)  # never closing an isolate: V8's threads would hold a normal exit up


if __name__ == "__main__":
    main()
