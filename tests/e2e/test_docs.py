"""docs/e2e-cases.md is generated from the cases; it must match what they do now."""

from __future__ import annotations

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
