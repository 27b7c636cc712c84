"""The docs, the API description and the code's own words stand alone: they name no document
a user does not have, and every relative link in the docs leads to a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# Names of the team's own requirement documents and of the products they describe.
FOREIGN = re.compile(
    r"CONTRACT|§|\bseed document|\bthe seed\b|Disqua|Discko|Acadio|\bDisco\b", re.I
)
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
PRODUCT = [
    *DOCS,
    ROOT / "docs" / "openapi.json",
    *sorted(
        p
        for p in (ROOT / "hookline").rglob("*")
        if p.suffix in {".py", ".html", ".css", ".js", ".sql"}
    ),
]
LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s]+)\)")


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_to_documents_users_lack(path: Path) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FOREIGN.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files_of_the_repository(path: Path) -> None:
    missing = [
        target
        for target in LINK.findall(path.read_text())
        if not (path.parent / target.split("#")[0]).exists()
    ]
    assert missing == []
