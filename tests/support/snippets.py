"""The fenced code blocks of README.md and docs/*.md, and what the suite does with each.

A block's fence language says whether it is run: ``sh``, ``bash``, ``console`` and ``python``
blocks are what a reader pastes, so they run; the others (JSON and HTTP examples, output
samples, other languages, configuration files) are shown, not run. A runnable block that
cannot run here says why on the line right above its opening fence:
``<!-- not run: REASON -->``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
RUN = frozenset({"sh", "bash", "console", "python"})
SHELL = frozenset({"sh", "bash", "console"})

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<lang>[\w+-]*)\s*$")
_NOT_RUN = re.compile(r"^\s*<!-- not run: (?P<reason>.+?) -->\s*$")


@dataclass(frozen=True)
class Block:
    doc: str  # the path from the project root, e.g. "docs/cli.md"
    line: int  # of the opening fence, from 1
    lang: str
    code: str  # dedented by the fence's own indent
    not_run: str | None  # the reason of a ``<!-- not run: … -->`` line above it

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang in RUN and self.not_run is None


def docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text().splitlines()
    doc = path.relative_to(ROOT).as_posix()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if end == len(lines):
            raise ValueError(f"{doc}:{i + 1}: a code fence that is never closed")
        marker = _NOT_RUN.match(lines[i - 1]) if i else None
        yield Block(
            doc=doc,
            line=i + 1,
            lang=opening["lang"],
            code="".join(f"{line[indent:]}\n" for line in lines[i + 1 : end]),
            not_run=marker["reason"] if marker else None,
        )
        i = end + 1


def every_block() -> list[Block]:
    return [block for path in docs() for block in blocks(path)]
