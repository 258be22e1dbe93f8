"""MetadataGenerationBatch, Delete: stop the execution, start the cancel of its runs, never fail.

A batch that finished SUCCEEDED has nothing running: no call. Otherwise the execution is described,
stopped when it still runs, and (unless it ended well: SUCCEEDED, or FailureToleranceExceeded,
whose map waited for every child) an execution of the same state machine named
``<name>-cancel`` is started with contract.CancelInput: the workflow's worker cancels exactly the
runs the stopped execution marked in flight (tests/handler/test_worker_cancel.py). Bounded work
here: no DataZone run is listed and no S3 object read. An input without mode RUN and its results
location marks nothing: runs are left alone. A physical id the handler did not write (CloudFormation
invented it for an in-flight Create it gave up on: short or long) is resolved by the execution
input's `resource`. cancel_on_delete false: no call. Any error is logged and the Delete succeeds.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import batch, contract
from tests.handler.conftest import Clients
from tests.handler.helpers import (
    BATCH_INPUT,
    BATCH_LOGICAL_ID,
    CREATED_AT,
    DATA_SOURCE_ID,
    DESCRIPTIONS,
    DOMAIN_ID,
    EXECUTION_NAME,
    FAILED_CREATE_MARKER,
    GLOSSARY,
    NAMES,
    PROJECT_ID,
    RESULTS_BUCKET,
    STACK_ID,
    STATE_MACHINE_ARN,
    FakeContext,
    JsonOf,
    batch_event,
    batch_input,
    batch_pid,
    batch_props,
    cancel_input,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    execution_name_for,
    expect_stop,
    start_cancel_params,
)

#: CloudFormation's invented physical ids for a resource whose Create it stopped waiting for:
#: `<stack>-<logical id>-<random>`, long (not a run id: PhysicalId.parse refuses it) and short
#: (up to 36 characters: parses as a bare name, but is not one of the handler's `mgb-` names).
INVENTED_ID = "Demo-CatalogBatchA1B2C3D4-1A2B3C4D5E6F"
SHORT_INVENTED_ID = "cat-Catalog742F25FD-1A2B3C4D5E6F"
CANCELLER = f"{EXECUTION_NAME}-cancel"


def delete(physical_id: str, props: dict[str, Any] | None = None) -> Any:
    return batch_event("Delete", props, physical_id=physical_id)


def take_refused(clients: Clients) -> list[str]:
    """The calls the stubbers refused so far, cleared (for xfail tests: the check runs in the test,
    not at teardown, where xfail does not apply)."""
    refused = [message for stubber in clients.all() for message in stubber.refused]
    for stubber in clients.all():
        stubber.refused.clear()
    return refused


def assert_logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    assert any(text in record.getMessage() for record in caplog.records), caplog.text


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


def cancelling(physical_id: str, name: str = EXECUTION_NAME) -> dict[str, Any]:
    """A Delete's answer once it started ``<name>-cancel``: isComplete waits for that execution."""
    return {
        "PhysicalResourceId": physical_id,
        "Data": {"Cancellers": execution_arn_of(f"{name}-cancel"), "StartedAt": f"{time.time():.3f}"},
    }


# ---------------------------------------------------------------------------------------------
# The handler's own id: stop, then start <name>-cancel


@pytest.mark.parametrize("physical_id", [batch_pid(), batch_pid(status="RUNNING"), batch_pid(previous=batch_pid())])
def test_delete_stops_the_execution_and_starts_its_cancel(
    stubbed: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, physical_id: str
) -> None:
    expect_stop(sfn, why="delete")
    assert batch.on_event(delete(physical_id), context) == cancelling(physical_id)


