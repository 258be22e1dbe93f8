"""MetadataGenerationBatch, isComplete phase 2: waiting for the execution and its summary.

RUNNING: not complete, until the deadline (then the execution is stopped, the cancel of its runs in
flight started as a `<name>-cancel` execution, and the resource fails). SUCCEEDED: the counts come
from the execution's output (the workflow's worker wrote summary.json and left the counts there:
nothing is read from S3), and go into Data and the physical id; Summary is the execution's
summary.json. FAILED with FailureToleranceExceeded: the resource fails with the worker's own words
(the counts and the first failures). An execution that ended otherwise fails naming status, error
and cause (a Lambda error's JSON cause as its type and message). Transient errors only mean "ask
again"; any other error fails.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import batch, common
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    CREATED_AT,
    EXECUTION_NAME,
    RESULTS_BUCKET,
    Clock,
    FakeContext,
    batch_input,
    batch_pid,
    batch_poll_event,
    batch_props,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    expect_stop,
    stack_params,
    stack_response,
    start_cancel_params,
    summary_url,
)

TIMEOUT = 1800
PREFIX = f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}"
SUMMARY_KEY = f"{PREFIX}/summary.json"
SUMMARY_URL = f"s3://{RESULTS_BUCKET}/{SUMMARY_KEY}"
MAP_RUN = "arn:aws:states:us-east-1:123456789012:mapRun:DemoMetadataGenerationBatch/" + EXECUTION_NAME + ":m1"
MANIFEST_KEY = "results/m1/manifest.json"
OUTPUT = {"mapRunArn": MAP_RUN, "results": {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY}}
SUCCEEDED_FILE = "results/m1/SUCCEEDED_0.json"
FAILED_FILE = "results/m1/FAILED_0.json"
TRANSIENT = [
    ("ThrottlingException", 400, "Rate exceeded"),
    ("ServiceUnavailable", 503, "Service unavailable"),
    ("InternalServerError", 500, "Internal error"),
    ("SlowDown", 503, "Please reduce your request rate"),
]


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> Clock:
    """The handler's time.time() is clock[0]: a minute after onEvent accepted the batch."""
    return Clock(time_machine, CREATED_AT.timestamp() + 60)


def summary_output(total: int, succeeded: int, failed: int, location: str = SUMMARY_URL) -> dict[str, Any]:
    """The execution's output as the workflow's Done state writes it."""
    return {
        "mapRunArn": MAP_RUN,
        "results": {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY},
        "summary": {"total": total, "succeeded": succeeded, "failed": failed, "location": location},
    }


def succeeded_execution(sfn: Stubber, output: dict[str, Any] | None) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("SUCCEEDED", output=output, stop=CREATED_AT + timedelta(minutes=5)),
        describe_execution_params(),
    )


def finished_data(succeeded: int, failed: int) -> dict[str, str]:
    return {
        "ExecutionArn": execution_arn_of(),
        "Status": "SUCCEEDED",
        "SucceededCount": str(succeeded),
        "FailedCount": str(failed),
        "Summary": SUMMARY_URL,
    }


# ---------------------------------------------------------------------------------------------
# RUNNING


