"""MetadataGenerationBatch(continuous=True), dry-run end to end: each later run of the data source is
announced by the local endpoint, routed by the deployed rule (moto's EventPattern) to the intake
(the packaged handler, invoked asynchronously), which starts the workflow over what that run
created or updated. The synthesized templates, the replay's EventBridge and moto's Step Functions.

Cases (issue 18, "Done when"): a later run with created, updated and unchanged assets (only the
first two are run); a duplicated event (one execution); a run of another data source of the same
domain (no work); a failed run (no work, and skipped.json says why); continuous removed (the rule
is gone, the next run starts nothing). Also: the run of a project the role may not read; a
missing membership, which lands the event in the dead-letter queue after Lambda's retries; and a
destroy, which stops a continuous execution still running and cancels its runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from constructs_local import Knobs, LocalCloudFormation, LocalDataZone, RealClock, default_seed
from constructs_local.events.catchup import DataSourceRunResult
from constructs_local.seed import with_generated_assets
from constructs_local.stepfunctions.interpreter import LocalStepFunctions

from constructs_lib import AcceptPredictions, AssetSelection, MetadataGenerationBatch

DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
SOURCE, NEIGHBOUR, ELSEWHERE = "salestables1", "hrtables1", "othertables1"
SPEED = 50.0
REGION = "us-east-1"
STACK = "Catalog"
GENERATED = 4  # with the project's two seeded Glue tables: six imported assets


def _seed() -> dict[str, Any]:
    seed = default_seed()
    seed["generatedAssets"] = GENERATED
    seed["domains"][DOMAIN]["dataSources"] = {
        SOURCE: {"project": PROJECT, "type": "GLUE", "name": "sales", "firstRun": "finished"},
        # Another data source of the same domain and project, and one of another project.
        NEIGHBOUR: {"project": PROJECT, "type": "GLUE", "name": "hr", "assets": [], "firstRun": "none"},
        ELSEWHERE: {"project": "otherproject1", "type": "GLUE", "name": "other", "firstRun": "none"},
    }
    return with_generated_assets(seed)


def _synth(outdir: Path, *, continuous: bool, rerun_token: str | None = None, timeout_minutes: int = 30) -> Path:
    app = cdk.App(outdir=str(outdir))
    MetadataGenerationBatch(
        cdk.Stack(app, STACK),
        "Imported",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.data_source(SOURCE),
        accept_predictions=AcceptPredictions.all(threshold=0.5),
        continuous=continuous,
        rerun_token=rerun_token,
        timeout=cdk.Duration.minutes(timeout_minutes),
    )
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synth(tmp_path_factory.mktemp("continuous-cdk.out"), continuous=True)


@pytest.fixture(scope="module")
def off_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same stack and batch, continuous switched off."""
    return _synth(tmp_path_factory.mktemp("not-continuous-cdk.out"), continuous=False)


