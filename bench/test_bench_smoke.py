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


def test_catalog_worker_steps_at_tiny_sizes() -> None:
    from bench import catalog, catalog_report  # noqa: PLC0415

    level = catalog.function_level(assets=300, failure_percent=10.0)
    assert level.select_data_source.items == level.select_search.items == 300
    assert [step.join for step in level.select_data_source.steps][-1] is True
    assert sum(step.pages for step in level.select_data_source.steps) == 6 + 1  # 50 a page, + ListDataSourceRuns
    assert level.summarize.outcome["total"] == 300
    assert level.summarize.outcome["failed"] == 30
    assert all(
        0 < step.seconds < level.timeout_s for run in (level.select_search, level.summarize) for step in run.steps
    )
    assert level.bound.select_steps > len(level.select_data_source.steps)
    assert level.bound.id_set_mb > 50  # 1,000,000 strings and their set
    results = catalog.Results(catalog.Options(assets=300, dry_run_sizes=()), function_level=level)
    text = "\n".join(catalog_report.section(results, "note"))
    assert "select data source" in text
    assert "At 1,000,000 assets" in text


def test_catalog_poll_count_follows_the_backoff() -> None:
    from bench.catalog_report import _poll_count  # noqa: PLC0415

    # waits 10, 20, 40, 80, 120, 120, ...: cumulative 10, 30, 70, 150, 270, 390, 510, 630
    assert [_poll_count(m) for m in (0.1, 1, 5, 10)] == [1, 3, 6, 8]


@pytest.mark.slow
def test_catalog_dry_run_of_a_tiny_data_source_batch() -> None:
    from bench import catalog, catalog_report  # noqa: PLC0415

    run_ = catalog.dry_run(catalog.DryRunSettings(assets=12))
    assert run_.stack_status == "CREATE_COMPLETE", run_.reason
    assert run_.execution_status == "SUCCEEDED"
    assert run_.summary["counts"] == {"SUCCEEDED": 12}
    assert run_.calls["StartMetadataGenerationRun"] == 12
    assert run_.states["Mark"] == run_.states["Unmark"] == 12
    assert {i.function for i in run_.invocations} == {"worker", "custom resource handler"}
    assert all(i.peak_mb is not None for i in run_.invocations)
    results = catalog.Results(catalog.Options(assets=0, dry_run_sizes=(12,)), dry_runs=[run_])
    text = catalog_report.render(results, "python -m bench run --catalog-only")
    assert "per 1,000" in text
