"""MetadataGenerationBatch, Create and the start of its execution.

onEvent only names the execution (no call). The first isComplete finds no execution of that name
and starts it with the exact input the workflow definition reads: the selection as the construct
wrote it (the workflow's worker chooses the assets: tests/handler/test_worker_select.py), where
its files go, its failure tolerance and how long the selection may wait for a data source's run;
`items` only for IDS. Nothing is listed, searched or written to S3 here. A redelivered request
finds (or collides with) the execution of the same name and never starts a second one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import ANY, Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import batch, common, contract, entry, index
from tests.handler.conftest import Clients
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
    Clock,
    FakeContext,
    JsonOf,
    batch_event,
    batch_input,
    batch_inputs,
    batch_pid,
    batch_poll_event,
    batch_props,
    batch_started_data,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    execution_name_for,
    make_event,
    make_props,
    stack_params,
    stack_response,
    start_params,
    start_response,
    summary_url,
)

DATA_SOURCE = {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID}
GLUE = "amazon.datazone.GlueTableAssetType"
REDSHIFT = "amazon.datazone.RedshiftTableAssetType"


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> Clock:
    """The handler's time.time() is clock[0]: 10 s after onEvent accepted the batch (STARTED_AT)."""
    return Clock(time_machine, CREATED_AT.timestamp() + 10)


def expected_input(**changes: Any) -> dict[str, Any]:
    """contract.BatchInput, written out by hand (helpers.batch_input)."""
    return batch_input(**changes)


def take_refused(clients: Clients) -> list[str]:
    """The calls the stubbers refused so far (checked in the test, with the exception raised)."""
    return [message for stubber in clients.all() for message in stubber.refused]


def no_execution_yet(sfn: Stubber, cfn: Stubber, stack_status: str = "CREATE_IN_PROGRESS") -> None:
    """The first poll: no execution of the name yet, and the stack still wants it (DescribeStacks)."""
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        service_message=f"Execution Does Not Exist: '{execution_arn_of()}'",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )
    cfn.add_response("describe_stacks", stack_response(stack_status), stack_params())


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


# ---------------------------------------------------------------------------------------------
# onEvent Create


def test_create_names_the_execution_and_calls_nothing(
    clock: Clock, sfn: Stubber, s3: Stubber, stubbed: Stubber, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock[0] = 1767323045.25
    result = batch.on_event(batch_event(), context)
    assert result == {
        "PhysicalResourceId": f"{EXECUTION_NAME}:{batch_inputs()}",
        "Data": {"ExecutionArn": execution_arn_of(), "StartedAt": "1767323045.250"},
    }
    assert re.fullmatch(r"mgb-[0-9a-f]{32}:[0-9a-f]{16}", result["PhysicalResourceId"])
    # The name is what Step Functions takes, and what a batch's physical id takes as its name.
    assert contract.EXECUTION_NAME_RE.fullmatch(EXECUTION_NAME)
    assert contract.PhysicalId.parse("BATCH", result["PhysicalResourceId"]) == contract.PhysicalId.batch(
        EXECUTION_NAME, batch_inputs()
    )


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
            {"types": [NAMES, GLOSSARY], "max_concurrency": 250, "poll_seconds": 30, "run_timeout_seconds": 3600},
        ),
        # The workflow enforces run_timeout by the seconds it waited, whatever the poll interval.
        ({"PollSeconds": "10", "RunTimeoutSeconds": "95"}, {"run_timeout_seconds": 95}),
        ({"PollSeconds": "7", "RunTimeoutSeconds": "7"}, {"poll_seconds": 7, "run_timeout_seconds": 7}),
        ({"PollSeconds": "3600", "RunTimeoutSeconds": "1"}, {"poll_seconds": 3600, "run_timeout_seconds": 1}),
        ({"PollSeconds": "0", "RunTimeoutSeconds": "60"}, {"poll_seconds": 0, "run_timeout_seconds": 60}),
    ],
)
def test_first_poll_starts_the_execution_with_the_exact_input(
    cfn: Stubber,
    sfn: Stubber,
    s3: Stubber,
    clock: Clock,
    context: FakeContext,
    overrides: dict[str, Any],
    changes: Any,
) -> None:
    props = batch_props(**overrides)
    no_execution_yet(sfn, cfn)
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
    cfn: Stubber,
    sfn: Stubber,
    clock: Clock,
    context: FakeContext,
    policy: dict[str, Any],
    predictions: dict[str, Any],
) -> None:
    no_execution_yet(sfn, cfn)
    expect_start(sfn, expected_input(predictions=predictions))
    assert batch.is_complete(batch_poll_event(batch_props(Predictions=policy)), context) == {"IsComplete": False}