@pytest.fixture(scope="module")
def rerun_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same batch with a rerun_token: a new deploy-time execution, the resource replaced (and
    a deploy that waits 2 minutes for it)."""
    return _synth(
        tmp_path_factory.mktemp("rerun-cdk.out"), continuous=True, rerun_token="catalog-v2", timeout_minutes=2
    )


def _endpoint(**knobs: object) -> LocalDataZone:
    fast = Knobs(submitted_seconds=2, in_progress_seconds=6, data_source_running_seconds=20)
    fast.update(knobs)
    return LocalDataZone(seed=_seed(), clock=RealClock(speed=SPEED), knobs=fast)


@pytest.fixture
def steps() -> Iterator[LocalStepFunctions]:
    with _endpoint() as placeholder, LocalStepFunctions(datazone_url=placeholder.url, speed=SPEED) as world:
        yield world


def _replay(assembly: Path, dz: LocalDataZone, world: LocalStepFunctions, state: Path) -> LocalCloudFormation:
    world.adapter.datazone_url = dz.url
    return LocalCloudFormation(assembly, endpoint=dz, stepfunctions=world, state_file=state)


def _deployed(replay: LocalCloudFormation) -> None:
    results = replay.deploy()
    assert [r.status for r in results] in (["CREATE_COMPLETE"], ["UPDATE_COMPLETE"]), [r.reason for r in results]


def _continuous(result: DataSourceRunResult) -> list[Any]:
    return [e for e in result.executions if e.name.startswith("mgc-")]


def _read(world: LocalStepFunctions, location: str) -> Any:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return json.loads(world.client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read())


def _started_since(dz: LocalDataZone, since: float) -> list[str]:
    return [
        str(c.params["target"]["identifier"])
        for c in dz.calls
        if c.operation == "StartMetadataGenerationRun" and c.at >= since and c.status == 200
    ]


def _outcomes(result: DataSourceRunResult) -> list[Any]:
    return [(d.outcome, (d.result or {}).get("outcome")) for d in result.deliveries]


def test_a_later_run_generates_metadata_for_what_it_created_and_updated_only(
    app_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, tmp_path / "state.json")
        _deployed(replay)
        since = dz.clock.now()
        result = replay.data_source_run(created=2, updated=1)
    assert result.ok, result
    assert result.activities == {"SUCCEEDED_CREATED": 2, "SUCCEEDED_UPDATED": 1, "UNCHANGED": GENERATED + 1}
    assert _outcomes(result) == [("delivered", "started")]
    (execution,) = _continuous(result)
    assert execution.status == "SUCCEEDED"
    assert (execution.summary["total"], execution.summary["succeeded"]) == (3, 3)
    assert execution.summary["location"].endswith(f"/continuous/{result.run_id}/summary.json")
    # Runs for exactly the new and the changed tables; the unchanged ones were left alone.
    assert sorted(_started_since(dz, since)) == sorted(result.created + result.updated)
    assert sorted(result.generated) == sorted((a, "SUCCEEDED", "ACCEPT") for a in result.created + result.updated)
    summary = _read(steps, execution.summary["location"])
    assert summary["counts"] == {"SUCCEEDED": 3}
    # Beside the deploy-time summary, under the batch's folder.
    (deploy_time,) = [e for e in result.executions if e.name.startswith("mgb-")]
    assert deploy_time.summary["location"].rsplit("/", 2)[0] == execution.summary["location"].rsplit("/", 3)[0]


def test_a_duplicated_event_starts_one_execution(app_dir: Path, steps: LocalStepFunctions, tmp_path: Path) -> None:
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, tmp_path / "state.json")
        _deployed(replay)
        since = dz.clock.now()
        result = replay.data_source_run(data_source=SOURCE, created=1, updated=0, redeliver=2)
    assert sorted(_outcomes(result)) == [("delivered", "duplicate"), ("delivered", "started")]
    (execution,) = _continuous(result)
    assert execution.status == "SUCCEEDED"
    assert _started_since(dz, since) == result.created


def test_a_run_of_another_data_source_of_the_domain_starts_nothing(
    app_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, tmp_path / "state.json")
        _deployed(replay)
        since = dz.clock.now()
        result = replay.data_source_run(data_source=NEIGHBOUR, created=1, updated=0)
    assert _outcomes(result) == [("delivered", "ignored")]
    assert result.deliveries[0].result["why"] == "another data source"
    assert _continuous(result) == []
    assert _started_since(dz, since) == []


def test_a_run_of_another_project_starts_nothing_and_dead_letters_nothing(
    app_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, tmp_path / "state.json")
        _deployed(replay)
        result = replay.data_source_run(data_source=ELSEWHERE, created=1, updated=0)
    assert _outcomes(result) == [("delivered", "ignored")]
    assert result.deliveries[0].result["why"] == "another project"
    assert result.dead_letters == {}
    assert _continuous(result) == []


def test_a_failed_run_starts_nothing_and_says_why(app_dir: Path, steps: LocalStepFunctions, tmp_path: Path) -> None:
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, tmp_path / "state.json")
        _deployed(replay)
        since = dz.clock.now()
        result = replay.data_source_run(created=2, updated=0, status="FAILED")
    assert result.status == "FAILED"
    assert [e["detail-type"] for e in result.events] == ["Data Source Run Failed"]
    assert _outcomes(result) == [("delivered", "skipped")]
    assert _continuous(result) == []
    assert _started_since(dz, since) == []
    bucket = next(b["Name"] for b in steps.client("s3", REGION).list_buckets()["Buckets"])
    skipped = _read(
        steps, f"s3://{bucket}/batches/{_batch_logical_id(app_dir)}/continuous/{result.run_id}/skipped.json"
    )
    assert skipped["status"] == "FAILED"
    assert skipped["errorMessage"]["errorType"] == "INTERNAL_SERVER_EXCEPTION"
    assert skipped["reason"].startswith("the data-source run FAILED: INTERNAL_SERVER_EXCEPTION: ")


def _batch_logical_id(assembly: Path) -> str:
    resources = json.loads((assembly / f"{STACK}.template.json").read_text())["Resources"]
    return next(str(k) for k, v in resources.items() if v["Type"] == "Custom::DataZoneMetadataGenerationBatch")


def test_removing_continuous_removes_the_rule(
    app_dir: Path, off_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    with _endpoint() as dz:
        _deployed(_replay(app_dir, dz, steps, state))
        # The same stack without continuous: an update; CloudFormation deletes the rule.
        off = _replay(off_dir, dz, steps, state)
        (updated,) = off.deploy()
        assert updated.status == "UPDATE_COMPLETE", updated.reason
        since = dz.clock.now()
        result = off.data_source_run(data_source=SOURCE, created=1, updated=1)
    assert [e["detail-type"] for e in result.events] == ["Data Source Run Succeeded"]
    assert result.deliveries == []  # no rule heard it
    assert _continuous(result) == []
    assert _started_since(dz, since) == []
    assert "AWS::Events::Rule" not in {
        r["Type"] for r in json.loads((off_dir / f"{STACK}.template.json").read_text())["Resources"].values()
    }


def test_without_its_membership_the_event_lands_in_the_dead_letter_queue_after_lambdas_retries(
    app_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, tmp_path / "state.json")
        _deployed(replay)
        # Someone removed the role from the project: the intake may not read the batch's own runs.
        members = dz.backend.world["domains"][DOMAIN]["projects"][PROJECT]["members"]
        role = next(principal for principal in members if ":role/" in principal)
        dz.backend.remove_membership(DOMAIN, PROJECT, role)
        result = replay.data_source_run(created=1, updated=0)
    (delivery,) = result.deliveries
    assert delivery.outcome == "dead-lettered"
    assert delivery.attempts == 3  # the invocation and Lambda's two retries
    assert "AccessDeniedException" in delivery.reason
    ((queue, messages),) = result.dead_letters.items()
    assert "ContinuousIntake" in queue  # the stack's one dead-letter queue
    (message,) = messages
    assert json.loads(message["Body"])["event"]["detail"]["metadata"]["id"] == result.run_id
    assert "AccessDeniedException" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]
    assert _continuous(result) == []


def test_a_destroy_stops_a_running_continuous_execution_and_cancels_its_runs(
    app_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, state)
        _deployed(replay)
        dz.knobs.in_progress_seconds = 24 * 3600  # the later run's assets take a day
        result = replay.data_source_run(created=1, updated=0, wait_seconds=60)
        (execution,) = _continuous(result)
        assert execution.status == "RUNNING"
        (destroyed,) = replay.destroy()
        assert destroyed.status == "DELETE_COMPLETE", destroyed.reason
        sfn = steps.client("stepfunctions", REGION)
        machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        statuses = {e["name"]: e["status"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
        (run,) = [r for r in dz.backend.runs.values() if r.asset_id == result.created[0]]
        run_status = dz.backend.run_status(DOMAIN, run.id)
    assert statuses[execution.name] == "ABORTED"
    assert statuses[f"{execution.name}-cancel"] == "SUCCEEDED"
    assert run_status == "CANCELED"


def test_a_replaced_batch_keeps_its_continuous_execution_and_the_new_execution_waits_its_turn(
    app_dir: Path, rerun_dir: Path, steps: LocalStepFunctions, tmp_path: Path
) -> None:
    # A new rerun_token replaces the batch's resource while an import is being enriched. The new
    # deploy-time execution waits for the continuous one (their runs would meet on the same
    # assets, and double the runs in flight); the deploy, waiting 2 minutes, goes on with the
    # batch RUNNING. CloudFormation then deletes the old resource, while the logical id names the
    # new one: the batch stays, and so does its continuous execution.
    state = tmp_path / "state.json"
    with _endpoint() as dz:
        replay = _replay(app_dir, dz, steps, state)
        _deployed(replay)
        dz.knobs.in_progress_seconds = 24 * 3600
        result = replay.data_source_run(created=1, updated=0, wait_seconds=60)
        (execution,) = _continuous(result)
        assert execution.status == "RUNNING"
        (updated,) = _replay(rerun_dir, dz, steps, state).deploy()
        assert updated.status == "UPDATE_COMPLETE", updated.reason
        assert [r.request_type for r in updated.requests] == ["Update", "Delete"]  # replaced, then cleaned up
        data = updated.requests[0].response.data
        sfn = steps.client("stepfunctions", REGION)
        continuous_status = sfn.describe_execution(executionArn=_execution_arn(sfn, execution.name))["status"]
        waiting = sfn.get_execution_history(executionArn=str(data["ExecutionArn"]), reverseOrder=True)["events"]
    assert data["Status"] == "RUNNING"
    assert continuous_status == "RUNNING"
    entered = [e["stateEnteredEventDetails"]["name"] for e in waiting if "stateEnteredEventDetails" in e]
    assert "WaitForTurn" in entered
    assert "ForEachAsset" not in entered


def _execution_arn(sfn: Any, name: str) -> str:
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return str(machine.replace(":stateMachine:", ":execution:") + ":" + name)
