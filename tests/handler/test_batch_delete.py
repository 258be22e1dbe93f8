"""MetadataGenerationBatch, Delete: stop the execution, cancel the runs it left, never fail.

A batch that finished SUCCEEDED has nothing running: no call. Otherwise the execution is stopped
(when it still runs) and the project's SUBMITTED/IN_PROGRESS runs of the batch's assets, created
since the execution started, are cancelled: the batch's assets are an IDS batch's own file, or the
items.json the workflow wrote for any other selection (absent when it stopped before choosing
them: then nothing of the batch can be running). A physical id the handler did not write (an
in-flight Create CloudFormation gave up on) is resolved by the execution input's `resource`.
cancel_on_delete false: no call. Any error is logged and the Delete succeeds.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import batch
from tests.handler.conftest import Clients
from tests.handler.helpers import (
    BATCH_INPUT,
    BATCH_LOGICAL_ID,
    CREATED_AT,
    DATA_SOURCE_ID,
    DOMAIN_ID,
    EXECUTION_NAME,
    FAILED_CREATE_MARKER,
    ITEMS_BUCKET,
    ITEMS_KEY,
    RESULTS_BUCKET,
    STACK_ID,
    STATE_MACHINE_ARN,
    FakeContext,
    batch_event,
    batch_input,
    batch_pid,
    batch_props,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    execution_name_for,
    expect_stop,
    list_active_runs_params,
    run_item,
    s3_body,
)

INVENTED_ID = "Demo-CatalogBatchA1B2C3D4-1A2B3C4D5E6F"
AFTER_START = CREATED_AT + timedelta(seconds=30)
CANCEL = "CancelMetadataGenerationRun"


def delete(physical_id: str, props: dict[str, Any] | None = None) -> Any:
    return batch_event("Delete", props, physical_id=physical_id)


def cancelled(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [params["identifier"] for name, params in calls if name == CANCEL]


def take_refused(clients: Clients) -> list[str]:
    """The calls the stubbers refused so far, cleared (for xfail tests: the check runs in the test,
    not at teardown, where xfail does not apply)."""
    refused = [message for stubber in clients.all() for message in stubber.refused]
    for stubber in clients.all():
        stubber.refused.clear()
    return refused


@pytest.mark.parametrize(
    "physical_id",
    [
        batch_pid(status="SUCCEEDED", counts="10.0"),
        batch_pid(status="SUCCEEDED", counts="9.1", previous=batch_pid(name="mgb-" + "0" * 32)),
    ],
)
def test_delete_of_a_succeeded_batch_calls_nothing(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, physical_id: str
) -> None:
    assert batch.on_event(delete(physical_id), context) == {"PhysicalResourceId": physical_id}


@pytest.mark.parametrize("cancel_on_delete", ["false", "False", False])
@pytest.mark.parametrize("physical_id", [batch_pid(), batch_pid(status="RUNNING"), INVENTED_ID])
def test_delete_with_cancel_on_delete_off_calls_nothing(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, physical_id: str, cancel_on_delete: Any
) -> None:
    event = delete(physical_id, batch_props(CancelOnDelete=cancel_on_delete))
    assert batch.on_event(event, context) == {"PhysicalResourceId": physical_id}


def test_delete_without_a_physical_id_succeeds(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, log_lines: list[dict[str, Any]]
) -> None:
    event = batch_event("Delete", batch_props(CancelOnDelete="false"))
    assert batch.on_event(event, context) == {"PhysicalResourceId": ""}
    assert log_lines[-1] == {
        "level": "INFO",
        "message": "cancel_on_delete is off; execution left alone",
        "physicalResourceId": "",
    }


@pytest.mark.parametrize("props", [{"DomainId": "bad"}, {}, batch_props(CancelOnDelete="maybe")])
def test_delete_with_invalid_properties_calls_nothing_and_succeeds(
    sfn: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture, props: dict[str, Any]
) -> None:
    with caplog.at_level(logging.WARNING, logger="metadata_generation_run"):
        assert batch.on_event(delete(batch_pid(), props), context) == {"PhysicalResourceId": batch_pid()}
    assert "batch properties are not valid; nothing to stop" in caplog.text


@pytest.mark.parametrize("physical_id", [batch_pid(), batch_pid(status="RUNNING"), batch_pid(previous=batch_pid())])
def test_delete_stops_the_execution_and_cancels_only_the_batchs_runs(
    stubbed: Stubber,
    sfn: Stubber,
    s3: Stubber,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
    physical_id: str,
) -> None:
    expect_stop(
        sfn,
        s3,
        stubbed,
        why="delete",
        assets=["a1", "a2", "a3"],
        in_progress=[
            run_item("run_1", asset_id="a1", created_at=AFTER_START),
            run_item("run_other_asset", asset_id="z9", created_at=AFTER_START),
            run_item("run_other_project", asset_id="a2", project_id="prj_other", created_at=AFTER_START),
            run_item("run_before_batch", asset_id="a3", created_at=CREATED_AT - timedelta(seconds=1)),
            run_item("run_2", asset_id="a2", created_at=CREATED_AT),  # at the start: the batch's
        ],
        submitted=[
            run_item("run_3", "SUBMITTED", asset_id="a3", created_at=AFTER_START),
            run_item("run_other_asset_2", "SUBMITTED", asset_id="a", created_at=AFTER_START),
        ],
        cancelled=["run_1", "run_2", "run_3"],
    )
    assert batch.on_event(delete(physical_id), context) == {"PhysicalResourceId": physical_id}
    assert cancelled(api_calls) == ["run_1", "run_2", "run_3"]
    assert [name for name, _ in api_calls] == [
        "ListMetadataGenerationRuns",
        CANCEL,
        CANCEL,
        "ListMetadataGenerationRuns",
        CANCEL,
    ]


def test_delete_pages_through_the_active_runs(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_response("stop_execution", {"stopDate": AFTER_START}, None)
    s3.add_response("get_object", s3_body(["a1", "a2"]), {"Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY})
    page_1 = [run_item("run_1", asset_id="a1", created_at=AFTER_START)]
    stubbed.add_response(
        "list_metadata_generation_runs", {"items": page_1, "nextToken": "n2"}, list_active_runs_params("IN_PROGRESS")
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, {"domainIdentifier": DOMAIN_ID, "identifier": "run_1"})
    page_2 = [run_item("run_2", asset_id="a2", created_at=AFTER_START)]
    stubbed.add_response(
        "list_metadata_generation_runs", {"items": page_2}, list_active_runs_params("IN_PROGRESS", "n2")
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, {"domainIdentifier": DOMAIN_ID, "identifier": "run_2"})
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, list_active_runs_params("SUBMITTED"))
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}


def test_delete_before_the_execution_started_calls_only_describe(sfn: Stubber, context: FakeContext) -> None:
    # The Create's first poll had not started it yet (a data source still running).
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_delete_of_an_execution_that_ended_badly_cancels_its_runs_without_stopping(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, status: str
) -> None:
    # A map that failed or was stopped leaves the DataZone runs its children started.
    expect_stop(
        sfn,
        s3,
        stubbed,
        why="delete",
        status=status,
        in_progress=[run_item("run_1", asset_id="a1", created_at=AFTER_START)],
        cancelled=["run_1"],
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}


def test_delete_of_a_batch_whose_execution_succeeded_cancels_nothing(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The physical id says RUNNING (it did not wait); the execution has ended well since, and an
    # Update's new batch (same assets, new RerunToken) now has a run in flight on a1.
    props = batch_props(WaitForCompletion="false")
    physical_id = batch_pid(props, status="RUNNING")
    sfn.add_response(
        "describe_execution",
        describe_execution_response("SUCCEEDED", execution_input=BATCH_INPUT, stop=CREATED_AT + timedelta(minutes=10)),
        describe_execution_params(),
    )
    # Answered by fakes, not the stubber: whether a fixed handler still reads them is its business.
    new_batchs_run = run_item("run_of_the_new_batch", asset_id="a1", created_at=CREATED_AT + timedelta(hours=1))
    cancels: list[str] = []
    monkeypatch.setattr(s3.client, "get_object", lambda **_: s3_body(["a1", "a2"]))
    monkeypatch.setattr(
        stubbed.client,
        "list_metadata_generation_runs",
        lambda **params: {"items": [new_batchs_run] if params["status"] == "IN_PROGRESS" else []},
    )
    monkeypatch.setattr(
        stubbed.client, "cancel_metadata_generation_run", lambda **params: cancels.append(params["identifier"])
    )
    assert batch.on_event(delete(physical_id, props), context) == {"PhysicalResourceId": physical_id}
    assert cancels == []


def test_delete_of_a_stopped_execution_leaves_runs_created_after_it_stopped(
    clients: Clients,
    stubbed: Stubber,
    sfn: Stubber,
    s3: Stubber,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
) -> None:
    stopped = CREATED_AT + timedelta(minutes=10)
    sfn.add_response(
        "describe_execution",
        describe_execution_response("ABORTED", execution_input=BATCH_INPUT, stop=stopped),
        describe_execution_params(),
    )
    s3.add_response("get_object", s3_body(["a1", "a2"]), {"Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY})
    runs = [
        run_item("run_of_the_batch", asset_id="a1", created_at=AFTER_START),
        run_item("run_of_someone_later", asset_id="a2", created_at=stopped + timedelta(hours=1)),
    ]
    stubbed.add_response("list_metadata_generation_runs", {"items": runs}, list_active_runs_params("IN_PROGRESS"))
    stubbed.add_response(
        "cancel_metadata_generation_run", {}, {"domainIdentifier": DOMAIN_ID, "identifier": "run_of_the_batch"}
    )
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, list_active_runs_params("SUBMITTED"))
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    refused = take_refused(clients)
    assert cancelled(api_calls) == ["run_of_the_batch"]
    assert refused == []


# ---------------------------------------------------------------------------------------------
# A physical id the handler did not write: find the resource's running executions


def list_executions_params(next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"stateMachineArn": STATE_MACHINE_ARN, "statusFilter": "RUNNING"}
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def listed(name: str) -> dict[str, Any]:
    return {
        "executionArn": execution_arn_of(name),
        "stateMachineArn": STATE_MACHINE_ARN,
        "name": name,
        "status": "RUNNING",
        "startDate": CREATED_AT,
    }


def described(name: str, stack_id: str = STACK_ID, logical_id: str = BATCH_LOGICAL_ID) -> dict[str, Any]:
    execution_input = {**BATCH_INPUT, "resource": {"stackId": stack_id, "logicalResourceId": logical_id}}
    return describe_execution_response("RUNNING", name=name, execution_input=execution_input)


@pytest.mark.parametrize("physical_id", [INVENTED_ID, FAILED_CREATE_MARKER, ""])
def test_delete_with_an_invented_id_stops_only_this_resources_execution(
    stubbed: Stubber,
    sfn: Stubber,
    s3: Stubber,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
    physical_id: str,
) -> None:
    other_resource = execution_name_for("other-resource-request")
    other_stack = execution_name_for("other-stack-request")
    other_page = execution_name_for("third-request")
    sfn.add_response(
        "list_executions",
        {"executions": [listed(other_resource), listed(EXECUTION_NAME), listed(other_stack)], "nextToken": "p2"},
        list_executions_params(),
    )
    sfn.add_response(
        "describe_execution",
        described(other_resource, logical_id="OtherBatch"),
        describe_execution_params(other_resource),
    )
    sfn.add_response("describe_execution", described(EXECUTION_NAME), describe_execution_params())
    # Ours: stopped (and its runs cancelled) before the listing goes on.
    expect_stop(
        sfn,
        s3,
        stubbed,
        why="delete of a create CloudFormation stopped waiting for",
        in_progress=[run_item("run_1", asset_id="a1", created_at=AFTER_START)],
        cancelled=["run_1"],
    )
    sfn.add_response(
        "describe_execution",
        described(other_stack, stack_id=STACK_ID.replace("Demo", "Other")),
        describe_execution_params(other_stack),
    )
    sfn.add_response("list_executions", {"executions": [listed(other_page)]}, list_executions_params("p2"))
    sfn.add_response(
        "describe_execution", described(other_page, logical_id="Other"), describe_execution_params(other_page)
    )
    assert batch.on_event(delete(physical_id), context) == {"PhysicalResourceId": physical_id}
    assert cancelled(api_calls) == ["run_1"]


def test_delete_with_an_invented_id_and_nothing_running_lists_only(sfn: Stubber, context: FakeContext) -> None:
    sfn.add_response("list_executions", {"executions": []}, list_executions_params())
    assert batch.on_event(delete(INVENTED_ID), context) == {"PhysicalResourceId": INVENTED_ID}


def test_delete_with_an_invented_id_skips_executions_with_foreign_input(
    clients: Clients, sfn: Stubber, context: FakeContext
) -> None:
    foreign = execution_name_for("by-hand")
    sfn.add_response("list_executions", {"executions": [listed(foreign)]}, list_executions_params())
    by_hand = describe_execution_response("RUNNING", name=foreign)
    by_hand["input"] = json.dumps(["asset-1", "asset-2"])
    sfn.add_response("describe_execution", by_hand, describe_execution_params(foreign))
    try:
        assert batch.on_event(delete(INVENTED_ID), context) == {"PhysicalResourceId": INVENTED_ID}
    finally:
        refused = take_refused(clients)
    assert refused == []


# ---------------------------------------------------------------------------------------------
# Errors: logged, and the Delete succeeds


def assert_logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    assert any(text in record.getMessage() for record in caplog.records), caplog.text


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("AccessDeniedException", 400), ("ThrottlingException", 400), ("InternalServerError", 500)],
)
def test_describe_error_is_logged_and_delete_succeeds(
    sfn: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture, code: str, http_status: int
) -> None:
    sfn.add_client_error(
        "describe_execution",
        service_error_code=code,
        http_status_code=http_status,
        expected_params=describe_execution_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert_logged(caplog, "could not stop the batch; delete succeeds anyway")
    assert_logged(caplog, code)


def test_connection_error_is_logged_and_delete_succeeds(
    sfn: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com")

    monkeypatch.setattr(sfn.client, "list_executions", unreachable)
    assert batch.on_event(delete(INVENTED_ID), context) == {"PhysicalResourceId": INVENTED_ID}
    assert_logged(caplog, "EndpointConnectionError")


def test_stop_error_is_logged_and_delete_succeeds(
    sfn: Stubber, s3: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_client_error("stop_execution", service_error_code="AccessDeniedException", http_status_code=400)
    # A failed stop still goes on to cancel the runs the execution has in flight.
    s3.add_client_error(
        "get_object",
        service_error_code="NoSuchKey",
        http_status_code=404,
        expected_params={"Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY},
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert_logged(caplog, "could not stop the execution")
    assert_logged(caplog, "could not read the batch's assets; runs left alone")


def test_unreadable_items_leave_the_runs_alone_and_delete_succeeds(
    sfn: Stubber, s3: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_response("stop_execution", {"stopDate": AFTER_START}, None)
    s3.add_client_error(
        "get_object",
        service_error_code="NoSuchKey",
        http_status_code=404,
        expected_params={"Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY},
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert_logged(caplog, "could not read the batch's assets; runs left alone")


@pytest.mark.parametrize(
    "selection",
    [
        {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID},
        {"Kind": "SEARCH", "AssetTypes": []},
        {"Kind": "SEARCH", "Text": "orders", "AssetTypes": ["amazon.datazone.GlueTableAssetType"]},
    ],
)
def test_delete_of_a_selected_batch_reads_the_items_the_workflow_wrote(
    stubbed: Stubber,
    sfn: Stubber,
    s3: Stubber,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
    selection: dict[str, Any],
) -> None:
    execution_input = batch_input(selection=selection)
    assert "items" not in execution_input
    # expect_stop reads s3://<resultsBucket>/<prefix>/items.json for such an input: checked here.
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=execution_input),
        describe_execution_params(),
    )
    sfn.add_response(
        "stop_execution",
        {"stopDate": AFTER_START},
        {"executionArn": execution_arn_of(), "cause": "CloudFormation: delete"},
    )
    s3.add_response(
        "get_object",
        s3_body(["a1", "a2"]),
        {"Bucket": RESULTS_BUCKET, "Key": f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}/items.json"},
    )
    runs = [
        run_item("run_1", asset_id="a1", created_at=AFTER_START),
        run_item("run_not_selected", asset_id="a3", created_at=AFTER_START),
    ]
    stubbed.add_response("list_metadata_generation_runs", {"items": runs}, list_active_runs_params("IN_PROGRESS"))
    stubbed.add_response("cancel_metadata_generation_run", {}, {"domainIdentifier": DOMAIN_ID, "identifier": "run_1"})
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, list_active_runs_params("SUBMITTED"))
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert cancelled(api_calls) == ["run_1"]


@pytest.mark.parametrize("status", ["RUNNING", "FAILED"])
def test_delete_of_a_selected_batch_with_items_in_the_results_bucket_via_expect_stop(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, status: str
) -> None:
    expect_stop(
        sfn,
        s3,
        stubbed,
        why="delete",
        status=status,
        execution_input=batch_input(selection={"Kind": "SEARCH", "AssetTypes": []}),
        assets=["a2"],
        in_progress=[run_item("run_2", asset_id="a2", created_at=AFTER_START)],
        cancelled=["run_2"],
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}


def test_delete_before_the_workflow_wrote_items_leaves_the_runs_alone(
    sfn: Stubber, s3: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    # Stopped while the worker still paged a search: no items.json, and no asset run started yet.
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=batch_input(selection={"Kind": "SEARCH"})),
        describe_execution_params(),
    )
    sfn.add_response("stop_execution", {"stopDate": AFTER_START}, None)
    s3.add_client_error(
        "get_object",
        service_error_code="NoSuchKey",
        service_message="The specified key does not exist.",
        http_status_code=404,
        expected_params={"Bucket": RESULTS_BUCKET, "Key": f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}/items.json"},
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert_logged(caplog, "could not read the batch's assets; runs left alone")


def test_execution_input_without_items_leaves_the_runs_alone(
    clients: Clients, sfn: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    # An input this handler did not write (neither items nor the results location): no S3 call.
    sfn.add_response(
        "describe_execution", describe_execution_response("RUNNING", execution_input={}), describe_execution_params()
    )
    sfn.add_response("stop_execution", {"stopDate": AFTER_START}, None)
    try:
        assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    finally:
        refused = take_refused(clients)
    assert refused == []
    assert_logged(caplog, "could not read the batch's assets; runs left alone")


def test_list_runs_error_is_logged_and_delete_succeeds(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_response("stop_execution", {"stopDate": AFTER_START}, None)
    s3.add_response("get_object", s3_body(["a1"]), {"Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY})
    stubbed.add_client_error(
        "list_metadata_generation_runs",
        service_error_code="AccessDeniedException",
        http_status_code=403,
        expected_params=list_active_runs_params("IN_PROGRESS"),
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert_logged(caplog, "could not stop the batch; delete succeeds anyway")


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("ConflictException", 409), ("ResourceNotFoundException", 404), ("InternalServerException", 500)],
)
def test_cancel_errors_are_logged_and_the_other_runs_still_cancelled(
    stubbed: Stubber,
    sfn: Stubber,
    s3: Stubber,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
    caplog: pytest.LogCaptureFixture,
    code: str,
    http_status: int,
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_response("stop_execution", {"stopDate": AFTER_START}, None)
    s3.add_response("get_object", s3_body(["a1", "a2"]), {"Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY})
    runs = [
        run_item("run_1", asset_id="a1", created_at=AFTER_START),
        run_item("run_2", asset_id="a2", created_at=AFTER_START),
    ]
    stubbed.add_response("list_metadata_generation_runs", {"items": runs}, list_active_runs_params("IN_PROGRESS"))
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        http_status_code=http_status,
        expected_params={"domainIdentifier": DOMAIN_ID, "identifier": "run_1"},
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, {"domainIdentifier": DOMAIN_ID, "identifier": "run_2"})
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, list_active_runs_params("SUBMITTED"))
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert cancelled(api_calls) == ["run_1", "run_2"]
    assert_logged(caplog, "run_1")
