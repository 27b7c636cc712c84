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

from markdown_it import MarkdownIt

ROOT = Path(__file__).parents[2]
RUN = frozenset({"sh", "bash", "console", "python"})
SHELL = frozenset({"sh", "bash", "console"})

_NOT_RUN = re.compile(r"<!-- not run: (?P<reason>.+?) -->\s*$")


@dataclass(frozen=True)
class Block:
    doc: str  # the path from the project root, e.g. "docs/cli.md"
    line: int  # of the opening fence, from 1
    lang: str
    code: str  # as a reader copies it (a fence inside a list item loses the item's indent)
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
    doc = path.relative_to(ROOT).as_posix()
    # The comment that ends on the line before a fence, by the line it ends on.
    comments: dict[int, str] = {}
    for token in MarkdownIt("commonmark").parse(path.read_text()):
        if token.map is None:
            continue
        if token.type == "html_block":
            comments[token.map[1]] = token.content.strip().splitlines()[-1]
        elif token.type == "fence":
            marker = _NOT_RUN.match(comments.get(token.map[0], "").strip())
            yield Block(
                doc=doc,
                line=token.map[0] + 1,
                lang=token.info.strip().split(maxsplit=1)[0] if token.info.strip() else "",
                code=token.content,
                not_run=marker["reason"] if marker else None,
            )


def every_block() -> list[Block]:
    return [block for path in docs() for block in blocks(path)]
