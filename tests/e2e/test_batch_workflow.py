"""The batch workflow owns the job (issue "Whole catalogs for real"): it chooses the assets with its
worker, writes summary.json and applies the failure tolerance itself, whether or not the deploy
waits. Run locally: the synthesized state machine in moto, its worker as the packaged Lambda asset,
the local DataZone endpoint, every thread on one simulated clock (:class:`EventClock`)."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from constructs_local import EventClock, Knobs, LocalCloudFormation, LocalDataZone, default_seed
from constructs_local.report import print_result
from constructs_local.seed import generated_asset_ids, with_generated_assets
from constructs_local.stepfunctions.interpreter import LocalStepFunctions

from constructs_lib import AcceptPredictions, AssetSelection, MetadataGenerationBatch

DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
SOURCE = "tablessource1"
EMPTY_SOURCE = "emptysource1"
REGION = "us-east-1"
GENERATED = 120  # more than two pages of activities (50 a page)


def _seed() -> dict[str, Any]:
    seed = default_seed()
    seed["generatedAssets"] = GENERATED
    domain = seed["domains"][DOMAIN]
    domain["dataSources"] = {
        SOURCE: {"project": PROJECT, "type": "GLUE", "name": "tables", "firstRun": "finished"},
        EMPTY_SOURCE: {"project": PROJECT, "type": "GLUE", "name": "nothing", "assets": [], "firstRun": "finished"},
    }
    return with_generated_assets(seed)


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("workflow-cdk.out")
    app = cdk.App(outdir=str(outdir))
    source = cdk.Stack(app, "FromSource")
    MetadataGenerationBatch(
        source,
        "Imported",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.data_source(SOURCE),
        max_concurrency=20,
        accept_predictions=AcceptPredictions.all(),
    )
    search = cdk.Stack(app, "FromSearch")
    MetadataGenerationBatch(
        search,
        "Found",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.search(asset_types=["amazon.datazone.S3ObjectCollectionAssetType"]),
    )
    later = cdk.Stack(app, "Later")
    MetadataGenerationBatch(
        later,
        "Async",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.ids(["exampleasset1", "exampleasset2"]),
        wait_for_completion=False,
        failure_tolerance=10,
    )
    for stack_name, allow in (("Empty", False), ("EmptyAllowed", True)):
        MetadataGenerationBatch(
            cdk.Stack(app, stack_name),
            "Nothing",
            domain_id=DOMAIN,
            project_id=PROJECT,
            assets=AssetSelection.data_source(EMPTY_SOURCE),
            allow_empty_selection=allow,
        )
    MetadataGenerationBatch(
        cdk.Stack(app, "Outlasts"),
        "Long",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.ids(["exampleasset1"]),
        timeout=cdk.Duration.minutes(1),
    )
    app.synth()
    return outdir


@pytest.fixture(autouse=True)
def _quiet_moto() -> None:
    logging.getLogger("moto").setLevel(logging.ERROR)


def _endpoint(**knobs: object) -> LocalDataZone:
    fast = Knobs(submitted_seconds=2, in_progress_seconds=6, data_source_running_seconds=20)
    fast.update(knobs)
    return LocalDataZone(seed=_seed(), clock=EventClock(), knobs=fast)


@pytest.fixture
def steps() -> Iterator[LocalStepFunctions]:
    with _endpoint() as placeholder, LocalStepFunctions(datazone_url=placeholder.url) as world:
        yield world


def _deploy(assembly: Path, dz: LocalDataZone, world: LocalStepFunctions) -> LocalCloudFormation:
    world.adapter.datazone_url = dz.url
    return LocalCloudFormation(assembly, endpoint=dz, stepfunctions=world)


def _read(world: LocalStepFunctions, location: str) -> Any:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return json.loads(world.client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read())


def _worker_calls(world: LocalStepFunctions) -> list[dict[str, Any]]:
    functions = {id(f): f for f in world.adapter.functions.values()}.values()
    return [i.event for f in functions for i in f.invocations]


def test_the_workflow_pages_a_data_sources_import_and_the_handler_selects_nothing(
    app_dir: Path, steps: LocalStepFunctions
) -> None:
    with _endpoint() as dz:
        [result] = _deploy(app_dir, dz, steps).deploy(["FromSource"])
    assert result.status == "CREATE_COMPLETE", result.reason
    data = result.requests[-1].response.data
    assert data["SucceededCount"] == str(GENERATED + 2)  # and the project's two seeded Glue tables
    assert data["FailedCount"] == "0"
    summary = _read(steps, str(data["Summary"]))
    assert summary["counts"] == {"SUCCEEDED": GENERATED + 2}
    items_at = str(data["Summary"]).replace("summary.json", "items.json")
    imported = sorted(["exampleasset1", "exampleasset2", *generated_asset_ids(DOMAIN, PROJECT, GENERATED)])
    assert sorted(_read(steps, items_at)) == imported
    actions = [event["action"] for event in _worker_calls(steps)]
    assert actions.count("select") >= 2  # pages, then the join of the parts
    assert actions[-1] == "summarize"
    # The custom resource's own invocations never chose the assets: only the worker did.
    handler_logs = "\n".join(line for i in result.requests[-1].run.invocations for line in i.logs)
    assert "batch execution started" in handler_logs
    assert "batch assets selected" not in handler_logs
    assert "ListDataSourceRun" not in handler_logs


def test_a_search_selects_the_projects_assets_of_the_given_type(app_dir: Path, steps: LocalStepFunctions) -> None:
    with _endpoint() as dz:
        [result] = _deploy(app_dir, dz, steps).deploy(["FromSearch"])
        started = {c.params["target"]["identifier"] for c in dz.calls if c.operation == "StartMetadataGenerationRun"}
    # exampleobjects1 is the project's one S3 object collection; its type does not support
    # generation, so its run fails: the workflow counted it as a failure, with DataZone's reason.
    assert started == {"exampleobjects1"}
    assert result.status == "ROLLBACK_COMPLETE"
    assert result.reason is not None
    assert "1 of 1 assets failed" in result.reason
    assert "exampleobjects1" in result.reason


def test_a_batch_that_does_not_wait_still_writes_its_summary_and_fails_beyond_tolerance(
    app_dir: Path, steps: LocalStepFunctions
) -> None:
    with _endpoint(final_status={"exampleasset2": "FAILED"}) as dz:
        [result] = _deploy(app_dir, dz, steps).deploy(["Later"])
        assert result.status == "CREATE_COMPLETE", result.reason
        data = result.requests[-1].response.data
        assert data["SucceededCount"] == "UNKNOWN"
        location = str(data["Summary"])
        assert location.startswith("s3://")
        assert location.endswith("/summary.json")
        sfn = steps.client("stepfunctions", REGION)
        arn = str(data["ExecutionArn"])
        deadline = time.monotonic() + 30
        while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.1)
    # 1 of 2 failed, past the 10 % tolerance: the execution itself says so (alarm on it).
    assert execution["status"] == "FAILED"
    assert execution["error"] == "FailureToleranceExceeded"
    assert execution["cause"].startswith("1 of 2 assets failed (failure_tolerance 10 %; summary s3://")
    assert "exampleasset2 FAILED" in execution["cause"]
    summary = _read(steps, location)
    assert summary["total"] == 2
    assert summary["counts"] == {"FAILED": 1, "SUCCEEDED": 1}
    assert [f["assetId"] for f in summary["failures"]] == ["exampleasset2"]


def test_a_failed_data_source_run_fails_the_deploy_naming_the_run(app_dir: Path, steps: LocalStepFunctions) -> None:
    with _endpoint() as dz:
        dz.knobs.data_source_final_status = {SOURCE: "FAILED"}
        dz.backend.start_data_source_run(DOMAIN, SOURCE)
        [result] = _deploy(app_dir, dz, steps).deploy(["FromSource"])
    assert result.status == "ROLLBACK_COMPLETE"
    assert result.reason is not None
    assert f"SelectionError: data source {SOURCE}: its latest run" in result.reason
    assert "ended FAILED" in result.reason


def test_an_empty_data_source_selection_fails_the_deploy_naming_it(app_dir: Path, steps: LocalStepFunctions) -> None:
    with _endpoint() as dz:
        [result] = _deploy(app_dir, dz, steps).deploy(["Empty"])
        started = [c for c in dz.calls if c.operation == "StartMetadataGenerationRun"]
    assert result.status == "ROLLBACK_COMPLETE"
    assert result.reason is not None
    assert f"SelectionError: The selection is empty: data source {EMPTY_SOURCE}'s latest run" in result.reason
    assert "allow_empty_selection=True" in result.reason
    assert started == []
    # The dry run says where its assets come from.
    printed = io.StringIO()
    print_result(result, printed)
    assert "--seed-assets N" in printed.getvalue()
    assert "dataSources.<id>.assets" in printed.getvalue()


def test_an_allowed_empty_selection_is_a_batch_of_none(app_dir: Path, steps: LocalStepFunctions) -> None:
    with _endpoint() as dz:
        [result] = _deploy(app_dir, dz, steps).deploy(["EmptyAllowed"])
    assert result.status == "CREATE_COMPLETE", result.reason
    data = result.requests[-1].response.data
    assert (data["SucceededCount"], data["FailedCount"]) == ("0", "0")
    assert _read(steps, str(data["Summary"]))["total"] == 0


def test_a_batch_that_outlasts_its_timeout_goes_on_after_the_deploy(app_dir: Path, steps: LocalStepFunctions) -> None:
    # Runs of 10 minutes, a deploy that waits one: the resource completes RUNNING, the workflow
    # carries on and writes the summary.
    with _endpoint(in_progress_seconds=600) as dz:
        [result] = _deploy(app_dir, dz, steps).deploy(["Outlasts"])
        assert result.status == "CREATE_COMPLETE", result.reason
        data = result.requests[-1].response.data
        assert data["Status"] == "RUNNING"
        assert data["SucceededCount"] == "UNKNOWN"
        sfn = steps.client("stepfunctions", REGION)
        deadline = time.monotonic() + 60
        while (execution := sfn.describe_execution(executionArn=str(data["ExecutionArn"])))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.1)
    assert execution["status"] == "SUCCEEDED"
    assert _read(steps, str(data["Summary"]))["counts"] == {"SUCCEEDED": 1}
