"""Markdown for the catalog section: every figure comes from :mod:`bench.catalog`; prices and the
latency of AWS calls are the stated assumptions below."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.catalog import DryRun, FunctionLevel, Results, WorkerRun
from bench.markdown import table as _table

#: us-east-1 list prices, as published on the pages named (date assumed: 2025-06; check before
#: quoting). Edit here; the report prints them next to the figures.
PRICES_DATE = "2025-06 (assumed)"
SFN_PER_TRANSITION = 0.025 / 1000  # aws.amazon.com/step-functions/pricing: Standard, $0.025 per 1,000
LAMBDA_PER_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # aws.amazon.com/lambda/pricing, first tier
LAMBDA_PER_REQUEST = 0.20 / 1_000_000  # aws.amazon.com/lambda/pricing
S3_PER_PUT = 0.005 / 1000  # aws.amazon.com/s3/pricing: S3 Standard PUT, COPY, POST, LIST
S3_PER_GET = 0.0004 / 1000  # aws.amazon.com/s3/pricing: S3 Standard GET, SELECT and all other requests
LOGS_PER_GB = 0.50  # aws.amazon.com/cloudwatch/pricing: vended logs delivered to CloudWatch Logs, first 10 TB
#: Bytes of one ERROR-level Step Functions log event without execution data (assumed).
LOG_EVENT_BYTES = 1024
#: States one poll adds (the last poll goes on to Predictions? instead of a schedule Pass).
POLL_STATES = ("Wait", "Poll", "Ended?")
SCHEDULE_STATES = ("Double", "Cap", "Keep", "Floor")
PAYLOAD_LIMIT = 256 * 1024


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _fits(used: float, limit: float) -> str:
    margin = 1 - used / limit if limit else 0
    verdict = "fits" if margin >= 0.25 else ("fits, thin margin" if margin >= 0 else "**exceeds**")
    return f"{verdict} ({margin:.0%} left)"


def _steps_text(run: WorkerRun) -> str:
    parts = []
    for number, step in enumerate(run.steps, start=1):
        what = "join" if step.join else (f"{step.pages:,} pages" if run.action.startswith("select") else "")
        if run.action == "summarize":
            what = f"{step.records:,} records"
        parts.append(f"{number}: {what}, {step.seconds:.0f} s, {step.peak_mb:.1f} MB")
    return "; ".join(parts)


def function_section(level: FunctionLevel) -> list[str]:
    timeout, memory, baseline = level.timeout_s, level.memory_mb, level.runtime_baseline_mb
    rows = []
    for run in (level.select_data_source, level.select_search, level.summarize):
        joins = [s for s in run.steps if s.join]
        rows.append(
            [
                run.action,
                f"{run.items:,}",
                f"{len(run.steps)}" + (f" ({len(run.steps) - len(joins)} paging + {len(joins)} join)" if joins else ""),
                f"{run.max_step_seconds:.0f} s: {_fits(run.max_step_seconds, timeout)}",
                f"{run.peak_mb:.1f} MB (+{baseline} runtime = {run.peak_mb + baseline:.0f} MB): "
                f"{_fits(run.peak_mb + baseline, memory)}",
                f"{run.lambda_seconds:.0f} s",
                f"{run.state_bytes_max:,} B of {PAYLOAD_LIMIT:,}",
                f"{run.wall_seconds:.1f} s",
            ]
        )
    b = level.bound
    summarize_steps = str(b.summarize_steps) if b.summarize_steps > 0 else "**does not finish** (see note)"
    bound_rows = [
        [
            "select (data source) steps",
            f"{b.select_steps:,}",
            f"{b.select_lambda_seconds / 60:.0f} min of Lambda in all",
        ],
        [
            "join: one step, no time check",
            f"{b.join_seconds:.0f} s",
            f"{_fits(b.join_seconds, timeout)} of {timeout} s",
        ],
        [
            "join: id set (measured at 1,000,000)",
            f"{b.id_set_mb:.0f} MB",
            f"join peak ≈ {b.join_peak_mb:.0f} MB + {baseline} runtime: "
            f"{_fits(b.join_peak_mb + baseline, memory)} of {memory} MB",
        ],
        ["summarize steps", summarize_steps, f"{b.summarize_lambda_seconds / 60:.0f} min of Lambda in all"],
    ]
    return [
        f"The worker (`lambda_src/metadata_generation_run/worker.py`) as the workflow calls it, a step after another, "
        f"each with a Lambda context whose remaining time follows the worker's budget: timeout {timeout} s "
        f"(`contract.WORKER_TIMEOUT_SECONDS`), memory {memory} MB (`contract.WORKER_MEMORY_MB`); a step stops paging "
        f"or reading with {level.reserve_s} s left (`worker.RESERVE_SECONDS`). A step's time = the worker's own CPU "
        f"time measured here x {1769 / memory:.2f} (Lambda gives {memory} MB {memory / 1769:.2f} of a vCPU; measured "
        "with tracemalloc on, so an overestimate) + the latency below per AWS call. S3 is moto's; DataZone a "
        "paging stub (50 a page, opaque tokens, O(page) per call)"
        + (
            f"; the local endpoint builds a finished run's {level.assets:,} activities once, on the first page "
            f"({level.endpoint_page_s[0]:.2f} s), then answers a page in {level.endpoint_page_s[1] * 1000:.2f} ms."
            if level.endpoint_page_s is not None
            else "."
        )
        + f" Memory = tracemalloc's peak during the step above what was allocated before it, moto's copy of what the "
        f"step writes included (an upper bound of the worker's own); + {baseline} MB for Lambda's Python runtime with "
        "boto3 (the local harness's RUNTIME_BASELINE_MB). Margin: fits with ≥ 25 % left.",
        "",
        *_table(
            [
                "step loop",
                "items",
                "steps",
                "longest step vs timeout",
                "peak memory of a step vs memory",
                "Lambda time in all",
                "largest state returned",
                "wall here",
            ],
            rows,
        ),
        "",
        "Steps (Lambda seconds, peak above the runtime): "
        + " · ".join(f"**{run.action}**: {_steps_text(run)}" for run in (level.select_data_source, level.summarize)),
        "",
        f"Result file summarized: one `SUCCEEDED_0.json` of "
        f"{level.summarize.outcome.get('resultFileBytes', 0) / 1e6:.0f} MB ({level.summarize.items:,} child "
        f"executions as the ResultWriter lists them, {level.failure_percent:g} % with a FAILED record), read as a "
        f"stream; summary: {level.summarize.outcome.get('succeeded'):,} succeeded, "
        f"{level.summarize.outcome.get('failed'):,} failed. S3 requests of the worker: select "
        f"{dict(level.select_data_source.s3_requests)}, summarize {dict(level.summarize.s3_requests)}.",
        "",
        f"**At {b.assets:,} assets** (DataZone's assets-per-domain quota), computed from the run above:",
        "",
        *_table(["figure", "value", "against the limits"], bound_rows),
        "",
        *[f"- {note}" for note in b.notes],
        "",
        "Latency assumed per AWS call:",
        "",
        *_table(["call", "assumed"], [list(row) for row in level.latency.rows()]),
    ]


def _poll_count(minutes: float, first: int = 10, cap: int = 120) -> int:
    """Polls of one run that takes ``minutes``: waits of ``first`` s doubling to ``cap`` s; the
    first poll at or after the run's end sees it (constructs_lib._batch_definition)."""
    waited, wait, polls = 0, first, 0
    while True:
        waited += wait
        polls += 1
        if waited >= minutes * 60:
            return polls
        wait = min(cap, wait * 2) if wait < cap else wait


