"""Run one document's Python blocks in order, each as a file of its own, in one process.

    python pyblocks.py BLOCKS.json RESULTS.json [GIVEN.py]

BLOCKS.json is a list of ``{"doc", "line", "code"}``. GIVEN.py, when named, runs first: it
defines what the document takes from the reader's own application (an engine, a model, a
delivery's headers) and lists those names in ``__all__``; it may import its neighbours. Each
block runs in a namespace of its own that holds only those names: a block that forgets an
import fails, as it would for a reader who pastes it into a file. Each block is compiled with
its document's name and line numbers, so a traceback points into the document. RESULTS.json
gets, per block, its printed output and, if it raised, the traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any


def main(blocks_file: str, results_file: str, given: str | None = None) -> None:
    taken: dict[str, Any] = {}
    if given:
        sys.path.insert(0, str(Path(given).parent))
        defined = runpy.run_path(given)
        taken = {name: defined[name] for name in defined["__all__"]}
    results = []
    for block in json.loads(Path(blocks_file).read_text()):
        namespace = {"__name__": "__main__", **taken}
        output = io.StringIO()
        code = "\n" * (block["line"]) + block["code"]
        try:
            with contextlib.redirect_stdout(output):
                exec(compile(code, block["doc"], "exec"), namespace)
        except BaseException:
            results.append(
                {
                    "line": block["line"],
                    "output": output.getvalue(),
                    "error": traceback.format_exc(),
                }
            )
        results.append({"line": block["line"], "output": output.getvalue(), "error": None})
    Path(results_file).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])
