"""The local dry run keeps one simulated timeline for a whole assembly, batches included (issue
15, must hold 6): a batch's workflow runs on moto's threads on the same :class:`EventClock` as the
replay, the endpoint and the handlers, so a ``MetadataGenerationRun``'s own timeout fires at its
simulated moment whether or not a batch runs beside it, a batch's ``timeout`` and ``run_timeout``
fire at theirs, and a Create CloudFormation stopped waiting for still gets its Delete in the
rollback, so a batch's workflow does not run on after a failed deploy."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from constructs_local import EventClock, Knobs, LocalCloudFormation, LocalDataZone, default_seed
from constructs_local.cloudformation.results import StackResult
from constructs_local.stepfunctions.interpreter import LocalStepFunctions

from constructs_lib import AssetSelection, MetadataGenerationBatch, MetadataGenerationRun
from constructs_lib._handler import contract

DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
STUCK = "stuckasset1"  # its runs never end
#: CloudFormation's ServiceTimeout when the template sets none, in the failure it reports.
STABILIZE = "failed to stabilize"


@pytest.fixture(autouse=True)
def _quiet_moto() -> None:
    logging.getLogger("moto").setLevel(logging.ERROR)


def _timed_out_after(result: StackResult) -> int:
    assert result.reason is not None
    found = re.search(r"timed out after (\d+) s", result.reason)
    assert found, result.reason
    return int(found.group(1))


def _app(outdir: Path, *, batch_first: bool) -> Path:
    app = cdk.App(outdir=str(outdir))
    runs = cdk.Stack(app, "RunStack")
    MetadataGenerationRun(
        runs,
        "Run",
        domain_id=DOMAIN,
        project_id=PROJECT,
        asset_id=STUCK,
        timeout=cdk.Duration.minutes(1),
    )
    batches = cdk.Stack(app, "BatchStack")
    MetadataGenerationBatch(
        batches,
        "Batch",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.ids(["batchstuck1", "batchasset2"]),
        wait_for_completion=False,
    )
    if batch_first:
        runs.add_dependency(batches)
    else:
        batches.add_dependency(runs)
    app.synth()
    return outdir


def _knobs() -> Knobs:
    return Knobs(final_status={STUCK: "IN_PROGRESS", "batchstuck1": "IN_PROGRESS"})


def test_run_timeout_beside_a_batch_fires_at_its_simulated_moment(tmp_path: Path) -> None:
    # Before: an assembly with any batch ran every stack on a sped-up wall clock, and the handler
    # measured its 60 s timeout in *real* seconds: 1,891 simulated seconds went by first.
    cfn = LocalCloudFormation(_app(tmp_path / "cdk.out", batch_first=False), knobs=_knobs())
    [result] = cfn.deploy()
    assert result.stack == "RunStack"
    assert result.status == "ROLLBACK_COMPLETE"
    assert STABILIZE not in str(result.reason)
    # Simulated: the poll schedule is exact (created at 0, polled every 10 s from ~2 s).
    assert 60 <= _timed_out_after(result) < 70
    assert result.finished_at - result.started_at < 120


def _moto_slept(clock: object) -> bool:
    """Whether moto's interpreter threads slept on ``clock`` (its Wait states and back-offs run in
    threads whose target is an ``eval``: Python names them ``Thread-N (eval)``)."""
    assert isinstance(clock, EventClock)
    return any(name.endswith("(eval)") for name in clock.sleeper_threads)


def test_run_timeout_while_a_batch_execution_runs_fires_on_the_shared_clock(tmp_path: Path) -> None:
    # The batch stack first, its execution still running (a stuck asset) while the run deploys.
    # Before: the run's stack then shared the workflow's sped-up real time, and its 60 s timeout
    # fired anywhere from 60 to 120 simulated seconds (thread jitter x 30). Now the workflow's
    # threads sleep on the same simulated clock, and the poll schedule is exact again.
    cfn = LocalCloudFormation(_app(tmp_path / "cdk.out", batch_first=True), knobs=_knobs())
    batch, run = cfn.deploy()
    assert batch.status == "CREATE_COMPLETE", batch.reason
    assert run.status == "ROLLBACK_COMPLETE"
    assert STABILIZE not in str(run.reason)
    assert 60 <= _timed_out_after(run) < 70
    assert run.finished_at - run.started_at < 120
    assert _moto_slept(cfn.clock)


def _batch_app(outdir: Path, **props: Any) -> Path:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Batch")
    MetadataGenerationBatch(
        stack, "Batch", domain_id=DOMAIN, project_id=PROJECT, assets=AssetSelection.ids(["batchstuck1"]), **props
    )
    app.synth()
    return outdir


def test_a_batch_timeout_fires_at_its_simulated_second(tmp_path: Path) -> None:
    # A 1-minute batch over a run that never ends, told to fail at its timeout: the handler's
    # deadline, the provider's polls and the workflow's Wait states share one simulated clock.
    assembly = _batch_app(tmp_path / "cdk.out", timeout=cdk.Duration.minutes(1), fail_on_timeout=True)
    cfn = LocalCloudFormation(assembly, knobs=_knobs())
    [result] = cfn.deploy()
    assert result.status == "ROLLBACK_COMPLETE"
    assert "did not finish within 60 s; the execution was stopped" in str(result.reason)
    # Failed at the first provider poll past 60 s (it polls every 10 s), never earlier.
    [failed] = [e for e in result.events if e.status == "CREATE_FAILED"]
    assert 60 <= failed.at - result.started_at < 70
    assert _moto_slept(cfn.clock)


@pytest.fixture
def event_dz() -> Iterator[LocalDataZone]:
    knobs = Knobs(final_status={"slow1": "IN_PROGRESS", "batchstuck1": "IN_PROGRESS"})
    with LocalDataZone(seed=default_seed(), clock=EventClock(), knobs=knobs) as dz:
        yield dz


@pytest.fixture
def steps(event_dz: LocalDataZone) -> Iterator[LocalStepFunctions]:
    # Caller-owned moto world: it outlives the command, so its executions can be inspected.
    with LocalStepFunctions(datazone_url=event_dz.url, clock=event_dz.clock) as world:
        yield world


def test_a_batch_run_timeout_cancels_the_run_at_its_simulated_second(
    tmp_path: Path, event_dz: LocalDataZone, steps: LocalStepFunctions
) -> None:
    # run_timeout is the workflow's own: its poll loop adds up the seconds it waited (10, 20, 40,
    # doubling from the 10 s poll interval) and cancels at the first poll past 60: 70 s after
    # Start, plus the endpoint's 0.1 s per call (three polls and the cancel itself).
    assembly = _batch_app(tmp_path / "cdk.out", run_timeout=cdk.Duration.seconds(60), wait_for_completion=False)
    steps.adapter.datazone_url = event_dz.url
    [result] = LocalCloudFormation(assembly, endpoint=event_dz, stepfunctions=steps).deploy()
    assert result.status == "CREATE_COMPLETE", result.reason
    sfn = steps.client("stepfunctions", "us-east-1")
    [execution] = sfn.list_executions(stateMachineArn=sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"])[
        "executions"
    ]
    clock = event_dz.clock
    assert isinstance(clock, EventClock)
    while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
        clock.sleep(10)  # the deploy returned at once: the workflow goes on, on simulated time
    [start] = event_dz.calls_to("StartMetadataGenerationRun")
    [cancel] = event_dz.calls_to("CancelMetadataGenerationRun")
    assert [c.at - start.at for c in event_dz.calls_to("GetMetadataGenerationRun")] == pytest.approx([10.1, 30.2, 70.3])
    assert cancel.at - start.at == pytest.approx(70.4)


def _deploy_past_service_timeout(tmp_path: Path, dz: LocalDataZone, steps: LocalStepFunctions) -> StackResult:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Slow")
    batch = MetadataGenerationBatch(
        stack, "Batch", domain_id=DOMAIN, project_id=PROJECT, assets=AssetSelection.ids(["slow1"])
    )
    resource = next(
        child
        for child in batch.node.find_all()
        if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == contract.BATCH_RESOURCE_TYPE
    )
    # CloudFormation stops waiting at 120 s, long before the batch's own 30-minute timeout.
    resource.add_property_override("ServiceTimeout", "120")
    app.synth()
    steps.adapter.datazone_url = dz.url
    [result] = LocalCloudFormation(tmp_path / "cdk.out", endpoint=dz, stepfunctions=steps).deploy()
    return result


def test_a_batch_create_past_its_service_timeout_gets_its_delete_in_the_rollback(
    tmp_path: Path, event_dz: LocalDataZone, steps: LocalStepFunctions
) -> None:
    # Before: the rollback deleted only resources that had answered, so a batch whose Create
    # CloudFormation stopped waiting for kept its workflow running (issue 15, item 11).
    result = _deploy_past_service_timeout(tmp_path, event_dz, steps)
    assert result.status == "ROLLBACK_COMPLETE"
    assert STABILIZE in str(result.reason)
    batch = [r for r in result.requests if r.request["ResourceType"] == contract.BATCH_RESOURCE_TYPE]
    assert [(r.request_type, r.phase) for r in batch] == [("Create", "deploy"), ("Delete", "rollback")]
    create, delete = batch
    assert create.ignored == "ServiceTimeout 120 s"
    # An id CloudFormation invents, as for a Create it deletes in flight.
    assert delete.request["PhysicalResourceId"].startswith("Slow-")
    assert delete.response.status == "SUCCESS"
    # The Delete stopped the workflow and started the execution that cancels what it left.
    sfn = steps.client("stepfunctions", "us-east-1")
    [machine] = sfn.list_state_machines()["stateMachines"]
    executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    statuses = {e["name"].endswith("-cancel"): e["status"] for e in executions}
    assert statuses[False] == "ABORTED"
    assert True in statuses
