"""One local batch, measured: for the benchmark (``bench``) and anyone sizing a batch.

:func:`run_local_batch` synthesizes a stack with one ``MetadataGenerationBatch`` over N explicit
ids, deploys it with the replay against an in-process local DataZone endpoint (with the knobs
given) while moto runs the synthesized workflow, and reports what happened. No CLI involved.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.local.clock import RealClock
from constructs_lib.local.knobs import Knobs
from constructs_lib.local.replay import LocalCloudFormation
from constructs_lib.local.seed import default_seed
from constructs_lib.local.server import LocalDataZone
from constructs_lib.local.stepfunctions import LocalStepFunctions

STACK = "LocalBatchBench"
DOMAIN_ID, PROJECT_ID = "dzd_example123", "exampleproject1"


@dataclass
class BatchRun:
    """What :func:`run_local_batch` measured."""

    assets: int
    stack_status: str
    reason: str | None
    wall_seconds: float  # the deploy command, end to end (synth excluded)
    statuses: dict[str, int]  # final status per asset, from the summary the handler wrote
    succeeded: int
    failed: int
    calls: dict[str, int]  # DataZone calls per operation
    throttled_calls: int
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def calls_per_asset(self) -> float:
        return sum(self.calls.values()) / self.assets if self.assets else 0.0


def synth_batch_app(outdir: Path, asset_ids: list[str], *, max_concurrency: int, accept: bool = True) -> Path:
    """A cloud assembly with one batch over ``asset_ids`` (imports aws-cdk-lib: starts jsii)."""
    import aws_cdk as cdk  # noqa: PLC0415 - the jsii kernel only when a synth is asked for

    from constructs_lib import AcceptPredictions, AssetSelection, MetadataGenerationBatch  # noqa: PLC0415

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK)
    MetadataGenerationBatch(
        stack,
        "Batch",
        domain_id=DOMAIN_ID,
        project_id=PROJECT_ID,
        assets=AssetSelection.ids(asset_ids),
        max_concurrency=max_concurrency,
        accept_predictions=AcceptPredictions.all() if accept else None,
    )
    app.synth()
    return outdir


def run_local_batch(
    assets: int,
    *,
    max_concurrency: int = 10,
    knobs: Knobs | None = None,
    speed: float = 30.0,
    assembly_dir: Path | None = None,
) -> BatchRun:
    """Deploy a batch of ``assets`` generated ids locally and measure it.

    :param knobs: the endpoint's (e.g. ``Knobs(throttle_calls=50, max_active_runs=10)``); the
        default lets a run take 26 simulated seconds.
    :param speed: simulated seconds per real second of the shared clock (runs, polls, back-offs).
    :param assembly_dir: an assembly from :func:`synth_batch_app` with the same ids (reused to
        leave synth time out of repeated measurements); default: synthesized into a temp dir.
    """
    ids = [f"benchasset{i:05d}" for i in range(assets)]
    logging.getLogger("moto").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="local-batch-") as scratch:
        assembly = assembly_dir or synth_batch_app(Path(scratch) / "cdk.out", ids, max_concurrency=max_concurrency)
        with (
            LocalDataZone(seed=default_seed(), clock=RealClock(speed=speed), knobs=knobs or Knobs()) as endpoint,
            LocalStepFunctions(datazone_url=endpoint.url, speed=speed) as world,
        ):
            started = time.monotonic()
            [result] = LocalCloudFormation(assembly, endpoint=endpoint, stepfunctions=world).deploy([STACK])
            wall = time.monotonic() - started
            summary = _summary(world, result.requests[-1].response.data.get("Summary") if result.requests else None)
            calls = Counter(call.operation for call in endpoint.calls)
            throttled = sum(1 for call in endpoint.calls if call.status == 429)
    counts = {str(k): int(v) for k, v in dict(summary.get("counts") or {}).items()}
    return BatchRun(
        assets=assets,
        stack_status=result.status,
        reason=result.reason,
        wall_seconds=wall,
        statuses=counts,
        succeeded=int(summary.get("succeeded", 0)),
        failed=int(summary.get("failed", 0)),
        calls=dict(calls),
        throttled_calls=throttled,
        summary=summary,
    )


def _summary(world: LocalStepFunctions, location: Any) -> dict[str, Any]:
    if not isinstance(location, str) or not location.startswith("s3://"):
        return {}
    bucket, _, key = location.removeprefix("s3://").partition("/")
    body = world.client("s3", "us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    summary: dict[str, Any] = json.loads(body)
    return summary
