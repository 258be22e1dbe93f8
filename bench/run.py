"""The whole benchmark: timed synthesis, template figures, cold import, limits, deploy-time cost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import batch, catalog, cold_import, cost, environment
from bench.limits import Search, from_json
from bench.scenarios import Side
from bench.template_metrics import TemplateMetrics, load_template, measure
from bench.timing import NO_CDK_VALIDATION, REPO, Sample, Series, child_env, run_child

FULL_SIZES = (1, 10, 100)
QUICK_SIZES = (1, 10)


@dataclass(frozen=True)
class Options:
    sizes: tuple[int, ...] = FULL_SIZES
    repetitions: int = 5
    timed_outputs: tuple[bool, ...] = (True, False)
    import_repetitions: int = 15
    minutes: float = 10.0
    limits: bool = True
    #: N values timed again with CDK's built-in CloudFormation validation off (empty: skip).
    unvalidated_sizes: tuple[int, ...] = (1, 100)
    warmup: bool = True
    #: The batch section: N explicit ids per synthesis (empty: skip), repetitions, dry-run assets (0: skip).
    batch_sizes: tuple[int, ...] = batch.SYNTH_SIZES
    batch_repetitions: int = 3
    dry_run_assets: int = batch.DryRunSettings.assets
    #: The catalog section (issue 15): worker steps at N assets, dry runs, cost. None: skip it.
    catalog: catalog.Options | None = field(default_factory=catalog.Options)
    #: Only the catalog section (everything above is skipped).
    catalog_only: bool = False


@dataclass
class Results:
    options: Options
    facts: dict[str, str]
    series: dict[tuple[int, bool], Series] = field(default_factory=dict)
    #: The same, with CDK_VALIDATION=false (outputs on only).
    unvalidated: dict[int, Series] = field(default_factory=dict)
    cold: cold_import.ColdImport | None = None
    limits: list[Search] = field(default_factory=list)
    costs: list[cost.CostResult] = field(default_factory=list)
    #: {side: {"N/on|off": {"build": requests, "synth": requests}}}
    jsii_calls: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    assumptions: cost.Assumptions = field(default_factory=cost.Assumptions)
    batch_synth: list[batch.SynthRow] = field(default_factory=list)
    batch_dry_run: batch.DryRun | None = None
    catalog: catalog.Results | None = None
    load_before: str = ""
    load_after: str = ""
    seconds: float = 0.0

    def metrics(self, side: Side, runs: int, outputs: bool) -> TemplateMetrics:
        return self.series[(runs, outputs)].metrics[side]

    def per_run(self, side: Side, outputs: bool, attribute: str) -> float:
        low, high = min(self.options.sizes), max(self.options.sizes)
        first, last = self.metrics(side, low, outputs), self.metrics(side, high, outputs)
        return float(getattr(last, attribute) - getattr(first, attribute)) / (high - low)

    def search(self, side: Side, outputs: bool) -> Search | None:
        return next((s for s in self.limits if s.side == side.value and s.outputs == outputs), None)


Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timed_synth(results: Results, scratch: Path, log: Log) -> Path:
    """Alternating pairs; returns the kept cloud assembly of ours at the smallest N (for cost and import)."""
    options = results.options
    keep = scratch / "ours-smallest"
    if options.warmup:  # fills the OS file cache and jsii's package cache; not recorded
        for side in Side:
            with tempfile.TemporaryDirectory(dir=scratch) as warm_dir:
                run_child(side, 1, True, warm_dir)
    for repetition in range(options.repetitions):
        for runs in options.sizes:
            for outputs in options.timed_outputs:
                cell = results.series.setdefault((runs, outputs), Series(runs, outputs))
                order = (Side.OURS, Side.PEER) if repetition % 2 == 0 else (Side.PEER, Side.OURS)
                samples: dict[Side, Sample] = {}
                for side in order:
                    outdir = Path(tempfile.mkdtemp(dir=scratch))
                    samples[side] = run_child(side, runs, outputs, str(outdir))
                    if side not in cell.metrics:
                        cell.metrics[side] = measure(outdir)
                    if side is Side.OURS and runs == min(options.sizes) and not keep.exists():
                        outdir.rename(keep)
                    else:
                        shutil.rmtree(outdir)
                cell.pairs.append((samples[Side.OURS], samples[Side.PEER]))
                log(
                    f"  rep {repetition + 1}/{options.repetitions} N={runs} outputs={'on' if outputs else 'off'}: "
                    f"ours {samples[Side.OURS].wall_s:.2f} s, peer {samples[Side.PEER].wall_s:.2f} s"
                )
    _untimed_metrics(results, scratch)
    return keep


def _untimed_metrics(results: Results, scratch: Path) -> None:
    """Template figures for the outputs settings that were not timed."""
    for runs in results.options.sizes:
        for outputs in (True, False):
            cell = results.series.setdefault((runs, outputs), Series(runs, outputs))
            for side in Side:
                if side not in cell.metrics:
                    with tempfile.TemporaryDirectory(dir=scratch) as extra_dir:
                        run_child(side, runs, outputs, extra_dir)
                        cell.metrics[side] = measure(extra_dir)


def _timed_unvalidated(results: Results, scratch: Path, log: Log) -> None:
    options = results.options
    for repetition in range(options.repetitions):
        for runs in options.unvalidated_sizes:
            cell = results.unvalidated.setdefault(runs, Series(runs, True))
            order = (Side.OURS, Side.PEER) if repetition % 2 == 0 else (Side.PEER, Side.OURS)
            samples: dict[Side, Sample] = {}
            for side in order:
                with tempfile.TemporaryDirectory(dir=scratch) as outdir:
                    samples[side] = run_child(side, runs, True, outdir, NO_CDK_VALIDATION)
            cell.pairs.append((samples[Side.OURS], samples[Side.PEER]))
            log(
                f"  rep {repetition + 1}/{options.repetitions} N={runs} CDK_VALIDATION=false: "
                f"ours {samples[Side.OURS].wall_s:.2f} s, peer {samples[Side.PEER].wall_s:.2f} s"
            )


def _limits(log: Log) -> list[Search]:
    found = []
    for side in Side:
        for outputs in (False, True):
            started = time.perf_counter()
            done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
                [sys.executable, "-m", "bench.limits", side.value, "on" if outputs else "off"],
                cwd=REPO,
                env=child_env(),
                capture_output=True,
                text=True,
                check=True,
            )
            line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{"))
            search = from_json(json.loads(line))
            found.append(search)
            log(
                f"  limits {side.value} outputs={'on' if outputs else 'off'}: max N={search.max_runs} "
                f"({len(search.probes)} probes, {time.perf_counter() - started:.0f} s)"
            )
    return found


def _jsii_calls(options: Options) -> dict[str, dict[str, dict[str, int]]]:
    sizes = [str(min(options.sizes)), str(max(options.sizes))]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "bench.jsii_calls", *sizes],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{"))
    counted: dict[str, dict[str, dict[str, int]]] = json.loads(line)
    return counted


def _handler_asset(assembly: Path) -> Path:
    template = load_template(assembly)
    metrics = measure(assembly)
    for asset in metrics.assets:
        handlers = {template["Resources"][fn]["Properties"].get("Handler", "") for fn in asset.functions}
        module = f"{cold_import.ENTRY_MODULE}."
        if (
            any(str(handler).startswith(module) for handler in handlers)
            and (assembly / asset.path / f"{cold_import.ENTRY_MODULE}.py").exists()
        ):
            return assembly / asset.path
    raise RuntimeError(f"no Python handler asset in {assembly}")


def _costs(results: Results, assembly: Path, scratch: Path) -> list[cost.CostResult]:
    assert results.cold is not None
    ours = cost.ours(
        load_template(assembly),
        _handler_asset(assembly),
        results.options.minutes,
        results.cold.cold_init_ms,
        results.assumptions,
    )
    with tempfile.TemporaryDirectory(dir=scratch) as outdir:
        run_child(Side.PEER, 1, True, outdir)
        peer = cost.peer(load_template(outdir), results.options.minutes, results.assumptions)
    return [ours, peer]


def run(options: Options, log: Log = _stderr) -> Results:
    started = time.perf_counter()
    results = Results(options=options, facts=environment.describe(), load_before=environment.load())
    if options.catalog_only:
        if options.catalog is not None:
            results.catalog = catalog.run(options.catalog, log)
        results.load_after = environment.load()
        results.seconds = time.perf_counter() - started
        return results
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_name:
        scratch = Path(scratch_name)
        log(f"synthesis: N={list(options.sizes)}, {options.repetitions} alternating pairs each")
        assembly = _timed_synth(results, scratch, log)
        if options.unvalidated_sizes:
            log(f"synthesis without CDK's built-in validation: N={list(options.unvalidated_sizes)}")
            _timed_unvalidated(results, scratch, log)
        log("handler cold import")
        results.cold = cold_import.measure(_handler_asset(assembly), options.import_repetitions)
        log("jsii round trips")
        results.jsii_calls = _jsii_calls(options)
        log(f"deploy-time cost of one {options.minutes:g}-minute run")
        results.costs = _costs(results, assembly, scratch)
        if options.limits:
            log("limits (binary search per side and outputs setting)")
            results.limits = _limits(log)
        if options.batch_sizes:
            log(f"batch synthesis: N={list(options.batch_sizes)} explicit ids, {options.batch_repetitions} each")
            results.batch_synth = batch.synth_scaling(options.batch_sizes, options.batch_repetitions, log)
        if options.dry_run_assets:
            log(f"batch dry run: {options.dry_run_assets} assets")
            results.batch_dry_run = batch.dry_run(batch.DryRunSettings(assets=options.dry_run_assets))
    if options.catalog is not None:
        results.catalog = catalog.run(options.catalog, log)
    results.load_after = environment.load()
    results.seconds = time.perf_counter() - started
    return results