def test_the_cancel_execution_written_out_in_full(
    sfn: Stubber, context: FakeContext, log_lines: list[dict[str, Any]]
) -> None:
    # Literal, not helpers.cancel_input: the helper itself is checked against the contract here.
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_response(
        "stop_execution",
        {"stopDate": CREATED_AT},
        {"executionArn": execution_arn_of(), "cause": "CloudFormation: delete"},
    )
    sfn.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(CANCELLER), "startDate": CREATED_AT},
        {
            "stateMachineArn": STATE_MACHINE_ARN,
            "name": EXECUTION_NAME + "-cancel",
            "input": JsonOf(
                {
                    "mode": "CANCEL",
                    "target": (
                        f"arn:aws:states:us-east-1:123456789012:execution:DemoMetadataGenerationBatch:{EXECUTION_NAME}"
                    ),
                    "domainId": DOMAIN_ID,
                    "projectId": PROJECT_ID,
                    "types": [DESCRIPTIONS],
                    "tokenSeed": EXECUTION_NAME,
                    "resultsBucket": RESULTS_BUCKET,
                    "prefix": f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}",
                }
            ),
        },
    )
    assert batch.on_event(delete(batch_pid()), context) == cancelling(batch_pid())
    assert set(cancel_input()) == set(contract.CancelInput.__annotations__)
    assert log_lines[-1] == {
        "level": "INFO",
        "message": "cancelling the runs the execution left in flight",
        "execution": EXECUTION_NAME,
        "canceller": CANCELLER,
    }


def test_the_cancel_input_carries_the_executions_own_values(sfn: Stubber, context: FakeContext) -> None:
    # Read from the execution's input, not from the Delete's properties (an Update may have
    # changed them since): its seed, its types, its prefix.
    other = execution_name_for("the-create")
    given = {**batch_input(name=other, types=[NAMES, GLOSSARY]), "domainId": "dzd_then", "projectId": "prj_then"}
    expect_stop(
        sfn,
        why="delete",
        name=other,
        execution_input=given,
        cancel={
            **cancel_input(other, types=[NAMES, GLOSSARY]),
            "domainId": "dzd_then",
            "projectId": "prj_then",
        },
    )
    physical_id = batch_pid(name=other)
    assert batch.on_event(delete(physical_id), context) == cancelling(physical_id, other)


@pytest.mark.parametrize(
    "selection",
    [
        {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID},
        {"Kind": "SEARCH", "AssetTypes": []},
        {"Kind": "SEARCH", "Text": "orders", "AssetTypes": ["amazon.datazone.GlueTableAssetType"]},
    ],
)
def test_a_selected_batch_is_cancelled_the_same_way_without_reading_its_items(
    sfn: Stubber, s3: Stubber, context: FakeContext, selection: dict[str, Any]
) -> None:
    # Nothing is read from S3 here: the markers are the worker's business.
    expect_stop(sfn, why="delete", execution_input=batch_input(selection=selection))
    assert batch.on_event(delete(batch_pid()), context) == cancelling(batch_pid())


def test_an_id_in_the_handlers_format_is_used_directly(sfn: Stubber, context: FakeContext) -> None:
    # Another request's name, bare (a physical id without inputs): no ListExecutions.
    other = execution_name_for("another-request")
    expect_stop(sfn, why="delete", name=other)
    assert batch.on_event(delete(other), context) == cancelling(other, other)


def test_delete_before_the_execution_started_calls_only_describe(sfn: Stubber, context: FakeContext) -> None:
    # The Create's first poll had not started it yet (a data source still running).
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}


@pytest.mark.parametrize(
    ("status", "error"),
    [("FAILED", "States.TaskFailed"), ("FAILED", None), ("ABORTED", None), ("TIMED_OUT", "States.Timeout")],
)
def test_an_execution_that_ended_badly_is_not_stopped_but_its_runs_are_cancelled(
    sfn: Stubber, context: FakeContext, status: str, error: str | None
) -> None:
    # A map that failed or was stopped leaves the DataZone runs its children started.
    sfn.add_response(
        "describe_execution",
        describe_execution_response(status, execution_input=BATCH_INPUT, error=error),
        describe_execution_params(),
    )
    sfn.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(CANCELLER), "startDate": CREATED_AT},
        start_cancel_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == cancelling(batch_pid())


@pytest.mark.parametrize(
    ("status", "error"),
    [("SUCCEEDED", None), ("FAILED", contract.FAILURE_TOLERANCE_EXCEEDED)],
)
def test_an_execution_whose_map_ended_starts_no_cancel(
    sfn: Stubber, context: FakeContext, log_lines: list[dict[str, Any]], status: str, error: str | None
) -> None:
    # The physical id says RUNNING (it did not wait); the map has ended since, every child waited
    # for (or cancelled) its run: any run of these assets now is someone else's.
    props = batch_props(WaitForCompletion="false")
    physical_id = batch_pid(props, status="RUNNING")
    sfn.add_response(
        "describe_execution",
        describe_execution_response(status, execution_input=BATCH_INPUT, error=error, cause="3 of 10 failed"),
        describe_execution_params(),
    )
    assert batch.on_event(delete(physical_id, props), context) == {"PhysicalResourceId": physical_id}
    assert log_lines[-1] == {
        "level": "INFO",
        "message": "execution finished; nothing to stop",
        "execution": EXECUTION_NAME,
        "why": "delete",
    }