def test_running_execution_is_not_complete(sfn: Stubber, clock: Clock, context: FakeContext) -> None:
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_running_execution_just_before_the_deadline_is_not_complete(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT - 0.001
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


FAIL_ON_TIMEOUT = batch_props(FailOnTimeout="true")


def test_by_default_a_batch_running_at_its_timeout_goes_on_after_the_deploy(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    # A catalog takes hours and CloudFormation waits one: the resource completes RUNNING, nothing
    # is stopped (no StopExecution is queued: a stop would be refused by the stubber).
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    result = batch.is_complete(batch_poll_event(), context)
    assert result == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(status="RUNNING"),
        "Data": {
            "ExecutionArn": execution_arn_of(),
            "Status": "RUNNING",
            "SucceededCount": "UNKNOWN",
            "FailedCount": "UNKNOWN",
            "Summary": summary_url(),
        },
    }


def test_by_default_a_batch_running_just_before_its_timeout_is_waited_for(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT - 0.001
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_with_fail_on_timeout_the_deadline_stops_the_execution_starts_its_cancel_and_fails(
    sfn: Stubber, s3: Stubber, stubbed: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    # Stopped, then <name>-cancel started on the same state machine: no DataZone or S3 call here.
    expect_stop(sfn, why="timeout")
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(FAIL_ON_TIMEOUT), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within {TIMEOUT} s; the execution was stopped "
        "and its runs are being cancelled (fail_on_timeout=True; without it the batch goes on after the deploy); "
        "the execution is still running"
    )


@pytest.mark.parametrize(("code", "http_status", "message"), TRANSIENT[:3])
def test_transient_error_at_the_deadline_fails_naming_it(
    sfn: Stubber, clock: Clock, context: FakeContext, code: str, http_status: int, message: str
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT + 5
    sfn.add_client_error(
        "describe_execution",
        service_error_code=code,
        service_message=message,
        http_status_code=http_status,
        expected_params=describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within {TIMEOUT} s (use "
        f"wait_for_completion=False for batches longer than the deploy may wait); last poll failed: {code}: {message}"
    )


# ---------------------------------------------------------------------------------------------
# SUCCEEDED: the counts from the output


def test_all_assets_succeeded_completes_with_counts_in_data_and_physical_id(
    sfn: Stubber, s3: Stubber, clock: Clock, context: FakeContext
) -> None:
    succeeded_execution(sfn, summary_output(3, 3, 0))
    assert batch.is_complete(batch_poll_event(), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(status="SUCCEEDED", counts="3.0"),
        "Data": finished_data(3, 0),
    }


@pytest.mark.parametrize(("succeeded", "failed"), [(2, 5), (0, 7), (41, 1), (100000, 0)])
def test_failures_within_the_tolerance_are_counted_as_the_output_says(
    sfn: Stubber, s3: Stubber, clock: Clock, context: FakeContext, succeeded: int, failed: int
) -> None:
    # The workflow ended SUCCEEDED: within the tolerance by its own verdict; the handler does not
    # judge again (its tolerance 0 here would fail any of these).
    succeeded_execution(sfn, summary_output(succeeded + failed, succeeded, failed))
    assert batch.is_complete(batch_poll_event(), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(status="SUCCEEDED", counts=f"{succeeded}.{failed}"),
        "Data": finished_data(succeeded, failed),
    }


def test_an_empty_batch_succeeds_with_zero_counts(
    sfn: Stubber, s3: Stubber, clock: Clock, context: FakeContext
) -> None:
    succeeded_execution(sfn, summary_output(0, 0, 0))
    assert batch.is_complete(batch_poll_event(), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(status="SUCCEEDED", counts="0.0"),
        "Data": finished_data(0, 0),
    }


def test_the_summary_attribute_is_the_executions_own_location(sfn: Stubber, clock: Clock, context: FakeContext) -> None:
    # Known before the execution starts (the same for a batch that does not wait); the output's
    # location is the worker's account of the same file.
    succeeded_execution(sfn, summary_output(1, 1, 0, location="s3://elsewhere/summary.json"))
    result = batch.is_complete(batch_poll_event(), context)
    assert result.get("Data", {})["Summary"] == (
        f"s3://{RESULTS_BUCKET}/batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}/summary.json"
    )


@pytest.mark.parametrize(
    "output",
    [
        None,
        "[]",
        "not json",
        json.dumps({"mapRunArn": MAP_RUN, "results": {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY}}),
        json.dumps({"summary": None}),
        json.dumps({"summary": [3, 0]}),
        json.dumps({"summary": {"total": 3, "succeeded": 3}}),
        json.dumps({"summary": {"total": 3, "failed": 0}}),
    ],
)
def test_an_output_without_summary_counts_fails_saying_what_it_was(
    sfn: Stubber, s3: Stubber, clock: Clock, context: FakeContext, output: str | None
) -> None:
    execution = describe_execution_response("SUCCEEDED")
    if output is not None:
        execution["output"] = output
    sfn.add_response("describe_execution", execution, describe_execution_params())
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == f"the execution's output has no summary counts: {output!r}"


# ---------------------------------------------------------------------------------------------
# FAILED: FailureToleranceExceeded, the workflow's own verdict

TOLERANCE_CAUSE = (
    f"6 of 7 assets failed (failure_tolerance 50 %; summary {SUMMARY_URL}): a1 FAILED: BUSINESS_DESCRIPTIONS: "
    "model refused; a2 TIMED_OUT: last status SUBMITTED; a3 START_FAILED: DataZone.ValidationException: bad asset; "
    "a4 POLL_FAILED: States.Timeout: poll; a5 CANCELED: BUSINESS_DESCRIPTIONS: quota"
)


def test_failure_tolerance_exceeded_fails_with_the_workers_message(
    sfn: Stubber, s3: Stubber, stubbed: Stubber, clock: Clock, context: FakeContext
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("FAILED", error="FailureToleranceExceeded", cause=TOLERANCE_CAUSE),
        describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(FailureTolerancePercent="50")), context)
    # No "execution ended FAILED: FailureToleranceExceeded": the cause says it all.
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME}: {TOLERANCE_CAUSE}"


def test_failure_tolerance_exceeded_fails_even_for_a_batch_that_does_not_wait(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    # A redelivered poll of a batch that did not wait finds it already ended: the verdict stands.
    sfn.add_response(
        "describe_execution",
        describe_execution_response("FAILED", error="FailureToleranceExceeded", cause="1 of 1 assets failed"),
        describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(batch_props(WaitForCompletion="false")), context)
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME}: 1 of 1 assets failed"


def test_failure_reason_fits_the_response_limit(sfn: Stubber, s3: Stubber, clock: Clock, context: FakeContext) -> None:
    # Reasons the service wrote: long, with control characters, quotes and characters outside the BMP.
    huge = ('\u0001"\\ \U0001f600 \u2028 ' * 2000)[:9000]
    sfn.add_response(
        "describe_execution",
        describe_execution_response("FAILED", error="FailureToleranceExceeded", cause=f"8 of 8 assets failed: {huge}"),
        describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    reason = str(caught.value)
    assert reason.startswith(f"Metadata-generation batch {EXECUTION_NAME}: 8 of 8 assets failed: ")
    assert common.json_size(reason) <= common.REASON_LIMIT
    # CloudFormation's limit is on the whole JSON response body, ASCII-escaped or not.
    for ensure_ascii in (True, False):
        assert len(json.dumps({"Reason": reason}, ensure_ascii=ensure_ascii).encode()) < 4096
    assert reason.endswith("...")
    assert "\u0001" not in reason


# ---------------------------------------------------------------------------------------------
# Ended otherwise


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_execution_that_ended_badly_fails_naming_status_error_and_cause(
    sfn: Stubber, clock: Clock, context: FakeContext, status: str
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response(status, error="States.ItemReaderFailed", cause="Access Denied on items.json"),
        describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME}: execution ended {status}: "
        "States.ItemReaderFailed: Access Denied on items.json"
    )


def test_execution_stopped_without_error_or_cause_says_so(sfn: Stubber, clock: Clock, context: FakeContext) -> None:
    sfn.add_response("describe_execution", describe_execution_response("ABORTED"), describe_execution_params())
    with pytest.raises(common.RunError, match=r"execution ended ABORTED: no error: no cause$"):
        batch.is_complete(batch_poll_event(), context)


@pytest.mark.parametrize(
    ("error", "cause", "said"),
    [
        # A worker step that raised: Step Functions names the error type and puts Lambda's JSON
        # payload in the cause; a person reads its type and message.
        (
            "SelectionError",
            json.dumps(
                {
                    "errorMessage": "data source ds_0123456789 has no run yet after 1800 s",
                    "errorType": "SelectionError",
                    "requestId": "0f1e2d3c-0000-0000-0000-000000000000",
                    "stackTrace": ['  File "/var/task/worker.py", line 120, in select\n'],
                }
            ),
            # The error already names the type: said once.
            "SelectionError: data source ds_0123456789 has no run yet after 1800 s",
        ),
        ("Lambda.Unknown", json.dumps({"errorMessage": "out of memory"}), "Lambda.Unknown: Error: out of memory"),
        # JSON that is not a Lambda error payload is shown as it is.
        ("States.Runtime", json.dumps({"errorType": "X"}), 'States.Runtime: {"errorType": "X"}'),
        ("States.Runtime", json.dumps({"errorMessage": ""}), 'States.Runtime: {"errorMessage": ""}'),
        ("States.Runtime", "[1, 2]", "States.Runtime: [1, 2]"),
        ("States.Runtime", '"quoted"', 'States.Runtime: "quoted"'),
        ("", "", "no error: no cause"),
    ],
)
def test_a_lambda_errors_cause_is_shown_as_its_type_and_message(
    sfn: Stubber, clock: Clock, context: FakeContext, error: str, cause: str, said: str
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response("FAILED", error=error, cause=cause),
        describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME}: execution ended FAILED: {said}"


def test_a_failure_tolerance_verdict_with_a_lambda_payload_cause_is_shown_as_its_message(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    cause = json.dumps({"errorType": "FailureToleranceExceeded", "errorMessage": "2 of 2 assets failed"})
    sfn.add_response(
        "describe_execution",
        describe_execution_response("FAILED", error="FailureToleranceExceeded", cause=cause),
        describe_execution_params(),
    )
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (f"Metadata-generation batch {EXECUTION_NAME}: 2 of 2 assets failed")


# ---------------------------------------------------------------------------------------------
# Errors of the calls


@pytest.mark.parametrize(("code", "http_status", "message"), TRANSIENT)
def test_transient_describe_error_is_not_complete(
    sfn: Stubber, clock: Clock, context: FakeContext, code: str, http_status: int, message: str
) -> None:
    sfn.add_client_error(
        "describe_execution",
        service_error_code=code,
        service_message=message,
        http_status_code=http_status,
        expected_params=describe_execution_params(),
    )
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com"),
    ],
)
def test_connection_error_is_not_complete(
    sfn: Stubber, monkeypatch: pytest.MonkeyPatch, clock: Clock, context: FakeContext, error: Exception
) -> None:
    calls: list[dict[str, Any]] = []

    def fail(**params: Any) -> Any:
        calls.append(params)
        raise error

    monkeypatch.setattr(sfn.client, "describe_execution", fail)
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}
    assert calls == [describe_execution_params()]


