"""MetadataGenerationBatch, Update and rollback: the run's one rule (common.decide_update).

Settings (concurrency, tolerance, timeouts, waiting, cancel-on-delete) never start an execution:
the batch is kept with no call. A new selection, types, policy, rerun token or state machine
starts a new execution, named after the new request, whose physical id records the old one as
`!previous`. A rollback never starts anything: it keeps the carried id or adopts its `previous`.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import batch, common
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    CREATED_AT,
    DATA_SOURCE_ID,
    DESCRIPTIONS,
    EXECUTION_NAME,
    ITEMS_BUCKET,
    NAMES,
    STATE_MACHINE_ARN,
    Clock,
    FakeContext,
    JsonOf,
    batch_event,
    batch_input,
    batch_inputs,
    batch_pid,
    batch_props,
    describe_execution_params,
    execution_arn_of,
    execution_name_for,
    stack_params,
    stack_response,
    summary_url,
)

OLD = batch_props(Types=[NAMES, DESCRIPTIONS])
OLD_ID = batch_pid(OLD, status="SUCCEEDED", counts="3.0")
OLD_DATA = {
    "ExecutionArn": execution_arn_of(),
    "Status": "SUCCEEDED",
    "SucceededCount": "3",
    "FailedCount": "0",
    # The kept batch's own summary (its execution's name, not the request's).
    "Summary": summary_url(),
}
UPDATE_REQUEST = "44444444-aaaa-bbbb-cccc-000000000004"
NEW_NAME = execution_name_for(UPDATE_REQUEST)
NEW = {**OLD, "Selection": {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID}}
# What the Update's onEvent returned (and what a FAILED response names): no status yet.
FAILED_ID = batch_pid(NEW, NEW_NAME, previous=OLD_ID)
SUCCEEDED_ID = batch_pid(NEW, NEW_NAME, status="SUCCEEDED", counts="9.1", previous=OLD_ID)


@pytest.fixture(autouse=True)
def clock(time_machine: TimeMachineFixture) -> Clock:
    return Clock(time_machine, CREATED_AT.timestamp())


def update(
    props: dict[str, Any], physical_id: str, old_props: dict[str, Any], request_id: str = UPDATE_REQUEST
) -> batch.BatchPollEvent:
    return batch_event("Update", props, old_props=old_props, physical_id=physical_id, request_id=request_id)


def poll_after(event: batch.BatchPollEvent, result: common.OnEventResponse) -> batch.BatchPollEvent:
    """What the provider framework hands isComplete after onEvent answered ``result``."""
    return {**event, "PhysicalResourceId": result["PhysicalResourceId"], "Data": result.get("Data", {})}


@pytest.mark.parametrize(
    "settings",
    [
        {"MaxConcurrency": "50"},
        {"FailureTolerancePercent": "10"},
        {"TimeoutSeconds": "3000"},
        {"RunTimeoutSeconds": "600", "PollSeconds": "30"},
        {"WaitForCompletion": "false", "CancelOnDelete": "false"},
        {"Types": [DESCRIPTIONS, NAMES]},  # the order of the types does not matter
        {"RerunToken": ""},  # an empty token is no token
    ],
)
def test_settings_only_update_keeps_the_batch_with_no_call(
    stubbed: Stubber, cfn: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext, settings: dict[str, Any]
) -> None:
    new = {**OLD, **settings}
    event = update(new, OLD_ID, OLD)
    result = batch.on_event(event, context)
    assert result == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    # isComplete neither waits nor reads the results again.
    assert batch.is_complete(poll_after(event, result), context) == {"IsComplete": True, "Data": OLD_DATA}


def test_update_keeping_a_batch_that_did_not_wait_keeps_its_status(context: FakeContext) -> None:
    running = batch_pid(OLD, status="RUNNING")
    result = batch.on_event(update({**OLD, "MaxConcurrency": "3"}, running, OLD), context)
    assert result == {
        "PhysicalResourceId": running,
        "Data": {**OLD_DATA, "Status": "RUNNING", "SucceededCount": "UNKNOWN", "FailedCount": "UNKNOWN"},
    }


@pytest.mark.parametrize(
    "change",
    [
        {"Selection": {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID}},
        {"Selection": {"Kind": "IDS", "Bucket": ITEMS_BUCKET, "Key": "other.json", "Count": "3"}},
        {"Selection": {"Kind": "SEARCH", "Text": "orders"}},
        {"Types": [DESCRIPTIONS]},
        {"RerunToken": "v2"},
        {"Predictions": {"Action": "ACCEPT", "Rule": "ALL"}},
        {"StateMachineArn": STATE_MACHINE_ARN + "2"},
    ],
)
def test_changed_inputs_start_a_new_execution_recording_the_old_one(
    stubbed: Stubber, cfn: Stubber, sfn: Stubber, context: FakeContext, change: dict[str, Any]
) -> None:
    new = {**OLD, **change}
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), stack_params())
    # The old id's own `!previous` is dropped: one step back is all a rollback needs.
    carried = batch_pid(OLD, status="SUCCEEDED", counts="3.0", previous=batch_pid(OLD, "mgb-" + "0" * 32))
    result = batch.on_event(update(new, carried, OLD), context)
    assert NEW_NAME != EXECUTION_NAME
    assert result == {
        "PhysicalResourceId": f"{NEW_NAME}:{batch_inputs(new)}!{OLD_ID}",
        "Data": {
            "ExecutionArn": batch.execution_arn(new["StateMachineArn"], NEW_NAME),
            "StartedAt": f"{CREATED_AT.timestamp():.3f}",
        },
    }


def test_the_new_execution_is_started_by_the_first_poll_under_the_new_name(
    cfn: Stubber, sfn: Stubber, context: FakeContext
) -> None:
    new = {**OLD, "RerunToken": "v2"}
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), stack_params())
    event = update(new, OLD_ID, OLD)
    result = batch.on_event(event, context)
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        http_status_code=400,
        expected_params=describe_execution_params(NEW_NAME),
    )
    # Everything under the new name: its prefix, its ARN, and new runs (DataZone does not
    # deduplicate them with the old batch's: tokenSeed).
    execution_input = batch_input(name=NEW_NAME, types=[NAMES, DESCRIPTIONS])
    assert execution_input["prefix"] == f"batches/{BATCH_LOGICAL_ID}/{NEW_NAME}"
    assert execution_input["tokenSeed"] == NEW_NAME
    # The stack still wants this Update: the poll reads its status before it starts anything.
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), stack_params())
    sfn.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(NEW_NAME), "startDate": CREATED_AT},
        {"stateMachineArn": STATE_MACHINE_ARN, "name": NEW_NAME, "input": JsonOf(execution_input)},
    )
    assert batch.is_complete(poll_after(event, result), context) == {"IsComplete": False}


@pytest.mark.parametrize("physical_id", ["Demo-CatalogBatchA1B2C3D4-1A2B3C4D5E6F", "mgb-" + "a" * 32])
def test_update_of_an_id_without_inputs_starts_anew_with_no_call(
    stubbed: Stubber, cfn: Stubber, sfn: Stubber, context: FakeContext, physical_id: str
) -> None:
    result = batch.on_event(update(NEW, physical_id, OLD), context)
    assert result["PhysicalResourceId"] == f"{NEW_NAME}:{batch_inputs(NEW)}"


# ---------------------------------------------------------------------------------------------
# Rollbacks


def rollback(physical_id: str) -> batch.BatchPollEvent:
    """The rollback Update: the previous properties back, the failed ones as old."""
    return update(OLD, physical_id, NEW, request_id="rollback-req")


def test_rollback_carrying_the_old_id_keeps_it_with_no_call(
    stubbed: Stubber, cfn: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext
) -> None:
    event = rollback(OLD_ID)
    result = batch.on_event(event, context)
    assert result == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    assert batch.is_complete(poll_after(event, result), context) == {"IsComplete": True, "Data": OLD_DATA}


def test_rollback_carrying_the_failed_id_adopts_the_previous_with_no_call(
    stubbed: Stubber, cfn: Stubber, sfn: Stubber, s3: Stubber, context: FakeContext
) -> None:
    event = rollback(FAILED_ID)
    result = batch.on_event(event, context)
    # The previous id is returned, so the cleanup Delete goes to the failed batch's id.
    assert result == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    assert batch.is_complete(poll_after(event, result), context) == {"IsComplete": True, "Data": OLD_DATA}


@pytest.mark.parametrize("stack_status", ["UPDATE_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS"])
def test_rollback_carrying_a_succeeded_id_asks_the_stack_and_adopts_the_previous(
    cfn: Stubber, sfn: Stubber, context: FakeContext, stack_status: str
) -> None:
    # Our Update succeeded, another resource failed: only the stack says this is a rollback.
    cfn.add_response("describe_stacks", stack_response(stack_status), stack_params())
    assert batch.on_event(rollback(SUCCEEDED_ID), context) == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}


def test_rollback_with_nothing_earlier_matching_keeps_the_carried_id_and_starts_nothing(
    cfn: Stubber, sfn: Stubber, context: FakeContext
) -> None:
    cfn.add_response("describe_stacks", stack_response("UPDATE_ROLLBACK_IN_PROGRESS"), stack_params())
    carried = batch_pid(NEW, NEW_NAME, status="SUCCEEDED", counts="9.1")
    result = batch.on_event(rollback(carried), context)
    assert result["PhysicalResourceId"] == carried
    assert "StartedAt" not in result.get("Data", {})


def test_rollback_when_describe_stacks_fails_adopts_the_matching_previous(
    cfn: Stubber, sfn: Stubber, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")

    monkeypatch.setattr(cfn.client, "describe_stacks", unreachable)
    assert batch.on_event(rollback(SUCCEEDED_ID), context) == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}


def test_update_back_to_the_previous_inputs_outside_a_rollback_starts_anew(
    cfn: Stubber, sfn: Stubber, context: FakeContext
) -> None:
    # The stack is not rolling back: a user asked for the old selection again, as a new batch.
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), stack_params())
    result = batch.on_event(rollback(SUCCEEDED_ID), context)
    new_name = execution_name_for("rollback-req")
    assert (
        result["PhysicalResourceId"]
        == f"{new_name}:{batch_inputs(OLD)}!{batch_pid(NEW, NEW_NAME, status='SUCCEEDED', counts='9.1')}"
    )
