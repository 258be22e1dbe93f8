"""Issue 15's items: each one's condition breaks on the library at 20c2370 and holds now, and
docs/e2e-batch-cases.md is what tests.e2e.batch_before_after generates (one run of every item;
items 1, 2 and 8 scaled down, with the verdict logic of the doc's full-size rows)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.batch_before_after import DOC, ITEMS, REV, ROOT, Row, compare, prepared, render

# Synthesizes with both libraries in subprocesses (and reads the old harness in one).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows() -> Iterator[dict[str, Row]]:
    known = subprocess.run(["git", "cat-file", "-e", f"{REV}^{{commit}}"], cwd=ROOT, check=False, capture_output=True)
    if known.returncode != 0:
        pytest.skip(f"this checkout has no commit {REV} (a shallow clone?)")
    # Items 1, 2 and 8 at their scaled-down sizes (the doc shows the full ones, same verdicts).
    with prepared(full=False) as sides:
        yield {row.item.number: row for row in compare(sides)}


@pytest.mark.parametrize("number", [item.number for item in ITEMS])
def test_item_breaks_before_and_holds_now(rows: dict[str, Row], number: str) -> None:
    row = rows[number]
    assert row.now.holds, f"item {number} does not hold now: {row.now.text} {row.now.facts}"
    assert not row.before.holds, f"item {number} already held on {REV}: it tests nothing ({row.before.text})"


def _verdicts(markdown: str) -> dict[str, tuple[bool, bool]]:
    """Item number -> (before holds, now holds), from the table's rows."""
    found: dict[str, tuple[bool, bool]] = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0][:1].isdigit():
            found[cells[0].split()[0]] = (not cells[2].startswith("**broken**"), not cells[3].startswith("**broken**"))
    return found


def test_doc_is_current(rows: dict[str, Row]) -> None:
    # The verdicts, not the words: counts and statuses in the cells come from threads on a
    # sped-up real clock and may read differently from one run to the next.
    generated = render([rows[item.number] for item in ITEMS])
    assert _verdicts(DOC.read_text()) == _verdicts(generated), (
        "docs/e2e-batch-cases.md is out of date: run `python -m tests.e2e.batch_before_after --write "
        "docs/e2e-batch-cases.md`"
    )
    assert len(_verdicts(generated)) == len(ITEMS)