@dataclass(frozen=True)
class PerAsset:
    fixed_states: float
    poll_states: float
    polls: float
    retries: float


def per_asset(run: DryRun) -> PerAsset:
    assets = max(1, run.assets)
    polls = run.states.get("Poll", 0)
    loop = sum(run.states.get(s, 0) for s in (*POLL_STATES, *SCHEDULE_STATES))
    total = sum(run.states.values())
    return PerAsset((total - loop) / assets, loop / assets, polls / assets, run.retries / assets)


def _transitions(shape: PerAsset, minutes: float) -> float:
    polls = _poll_count(minutes)
    return shape.fixed_states + len(POLL_STATES) * polls + (polls - 1) + shape.retries


def dry_run_section(runs: list[DryRun]) -> list[str]:
    rows = []
    for run in runs:
        shape = per_asset(run)
        calls = ", ".join(f"{op} {count / max(1, run.assets):.2f}" for op, count in sorted(run.calls.items()))
        by_kind: dict[str, list[float]] = {}
        for invoked in run.invocations:
            if invoked.peak_mb is not None:
                by_kind.setdefault(f"{invoked.function} ({invoked.action})", []).append(invoked.peak_mb)
        peaks = "; ".join(
            f"{kind}: {len(values):,} invocations, peak {max(values):.1f} MB (median {statistics.median(values):.1f})"
            for kind, values in sorted(by_kind.items())
        )
        failed = sum(1 for i in run.invocations if i.failed)
        rows += [
            [f"**{run.settings.assets:,} assets**", ""],
            [
                "stack / execution",
                f"{run.stack_status}{f' ({run.reason})' if run.reason else ''} / {run.execution_status}"
                + (f" (stopped waiting: {run.limited_by})" if run.limited_by else ""),
            ],
            [
                "summary",
                f"total {run.summary.get('total')}, succeeded {run.summary.get('succeeded')}, failed "
                f"{run.summary.get('failed')}, counts {run.summary.get('counts')}",
            ],
            [
                "wall time (synthesis excluded)",
                f"{run.wall_seconds:.0f} s ({run.wall_seconds / 60:.1f} min); the deploy returned after "
                f"{run.deploy_wall_seconds:.0f} s",
            ],
            [
                "simulated time",
                f"{run.simulated_seconds / 60:.1f} min on the endpoint's clock"
                + (
                    f"; the replay reports {run.replay_simulated_seconds / 60:.1f} min for the deploy"
                    if run.replay_simulated_seconds is not None
                    else ""
                ),
            ],
            [
                "throughput here",
                f"{run.assets / max(1.0, run.wall_seconds):.2f} assets per real second; at that rate 10,000 assets "
                f"take ≈ {10_000 / max(1e-9, run.assets / max(1.0, run.wall_seconds)) / 60:.0f} min wall (aim: 10)",
            ],
            [
                "simulated clock",
                f"{run.clock.get('sleeps', 0):,} sleeps, {run.clock.get('advances', 0):,} advances, "
                f"{run.clock.get('busy_checks', 0):,} checks that found a thread at work, at most "
                f"{run.clock.get('max_sleepers', 0)} sleepers at once",
            ],
            [
                "false advances seen",
                f"{run.clock.get('late_first_polls', 0):,} of {run.clock.get('first_polls', 0):,} first polls came "
                "later than Start + poll interval + one call's latency"
                + (
                    f" (the latest by {run.clock['latest_ms']} ms): virtual time moved while a child's response "
                    "was in flight or its states ran"
                    if run.clock.get("late_first_polls")
                    else ": virtual time never moved while a child's response was in flight or its states ran"
                ),
            ],
            ["DataZone calls per asset", calls],
            [
                "states entered per asset",
                f"{sum(run.states.values()) / max(1, run.assets):.2f} + {shape.retries:.2f} retries = "
                f"{run.transitions / max(1, run.assets):.2f} transitions; {shape.polls:.2f} polls per asset "
                f"({shape.fixed_states:.2f} states outside the poll loop)",
            ],
            ["Lambda invocations (peak Python memory above the runtime)", peaks or "not measured"],
            ["failed invocations (timeout, out of memory, error)", f"{failed:,}"],
            ["function memory (template)", ", ".join(f"{k} {v} MB" for k, v in sorted(run.function_memory_mb.items()))],
        ]
    out = [
        "One `MetadataGenerationBatch(domain_id=..., project_id=..., assets=AssetSelection.data_source(...))`, every "
        "other prop at its default (max_concurrency 10, timeout 30 min, wait_for_completion True), deployed by "
        "`LocalCloudFormation` + `LocalStepFunctions` (moto runs the synthesized workflow, the worker and the handler "
        "run as their packaged Lambda assets) against `LocalDataZone` seeded with a data source whose latest run "
        "imported N generated assets. Fast run-duration knob: "
        + (
            f"a run is SUBMITTED {runs[0].settings.submitted_seconds:g} s then IN_PROGRESS "
            f"{runs[0].settings.in_progress_seconds:g} s (simulated). Time is simulated (the replay's "
            "`EventClock`): every thread, moto's workflow included, on one clock that jumps to the next deadline "
            "only when all of them wait, so timeouts fire at their simulated second and the wall time is the "
            "work done here."
            if runs
            else "-"
        )
        + " The wall time includes waiting for the execution after the deploy returned (a batch longer than its "
        "timeout goes on after the deploy by default).",
        "",
        *_table(["figure", "value"], rows),
    ]
    names = sorted({name for run in runs for name in run.states})
    if runs:
        out += [
            "",
            "States entered per asset, by name: "
            + "; ".join(
                f"{run.settings.assets:,}: "
                + ", ".join(f"{n} {run.states.get(n, 0) / max(1, run.assets):.2f}" for n in names if run.states.get(n))
                for run in runs
            )
            + ".",
        ]
    return out