def test_execution_already_exists_counts_as_started(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    # A redelivered poll raced the first one: Step Functions refuses a second execution of the name.
    no_execution_yet(sfn, cfn)
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
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    props = batch_props(WaitForCompletion="false")
    no_execution_yet(sfn, cfn)
    sfn.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists", http_status_code=400)
    assert batch.is_complete(batch_poll_event(props), context)["PhysicalResourceId"] == batch_pid(
        props, status="RUNNING"
    )


def test_redelivered_request_finds_the_execution_and_starts_nothing(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


#: What a batch that does not wait reports: it is running, and nothing is counted yet.
RUNNING_WITHOUT_COUNTS = {
    "ExecutionArn": execution_arn_of(),
    "Status": "RUNNING",
    "SucceededCount": "UNKNOWN",
    "FailedCount": "UNKNOWN",
    "Summary": summary_url(),
}


def test_without_waiting_completes_once_started_with_unknown_counts(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    props = batch_props(WaitForCompletion="false")
    no_execution_yet(sfn, cfn)
    expect_start(sfn, expected_input())
    assert batch.is_complete(batch_poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(props, status="RUNNING"),
        "Data": RUNNING_WITHOUT_COUNTS,
    }


def test_without_waiting_a_redelivered_poll_completes_on_the_running_execution(
    sfn: Stubber, clock: Clock, context: FakeContext
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
            # Where that batch's workflow wrote (or writes) its summary: the request never reads it.
            "Summary": summary_url(),
        },
    }


@pytest.mark.parametrize("physical_id", ["Demo-CatalogBatchA1B2C3D4-1A2B3C4D5E6F", "not:ours", ""])
def test_a_poll_with_a_physical_id_not_ours_fails(context: FakeContext, physical_id: str) -> None:
    event = batch_poll_event(physical_id=physical_id)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(event, context)
    assert str(caught.value) == f"physical id {physical_id!r} is not a batch of this resource"


def test_delete_is_complete_at_once(context: FakeContext) -> None:
    event = batch_event("Delete", {"DomainId": "bad"}, physical_id=batch_pid())
    assert batch.is_complete(event, context) == {"IsComplete": True}


# ---------------------------------------------------------------------------------------------
# The selection and the workflow's own settings, as the input carries them


def test_the_input_written_out_in_full(
    cfn: Stubber, sfn: Stubber, s3: Stubber, clock: Clock, context: FakeContext
) -> None:
    # Literal, not helpers.batch_input: the helper itself is checked against the contract here.
    prefix = f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}"
    no_execution_yet(sfn, cfn)
    expect_start(
        sfn,
        {
            # The workflow's first Choice: generate metadata (a Delete's cancel execution says CANCEL).
            "mode": "RUN",
            "domainId": DOMAIN_ID,
            "projectId": PROJECT_ID,
            "types": [DESCRIPTIONS],
            # Count is the construct's own: the workflow reads Kind, Bucket and Key.
            "selection": {"Kind": "IDS", "Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY},
            "items": {"bucket": ITEMS_BUCKET, "key": ITEMS_KEY},
            "resultsBucket": RESULTS_BUCKET,
            "prefix": prefix,
            "executionArn": execution_arn_of(),
            "failureTolerance": 0.0,
            "selectionWaitSeconds": 1800,
            "allowEmptySelection": False,
            "maxConcurrency": 10,
            "pollSeconds": 10,
            "runTimeoutSeconds": 1800,
            "tokenSeed": EXECUTION_NAME,
            "predictions": {"mode": "NONE", "rule": {}, "choices": []},
            "resource": {"stackId": STACK_ID, "logicalResourceId": BATCH_LOGICAL_ID},
        },
    )
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}
    # Every member but a continuous batch's own (tests/handler/test_continuous_*.py).
    continuous_only = {"continuousPrefix", "turn"}
    assert set(expected_input()) == set(contract.BatchInput.__annotations__) - continuous_only


@pytest.mark.parametrize(
    ("selection", "passed_on"),
    [
        # Nothing listed, searched or written: the workflow's worker chooses the assets.
        (DATA_SOURCE, DATA_SOURCE),
        ({"Kind": "SEARCH"}, {"Kind": "SEARCH", "AssetTypes": []}),
        ({"Kind": "SEARCH", "Text": ""}, {"Kind": "SEARCH", "AssetTypes": []}),
        ({"Kind": "SEARCH", "Text": "orders"}, {"Kind": "SEARCH", "Text": "orders", "AssetTypes": []}),
        (
            {"Kind": "SEARCH", "Text": "orders", "AssetTypes": [GLUE, REDSHIFT]},
            {"Kind": "SEARCH", "Text": "orders", "AssetTypes": [GLUE, REDSHIFT]},
        ),
        ({"Kind": "SEARCH", "AssetTypes": [REDSHIFT]}, {"Kind": "SEARCH", "AssetTypes": [REDSHIFT]}),
    ],
)
def test_a_data_source_or_search_selection_is_passed_on_without_items(
    cfn: Stubber,
    stubbed: Stubber,
    sfn: Stubber,
    s3: Stubber,
    clock: Clock,
    context: FakeContext,
    selection: dict[str, Any],
    passed_on: dict[str, Any],
) -> None:
    no_execution_yet(sfn, cfn)
    expected = expected_input(selection=passed_on)
    assert "items" not in expected
    expect_start(sfn, expected)
    assert batch.is_complete(batch_poll_event(batch_props(Selection=selection)), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("overrides", "changes"),
    [
        ({"FailureTolerancePercent": "24.9"}, {"failure_tolerance": 24.9}),
        ({"FailureTolerancePercent": "100"}, {"failure_tolerance": 100.0}),
        # The selection may wait for a data source's run as long as the deploy waits.
        ({"TimeoutSeconds": "600"}, {"selection_wait_seconds": 600}),
        ({"TimeoutSeconds": "3000", "WaitForCompletion": "true"}, {"selection_wait_seconds": 3000}),
    ],
)
def test_failure_tolerance_and_the_selections_wait_reach_the_workflow(
    cfn: Stubber,
    sfn: Stubber,
    clock: Clock,
    context: FakeContext,
    overrides: dict[str, Any],
    changes: dict[str, Any],
) -> None:
    no_execution_yet(sfn, cfn)
    expect_start(sfn, expected_input(**changes))
    assert batch.is_complete(batch_poll_event(batch_props(**overrides)), context) == {"IsComplete": False}


def test_the_inputs_numbers_have_the_contracts_json_types(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JsonOf compares 24 with 24.0 as equal; the workflow's Choice states do not care, the
    # worker's f-strings do ("24 %" either way through :g, but the type is the contract's).
    sent: list[dict[str, Any]] = []
    no_execution_yet(sfn, cfn)

    def start(**params: Any) -> dict[str, Any]:
        sent.append(json.loads(params["input"]))
        return {"executionArn": execution_arn_of(), "startDate": CREATED_AT}

    monkeypatch.setattr(sfn.client, "start_execution", start)
    props = batch_props(FailureTolerancePercent="24", TimeoutSeconds="900")
    assert batch.is_complete(batch_poll_event(props), context) == {"IsComplete": False}
    [given] = sent
    assert (type(given["failureTolerance"]), given["failureTolerance"]) == (float, 24.0)
    assert (type(given["selectionWaitSeconds"]), given["selectionWaitSeconds"]) == (int, 900)
    assert (type(given["runTimeoutSeconds"]), given["runTimeoutSeconds"]) == (int, 1800)


def test_a_non_ids_batch_that_does_not_wait_completes_at_once_with_its_summary_location(
    cfn: Stubber, sfn: Stubber, stubbed: Stubber, s3: Stubber, clock: Clock, context: FakeContext
) -> None:
    props = batch_props(Selection=DATA_SOURCE, WaitForCompletion="false")
    no_execution_yet(sfn, cfn)
    expect_start(sfn, expected_input(selection=DATA_SOURCE))
    assert batch.is_complete(batch_poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(props, status="RUNNING"),
        "Data": RUNNING_WITHOUT_COUNTS,
    }


# ---------------------------------------------------------------------------------------------
# The stack's status, read before anything starts


@pytest.mark.parametrize("stack_status", sorted(common.APPLY_STACK_STATES))
def test_the_stack_applying_this_request_lets_the_execution_start(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext, stack_status: str
) -> None:
    no_execution_yet(sfn, cfn, stack_status)
    expect_start(sfn, expected_input())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    "stack_status",
    [
        "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "IMPORT_ROLLBACK_IN_PROGRESS",
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "ROLLBACK_COMPLETE",
    ],
)
@pytest.mark.parametrize("wait", ["true", "false"])
def test_a_stack_no_longer_applying_this_request_starts_nothing(
    clients: Clients,
    cfn: Stubber,
    sfn: Stubber,
    s3: Stubber,
    stubbed: Stubber,
    clock: Clock,
    context: FakeContext,
    stack_status: str,
    wait: str,
) -> None:
    # CloudFormation is undoing the request: no StartExecution (the strict stubbers refuse any
    # call not queued here), whether or not the batch waits.
    no_execution_yet(sfn, cfn, stack_status)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(WaitForCompletion=wait)), context)
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME} not started: the stack is {stack_status}"
    assert take_refused(clients) == []