def test_a_cancel_already_started_counts_as_started(
    sfn: Stubber, context: FakeContext, log_lines: list[dict[str, Any]]
) -> None:
    # A redelivered Delete (or a timeout's stop, then the Delete): the name is taken once.
    sfn.add_response(
        "describe_execution",
        describe_execution_response("ABORTED", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_client_error(
        "start_execution",
        service_error_code="ExecutionAlreadyExists",
        service_message="Execution Already Exists",
        http_status_code=400,
        expected_params=start_cancel_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == cancelling(batch_pid())
    assert log_lines[1:] == [
        {
            "level": "INFO",
            "message": "cancelling the runs the execution left in flight",
            "execution": EXECUTION_NAME,
            "canceller": CANCELLER,
        }
    ]


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("AccessDeniedException", 400), ("StateMachineDeleting", 400), ("ThrottlingException", 400)],
)
def test_a_cancel_that_cannot_start_is_logged_and_delete_succeeds(
    sfn: Stubber, context: FakeContext, log_lines: list[dict[str, Any]], code: str, http_status: int
) -> None:
    expect_stop_without_cancel(sfn)
    sfn.add_client_error(
        "start_execution",
        service_error_code=code,
        service_message="no",
        http_status_code=http_status,
        expected_params=start_cancel_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert log_lines[-1] == {
        "level": "WARNING",
        "message": "could not stop the batch; delete succeeds anyway",
        "execution": EXECUTION_NAME,
        "error": f"{code}: no",
    }


def expect_stop_without_cancel(sfn: Stubber) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_response(
        "stop_execution",
        {"stopDate": CREATED_AT},
        {"executionArn": execution_arn_of(), "cause": "CloudFormation: delete"},
    )


def test_a_failed_stop_is_logged_and_the_cancel_still_starts(
    sfn: Stubber, context: FakeContext, caplog: pytest.LogCaptureFixture
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=BATCH_INPUT),
        describe_execution_params(),
    )
    sfn.add_client_error(
        "stop_execution",
        service_error_code="AccessDeniedException",
        http_status_code=400,
        expected_params={"executionArn": execution_arn_of(), "cause": "CloudFormation: delete"},
    )
    sfn.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(CANCELLER), "startDate": CREATED_AT},
        start_cancel_params(),
    )
    assert batch.on_event(delete(batch_pid()), context) == cancelling(batch_pid())
    assert_logged(caplog, "could not stop the execution")


@pytest.mark.parametrize(
    "execution_input",
    [
        # A handler before in-flight markers: no mode.
        {key: value for key, value in BATCH_INPUT.items() if key != "mode"},
        {**BATCH_INPUT, "mode": "CANCEL"},
        {key: value for key, value in BATCH_INPUT.items() if key != "prefix"},
        {key: value for key, value in BATCH_INPUT.items() if key != "resultsBucket"},
        {**BATCH_INPUT, "prefix": ""},
        # Started by hand.
        {},
    ],
)
def test_an_input_that_marks_no_runs_leaves_them_alone(
    sfn: Stubber,
    s3: Stubber,
    stubbed: Stubber,
    context: FakeContext,
    log_lines: list[dict[str, Any]],
    execution_input: dict[str, Any],
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=execution_input),
        describe_execution_params(),
    )
    sfn.add_response(
        "stop_execution",
        {"stopDate": CREATED_AT},
        {"executionArn": execution_arn_of(), "cause": "CloudFormation: delete"},
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}
    assert log_lines[-1] == {
        "level": "WARNING",
        "message": "the execution marks no runs in flight; runs left alone",
        "execution": EXECUTION_NAME,
    }


