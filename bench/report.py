"""Markdown for docs/benchmark.md: every figure comes from a :class:`bench.run.Results`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench import batch_report, catalog_report
from bench.markdown import table as _table
from bench.run import Results
from bench.scenarios import Side
from bench.template_metrics import MAX_OUTPUTS, MAX_RESOURCES, MAX_ROLE_POLICY_CHARS, MAX_TEMPLATE_BYTES

KIB = 1024
ASSET_TARGET_BYTES = 16 * KIB
BYTES_PER_RUN_TARGET = 700
RUNS_TARGET = 450
IMPORT_RATIO_TARGET = 1.2
RATIO_TARGETS = {1: 1.0, 100: 0.9}


@dataclass(frozen=True)
class Target:
    text: str
    measured: str
    met: bool | None  # None: not measured in this run


def _onoff(outputs: bool) -> str:
    return "on" if outputs else "off"


def _kib(value: float) -> str:
    return f"{value / KIB:.1f} KiB"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def targets(results: Results) -> list[Target]:
    sizes = results.options.sizes
    low, high = min(sizes), max(sizes)
    found: list[Target] = []
    resources = [results.metrics(Side.OURS, n, False).resources for n in sizes]
    per_run = results.per_run(Side.OURS, False, "resources")
    found.append(
        Target(
            "ours adds exactly 1 resource per run (outputs off)",
            f"{' → '.join(map(str, resources))} resources for N = {', '.join(map(str, sizes))}: {per_run:g} per run",
            all(r - resources[0] == n - low for r, n in zip(resources, sizes, strict=True)),
        )
    )
    iam = {results.metrics(Side.OURS, n, outputs).max_role_policy_chars for n in sizes for outputs in (True, False)}
    totals = {results.metrics(Side.OURS, n, outputs).total_policy_chars for n in sizes for outputs in (True, False)}
    found.append(
        Target(
            "ours: IAM policy size constant in N",
            f"max per role {sorted(iam)} characters, all roles {sorted(totals)}, for every N and outputs setting",
            len(iam) == 1 and len(totals) == 1,
        )
    )
    off, on = results.search(Side.OURS, False), results.search(Side.OURS, True)
    peer_off = results.search(Side.PEER, False)
    if off is not None:
        found.append(
            Target(
                f"≥ {RUNS_TARGET} runs in one deployable stack, outputs off (peer: 86)",
                f"ours {off.max_runs}, peer {peer_off.max_runs if peer_off else '?'}",
                off.max_runs >= RUNS_TARGET,
            )
        )
    else:
        found.append(Target(f"≥ {RUNS_TARGET} runs in one deployable stack, outputs off", "limits not run", None))
    if on is not None:
        failure, at_max = on.at_failure, on.at_max
        clear = bool(failure and failure.synth_error and "create_outputs" in failure.reason)
        within = bool(at_max and at_max.outputs is not None and at_max.outputs <= MAX_OUTPUTS)
        found.append(
            Target(
                "outputs on: a synth-time error naming `create_outputs` before CloudFormation's 200-output limit",
                f"N={on.max_runs} deploys ({at_max.outputs if at_max else '?'} outputs); "
                f"N={on.first_failing}: {'synth error' if failure and failure.synth_error else 'no synth error'}"
                f"{' naming create_outputs' if clear else ''}",
                clear and within,
            )
        )
    else:
        found.append(Target("outputs on: synth-time error naming create_outputs", "limits not run", None))
    for runs, limit in RATIO_TARGETS.items():
        cell = results.series.get((runs, True)) or results.series.get((runs, False))
        if cell is None or not cell.pairs:
            found.append(Target(f"synth wall ratio ours/peer ≤ {limit} at N={runs}", "not timed", None))
            continue
        ratio = cell.ratio_median()
        found.append(
            Target(
                f"synth wall ratio ours/peer ≤ {limit} at N={runs}",
                f"{ratio:.2f} (median of {len(cell.pairs)} pairs, outputs {_onoff(cell.outputs)})",
                ratio <= limit,
            )
        )
    for outputs in (False, True):
        per = results.per_run(Side.OURS, outputs, "template_bytes")
        found.append(
            Target(
                f"≤ {BYTES_PER_RUN_TARGET} template bytes per run (outputs {_onoff(outputs)})",
                f"{per:.0f} bytes per run (N={low}→{high}); "
                f"peer {results.per_run(Side.PEER, outputs, 'template_bytes'):.0f}",
                per <= BYTES_PER_RUN_TARGET,
            )
        )
    assets = results.metrics(Side.OURS, low, True).lambda_zip_bytes
    found.append(
        Target(
            "Lambda asset ≤ 16 KB (all of ours, zipped)",
            f"{assets:,} bytes ({_kib(assets)})",
            assets <= ASSET_TARGET_BYTES,
        )
    )
    if results.cold is not None:
        found.append(
            Target(
                f"handler cold import ≤ {IMPORT_RATIO_TARGET} x `import boto3`",
                f"{results.cold.ratio:.2f} x (pairwise median {results.cold.pair_ratio:.2f})",
                results.cold.ratio <= IMPORT_RATIO_TARGET,
            )
        )
    return found


def _mark(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


def _pair(ours: str, peer: str) -> str:
    return f"{ours} / {peer}"


def synthesis_table(results: Results, outputs: bool) -> list[str]:
    rows = []
    for runs in results.options.sizes:
        cell = results.series[(runs, outputs)]
        ours, peer = cell.metrics[Side.OURS], cell.metrics[Side.PEER]
        timed = bool(cell.pairs)
        rows.append(
            [
                str(runs),
                _pair(f"{cell.median(Side.OURS, 'wall_s'):.2f}", f"{cell.median(Side.PEER, 'wall_s'):.2f}")
                if timed
                else "-",
                f"**{cell.ratio_median():.2f}**" if timed else "-",
                _pair(f"{cell.median(Side.OURS, 'cpu_s'):.1f}", f"{cell.median(Side.PEER, 'cpu_s'):.1f}")
                if timed
                else "-",
                _pair(_mib(cell.median(Side.OURS, "rss_kib")), _mib(cell.median(Side.PEER, "rss_kib")))
                if timed
                else "-",
                _pair(str(ours.resources), str(peer.resources)),
                _pair(f"{ours.template_bytes:,}", f"{peer.template_bytes:,}"),
                _pair(f"{ours.max_role_policy_chars:,}", f"{peer.max_role_policy_chars:,}"),
                _pair(str(ours.outputs), str(peer.outputs)),
                _pair(f"{ours.lambda_zip_bytes:,}", f"{peer.lambda_zip_bytes:,}"),
            ]
        )
    header = [
        "N",
        "synth wall s (median)",
        "ratio ours/peer (median of pairs)",
        "CPU s",
        "peak RSS",
        "resources",
        "template bytes",
        "IAM inline policy chars, max per role",
        "outputs",
        "Lambda asset bytes (zipped)",
    ]
    return _table(header, rows)


def phases_table(results: Results) -> list[str]:
    rows = []
    for (runs, outputs), cell in sorted(results.series.items()):
        if not cell.pairs:
            continue
        for side in Side:
            samples = cell.samples(side)
            rest = statistics.median(s.wall_s - s.import_s - s.side_import_s - s.build_s - s.synth_s for s in samples)
            rows.append(
                [
                    str(runs),
                    _onoff(outputs),
                    side.value,
                    f"{cell.median(side, 'import_s'):.2f}",
                    f"{cell.median(side, 'side_import_s'):.2f}",
                    f"{cell.median(side, 'build_s'):.2f}",
                    f"{cell.median(side, 'synth_s'):.2f}",
                    f"{rest:.2f}",
                    f"{cell.median(side, 'wall_s'):.2f}",
                ]
            )
    header = [
        "N",
        "outputs",
        "side",
        "import aws_cdk",
        "import the side's modules",
        "build",
        "app.synth()",
        "start-up + exit",
    ]
    return _table([*header, "wall"], rows)


def unvalidated_table(results: Results) -> list[str]:
    columns = [("wall_s", "synth wall s"), ("cpu_s", "CPU s"), ("side_import_s", "import the side's modules s")]
    columns += [("build_s", "build s"), ("synth_s", "app.synth() s")]
    rows = []
    for runs, cell in sorted(results.unvalidated.items()):
        pairs = [_pair(f"{cell.median(Side.OURS, a):.2f}", f"{cell.median(Side.PEER, a):.2f}") for a, _ in columns]
        rows.append([str(runs), f"**{cell.ratio_median():.2f}**", *pairs])
    return _table(["N", "ratio ours/peer (median of pairs)", *(label for _, label in columns)], rows)


def growth_table(results: Results) -> list[str]:
    low, high = min(results.options.sizes), max(results.options.sizes)
    rows = []
    for outputs in (False, True):
        for label, attribute in (
            ("resources", "resources"),
            ("template bytes", "template_bytes"),
            ("IAM chars, max per role", "max_role_policy_chars"),
            ("outputs", "outputs"),
        ):
            rows.append(
                [
                    _onoff(outputs),
                    label,
                    f"{results.per_run(Side.OURS, outputs, attribute):.1f}",
                    f"{results.per_run(Side.PEER, outputs, attribute):.1f}",
                ]
            )
    return [
        f"Per run = (value at N={high} - value at N={low}) / {high - low}.",
        "",
        *_table(["outputs", "figure", "ours per run", "peer per run"], rows),
    ]


def assets_table(results: Results) -> list[str]:
    rows = []
    for side in Side:
        for asset in results.metrics(side, min(results.options.sizes), True).assets:
            rows.append(
                [
                    side.value,
                    f"`{asset.path[:18]}…`",
                    f"{asset.raw_bytes:,}",
                    f"{asset.zip_bytes:,}",
                    str(len(asset.functions)),
                ]
            )
    return _table(["side", "asset", "bytes", "zipped bytes", "functions using it"], rows)


def jsii_table(results: Results) -> list[str]:
    if not results.jsii_calls:
        return ["Not run."]
    low, high = min(results.options.sizes), max(results.options.sizes)
    rows = []
    for outputs in ("on", "off"):
        for side in Side:
            cells = results.jsii_calls[side.value]
            first, last = cells[f"{low}/{outputs}"], cells[f"{high}/{outputs}"]
            per_run = (last["build"] - first["build"]) / (high - low)
            rows.append(
                [
                    outputs,
                    side.value,
                    f"{first['build'] - per_run * low:.0f}",
                    f"{per_run:.1f}",
                    str(first["synth"]),
                    str(last["build"] + last["synth"]),
                ]
            )
    return [
        "Requests from Python to the jsii kernel (Node), counted in one process after a warm-up App: each "
        "construct, method call and property read from Python is one synchronous round trip.",
        "",
        *_table(
            ["outputs", "side", "fixed (build)", "per run (build)", "during app.synth()", f"total at N={high}"], rows
        ),
    ]


def limits_section(results: Results) -> list[str]:
    if not results.limits:
        return ["Not run (`--quick` or `--no-limits`)."]
    rows = []
    for search in results.limits:
        at_max, failure = search.at_max, search.at_failure
        rows.append(
            [
                search.side,
                _onoff(search.outputs),
                f"**{search.max_runs}**",
                (
                    f"{at_max.resources} / {at_max.outputs} / {at_max.max_role_policy_chars:,} / "
                    f"{at_max.template_bytes:,}"
                    if at_max
                    and at_max.resources is not None
                    and at_max.max_role_policy_chars is not None
                    and at_max.template_bytes is not None
                    else "-"
                ),
                str(search.first_failing) if search.first_failing is not None else "none ≤ cap",
                (("synth error: " if failure.synth_error else "") + failure.reason.replace("|", "\\|"))
                if failure
                else "-",
                str(len(search.probes)),
            ]
        )
    return [
        f"Deployable = synthesizes, ≤ {MAX_RESOURCES} resources, ≤ {MAX_OUTPUTS} outputs, ≤ {MAX_ROLE_POLICY_CHARS:,} "
        f"inline-policy characters per role, template ≤ {MAX_TEMPLATE_BYTES:,} bytes. Each probe is a fresh App "
        "synthesized with the CDK CLI's default context (path/asset metadata and the `CDKMetadata` resource, as "
        "`cdk deploy` would), in one long-lived process per row; N doubles from 1 until a probe fails, then bisects.",
        "",
        *_table(
            [
                "side",
                "outputs",
                "largest deployable N",
                "at that N: resources / outputs / IAM chars per role / template bytes",
                "first failing N",
                "why it fails",
                "probes",
            ],
            rows,
        ),
    ]


def cold_section(results: Results) -> list[str]:
    cold = results.cold
    if cold is None:
        return ["Not run."]
    med = statistics.median
    rows = [
        [
            "`import entry` (synthesized asset)",
            f"{med(cold.handler_us) / 1000:.1f}",
            f"{med(cold.handler_wall_ms):.0f}",
        ],
        ["`import boto3`", f"{med(cold.boto3_us) / 1000:.1f}", f"{med(cold.boto3_wall_ms):.0f}"],
    ]
    return [
        f"{len(cold.handler_us)} alternating fresh interpreters each (Python {cold.python}, `-X importtime`, "
        "`PYTHONDONTWRITEBYTECODE=1`, asset copied without `__pycache__`).",
        "",
        *_table(["import", "cumulative import ms (median)", "process wall ms (median)"], rows),
        "",
        f"Ratio: **{cold.ratio:.2f}** (medians), {cold.pair_ratio:.2f} (median of pairwise ratios). "
        f"`boto3.client('datazone')` afterwards: {med(cold.client_ms):.0f} ms (the handler builds it on first use).",
    ]


def cost_section(results: Results) -> list[str]:
    if not results.costs:
        return ["Not run."]
    minutes = results.options.minutes
    lines = [
        f"One run that takes T = {minutes:g} minutes, deployed once (Create). Counts follow from the synthesized "
        "settings; ours also runs the synthesized handler against a fake DataZone client on a simulated clock to "
        "count its API calls. GB-seconds = Σ billed duration x memory, with the durations below.",
        "",
    ]
    summary = [
        [
            result.side,
            str(result.invocations),
            f"{result.gb_seconds:.2f}",
            str(result.state_transitions),
            ", ".join(f"{count} {name}" for name, count in sorted(result.datazone_calls.items())),
        ]
        for result in results.costs
    ]
    lines += _table(
        ["side", "Lambda invocations", "GB-seconds", "Step Functions state transitions", "DataZone calls"], summary
    )
    for result in results.costs:
        lines += ["", f"**{result.side}**", ""]
        lines += _table(
            ["function", "memory", "invocations", "billed ms (sum)", "GB-s"],
            [
                [
                    line.role,
                    f"{line.function.memory_mb} MB",
                    str(line.invocations),
                    f"{line.billed_ms:,.0f}",
                    f"{line.gb_seconds:.3f}",
                ]
                for line in result.lines
            ],
        )
        lines += [""] + [f"- {key}: {value}" for key, value in result.settings.items()]
        lines += [f"- {note}" for note in result.notes]
    lines += ["", "Assumed durations (not measurable offline; edit `bench/cost.py: Assumptions`):", ""]
    lines += _table(["assumption", "value"], [[key, value] for key, value in results.assumptions.rows()])
    return lines


def raw_samples(results: Results) -> list[str]:
    rows = []
    for (runs, outputs), cell in sorted(results.series.items()):
        for index, (ours, peer) in enumerate(cell.pairs):
            rows.append(
                [
                    str(runs),
                    _onoff(outputs),
                    str(index + 1),
                    "ours, peer" if index % 2 == 0 else "peer, ours",
                    f"{ours.wall_s:.2f}",
                    f"{peer.wall_s:.2f}",
                    f"{ours.wall_s / peer.wall_s:.2f}",
                    f"{ours.cpu_s:.1f}",
                    f"{peer.cpu_s:.1f}",
                ]
            )
    return _table(
        ["N", "outputs", "pair", "order", "ours wall s", "peer wall s", "ratio", "ours CPU s", "peer CPU s"], rows
    )


def render(results: Results, command: str) -> str:
    options = results.options
    out = [
        "# Benchmark: MetadataGenerationRun vs. AwsCustomResource",
        "",
        f"Generated by `{command}` in {results.seconds / 60:.1f} minutes. Do not edit by hand: run the command again.",
        "",
        "**Peer** = what users write without this library: one `aws_cdk.custom_resources.AwsCustomResource` per run "
        "calling `startMetadataGenerationRun` (`AwsCustomResourcePolicy.from_sdk_calls(resources=ANY_RESOURCE)`, "
        "`PhysicalResourceId.from_response('id')`) and, with outputs on, two `CfnOutput`s of "
        '`get_response_field("id")` / `("status")`. **Ours** = `MetadataGenerationRun(..., create_outputs=...)`. '
        "Same domain, project, `asset<i>` ids and type (BUSINESS_DESCRIPTIONS) on both sides.",
        "",
        "## Environment",
        "",
        *_table(
            ["", ""],
            [[key, f"`{value}`" if key == "library revision" else value] for key, value in results.facts.items()],
        ),
        "",
        f"Load average (1/5/15 min) before: {results.load_before}; after: {results.load_after}. Wall times on a shared "
        "or busy machine are noisy: read the pairwise ratios and the CPU seconds next to them.",
        "",
        "## Targets",
        "",
        *_table(["target", "measured", "status"], [[t.text, t.measured, _mark(t.met)] for t in targets(results)]),
        "",
    ]
    for outputs in (True, False):
        timed = any(cell.pairs for (runs, o), cell in results.series.items() if o == outputs)
        out += [
            f"## Synthesis, outputs {_onoff(outputs)}",
            "",
            "Each cell: ours / peer. "
            + (
                f"Wall time = fresh `python -m bench.child` process from spawn to exit (interpreter, `import aws_cdk` "
                f"and jsii kernel start, building the App, `app.synth()` into a temp outdir, exit), median of "
                f"{options.repetitions}; ours and peer alternate (AB, BA, ...) and the ratio is the median of the "
                "per-pair ratios. CPU = user + system of the process and its Node children. Peak RSS = VmHWM of the "
                "Python process + VmHWM of each Node process (sum of peaks, an upper bound). "
                if timed
                else "Not timed (template figures only). "
            )
            + "IAM = minified JSON characters of the inline policies attached to one role (max over roles). "
            "Lambda assets zipped as the CDK CLI zips them.",
            "",
            *synthesis_table(results, outputs),
            "",
        ]
    if results.unvalidated:
        out += [
            "## Synthesis without CDK's built-in CloudFormation validation (diagnostic)",
            "",
            "aws-cdk-lib 2.275 validates every template during `app.synth()` with a WebAssembly engine that "
            "starts once per process and costs both sides the same seconds. The same measurement with "
            "`CDK_VALIDATION=false` (outputs on, same alternation) shows what the constructs themselves cost. "
            "The targets are judged on the default (validation on) above.",
            "",
            *unvalidated_table(results),
            "",
        ]
    out += [
        "## Growth per run",
        "",
        *growth_table(results),
        "",
        "## Lambda assets",
        "",
        *assets_table(results),
        "",
        "## Phases of one synthesis (medians, seconds)",
        "",
        "Inside the child: `import aws_cdk` (includes starting the jsii kernel), importing the side's Python modules "
        "(`constructs_lib.metadata_generation_run`, which imports `aws_lambda`, `aws_iam`, `aws_logs`, `aws_datazone` "
        "and `custom_resources`; or `aws_cdk.custom_resources`), building the App, `app.synth()` (includes "
        "CDK 2.275's built-in CloudFormation validation, whose WebAssembly engine starts once per process, the same "
        "for both sides); the rest is interpreter start-up and exit (stopping the jsii kernel).",
        "",
        *phases_table(results),
        "",
        "## jsii round trips",
        "",
        *jsii_table(results),
        "",
        "## Handler cold import",
        "",
        *cold_section(results),
        "",
        "## Limits of one stack",
        "",
        *limits_section(results),
        "",
        f"## Deploy-time cost of one run (T = {options.minutes:g} min)",
        "",
        *cost_section(results),
        "",
    ]
    if results.batch_synth or results.batch_dry_run is not None:
        out += [
            *batch_report.section(
                results.batch_synth,
                results.batch_dry_run,
                "Reproduce this section alone with `python -m bench.batch` (the dry run, as JSON); the synthesis rows "
                "come from `python -m bench.batch_child ours|peer N OUTDIR`.",
            ),
            "",
        ]
    if results.catalog is not None:
        out += [
            *catalog_report.section(
                results.catalog,
                "Reproduce this section alone with "
                "`python -m bench run --catalog-only --write docs/benchmark-catalog.md`.",
            ),
        ]
    out += [
        "## Raw timing samples",
        "",
        "<details><summary>every pair, in the order run</summary>",
        "",
        *raw_samples(results),
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)
