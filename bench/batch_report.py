"""Markdown for the batch section of docs/benchmark.md: every figure comes from :mod:`bench.batch`."""

from __future__ import annotations

from dataclasses import dataclass

from bench.batch import POLL_LOOP_STATES, DryRun, SynthRow
from bench.markdown import table as _table
from bench.scenarios import Side

#: Issue 10: 10 and 10,000 explicit ids may differ by less than this many template bytes.
TEMPLATE_GROWTH_LIMIT = 2048
#: Step Functions Standard list price per state transition (us-east-1, an assumption the
#: report prints; state transitions themselves are counted).
PRICE_PER_TRANSITION_USD = 0.000025


@dataclass(frozen=True)
class BatchTarget:
    text: str
    measured: str
    met: bool


def _ours(rows: list[SynthRow]) -> list[SynthRow]:
    return sorted((row for row in rows if row.side is Side.OURS), key=lambda row: row.ids)


def targets(rows: list[SynthRow], run: DryRun | None) -> list[BatchTarget]:
    found: list[BatchTarget] = []
    ours = [row for row in _ours(rows) if row.template_bytes is not None]
    if len(ours) >= 2:
        low, high = ours[0], ours[-1]
        assert low.template_bytes is not None
        assert high.template_bytes is not None
        growth = high.template_bytes - low.template_bytes
        found.append(
            BatchTarget(
                f"template bytes for {low.ids:,} and {high.ids:,} ids differ by < {TEMPLATE_GROWTH_LIMIT:,}",
                f"{low.template_bytes:,} → {high.template_bytes:,} bytes ({growth:+,})",
                abs(growth) < TEMPLATE_GROWTH_LIMIT,
            )
        )
        iam = sorted({row.max_role_policy_chars or 0 for row in ours})
        resources = sorted({row.resources or 0 for row in ours})
        found.append(
            BatchTarget(
                "IAM size and resources independent of the number of ids (one custom resource)",
                f"IAM max per role {iam} characters, resources {resources}, for N = "
                + ", ".join(f"{row.ids:,}" for row in ours),
                len(iam) == 1 and len(resources) == 1,
            )
        )
    if run is not None:
        settings, summary = run.settings, run.summary
        counts = summary.get("counts") or {}
        found.append(
            BatchTarget(
                f"dry run of {settings.assets:,} assets: every asset SUCCEEDED, 0 counted as failed, "
                "summary counts match",
                f"stack {run.stack_status}; summary total {summary.get('total')}, succeeded "
                f"{summary.get('succeeded')}, failed {summary.get('failed')}, counts {counts}; runs at the endpoint "
                f"{run.run_statuses}",
                run.stack_status == "CREATE_COMPLETE"
                and summary.get("total") == settings.assets
                and summary.get("failed") == 0
                and counts == {"SUCCEEDED": settings.assets}
                and run.run_statuses == {"SUCCEEDED": settings.assets},
            )
        )
        found.append(
            BatchTarget(
                "429 and 402 answers retried, never counted as failures; predictions accepted once per asset",
                f"{run.throttled:,} answers 429, {run.quota_refused:,} answers 402, {run.retries:,} retries; "
                f"AcceptPredictions per asset: {_per_asset(run.accepted_per_asset)}",
                run.throttled > 0 and summary.get("failed") == 0 and run.accepted_per_asset == {1: settings.assets},
            )
        )
    return found


def _per_asset(histogram: dict[int, int]) -> str:
    return ", ".join(f"{count:,} assets x{times}" for times, count in sorted(histogram.items())) or "none"


def synth_table(rows: list[SynthRow]) -> list[str]:
    body = []
    for row in sorted(rows, key=lambda r: (r.ids, r.side.value)):
        body.append(
            [
                f"{row.ids:,}",
                row.side.value,
                f"{row.median_wall_s:.1f}" if row.wall_s else "-",
                "synth error: " + row.error if row.error else "deployable as far as synth can tell",
                f"{row.resources:,}" if row.resources is not None else "-",
                f"{row.template_bytes:,}" if row.template_bytes is not None else "-",
                f"{row.max_role_policy_chars:,}" if row.max_role_policy_chars is not None else "-",
                f"{row.ids_asset_bytes:,}" if row.ids_asset_bytes else "-",
            ]
        )
    header = [
        "ids",
        "side",
        "synth wall s (median)",
        "outcome",
        "resources",
        "template bytes",
        "IAM chars, max per role",
        "ids asset bytes",
    ]
    return _table(header, body)