def test_a_stack_without_a_status_starts_nothing(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    sfn.add_client_error("describe_execution", service_error_code="ExecutionDoesNotExist", http_status_code=400)
    cfn.add_response("describe_stacks", {"Stacks": []}, stack_params())
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME} not started: the stack is UNKNOWN"


def test_an_update_rolling_back_starts_nothing_under_the_new_name(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    # A redelivered Update poll after the stack began rolling back: the old batch stays.
    new_name = execution_name_for("33333333-aaaa-bbbb-cccc-000000000003")
    event = batch_event(
        "Update",
        physical_id=batch_pid(name=new_name, previous=batch_pid(status="SUCCEEDED", counts="3.0")),
        data=batch_started_data(new_name),
        request_id="33333333-aaaa-bbbb-cccc-000000000003",
    )
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        http_status_code=400,
        expected_params=describe_execution_params(new_name),
    )
    cfn.add_response("describe_stacks", stack_response("UPDATE_ROLLBACK_IN_PROGRESS"), stack_params())
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(event, context)
    assert str(caught.value) == (
        f"Metadata-generation batch {new_name} not started: the stack is UPDATE_ROLLBACK_IN_PROGRESS"
    )


def unreadable_stack(cfn: Stubber, code: str = "ThrottlingException", status: int = 400) -> None:
    cfn.add_client_error(
        "describe_stacks",
        service_error_code=code,
        service_message="Rate exceeded",
        http_status_code=status,
        expected_params=stack_params(),
    )