def cost_section(results: Results) -> list[str]:
    runs = [run for run in results.dry_runs if run.states]
    level = results.function_level
    if not runs:
        return ["No dry run measured the states per asset: no cost computed."]
    run = max(runs, key=lambda r: r.assets)
    shape = per_asset(run)
    arch_price = LAMBDA_PER_GB_S["arm64"]
    worker_gb = 512 / 1024
    worker_s = 0.0
    worker_invocations = 0.0
    s3_puts = 2.0 * 1000  # markers: Mark (empty) and MarkRun (run id); Unmark is a DELETE (free)
    s3_gets = 0.0
    if level is not None:
        worker_gb = level.memory_mb / 1024
        per_1000 = 1000 / max(1, level.assets)
        worker_s = (level.select_data_source.lambda_seconds + level.summarize.lambda_seconds) * per_1000
        worker_invocations = (len(level.select_data_source.steps) + len(level.summarize.steps)) * per_1000
        for worker_run in (level.select_data_source, level.summarize):
            for name, count in worker_run.s3_requests.items():
                if name == "get_object":
                    s3_gets += count * per_1000
                else:
                    s3_puts += count * per_1000
    handler = [i for i in run.invocations if i.function == "custom resource handler"]
    handler_s = sum(i.seconds for i in handler)
    handler_memory = max((v for k, v in run.function_memory_mb.items() if "Handler" in k or "Run" in k), default=256)
    rows = []
    for minutes in results.options.run_minutes:
        transitions = _transitions(shape, minutes) * 1000
        lambda_cost = worker_s * worker_gb * arch_price + worker_invocations * LAMBDA_PER_REQUEST
        handler_cost = handler_s * handler_memory / 1024 * arch_price + len(handler) * LAMBDA_PER_REQUEST
        s3_cost = s3_puts * S3_PER_PUT + (s3_gets + 2) * S3_PER_GET
        log_bytes = (shape.retries * 1000 + 0) * LOG_EVENT_BYTES
        logs_cost = log_bytes / 1e9 * LOGS_PER_GB
        sfn_cost = transitions * SFN_PER_TRANSITION
        total = sfn_cost + lambda_cost + handler_cost + s3_cost + logs_cost
        rows.append(
            [
                f"{minutes:g} min",
                f"{_poll_count(minutes)} polls → {transitions / 1000:.1f} per asset, {transitions:,.0f}: "
                f"${sfn_cost:.3f}",
                f"{worker_invocations:.1f} steps, {worker_s:.1f} s x {worker_gb:g} GB: ${lambda_cost:.5f}",
                f"{len(handler)} invocations, {handler_s:.0f} s x {handler_memory / 1024:g} GB (per batch): "
                f"${handler_cost:.5f}",
                f"{s3_puts:,.0f} PUT + {s3_gets + 2:,.0f} GET (+ 1,000 DELETE, free): ${s3_cost:.4f}",
                f"{log_bytes / 1e6:.2f} MB: ${logs_cost:.5f}",
                f"**${total:.2f}**",
            ]
        )
    return [
        f"Per 1,000 assets of a data-source batch, for runs of realistic duration. State transitions per asset = "
        f"{shape.fixed_states:.2f} states outside the poll loop + {shape.retries:.2f} retries (both measured in the "
        f"{run.settings.assets:,}-asset dry run) + {len(POLL_STATES)} per poll ({', '.join(POLL_STATES)}) + 1 schedule "
        "Pass between polls; the poll count follows the workflow's schedule (10 s doubling to 120 s; the first poll at "
        "or after the run's end sees it). Worker: the Lambda seconds and steps of select and summarize measured at the "
        "function level, per 1,000. Handler: what the custom resource's Lambda did in the dry run (onEvent and "
        "isComplete every 10 s while the deploy waits: per batch, at most its timeout; not per asset; the provider "
        "framework's own Node functions, as many again, are not included). S3: 2 marker PUTs per asset (Mark, "
        "MarkRun), Unmark a DELETE (free), the worker's part files, items.json and summary.json, the ItemReader's "
        "and the worker's GETs. CloudWatch Logs at level ERROR without execution data: one event per retried or "
        f"failed task ({LOG_EVENT_BYTES:,} B assumed); none for an asset that succeeds on its first try. "
        "DataZone's own charges are not included.",
        "",
        *_table(
            [
                "run duration",
                "Step Functions Standard",
                "Lambda: worker",
                "Lambda: handler",
                "S3 requests",
                "CloudWatch Logs",
                "total per 1,000",
            ],
            rows,
        ),
        "",
        f"Prices: us-east-1 list prices as of {PRICES_DATE}: Step Functions Standard ${SFN_PER_TRANSITION * 1000:.3f} "
        "per 1,000 state transitions (aws.amazon.com/step-functions/pricing); Lambda "
        f"${LAMBDA_PER_GB_S['arm64']:.10f} per GB-s on arm64 (${LAMBDA_PER_GB_S['x86_64']:.10f} on x86_64) and "
        f"${LAMBDA_PER_REQUEST * 1e6:.2f} per million requests (aws.amazon.com/lambda/pricing); S3 Standard "
        f"${S3_PER_PUT * 1000:.3f} per 1,000 PUT/COPY/POST/LIST, ${S3_PER_GET * 1000:.4f} per 1,000 GET, DELETE free "
        f"(aws.amazon.com/s3/pricing); CloudWatch vended logs ${LOGS_PER_GB:.2f} per GB ingested "
        "(aws.amazon.com/cloudwatch/pricing). Free tiers ignored.",
    ]


def section(results: Results, command_note: str, heading: str = "##") -> list[str]:
    out = [f"{heading} Catalog: whole catalogs (issue 15)", "", command_note, ""]
    if results.function_level is not None:
        out += [
            f"{heading}# Worker steps at {results.function_level.assets:,} assets (function level)",
            "",
            *function_section(results.function_level),
            "",
        ]
    if results.dry_runs:
        out += [
            f"{heading}# Local dry run of a data-source batch, default props",
            "",
            *dry_run_section(results.dry_runs),
            "",
        ]
    out += [f"{heading}# Cost per 1,000 assets, realistic run durations", "", *cost_section(results), ""]
    return out


def render(results: Results, command: str) -> str:
    from bench import environment  # noqa: PLC0415

    facts = environment.describe()
    lines = [
        "# Benchmark: MetadataGenerationBatch over whole catalogs",
        "",
        f"Generated by `{command}` in {results.seconds / 60:.1f} minutes. Do not edit by hand: run the command again.",
        "",
        *_table(["", ""], [[key, value] for key, value in facts.items()]),
        "",
        *section(results, "The catalog section of `python -m bench run` (`--catalog-only` runs it alone).", "#"),
    ]
    return "\n".join(lines)
