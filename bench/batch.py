"""The batch section: ``MetadataGenerationBatch`` at scale, and one local dry run of 1,000 assets.

Two measurements, both from the repository's own code (nothing is modelled here):

* **Synthesis** of one batch over N explicit ids (N = 10, 1,000, 10,000) against N
  ``AwsCustomResource``s, what a user writes without the library: wall time of a fresh process
  (``python -m bench.batch_child``), template bytes, resources, IAM characters, the ids' asset.
* **A local dry run** of one batch over 1,000 assets with ``max_concurrency`` 10 while the local
  DataZone endpoint throttles 5 % of all calls and refuses an 11th active run (402): the replay
  deploys the synthesized stack, moto executes the synthesized state machine, and the handler
  writes the summary. Counted: every DataZone call, every state the workflow entered and every
  retry it made (a retry is billed as a state transition too), and the handler's invocations.
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios import Side
from bench.template_metrics import measure
from bench.timing import REPO, child_env

SYNTH_SIZES = (10, 1_000, 10_000)
#: The states one poll of a run goes through (Wait → Poll → Count → Ended?), the rest being once per asset.
POLL_LOOP_STATES = ("Wait", "Poll", "Count", "Ended?")
DRY_RUN_STACK = "LocalBatchBench"
DOMAIN_ID, PROJECT_ID = "dzd_example123", "exampleproject1"  # the local endpoint's built-in seed


@dataclass(frozen=True)
class DryRunSettings:
    """The dry run's scenario (issue 10): what the report prints next to the results."""

    assets: int = 1_000
    max_concurrency: int = 10
    #: Share of every DataZone call answered 429 (evenly spread: every 20th call).
    throttle_fraction: float = 0.05
    #: DataZone's concurrent-run quota: Start answers 402 beyond this many active runs.
    max_active_runs: int = 10
    #: How long a local run stays SUBMITTED, then IN_PROGRESS (simulated seconds). Shorter than
    #: DataZone's minutes so that 1,000 assets fit the deploy's 55-minute wait at concurrency 10.
    submitted_seconds: float = 2.0
    in_progress_seconds: float = 6.0
    #: Simulated seconds per real second (runs, polls and back-offs alike).
    speed: float = 10.0
    timeout_minutes: int = 55


@dataclass
class SynthRow:
    side: Side
    ids: int
    wall_s: list[float] = field(default_factory=list)
    template_bytes: int | None = None
    resources: int | None = None
    max_role_policy_chars: int | None = None
    ids_asset_bytes: int = 0
    error: str | None = None

    @property
    def median_wall_s(self) -> float:
        return statistics.median(self.wall_s)


@dataclass
class DryRun:
    settings: DryRunSettings
    stack_status: str
    reason: str | None
    wall_seconds: float  # the deploy, end to end (synthesis excluded)
    simulated_seconds: float
    summary: dict[str, Any]
    #: DataZone calls per operation, and how many answered 429 / 402.
    calls: dict[str, int]
    throttled: int
    quota_refused: int
    #: States entered, by state name (the batch workflow and its child executions), and retries.
    states: dict[str, int]
    retries: int
    #: Invocations of our Lambda handler (onEvent + every isComplete poll of the deploy).
    handler_invocations: int
    #: Runs the endpoint saw per final status, and AcceptPredictions per asset.
    run_statuses: dict[str, int]
    accepted_per_asset: dict[int, int]

    @property
    def transitions(self) -> int:
        return sum(self.states.values()) + self.retries

    @property
    def datazone_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def polls(self) -> int:
        return self.states.get("Poll", 0)


# --- synthesis ----------------------------------------------------------------------------------