def no_execution(sfn: Stubber) -> None:
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("InternalFailure", 500)])
def test_a_transient_stack_status_error_is_not_complete_and_the_next_poll_starts(
    cfn: Stubber,
    sfn: Stubber,
    clock: Clock,
    context: FakeContext,
    log_lines: list[dict[str, Any]],
    code: str,
    status: int,
) -> None:
    no_execution(sfn)
    unreadable_stack(cfn, code, status)
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}
    assert log_lines[-1] == {
        "level": "WARNING",
        "message": "could not read the stack's status; trying again",
        "execution": EXECUTION_NAME,
        "error": f"{code}: Rate exceeded",
    }
    # Nothing started yet; the next poll reads the status again and starts.
    clock[0] += 30
    no_execution_yet(sfn, cfn)
    expect_start(sfn, expected_input())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_a_connection_error_reading_the_stack_is_not_complete(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")

    no_execution(sfn)
    monkeypatch.setattr(cfn.client, "describe_stacks", unreachable)
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_a_stack_status_unreadable_at_the_deadline_fails_naming_it(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + 1800
    no_execution(sfn)
    unreadable_stack(cfn)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within 1800 s (use wait_for_completion=False "
        "for batches longer than the deploy may wait); the stack's status could not be read: "
        "ThrottlingException: Rate exceeded"
    )


def test_a_stack_status_unreadable_just_before_the_deadline_is_not_complete(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + 1800 - 0.001
    no_execution(sfn)
    unreadable_stack(cfn)
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("AccessDenied", 403, "not authorized to perform: cloudformation:DescribeStacks"),
        ("ValidationError", 400, "Stack with id Demo does not exist"),
    ],
)
def test_a_stack_status_that_cannot_be_read_at_all_fails_at_once(
    cfn: Stubber, sfn: Stubber, clock: Clock, context: FakeContext, code: str, status: int, message: str
) -> None:
    no_execution(sfn)
    cfn.add_client_error(
        "describe_stacks",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        expected_params=stack_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == f"DescribeStacks failed: {code}: {message}"


def test_a_stack_status_read_fails_whole_for_a_reason_other_than_the_service(
    sfn: Stubber, clock: Clock, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_credentials(event: Any) -> str:
        raise NoCredentialsError

    no_execution(sfn)
    monkeypatch.setattr(common, "stack_status", no_credentials)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == "DescribeStacks failed: NoCredentialsError: Unable to locate credentials"


def test_a_redelivered_poll_of_a_started_execution_does_not_read_the_stack(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    # Once started, the execution is followed (a Delete or a rollback's own request stops it).
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}
