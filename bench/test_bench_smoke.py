"""Smoke test of the benchmark; not part of the default run (pytest's testpaths is ``tests``).

Run it with ``.venv/bin/python -m pytest bench/test_bench_smoke.py`` (about a minute).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import batch, batch_report, cost
from bench.cold_import import cumulative_us
from bench.limits import Probe, search
from bench.report import render, targets
from bench.run import Options, run
from bench.scenarios import Side


def test_search_finds_the_boundary_with_few_probes() -> None:
    checked: list[int] = []

    def check(runs: int) -> Probe:
        checked.append(runs)
        return Probe(runs, runs <= 37, "" if runs <= 37 else "too many")

    found = search(check, "fake", outputs=False)
    assert (found.max_runs, found.first_failing) == (37, 38)
    assert len(checked) == len(set(checked)) <= 13


def test_search_reports_zero_when_one_run_fails() -> None:
    found = search(lambda runs: Probe(runs, False, "never"), "fake", outputs=True)
    assert (found.max_runs, found.first_failing) == (0, 1)


def test_poll_times_match_the_closed_form() -> None:
    waiter = cost.Waiter(10, 360, 1.0, "IsComplete", "OnTimeout")
    assert len(cost.poll_times(waiter, 10)) == cost.poll_count(10, 10) == 61
    assert len(cost.poll_times(waiter, 600)) == 361  # capped by MaxAttempts + the first attempt


def test_importtime_parser_takes_the_top_level_line() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       227 |     213194 |   boto3\n"
        "import time:      9066 |     248015 | index\n"
    )
    assert cumulative_us(stderr, "index") == 248015
    with pytest.raises(ValueError, match="boto3"):
        cumulative_us(stderr, "boto3")


@pytest.mark.slow
def test_quick_run_produces_a_report(tmp_path: Path) -> None:
    options = Options(
        sizes=(1, 2),
        repetitions=1,
        timed_outputs=(True,),
        import_repetitions=1,
        limits=False,
        warmup=False,
        unvalidated_sizes=(1,),
        batch_sizes=(1, 20),
        batch_repetitions=1,
        dry_run_assets=12,
    )
    results = run(options, log=lambda message: None)
    text = render(results, "python -m bench run --quick")
    (tmp_path / "benchmark.md").write_text(text)
    assert results.metrics(Side.OURS, 2, False).resources - results.metrics(Side.OURS, 1, False).resources == 1
    assert results.metrics(Side.PEER, 2, False).resources - results.metrics(Side.PEER, 1, False).resources == 2
    assert {line.side for line in results.costs} == {"ours", "peer"}
    assert any(t.met is not None for t in targets(results))
    assert results.jsii_calls["ours"]["2/off"]["build"] > results.jsii_calls["ours"]["1/off"]["build"]
    headings = (
        "## Targets",
        "## Synthesis, outputs on",
        "## jsii round trips",
        "validation (diagnostic)",
        "## Deploy-time",
    )
    for heading in headings:
        assert heading in text
    run_ = results.batch_dry_run
    assert run_ is not None
    assert run_.summary["counts"] == {"SUCCEEDED": 12}
    assert run_.states["Start"] == 12
    assert run_.states["Poll"] >= 12
    assert all(t.met for t in batch_report.targets(results.batch_synth, run_)), batch_report.targets(
        results.batch_synth, run_
    )
    assert "### Cost per 1,000 assets" in text


def _row(side: Side, ids: int, template_bytes: int, chars: int = 2551) -> batch.SynthRow:
    return batch.SynthRow(side, ids, [4.0], template_bytes, 22, chars, ids * 12)


def test_batch_targets_miss_when_the_template_grows_with_the_ids() -> None:
    flat = [_row(Side.OURS, 10, 41_507), _row(Side.OURS, 10_000, 41_510)]
    assert [t.met for t in batch_report.targets(flat, None)] == [True, True]
    grows = [_row(Side.OURS, 10, 41_507), _row(Side.OURS, 10_000, 43_555, chars=2600)]
    assert [t.met for t in batch_report.targets(grows, None)] == [False, False]