def dry_run_section(run: DryRun) -> list[str]:
    settings = run.settings
    per_asset = settings.assets or 1
    fixed = sum(count for state, count in run.states.items() if state not in POLL_LOOP_STATES)
    polls = run.polls
    workflow_calls = ", ".join(f"{count:,} {name}" for name, count in sorted(run.calls.items()))
    return [
        f"One `MetadataGenerationBatch` over {settings.assets:,} explicit ids, "
        f"`max_concurrency={settings.max_concurrency}`, "
        f"predictions accepted (`AcceptPredictions.all()`), `timeout` {settings.timeout_minutes} min, deployed with "
        "`LocalCloudFormation` while moto executes the synthesized state machine against the local DataZone endpoint. "
        f"Endpoint: {settings.throttle_fraction:.0%} of all calls answer 429 (every "
        f"{round(1 / settings.throttle_fraction) if settings.throttle_fraction else '-'}th), Start answers 402 beyond "
        f"{settings.max_active_runs} active runs, a run is SUBMITTED {settings.submitted_seconds:g} s then IN_PROGRESS "
        f"{settings.in_progress_seconds:g} s (simulated), the clock runs {settings.speed:g}x real time.",
        "",
        *_table(
            ["figure", "value"],
            [
                ["stack status", run.stack_status + (f" ({run.reason})" if run.reason else "")],
                ["summary counts", str(run.summary.get("counts"))],
                ["succeeded / failed (summary)", f"{run.summary.get('succeeded')} / {run.summary.get('failed')}"],
                ["wall time of the deploy (synthesis excluded)", f"{run.wall_seconds:.1f} s"],
                ["simulated duration", f"{run.simulated_seconds / 60:.1f} min"],
                [
                    "DataZone calls",
                    f"{run.datazone_calls:,} ({run.datazone_calls / per_asset:.2f} per asset): {workflow_calls}",
                ],
                ["answers 429 / 402", f"{run.throttled:,} / {run.quota_refused:,}"],
                [
                    "workflow state transitions",
                    f"{run.transitions:,} ({run.transitions / per_asset:.2f} per asset): {sum(run.states.values()):,} "
                    f"states entered + {run.retries:,} retries",
                ],
                ["our handler's invocations (onEvent + isComplete polls)", f"{run.handler_invocations:,}"],
            ],
        ),
        "",
        "States entered, by name: "
        + ", ".join(f"{name} {count:,}" for name, count in sorted(run.states.items(), key=lambda kv: -kv[1]))
        + ".",
        "",
        "### Cost per 1,000 assets",
        "",
        *cost_lines(run, fixed, polls),
    ]


def cost_lines(run: DryRun, fixed: int, polls: int) -> list[str]:
    scale = 1000 / (run.settings.assets or 1)
    transitions = run.transitions * scale
    fixed_per_asset = (fixed + run.retries) / (run.settings.assets or 1)
    polls_per_asset = polls / (run.settings.assets or 1)
    invocations = run.handler_invocations * scale
    return [
        *_table(
            ["what", "per 1,000 assets (this run)", "how it grows"],
            [
                [
                    "Step Functions state transitions",
                    f"{transitions:,.0f} (≈ ${transitions * PRICE_PER_TRANSITION_USD:.2f} at "
                    f"${PRICE_PER_TRANSITION_USD * 1000:.3f} per 1,000)",
                    f"{fixed_per_asset:.2f} per asset + {len(POLL_LOOP_STATES)} per poll; this run polled "
                    f"{polls_per_asset:.2f} times per asset (one poll per 10 s a run takes)",
                ],
                [
                    "DataZone API calls",
                    f"{run.datazone_calls * scale:,.0f}",
                    "Start + Accept per asset, one Get per poll, plus every throttled attempt",
                ],
                [
                    "Lambda invocations",
                    f"{2 * invocations:,.0f} ({invocations:,.0f} ours + as many of the framework's)",
                    "2 per 10 s the deploy waits (framework isComplete + ours), not per asset",
                ],
            ],
        ),
        "",
        "A DataZone run takes minutes, not the seconds simulated here: at T minutes per run, each asset "
        f"adds about {len(POLL_LOOP_STATES)} x 6T transitions of polling, and the deploy's invocations grow "
        "with the batch's duration (1,000 assets / 10 in flight x T).",
    ]


def section(rows: list[SynthRow], run: DryRun | None, command_note: str) -> list[str]:
    out = ["## MetadataGenerationBatch", "", command_note, ""]
    out += _table(
        ["target", "measured", "status"],
        [[t.text, t.measured, "met" if t.met else "**missed**"] for t in targets(rows, run)],
    )
    if rows:
        out += [
            "",
            "### Synthesis: one batch of N explicit ids against N `AwsCustomResource`s",
            "",
            "Wall time of a fresh `python -m bench.batch_child` process (spawn to exit), median of the repetitions, "
            "sides alternating. The peer is one `AwsCustomResource` per asset (outputs off), as in the sections above; "
            "it cannot deploy past 86 runs (IAM, see Limits) and fails CDK's own 500-resource check at synth.",
            "",
            *synth_table(rows),
        ]
    if run is not None:
        out += ["", "### Local dry run", "", *dry_run_section(run)]
    return out