def _synth_once(side: Side, ids: int, outdir: Path) -> tuple[float, dict[str, Any]]:
    command = [sys.executable, "-m", "bench.batch_child", side.value, str(ids), str(outdir)]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        command, cwd=REPO, env=child_env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{"))
    data: dict[str, Any] = json.loads(line)
    return wall, data


def synth_scaling(
    sizes: tuple[int, ...] = SYNTH_SIZES, repetitions: int = 3, log: Callable[[str], None] = print
) -> list[SynthRow]:
    """Per N, ``repetitions`` fresh processes per side, alternating which side goes first."""
    rows: list[SynthRow] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        for ids in sizes:
            cells = {side: SynthRow(side, ids) for side in Side}
            for repetition in range(repetitions):
                order = (Side.OURS, Side.PEER) if repetition % 2 == 0 else (Side.PEER, Side.OURS)
                for side in order:
                    outdir = Path(scratch) / f"{side.value}-{ids}-{repetition}"
                    wall, data = _synth_once(side, ids, outdir)
                    row = cells[side]
                    row.wall_s.append(wall)
                    row.error = data.get("error")
                    if row.error is None and row.template_bytes is None:
                        metrics = measure(outdir)
                        row.template_bytes = metrics.template_bytes
                        row.resources = metrics.resources
                        row.max_role_policy_chars = metrics.max_role_policy_chars
                        row.ids_asset_bytes = sum(p.stat().st_size for p in outdir.glob("asset.*.json"))
                log(
                    f"  batch synth N={ids} rep {repetition + 1}: "
                    + ", ".join(f"{side.value} {cells[side].wall_s[-1]:.1f} s" for side in Side)
                )
            rows.extend(cells[side] for side in Side)
    return rows


# --- the local dry run --------------------------------------------------------------------------


@contextlib.contextmanager
def counting_states() -> Iterator[tuple[Counter[str], list[int]]]:
    """Count every state moto's interpreter enters (by name) and every retry it executes.

    Reaches into moto's interpreter (pinned with the local extra): a state is entered in
    ``CommonStateField._eval_body``; a ``Retry`` that fires leaves ``RetrierOutcome.Executed``.
    """
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import (  # noqa: PLC0415
        RetrierOutcome,
    )
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField  # noqa: PLC0415

    states: Counter[str] = Counter()
    retries = [0]
    lock = threading.Lock()
    enter, retry = CommonStateField._eval_body, RetrierDecl._eval_body

    def entered(self: Any, env: Any) -> None:
        with lock:
            states[self.name] += 1
        enter(self, env)

    def retried(self: Any, env: Any) -> None:
        retry(self, env)
        if env.stack and env.stack[-1] == RetrierOutcome.Executed:
            with lock:
                retries[0] += 1

    CommonStateField._eval_body = entered  # type: ignore[method-assign]
    RetrierDecl._eval_body = retried  # type: ignore[method-assign]
    try:
        yield states, retries
    finally:
        CommonStateField._eval_body = enter  # type: ignore[method-assign]
        RetrierDecl._eval_body = retry  # type: ignore[method-assign]


def synth_dry_run_app(outdir: Path, settings: DryRunSettings) -> Path:
    """A cloud assembly with one batch over ``settings.assets`` generated ids, predictions accepted."""
    import aws_cdk as cdk  # noqa: PLC0415 - the jsii kernel only when a synth is asked for

    from constructs_lib import AcceptPredictions, AssetSelection, MetadataGenerationBatch  # noqa: PLC0415

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, DRY_RUN_STACK)
    MetadataGenerationBatch(
        stack,
        "Batch",
        domain_id=DOMAIN_ID,
        project_id=PROJECT_ID,
        assets=AssetSelection.ids([f"benchasset{i:05d}" for i in range(settings.assets)]),
        max_concurrency=settings.max_concurrency,
        accept_predictions=AcceptPredictions.all(),
        timeout=cdk.Duration.minutes(settings.timeout_minutes),
    )
    app.synth()
    return outdir


def dry_run(settings: DryRunSettings = DryRunSettings()) -> DryRun:
    """Deploy one batch locally (synthesis not timed) and count what it did."""
    from constructs_local import Knobs, LocalCloudFormation, LocalDataZone, RealClock, default_seed  # noqa: PLC0415
    from constructs_local.stepfunctions.interpreter import LocalStepFunctions  # noqa: PLC0415

    logging.getLogger("moto").setLevel(logging.ERROR)  # the interpreter logs every state
    knobs = Knobs(
        throttle_fraction=settings.throttle_fraction,
        max_active_runs=settings.max_active_runs,
        submitted_seconds=settings.submitted_seconds,
        in_progress_seconds=settings.in_progress_seconds,
    )
    with tempfile.TemporaryDirectory(prefix="bench-dry-run-") as scratch:
        assembly = synth_dry_run_app(Path(scratch) / "cdk.out", settings)
        clock = RealClock(speed=settings.speed)
        with (
            LocalDataZone(seed=default_seed(), clock=clock, knobs=knobs) as endpoint,
            LocalStepFunctions(datazone_url=endpoint.url, speed=settings.speed) as world,
            counting_states() as (states, retries),
        ):
            started = time.monotonic()
            [result] = LocalCloudFormation(assembly, endpoint=endpoint, stepfunctions=world).deploy([DRY_RUN_STACK])
            wall = time.monotonic() - started
            summary = _summary(world, result.requests[-1].response.data.get("Summary") if result.requests else None)
            calls = list(endpoint.calls)
            runs = Counter(run.status(clock.now()) for run in endpoint.backend.runs.values())
    accepted = Counter(c.params["identifier"] for c in calls if c.operation == "AcceptPredictions" and c.status == 200)
    return DryRun(
        settings=settings,
        stack_status=result.status,
        reason=result.reason,
        wall_seconds=wall,
        simulated_seconds=result.simulated_seconds,
        summary=summary,
        calls=dict(Counter(c.operation for c in calls)),
        throttled=sum(1 for c in calls if c.status == 429),
        quota_refused=sum(1 for c in calls if c.status == 402),
        states=dict(states),
        retries=retries[0],
        handler_invocations=sum(len(run.invocations) for record in result.requests for run in record.runs),
        run_statuses={str(k): v for k, v in runs.items()},
        accepted_per_asset=dict(Counter(accepted.values())),
    )


def _summary(world: Any, location: Any) -> dict[str, Any]:
    if not isinstance(location, str) or not location.startswith("s3://"):
        return {}
    bucket, _, key = location.removeprefix("s3://").partition("/")
    body = world.client("s3", "us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    summary: dict[str, Any] = json.loads(body)
    return summary


if __name__ == "__main__":  # python -m bench.batch: the dry run alone, as JSON
    from dataclasses import asdict

    outcome = dry_run()
    print(json.dumps({**asdict(outcome), "transitions": outcome.transitions}, default=str, indent=1))
