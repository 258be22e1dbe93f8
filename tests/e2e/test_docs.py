"""docs/e2e-cases.md is generated from the cases; it must match what they do now."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.cases import CASES, Outcome, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "e2e-cases.md"


def test_e2e_cases_table_is_current(outcomes: dict[str, Outcome]) -> None:
    generated = render([outcomes[case.id] for case in CASES])
    assert DOC.read_text() == generated, (
        "docs/e2e-cases.md is out of date: run `python -m tests.e2e.cases --write docs/e2e-cases.md`"
    )


def test_table_has_no_timing_or_ids(outcomes: dict[str, Outcome]) -> None:
    text = render([outcomes[case.id] for case in CASES])
    for outcome in outcomes.values():
        for run_id, _ in outcome.runs:
            assert run_id not in text
    assert "arn:aws:cloudformation" not in text


# -- relative links ------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
#: The pages a reader follows links through: the README, docs/, and the benchmark's README.
PAGES = sorted([ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _without_code(text: str) -> str:
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lower-cased, punctuation dropped, spaces as '-'."""
    text = _LINK.sub(r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text())):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for _, target in _LINK.findall(_without_code(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no heading with anchor #{fragment} in {linked.relative_to(ROOT)}")
    return broken


def test_github_anchors_follow_githubs_rules() -> None:
    assert github_anchor("Cost per 1,000 assets") == "cost-per-1000-assets"
    assert github_anchor("Whole catalog: `MetadataGenerationBatch`") == "whole-catalog-metadatagenerationbatch"
    assert github_anchor("Create, Update, Delete") == "create-update-delete"


def test_every_relative_link_in_readme_and_docs_resolves() -> None:
    assert ROOT / "README.md" in PAGES
    broken = {str(page.relative_to(ROOT)): broken_links(page) for page in PAGES}
    assert {page: links for page, links in broken.items() if links} == {}
