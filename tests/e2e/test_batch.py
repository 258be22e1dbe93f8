"""``MetadataGenerationBatch`` deployed locally: the synthesized state machine runs in moto against
the local DataZone endpoint, through the replayed CloudFormation lifecycle, every thread on one
simulated clock (:class:`EventClock`): the replay binds the caller's moto world to the endpoint's."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs_local import EventClock, Knobs, LocalCloudFormation, LocalDataZone, default_seed
from constructs_local.stepfunctions.interpreter import LocalStepFunctions

from constructs_lib import AcceptPredictions, AssetSelection, MetadataGenerationBatch

DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
IDS = [f"batchasset{i:03d}" for i in range(50)]
BACKGROUND_IDS = [f"slowasset{i}" for i in range(3)]
REGION = "us-east-1"


@pytest.fixture(scope="module")
def batch_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("batch-cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "BatchCatalog")
    MetadataGenerationBatch(
        stack,
        "Catalog",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.ids(IDS),
        max_concurrency=5,
        accept_predictions=AcceptPredictions.all(),
    )
    background = cdk.Stack(app, "BatchBackground")
    MetadataGenerationBatch(
        background,
        "Slow",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.ids(BACKGROUND_IDS),
        wait_for_completion=False,
    )
    app.synth()
    return outdir


@pytest.fixture(autouse=True)
def _quiet_moto() -> None:
    # The interpreter logs every state at WARNING/INFO; the assertions say what matters.
    logging.getLogger("moto").setLevel(logging.ERROR)


def _endpoint(**knobs: object) -> LocalDataZone:
    fast = Knobs(submitted_seconds=2, in_progress_seconds=6)
    fast.update(knobs)
    return LocalDataZone(seed=default_seed(), clock=EventClock(), knobs=fast)


@pytest.fixture
def steps() -> Iterator[LocalStepFunctions]:
    # Caller-owned moto world: it outlives each command, so S3 and executions can be inspected.
    with _endpoint() as placeholder, LocalStepFunctions(datazone_url=placeholder.url) as world:
        yield world


def _deploy(
    assembly: Path, dz: LocalDataZone, world: LocalStepFunctions, state: Path | None = None
) -> LocalCloudFormation:
    world.adapter.datazone_url = dz.url
    return LocalCloudFormation(assembly, endpoint=dz, stepfunctions=world, state_file=state)


def _summary(world: LocalStepFunctions, location: str) -> dict[str, object]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    body = world.client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    summary: dict[str, object] = json.loads(body)
    return summary


def test_fifty_assets_all_succeed_with_predictions_accepted_once(batch_app: Path, steps: LocalStepFunctions) -> None:
    with _endpoint() as dz:
        cfn = _deploy(batch_app, dz, steps)
        [result] = cfn.deploy(["BatchCatalog"])
        assert result.status == "CREATE_COMPLETE", result.reason
        counts = {name.split("Output")[0]: value for name, value in result.outputs.items()}
        assert counts["CatalogSucceededCount"] == "50"
        assert counts["CatalogFailedCount"] == "0"
        summary_at = str(result.requests[-1].response.data["Summary"])
        summary = _summary(steps, summary_at)
        assert summary["total"] == 50
        assert summary["counts"] == {"SUCCEEDED": 50}
        accepted = Counter(c.params["identifier"] for c in dz.calls if c.operation == "AcceptPredictions")
        assert accepted == dict.fromkeys(IDS, 1)
        # No wasted work, whatever the machine's load (a wall-clock bound flaked at 17 s): a run
        # takes 8 s and the first poll comes after 10 s, so each asset costs one call of each kind.
        calls = Counter(c.operation for c in dz.calls)
        assert calls == {
            "StartMetadataGenerationRun": 50,
            "GetMetadataGenerationRun": 50,
            "AcceptPredictions": 50,
        }


def test_failed_assets_beyond_tolerance_fail_the_deploy_with_the_summary(
    batch_app: Path, steps: LocalStepFunctions
) -> None:
    failing = IDS[:3]
    with _endpoint(final_status=dict.fromkeys(failing, "FAILED")) as dz:
        [result] = _deploy(batch_app, dz, steps).deploy(["BatchCatalog"])
    assert result.status == "ROLLBACK_COMPLETE"
    assert result.reason is not None
    assert "3 of 50 assets failed" in result.reason
    assert "failure_tolerance 0 %" in result.reason
    assert failing[0] in result.reason
    assert "summary s3://" in result.reason


def test_throttled_calls_are_retried_and_never_counted_as_failures(batch_app: Path, steps: LocalStepFunctions) -> None:
    with _endpoint(throttle_calls=6, fault_operations=["StartMetadataGenerationRun", "GetMetadataGenerationRun"]) as dz:
        [result] = _deploy(batch_app, dz, steps).deploy(["BatchCatalog"])
        throttled = [c for c in dz.calls if c.status == 429]
    assert result.status == "CREATE_COMPLETE", result.reason
    assert len(throttled) == 6
    summary = _summary(steps, str(result.requests[-1].response.data["Summary"]))
    assert summary["counts"] == {"SUCCEEDED": 50}


def test_quota_refusals_are_retried_and_never_counted_as_failures(batch_app: Path, steps: LocalStepFunctions) -> None:
    # 5 children in flight against a quota of 4 active runs: the fifth Start answers 402 until one ends.
    with _endpoint(max_active_runs=4) as dz:
        [result] = _deploy(batch_app, dz, steps).deploy(["BatchCatalog"])
        refused = [c for c in dz.calls if c.status == 402]
        runs = Counter(run.asset_id for run in dz.backend.runs.values())
    assert result.status == "CREATE_COMPLETE", result.reason
    assert refused, "the quota never refused a Start: the test does not exercise the retry"
    assert {c.operation for c in refused} == {"StartMetadataGenerationRun"}
    assert runs == dict.fromkeys(IDS, 1)  # a refused Start made no run; the retry made exactly one
    summary = _summary(steps, str(result.requests[-1].response.data["Summary"]))
    assert summary["counts"] == {"SUCCEEDED": 50}
    assert summary["failed"] == 0


def test_destroy_stops_a_running_execution_and_cancels_its_runs(
    batch_app: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    with _endpoint(final_status=dict.fromkeys(BACKGROUND_IDS, "IN_PROGRESS")) as dz:
        cfn = _deploy(batch_app, dz, steps, tmp_path / "state.json")
        [deployed] = cfn.deploy(["BatchBackground"])
        assert deployed.status == "CREATE_COMPLETE", deployed.reason
        arn = next(v for k, v in deployed.outputs.items() if k.startswith("SlowExecutionArn"))
        sfn = steps.client("stepfunctions", REGION)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        deadline = time.monotonic() + 5
        while len([c for c in dz.calls if c.operation == "StartMetadataGenerationRun"]) < 3:
            assert time.monotonic() < deadline, "the execution never started its runs"
            # On the simulated clock: a real-time poll would let the workflow run on for simulated
            # hours meanwhile (time moves whenever every thread waits), past its run timeouts.
            dz.clock.sleep(0.5)
        [destroyed] = cfn.destroy(["BatchBackground"])
        assert destroyed.status == "DELETE_COMPLETE", destroyed.reason
        assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
        # The Delete started <execution>-cancel, which cancels exactly the runs the stopped
        # execution marked in flight (after it ended, in two passes a minute apart).
        canceller = f"{arn}-cancel"
        deadline = time.monotonic() + 60  # a hang guard: the passes take simulated minutes
        while (cancel := sfn.describe_execution(executionArn=canceller))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the cancel execution never ended"
            time.sleep(0.05)
        assert cancel["status"] == "SUCCEEDED", cancel.get("cause")
        assert json.loads(cancel["output"])["counts"] == {"cancelled": 3}
        cancelled = {c.params["identifier"] for c in dz.calls if c.operation == "CancelMetadataGenerationRun"}
        started = {c.params["target"]["identifier"] for c in dz.calls if c.operation == "StartMetadataGenerationRun"}
    assert len(cancelled) == 3
    assert started == set(BACKGROUND_IDS)
