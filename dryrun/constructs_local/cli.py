"""``python -m constructs_local serve|deploy|destroy|data-source-run``.

None of them imports aws-cdk-lib: they read a synthesized cloud assembly, so the jsii kernel
(seconds to start) never runs. The repo's end-to-end cases, which synthesize the example app,
live with the tests (``python -m tests.e2e.cases``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from constructs_local._deps import MissingDependencyError, check_local
from constructs_local.clock import RealClock
from constructs_local.cloudformation.assembly import AssemblyError
from constructs_local.cloudformation.replay import DEFAULT_STATE_FILE, LocalCloudFormation
from constructs_local.datazone.server import LocalDataZone
from constructs_local.events.catchup import DEFAULT_WAIT_SECONDS, FINAL_STATUSES, print_data_source_run
from constructs_local.knobs import FINAL, NEVER, Knobs
from constructs_local.report import print_result
from constructs_local.seed import (
    MAX_GENERATED,
    data_source_target,
    default_seed,
    default_target,
    load_seed,
    with_generated_assets,
)

EPILOG = """\
Nothing is sent to AWS unless you pass --aws (or --profile). Locally, the handler runs with dummy
credentials against a DataZone endpoint on 127.0.0.1 that this command starts, on a simulated clock.
"""


def _knob_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("local endpoint: fault injection and pacing")
    group.add_argument(
        "--seed",
        type=Path,
        help="JSON file of domains, projects and assets (default: the example app's ids; docs/local-dry-run.md)",
    )
    group.add_argument(
        "--seed-assets",
        type=int,
        default=0,
        metavar="N",
        help="also make N Glue-table assets (in the seed's data source's project, else the app's); every data "
        "source without an explicit asset list imports them",
    )
    group.add_argument("--throttle-calls", type=int, default=0, metavar="N", help="answer the next N calls with 429")
    group.add_argument(
        "--throttle-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="answer this share of all calls (0-1, evenly spread) with 429",
    )
    group.add_argument("--server-error-calls", type=int, default=0, metavar="N", help="then the next N with 500")
    group.add_argument("--max-active-runs", type=int, metavar="N", help="402 ServiceQuotaExceeded beyond N active runs")
    group.add_argument(
        "--latency", type=float, default=Knobs.latency_seconds, metavar="SECONDS", help="added to every call"
    )
    group.add_argument("--submitted-seconds", type=float, default=Knobs.submitted_seconds, metavar="S")
    group.add_argument("--in-progress-seconds", type=float, default=Knobs.in_progress_seconds, metavar="S")
    group.add_argument(
        "--final-status",
        action="append",
        default=[],
        metavar="ASSET=STATUS",
        help=f"how runs for ASSET end: {', '.join((*FINAL, NEVER))} (IN_PROGRESS: never); repeatable",
    )
    group.add_argument("--error-message", help="typeStats errorMessage of failed types")
    group.add_argument(
        "--reject-concurrent-runs",
        action=argparse.BooleanOptionalAction,
        default=Knobs.reject_concurrent_runs,
        help="409 for a second active run of an asset (default: on, the stricter assumption)",
    )


def _knobs(args: argparse.Namespace) -> Knobs:
    final: dict[str, str] = {}
    for item in args.final_status:
        asset, sep, status = item.partition("=")
        if not sep or status not in (*FINAL, NEVER):
            raise SystemExit(
                f"--final-status {item!r}: use ASSET=STATUS with STATUS one of {', '.join((*FINAL, NEVER))}"
            )
        final[asset] = status
    if not 0 <= args.throttle_fraction <= 1:
        raise SystemExit(f"--throttle-fraction {args.throttle_fraction:g}: use a share from 0 to 1, e.g. 0.05")
    knobs = Knobs(
        throttle_calls=args.throttle_calls,
        throttle_fraction=args.throttle_fraction,
        server_error_calls=args.server_error_calls,
        max_active_runs=args.max_active_runs,
        latency_seconds=args.latency,
        submitted_seconds=args.submitted_seconds,
        in_progress_seconds=args.in_progress_seconds,
        final_status=final,
        reject_concurrent_runs=args.reject_concurrent_runs,
    )
    if args.error_message:
        knobs.error_message = args.error_message
    return knobs


def _seed(args: argparse.Namespace) -> dict[str, Any] | None:
    seed = load_seed(args.seed) if args.seed is not None else None
    if not args.seed_assets:
        return seed
    if not 0 < args.seed_assets <= MAX_GENERATED:
        raise SystemExit(f"--seed-assets {args.seed_assets}: use a number from 1 to {MAX_GENERATED}")
    seed = {**(seed if seed is not None else default_seed()), "generatedAssets": args.seed_assets}
    # A seed's own data source imports them from the start; otherwise the deploy puts them in the
    # app's project (constructs_local.cloudformation.provision).
    target = data_source_target(seed) if args.command != "serve" else default_target(seed)
    return with_generated_assets(seed, target) if target is not None else seed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m constructs_local",
        description="Local dry run of Custom::DataZoneMetadataGenerationRun: a DataZone endpoint on 127.0.0.1 "
        "and a CloudFormation lifecycle replay of a synthesized cloud assembly.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the local DataZone endpoint until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free ephemeral port)")
    serve.add_argument("--speed", type=float, default=1.0, help="runs progress this many times faster than real time")
    _knob_arguments(serve)

    for name, text in (("deploy", "create or update the stacks' custom resources"), ("destroy", "delete them")):
        sub = commands.add_parser(name, help=f"{text} locally (CloudFormation + Provider replay)", epilog=EPILOG)
        sub.add_argument("stacks", nargs="*", help="stack names (default: all stacks of the assembly)")
        sub.add_argument(
            "--app", type=Path, default=Path("cdk.out"), help="synthesized cloud assembly (default cdk.out)"
        )
        sub.add_argument("--state", type=Path, default=DEFAULT_STATE_FILE, help="state file between commands")
        sub.add_argument(
            "--time-scale",
            type=float,
            help="real seconds per simulated second (default 0.01 locally: a 10 s poll takes 0.1 s; 1 with --aws)",
        )
        sub.add_argument("--region", help="region (default: the stack's, else us-east-1 locally)")
        sub.add_argument("--endpoint-url", help="use a `serve` process on 127.0.0.1 instead of a built-in endpoint")
        sub.add_argument("--aws", action="store_true", help="run the handlers against REAL AWS (your credentials)")
        sub.add_argument("--profile", help="AWS profile; implies --aws")
        sub.add_argument(
            "--redeliver",
            action="append",
            default=[],
            choices=("Create", "Update", "Delete"),
            help="deliver this request type twice, like a retried Lambda invocation",
        )
        sub.add_argument("--outputs-file", type=Path, help="write the stack outputs as JSON (like cdk deploy)")
        sub.add_argument("-v", "--verbose", action="store_true", help="also print each invocation's logs")
        sub.add_argument(
            "--strict",
            action="store_true",
            help="refuse ids the app references that the seed does not know (default: create them, with a notice)",
        )
        _knob_arguments(sub)

    catch_up = commands.add_parser(
        "data-source-run",
        help="run a deployed data source again locally (new and changed tables), its events to the rules",
        epilog=EPILOG,
    )
    catch_up.add_argument("--app", type=Path, default=Path("cdk.out"), help="the deployed cloud assembly")
    catch_up.add_argument("--state", type=Path, default=DEFAULT_STATE_FILE, help="state file of the deploy")
    catch_up.add_argument(
        "--data-source", help="its id (default: the data source of the deployed continuous batch, if one)"
    )
    catch_up.add_argument("--domain", help="its domain (needed only when several domains have that id)")
    catch_up.add_argument("--created", type=int, default=0, metavar="N", help="new tables the run imports")
    catch_up.add_argument("--updated", type=int, default=0, metavar="N", help="imported tables whose schema changed")
    catch_up.add_argument("--status", choices=FINAL_STATUSES, help="how the run ends (default: SUCCESS)")
    catch_up.add_argument(
        "--redeliver-events", type=int, default=1, metavar="N", help="deliver each event N times (at least once)"
    )
    catch_up.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="simulated seconds to wait for the executions the run starts",
    )
    catch_up.add_argument("--time-scale", type=float, help="real seconds per simulated second (default 0.01)")
    _knob_arguments(catch_up)
    return parser


def _data_source_run(args: argparse.Namespace, out: TextIO) -> int:
    if not (0 <= args.created <= MAX_GENERATED and 0 <= args.updated <= MAX_GENERATED):
        raise SystemExit(f"--created/--updated: use numbers from 0 to {MAX_GENERATED}")
    if args.redeliver_events < 1:
        raise SystemExit("--redeliver-events: at least 1")
    replay = LocalCloudFormation(
        args.app,
        state_file=args.state,
        time_scale=0.01 if args.time_scale is None else args.time_scale,
        seed=_seed(args),
        knobs=_knobs(args),
    )
    print(f"Local data-source run for {args.app} (state {args.state}); nothing goes to AWS", file=out)
    print("", file=out)
    result = replay.data_source_run(
        data_source=args.data_source,
        domain=args.domain,
        created=args.created,
        updated=args.updated,
        status=args.status,
        redeliver=args.redeliver_events,
        wait_seconds=args.wait,
    )
    print_data_source_run(result, out)
    return 0 if result.ok else 1


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    check_local(batches=False)
    endpoint = LocalDataZone(
        seed=_seed(args), clock=RealClock(speed=args.speed), knobs=_knobs(args), host=args.host, port=args.port
    ).start()
    print(f"Local DataZone endpoint: {endpoint.url}", file=out)
    print(f"  export AWS_ENDPOINT_URL_DATAZONE={endpoint.url}", file=out)
    print(f"  knobs: curl -s -X POST {endpoint.url}/_local/knobs -d '{{\"throttle_calls\": 3}}'", file=out)
    print(f"  calls: curl -s {endpoint.url}/_local/calls", file=out)
    out.flush()
    with contextlib.suppress(KeyboardInterrupt):
        endpoint.serve_forever()
    return 0


def _replay(args: argparse.Namespace, out: TextIO) -> int:
    aws = args.aws or args.profile is not None
    local_options: dict[str, Any] = {}
    if aws:
        if args.endpoint_url:
            raise SystemExit("--endpoint-url and --aws exclude each other")
        print("!! --aws: the handlers call REAL AWS DataZone with your credentials; runs are real.", file=out)
        time_scale = args.time_scale
    elif args.endpoint_url:
        time_scale = args.time_scale
    else:
        time_scale = 0.01 if args.time_scale is None else args.time_scale
        local_options = {"seed": _seed(args), "knobs": _knobs(args)}
    replay = LocalCloudFormation(
        args.app,
        state_file=args.state,
        endpoint_url=args.endpoint_url,
        aws=aws,
        profile=args.profile,
        region=args.region,
        time_scale=time_scale,
        redeliver=args.redeliver,
        strict=args.strict,
        notify=partial(print, file=out),
        **local_options,
    )
    # A missing module or assembly is reported before the first line of a deploy, never mid-deploy.
    replay.check(args.stacks)
    where = "REAL AWS" if aws else (args.endpoint_url or "a local DataZone endpoint on 127.0.0.1 (nothing goes to AWS)")
    print(f"Local {args.command} of {args.app} against {where}; state in {args.state}", file=out)
    print("", file=out)
    results = replay.deploy(args.stacks) if args.command == "deploy" else replay.destroy(args.stacks)
    for index, result in enumerate(results, start=1):
        print_result(result, out, index=index, total=len(results), verbose=args.verbose)
        print("", file=out)
    if args.outputs_file and args.command == "deploy":
        args.outputs_file.parent.mkdir(parents=True, exist_ok=True)
        args.outputs_file.write_text(json.dumps({r.stack: r.outputs for r in results if r.ok}, indent=2) + "\n")
    if args.command == "deploy" and results and all(r.ok and not r.constructs for r in results):
        # Most likely the wrong --app: an exit code of 0 would pass for a dry run that checked something.
        print(
            f"error: nothing to dry-run: no stack of {args.app} has a MetadataGenerationRun or "
            "MetadataGenerationBatch; pass --app the cloud assembly of an app that uses them",
            file=sys.stderr,
        )
        return 1
    return 0 if all(r.ok for r in results) else 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    stream = out or sys.stdout
    try:
        if args.command == "serve":
            return _serve(args, stream)
        if args.command == "data-source-run":
            return _data_source_run(args, stream)
        return _replay(args, stream)
    except (AssemblyError, MissingDependencyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