def test_transient_start_error_is_not_complete(sfn: Stubber, cfn: Stubber, clock: Clock, context: FakeContext) -> None:
    sfn.add_client_error("describe_execution", service_error_code="ExecutionDoesNotExist", http_status_code=400)
    cfn.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), stack_params())
    sfn.add_client_error("start_execution", service_error_code="ThrottlingException", http_status_code=400)
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("operation", "code", "message"),
    [
        ("describe_execution", "AccessDeniedException", "not authorized to perform states:DescribeExecution"),
        ("describe_execution", "InvalidArn", "Invalid Arn"),
        ("start_execution", "StateMachineDoesNotExist", "State Machine Does Not Exist"),
        ("start_execution", "InvalidExecutionInput", "too large"),
    ],
)
def test_other_step_functions_errors_fail(
    sfn: Stubber, cfn: Stubber, clock: Clock, context: FakeContext, operation: str, code: str, message: str
) -> None:
    if operation == "start_execution":
        sfn.add_client_error("describe_execution", service_error_code="ExecutionDoesNotExist", http_status_code=400)
        cfn.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), stack_params())
    sfn.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=400)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME}: {code}: {message}"


# ---------------------------------------------------------------------------------------------
# The deadline, when the cancel cannot be started


def expect_stop_then_cancel_error(sfn: Stubber, code: str, http_status: int) -> None:
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    sfn.add_response(
        "describe_execution",
        describe_execution_response("RUNNING", execution_input=batch_input()),
        describe_execution_params(),
    )
    sfn.add_response(
        "stop_execution",
        {"stopDate": CREATED_AT},
        {"executionArn": execution_arn_of(), "cause": "CloudFormation: timeout"},
    )
    sfn.add_client_error(
        "start_execution",
        service_error_code=code,
        service_message="no",
        http_status_code=http_status,
        expected_params=start_cancel_params(),
    )


def test_a_throttled_cancel_at_the_deadline_still_fails_the_resource_with_the_timeout(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    # The execution is stopped; its cancel is started again by the Delete that follows the failure.
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    expect_stop_then_cancel_error(sfn, "ThrottlingException", 400)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(FAIL_ON_TIMEOUT), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within {TIMEOUT} s; stopping it failed "
        "(ThrottlingException: no): the stack's Delete tries again (fail_on_timeout=True; "
        "without it the batch goes on after the deploy); the execution is still running"
    )


def test_a_cancel_refused_at_the_deadline_still_fails_naming_the_timeout(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    expect_stop_then_cancel_error(sfn, "AccessDeniedException", 400)
    with pytest.raises(common.RunError) as caught:
        batch.is_complete(batch_poll_event(FAIL_ON_TIMEOUT), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within {TIMEOUT} s; stopping it failed "
        "(AccessDeniedException: no): the stack's Delete tries again (fail_on_timeout=True; "
        "without it the batch goes on after the deploy); the execution is still running"
    )
