"""MetadataGenerationBatch, Create and the start of its execution.

onEvent only names the execution (no call: choosing the assets may have to wait for a data
source's run). The first isComplete finds no execution of that name, selects the assets (IDS: the
construct's S3 object; DATA_SOURCE: what its latest run imported; SEARCH: the project's
inventory), writes them as items.json where needed and starts the execution with the exact input
the workflow definition reads. A redelivered request finds (or collides with) the execution of the
same name and never starts a second one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import batch, entry, index
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    CREATED_AT,
    DATA_SOURCE_ID,
    DESCRIPTIONS,
    DOMAIN_ID,
    EXECUTION_NAME,
    GLOSSARY,
    ITEMS_BUCKET,
    ITEMS_KEY,
    NAMES,
    PROJECT_ID,
    RESULTS_BUCKET,
    STACK_ID,
    STATE_MACHINE_ARN,
    FakeContext,
    JsonOf,
    activity,
    batch_event,
    batch_inputs,
    batch_pid,
    batch_poll_event,
    batch_props,
    data_source_run,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    execution_name_for,
    make_event,
    make_props,
    search_asset,
    start_params,
    start_response,
)

IDS_ITEMS = {"bucket": ITEMS_BUCKET, "key": ITEMS_KEY}
ITEMS_KEY_OF_SELECTION = f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}/items.json"
SELECTED_ITEMS = {"bucket": RESULTS_BUCKET, "key": ITEMS_KEY_OF_SELECTION}
NO_PREDICTIONS = {"mode": "NONE", "rule": {}, "choices": []}
DATA_SOURCE = {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID}
GLUE = "amazon.datazone.GlueTableAssetType"
REDSHIFT = "amazon.datazone.RedshiftTableAssetType"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """index.now() returns clock[0]: 10 s after onEvent accepted the batch (STARTED_AT)."""
    current = [CREATED_AT.timestamp() + 10]
    monkeypatch.setattr(index, "now", lambda: current[0])
    return current


def expected_input(
    items: dict[str, str] | None = None,
    *,
    types: list[str] | None = None,
    max_concurrency: int = 10,
    poll_seconds: int = 10,
    max_polls: int = 180,
    run_timeout_seconds: int = 1800,
    predictions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """contract.BatchInput, written out by hand."""
    return {
        "domainId": DOMAIN_ID,
        "projectId": PROJECT_ID,
        "types": [DESCRIPTIONS] if types is None else types,
        "items": IDS_ITEMS if items is None else items,
        "maxConcurrency": max_concurrency,
        "pollSeconds": poll_seconds,
        "maxPolls": max_polls,
        "runTimeoutSeconds": run_timeout_seconds,
        "tokenSeed": EXECUTION_NAME,
        "predictions": NO_PREDICTIONS if predictions is None else predictions,
        "resource": {"stackId": STACK_ID, "logicalResourceId": BATCH_LOGICAL_ID},
    }


def no_execution_yet(sfn: Stubber) -> None:
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        service_message=f"Execution Does Not Exist: '{execution_arn_of()}'",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )


def expect_start(sfn: Stubber, execution_input: dict[str, Any]) -> None:
    sfn.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(), "startDate": CREATED_AT},
        expected_params={
            "stateMachineArn": STATE_MACHINE_ARN,
            "name": EXECUTION_NAME,
            "input": JsonOf(execution_input),
        },
    )


def expect_items_written(s3: Stubber, asset_ids: list[str]) -> None:
    s3.add_response(
        "put_object",
        {},
        expected_params={
            "Bucket": RESULTS_BUCKET,
            "Key": ITEMS_KEY_OF_SELECTION,
            "Body": JsonOf(asset_ids),
            "ContentType": "application/json",
        },
    )


# ---------------------------------------------------------------------------------------------
# onEvent Create


def test_create_names_the_execution_and_calls_nothing(
    sfn: Stubber, s3: Stubber, stubbed: Stubber, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "now", lambda: 1767323045.25)
    result = batch.on_event(batch_event(), context)
    assert result == {
        "PhysicalResourceId": f"{EXECUTION_NAME}:{batch_inputs()}",
        "Data": {"ExecutionArn": execution_arn_of(), "StartedAt": "1767323045.250"},
    }
    assert re.fullmatch(r"mgb-[0-9a-f]{32}:[0-9a-f]{16}", result["PhysicalResourceId"])
    # The name is what Step Functions takes, and what the physical id format takes as a run id.
    assert index.PhysicalId.parse(result["PhysicalResourceId"]) == index.PhysicalId(EXECUTION_NAME, batch_inputs())


def test_redelivered_create_gets_the_same_name_and_another_request_another(context: FakeContext) -> None:
    first = batch.on_event(batch_event(), context)
    again = batch.on_event(batch_event(), context)
    other = batch.on_event(batch_event(request_id="33333333-aaaa-bbbb-cccc-000000000003"), context)
    assert first["PhysicalResourceId"] == again["PhysicalResourceId"]
    assert (
        other["PhysicalResourceId"] == f"{execution_name_for('33333333-aaaa-bbbb-cccc-000000000003')}:{batch_inputs()}"
    )
    assert other["PhysicalResourceId"] != first["PhysicalResourceId"]


def test_execution_arn_is_the_state_machines_with_the_name() -> None:
    assert batch.execution_arn(STATE_MACHINE_ARN, EXECUTION_NAME) == execution_arn_of()


# ---------------------------------------------------------------------------------------------
# entry: one Lambda function, dispatched on ResourceType


@pytest.mark.parametrize("entry_point", ["on_event", "is_complete"])
@pytest.mark.parametrize(
    ("resource_type", "expected"),
    [
        ("Custom::DataZoneMetadataGenerationBatch", "batch"),
        ("Custom::DataZoneMetadataGenerationRun", "index"),
        ("Custom::SomethingElse", "index"),
    ],
)
def test_entry_dispatches_on_resource_type(
    monkeypatch: pytest.MonkeyPatch, context: FakeContext, entry_point: str, resource_type: str, expected: str
) -> None:
    seen: list[str] = []

    def recorder(name: str) -> Callable[[Any, Any], dict[str, str]]:
        def handler(event: Any, ctx: Any) -> dict[str, str]:
            assert ctx is context
            seen.append(name)
            return {"PhysicalResourceId": name}

        return handler

    monkeypatch.setattr(batch, entry_point, recorder("batch"))
    monkeypatch.setattr(index, entry_point, recorder("index"))
    event: dict[str, Any] = {**batch_event(), "ResourceType": resource_type}
    assert getattr(entry, entry_point)(event, context) == {"PhysicalResourceId": expected}
    assert seen == [expected]


def test_entry_runs_each_resource_types_real_handler(stubbed: Stubber, sfn: Stubber, context: FakeContext) -> None:
    # The batch: a name and no call; the run: StartMetadataGenerationRun (and nothing on Step Functions).
    assert entry.on_event(dict(batch_event()), context)["PhysicalResourceId"].startswith("mgb-")
    stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    run_event = dict(make_event("Create", make_props()))
    assert entry.on_event(run_event, context)["PhysicalResourceId"].startswith("run_")


# ---------------------------------------------------------------------------------------------
# isComplete, phase 1: start the execution


@pytest.mark.parametrize(
    ("overrides", "changes"),
    [
        ({}, {}),
        (
            {"Types": [NAMES, GLOSSARY], "MaxConcurrency": "250", "PollSeconds": "30", "RunTimeoutSeconds": "3600"},
            {
                "types": [NAMES, GLOSSARY],
                "max_concurrency": 250,
                "poll_seconds": 30,
                "max_polls": 120,
                "run_timeout_seconds": 3600,
            },
        ),
        # maxPolls = ceil(run timeout / poll interval); the workflow cancels a run once the seconds
        # it waited reach runTimeoutSeconds (its interval backs off, so it does not count polls).
        ({"PollSeconds": "10", "RunTimeoutSeconds": "95"}, {"max_polls": 10, "run_timeout_seconds": 95}),
        ({"PollSeconds": "7", "RunTimeoutSeconds": "7"}, {"poll_seconds": 7, "max_polls": 1, "run_timeout_seconds": 7}),
        (
            {"PollSeconds": "3600", "RunTimeoutSeconds": "1"},
            {"poll_seconds": 3600, "max_polls": 1, "run_timeout_seconds": 1},
        ),
        # A zero interval (local dry runs) counts polls of one second.
        (
            {"PollSeconds": "0", "RunTimeoutSeconds": "60"},
            {"poll_seconds": 0, "max_polls": 60, "run_timeout_seconds": 60},
        ),
    ],
)
def test_first_poll_starts_the_execution_with_the_exact_input(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext, overrides: dict[str, Any], changes: Any
) -> None:
    props = batch_props(**overrides)
    no_execution_yet(sfn)
    expect_start(sfn, expected_input(**changes))
    # IDS: the workflow reads the construct's own S3 object; nothing is written.
    assert batch.is_complete(batch_poll_event(props), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("policy", "predictions"),
    [
        (
            {"Action": "ACCEPT", "Rule": "ALL", "Threshold": "0.8"},
            {"mode": "ACCEPT_RULE", "rule": {"Rule": "ALL", "Threshold": 0.8}, "choices": []},
        ),
        (
            {"Action": "ACCEPT", "Threshold": "0.5"},
            {"mode": "ACCEPT_RULE", "rule": {"Threshold": 0.5}, "choices": []},
        ),
        (
            {
                "Action": "ACCEPT",
                "Choices": [
                    {"PredictionTarget": "name", "PredictionChoice": "1"},
                    {"PredictionTarget": "col1.description", "EditedValue": "Order id"},
                ],
            },
            {
                "mode": "ACCEPT_CHOICES",
                "rule": {"Rule": "NONE"},
                "choices": [
                    {"PredictionTarget": "name", "PredictionChoice": 1},
                    {"PredictionTarget": "col1.description", "EditedValue": "Order id"},
                ],
            },
        ),
        ({"Action": "REJECT", "Rule": "ALL"}, {"mode": "REJECT_RULE", "rule": {"Rule": "ALL"}, "choices": []}),
        (
            {"Action": "REJECT", "Choices": [{"PredictionTarget": "description", "PredictionChoices": ["0", "2"]}]},
            {
                "mode": "REJECT_CHOICES",
                "rule": {"Rule": "NONE"},
                "choices": [{"PredictionTarget": "description", "PredictionChoices": [0, 2]}],
            },
        ),
    ],
)
def test_predictions_policy_reaches_the_workflow_in_pascal_case(
    sfn: Stubber, clock: list[float], context: FakeContext, policy: dict[str, Any], predictions: dict[str, Any]
) -> None:
    no_execution_yet(sfn)
    expect_start(sfn, expected_input(predictions=predictions))
    assert batch.is_complete(batch_poll_event(batch_props(Predictions=policy)), context) == {"IsComplete": False}


def test_execution_already_exists_counts_as_started(sfn: Stubber, clock: list[float], context: FakeContext) -> None:
    # A redelivered poll raced the first one: Step Functions refuses a second execution of the name.
    no_execution_yet(sfn)
    sfn.add_client_error(
        "start_execution",
        service_error_code="ExecutionAlreadyExists",
        service_message="Execution Already Exists",
        http_status_code=400,
        expected_params={
            "stateMachineArn": STATE_MACHINE_ARN,
            "name": EXECUTION_NAME,
            "input": JsonOf(expected_input()),
        },
    )
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_execution_already_exists_without_waiting_completes_as_running(
    sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    props = batch_props(WaitForCompletion="false")
    no_execution_yet(sfn)
    sfn.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists", http_status_code=400)
    assert batch.is_complete(batch_poll_event(props), context)["PhysicalResourceId"] == batch_pid(
        props, status="RUNNING"
    )


def test_redelivered_request_finds_the_execution_and_starts_nothing(
    sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


#: What a batch that does not wait reports: it is running, and nothing is counted yet.
RUNNING_WITHOUT_COUNTS = {
    "ExecutionArn": execution_arn_of(),
    "Status": "RUNNING",
    "SucceededCount": "UNKNOWN",
    "FailedCount": "UNKNOWN",
    "Summary": "",
}


def test_without_waiting_completes_once_started_with_unknown_counts(
    sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    props = batch_props(WaitForCompletion="false")
    no_execution_yet(sfn)
    expect_start(sfn, expected_input())
    assert batch.is_complete(batch_poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(props, status="RUNNING"),
        "Data": RUNNING_WITHOUT_COUNTS,
    }


def test_without_waiting_a_redelivered_poll_completes_on_the_running_execution(
    sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    props = batch_props(WaitForCompletion="false")
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(props, status="RUNNING"),
        "Data": RUNNING_WITHOUT_COUNTS,
    }


def test_a_poll_without_started_at_completes_with_no_call(context: FakeContext) -> None:
    # A kept or adopted batch: this request started nothing.
    event = batch_event("Update", physical_id=batch_pid(status="SUCCEEDED", counts="7.1"), data={})
    assert batch.is_complete(event, context) == {
        "IsComplete": True,
        "Data": {
            "ExecutionArn": execution_arn_of(),
            "Status": "SUCCEEDED",
            "SucceededCount": "7",
            "FailedCount": "1",
            "Summary": "",
        },
    }


@pytest.mark.parametrize("physical_id", ["Demo-CatalogBatchA1B2C3D4-1A2B3C4D5E6F", "not:ours", ""])
def test_a_poll_with_a_physical_id_not_ours_fails(context: FakeContext, physical_id: str) -> None:
    event = batch_poll_event(physical_id=physical_id)
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(event, context)
    assert str(caught.value) == f"physical id {physical_id!r} is not a batch of this resource"


def test_delete_is_complete_at_once(context: FakeContext) -> None:
    event = batch_event("Delete", {"DomainId": "bad"}, physical_id=batch_pid())
    assert batch.is_complete(event, context) == {"IsComplete": True}


# ---------------------------------------------------------------------------------------------
# DATA_SOURCE: the assets the data source's latest run imported


def list_runs_params(next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"domainIdentifier": DOMAIN_ID, "dataSourceIdentifier": DATA_SOURCE_ID, "maxResults": 50}
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def activities_params(run_id: str, next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"domainIdentifier": DOMAIN_ID, "identifier": run_id, "maxResults": 50}
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def test_data_source_without_runs_is_not_complete_and_starts_nothing(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    # A data source created with the stack may not have run yet.
    no_execution_yet(sfn)
    stubbed.add_response("list_data_source_runs", {"items": []}, list_runs_params())
    assert batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context) == {"IsComplete": False}


@pytest.mark.parametrize("status", ["REQUESTED", "RUNNING"])
def test_data_source_whose_latest_run_is_going_is_not_complete(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext, status: str
) -> None:
    no_execution_yet(sfn)
    # The latest run (by createdAt, whatever page it is on) decides, not the first listed.
    stubbed.add_response(
        "list_data_source_runs",
        {
            "items": [data_source_run("dsr_old", "SUCCESS", created_at=CREATED_AT - timedelta(days=1))],
            "nextToken": "p2",
        },
        list_runs_params(),
    )
    stubbed.add_response(
        "list_data_source_runs",
        {"items": [data_source_run("dsr_new", status)]},
        list_runs_params("p2"),
    )
    assert batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context) == {"IsComplete": False}


def test_data_source_still_without_a_finished_run_at_the_deadline_fails(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + 1800
    no_execution_yet(sfn)
    stubbed.add_response("list_data_source_runs", {"items": [data_source_run("dsr_1", "RUNNING")]}, list_runs_params())
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within 1800 s (use wait_for_completion=False "
        "for batches longer than the deploy may wait); the data source's latest run has not finished"
    )


FAILED_RUN_ERROR = {"errorType": "ACCESS_DENIED_EXCEPTION", "errorDetail": "Glue database sales: access denied"}


def test_data_source_whose_latest_run_failed_fails_naming_the_run(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response(
        "list_data_source_runs",
        {
            "items": [
                data_source_run("dsr_ok", "SUCCESS", created_at=CREATED_AT - timedelta(hours=1)),
                data_source_run("dsr_bad", "FAILED", error=FAILED_RUN_ERROR),
            ]
        },
        list_runs_params(),
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context)
    assert str(caught.value).startswith(f"data source {DATA_SOURCE_ID}: its latest run dsr_bad ended FAILED: ")


def test_data_source_whose_latest_run_failed_gives_the_services_message(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response(
        "list_data_source_runs",
        {"items": [data_source_run("dsr_bad", "FAILED", error=FAILED_RUN_ERROR)]},
        list_runs_params(),
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context)
    assert "Glue database sales: access denied" in str(caught.value)
    assert "ACCESS_DENIED_EXCEPTION" in str(caught.value)


@pytest.mark.parametrize(
    ("error", "said"),
    [({"errorType": "INTERNAL_SERVER_ERROR"}, "INTERNAL_SERVER_ERROR: no detail"), (None, "no error type: no detail")],
)
def test_data_source_run_that_failed_without_details_says_so(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext, error: Any, said: str
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response(
        "list_data_source_runs", {"items": [data_source_run("dsr_bad", "FAILED", error=error)]}, list_runs_params()
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context)
    assert str(caught.value) == f"data source {DATA_SOURCE_ID}: its latest run dsr_bad ended FAILED: {said}"


@pytest.mark.parametrize("run_status", ["SUCCESS", "PARTIALLY_SUCCEEDED"])
def test_data_source_run_that_ended_well_gives_its_imported_assets(
    stubbed: Stubber, s3: Stubber, sfn: Stubber, clock: list[float], context: FakeContext, run_status: str
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response(
        "list_data_source_runs",
        {
            "items": [
                data_source_run("dsr_old", "FAILED", created_at=CREATED_AT - timedelta(days=2)),
                data_source_run("dsr_latest", run_status, created_at=CREATED_AT - timedelta(minutes=5)),
            ]
        },
        list_runs_params(),
    )
    stubbed.add_response(
        "list_data_source_run_activities",
        {
            "items": [
                activity("a1", "SUCCEEDED_CREATED"),
                activity("a2", "SUCCEEDED_UPDATED"),
                activity("a3", "FAILED"),
                activity(None, "SUCCEEDED_CREATED"),  # no asset id: nothing to generate for
                activity("a4", "SKIPPED_ALREADY_IMPORTED"),
            ],
            "nextToken": "page-2",
        },
        activities_params("dsr_latest"),
    )
    stubbed.add_response(
        "list_data_source_run_activities",
        {
            "items": [
                activity("a5", "UNCHANGED"),
                activity("a6", "SKIPPED_NO_ACCESS"),
                activity("a7", "SKIPPED_ARCHIVED"),
                activity("a8", "PUBLISHING_FAILED"),
                activity("a1", "SUCCEEDED_UPDATED"),  # listed twice: one run
            ]
        },
        activities_params("dsr_latest", "page-2"),
    )
    expect_items_written(s3, ["a1", "a2", "a4", "a5"])
    expect_start(sfn, expected_input(SELECTED_ITEMS))
    assert batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context) == {"IsComplete": False}


def test_data_source_run_that_imported_nothing_starts_an_empty_batch(
    stubbed: Stubber, s3: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response("list_data_source_runs", {"items": [data_source_run("dsr_1", "SUCCESS")]}, list_runs_params())
    stubbed.add_response("list_data_source_run_activities", {"items": []}, activities_params("dsr_1"))
    expect_items_written(s3, [])
    expect_start(sfn, expected_input(SELECTED_ITEMS))
    assert batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context) == {"IsComplete": False}


# ---------------------------------------------------------------------------------------------
# SEARCH: the project's inventory


def search_params(text: str | None = None, next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "domainIdentifier": DOMAIN_ID,
        "owningProjectIdentifier": PROJECT_ID,
        "searchScope": "ASSET",
        "maxResults": 50,
    }
    if text is not None:
        params["searchText"] = text
    if next_token is not None:
        params["nextToken"] = next_token
    return params


@pytest.mark.parametrize(
    ("selection", "text", "expected"),
    [
        ({"Kind": "SEARCH"}, None, ["s1", "s2", "s3", "s4"]),
        ({"Kind": "SEARCH", "Text": "orders"}, "orders", ["s1", "s2", "s3", "s4"]),
        ({"Kind": "SEARCH", "Text": "orders", "AssetTypes": [GLUE]}, "orders", ["s1", "s3"]),
        ({"Kind": "SEARCH", "AssetTypes": [REDSHIFT, GLUE]}, None, ["s1", "s2", "s3", "s4"]),
        ({"Kind": "SEARCH", "AssetTypes": ["custom.Type"]}, None, []),
    ],
)
def test_search_pages_through_the_projects_assets(
    stubbed: Stubber,
    s3: Stubber,
    sfn: Stubber,
    clock: list[float],
    context: FakeContext,
    selection: dict[str, Any],
    text: str | None,
    expected: list[str],
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response(
        "search",
        {"items": [search_asset("s1", GLUE), search_asset("s2", REDSHIFT)], "nextToken": "t2"},
        search_params(text),
    )
    stubbed.add_response(
        "search",
        {"items": [search_asset("s3", GLUE), search_asset("s1", GLUE)], "nextToken": "t3"},
        search_params(text, "t2"),
    )
    stubbed.add_response("search", {"items": [search_asset("s4", REDSHIFT)]}, search_params(text, "t3"))
    expect_items_written(s3, expected)
    expect_start(sfn, expected_input(SELECTED_ITEMS))
    assert batch.is_complete(batch_poll_event(batch_props(Selection=selection)), context) == {"IsComplete": False}


# ---------------------------------------------------------------------------------------------
# Errors while selecting


@pytest.mark.parametrize(("code", "http_status"), [("ThrottlingException", 429), ("InternalServerException", 500)])
def test_transient_selection_error_is_not_complete(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext, code: str, http_status: int
) -> None:
    no_execution_yet(sfn)
    stubbed.add_client_error(
        "list_data_source_runs",
        service_error_code=code,
        http_status_code=http_status,
        expected_params=list_runs_params(),
    )
    assert batch.is_complete(batch_poll_event(batch_props(Selection=DATA_SOURCE)), context) == {"IsComplete": False}


def test_selection_access_denied_fails(
    stubbed: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    no_execution_yet(sfn)
    stubbed.add_client_error(
        "search",
        service_error_code="AccessDeniedException",
        service_message="not a member of the project",
        http_status_code=403,
        expected_params=search_params(),
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(Selection={"Kind": "SEARCH"})), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME}: AccessDeniedException: not a member of the project"
    )


def test_items_that_cannot_be_written_fail_before_starting(
    stubbed: Stubber, s3: Stubber, sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    no_execution_yet(sfn)
    stubbed.add_response("search", {"items": [search_asset("s1")]}, search_params())
    s3.add_client_error(
        "put_object", service_error_code="AccessDenied", service_message="Access Denied", http_status_code=403
    )
    with pytest.raises(index.RunError, match=r"AccessDenied: Access Denied$"):
        batch.is_complete(batch_poll_event(batch_props(Selection={"Kind": "SEARCH"})), context)