def test_an_input_that_is_not_an_object_leaves_the_runs_alone(sfn: Stubber, context: FakeContext) -> None:
    by_hand = describe_execution_response("RUNNING")
    by_hand["input"] = json.dumps(["asset-1", "asset-2"])
    sfn.add_response("describe_execution", by_hand, describe_execution_params())
    sfn.add_response(
        "stop_execution",
        {"stopDate": CREATED_AT},
        {"executionArn": execution_arn_of(), "cause": "CloudFormation: delete"},
    )
    assert batch.on_event(delete(batch_pid()), context) == {"PhysicalResourceId": batch_pid()}


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
    execution_input = {**batch_input(name=name), "resource": {"stackId": stack_id, "logicalResourceId": logical_id}}
    return describe_execution_response("RUNNING", name=name, execution_input=execution_input)


@pytest.mark.parametrize("physical_id", [INVENTED_ID, SHORT_INVENTED_ID, FAILED_CREATE_MARKER, ""])
def test_delete_with_an_invented_id_stops_only_this_resources_execution(
    sfn: Stubber, context: FakeContext, physical_id: str
) -> None:
    other_resource = execution_name_for("other-resource-request")
    other_stack = execution_name_for("other-stack-request")
    other_page = execution_name_for("third-request")
    # A cancel execution running for some other Delete: CancelInput carries no resource.
    canceller = execution_name_for("older-request") + "-cancel"
    sfn.add_response(
        "list_executions",
        {
            "executions": [listed(other_resource), listed(canceller), listed(EXECUTION_NAME), listed(other_stack)],
            "nextToken": "p2",
        },
        list_executions_params(),
    )
    sfn.add_response(
        "describe_execution",
        described(other_resource, logical_id="OtherBatch"),
        describe_execution_params(other_resource),
    )
    sfn.add_response(
        "describe_execution",
        describe_execution_response(
            "RUNNING", name=canceller, execution_input=cancel_input(execution_name_for("older-request"))
        ),
        describe_execution_params(canceller),
    )
    sfn.add_response("describe_execution", described(EXECUTION_NAME), describe_execution_params())
    # Ours: stopped (and its cancel started) before the listing goes on.
    expect_stop(sfn, why="delete of a create CloudFormation stopped waiting for")
    sfn.add_response(
        "describe_execution",
        described(other_stack, stack_id=STACK_ID.replace("Demo", "Other")),
        describe_execution_params(other_stack),
    )
    sfn.add_response("list_executions", {"executions": [listed(other_page)]}, list_executions_params("p2"))
    sfn.add_response(
        "describe_execution", described(other_page, logical_id="Other"), describe_execution_params(other_page)
    )
    assert batch.on_event(delete(physical_id), context) == cancelling(physical_id)


def test_a_short_invented_id_is_never_taken_for_an_execution(
    clients: Clients, sfn: Stubber, context: FakeContext
) -> None:
    # It fits the physical id format (a bare name), but no execution of that name is asked for,
    # stopped or given a cancel: only the listing.
    assert contract.EXECUTION_NAME_RE.fullmatch(SHORT_INVENTED_ID) is None
    sfn.add_response("list_executions", {"executions": []}, list_executions_params())
    assert batch.on_event(delete(SHORT_INVENTED_ID), context) == {"PhysicalResourceId": SHORT_INVENTED_ID}


@pytest.mark.parametrize("physical_id", [INVENTED_ID, SHORT_INVENTED_ID])
def test_delete_with_an_invented_id_and_nothing_running_lists_only(
    sfn: Stubber, context: FakeContext, physical_id: str
) -> None:
    sfn.add_response("list_executions", {"executions": []}, list_executions_params())
    assert batch.on_event(delete(physical_id), context) == {"PhysicalResourceId": physical_id}


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


@pytest.mark.parametrize("physical_id", [INVENTED_ID, SHORT_INVENTED_ID])
def test_connection_error_is_logged_and_delete_succeeds(
    sfn: Stubber,
    context: FakeContext,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    physical_id: str,
) -> None:
    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com")

    monkeypatch.setattr(sfn.client, "list_executions", unreachable)
    assert batch.on_event(delete(physical_id), context) == {"PhysicalResourceId": physical_id}
    assert_logged(caplog, "could not list the executions; delete succeeds anyway")
    assert_logged(caplog, "EndpointConnectionError")
