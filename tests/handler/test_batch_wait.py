"""MetadataGenerationBatch, isComplete phase 2: waiting for the execution and its summary.

RUNNING: not complete, until the deadline (then the execution is stopped, its runs in flight
cancelled, and the resource fails). SUCCEEDED: the Distributed Map's ResultWriter manifest and
result files are read, summary.json is written next to the batch's items, the counts go into
Data and the physical id, and failures above failure_tolerance fail the resource with the first
few failures and their reasons. An execution that ended otherwise fails naming status, error and
cause. Transient errors only mean "ask again"; any other error fails.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import batch, index
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    CREATED_AT,
    EXECUTION_NAME,
    PROJECT_ID,
    RESULTS_BUCKET,
    STATE_MACHINE_ARN,
    FakeContext,
    JsonOf,
    batch_pid,
    batch_poll_event,
    batch_props,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    expect_stop,
    run_item,
    s3_body,
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
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """index.now() returns clock[0]: a minute after onEvent accepted the batch."""
    current = [CREATED_AT.timestamp() + 60]
    monkeypatch.setattr(index, "now", lambda: current[0])
    return current


def child(record: dict[str, Any] | None, *, status: str = "SUCCEEDED", **extra: str) -> dict[str, Any]:
    """One entry of a ResultWriter result file: a child execution of the map, for one asset."""
    asset = (record or {}).get("assetId", extra.pop("asset", "a?"))
    entry: dict[str, Any] = {
        "ExecutionArn": f"{execution_arn_of()}/{asset}",
        "Input": json.dumps({"assetId": asset, "domainId": "dzd_abc123", "projectId": PROJECT_ID}),
        "InputDetails": {"Included": True},
        "Name": asset,
        "Status": status,
        "StateMachineArn": STATE_MACHINE_ARN,
        **extra,
    }
    if record is not None:
        entry["Output"] = json.dumps(record)
    return entry


def ok(asset: str, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {"assetId": asset, "runId": f"run_{asset}", "status": status}


def run_failed(asset: str, message: str, status: str = "FAILED") -> dict[str, Any]:
    """What the workflow's RunEnded state records: the Get answer in the SDK's PascalCase."""
    stats = [{"Type": "BUSINESS_DESCRIPTIONS", "Status": status, "ErrorMessage": message}]
    return {"assetId": asset, "runId": f"run_{asset}", "status": status, "run": {"Status": status, "TypeStats": stats}}


def succeeded_execution(sfn: Stubber, s3: Stubber, files: dict[str, list[dict[str, Any]]]) -> None:
    """Describe answers SUCCEEDED; the manifest lists one file per kind, read in manifest order."""
    sfn.add_response(
        "describe_execution",
        describe_execution_response("SUCCEEDED", output=OUTPUT, stop=CREATED_AT + timedelta(minutes=5)),
        describe_execution_params(),
    )
    keys = {kind: f"results/m1/{kind}_0.json" for kind in files}
    manifest = {
        "DestinationBucket": RESULTS_BUCKET,
        "MapRunArn": MAP_RUN,
        "ResultFiles": {kind: [{"Key": key, "Size": 100}] for kind, key in keys.items()},
    }
    s3.add_response("get_object", s3_body(manifest), {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY})
    for kind, entries in files.items():
        s3.add_response("get_object", s3_body(entries), {"Bucket": RESULTS_BUCKET, "Key": keys[kind]})


def expect_summary(s3: Stubber, summary: dict[str, Any]) -> None:
    s3.add_response(
        "put_object",
        {},
        {"Bucket": RESULTS_BUCKET, "Key": SUMMARY_KEY, "Body": JsonOf(summary), "ContentType": "application/json"},
    )


def summary_of(total: int, succeeded: int, counts: dict[str, int], failures: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "executionArn": execution_arn_of(),
        "total": total,
        "succeeded": succeeded,
        "failed": total - succeeded,
        "counts": counts,
        "failures": failures,
    }


# ---------------------------------------------------------------------------------------------
# RUNNING


def test_running_execution_is_not_complete(sfn: Stubber, clock: list[float], context: FakeContext) -> None:
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_running_execution_just_before_the_deadline_is_not_complete(
    sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT - 0.001
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_deadline_stops_the_execution_cancels_its_runs_and_fails(
    sfn: Stubber, s3: Stubber, stubbed: Stubber, clock: list[float], context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    sfn.add_response("describe_execution", describe_execution_response("RUNNING"), describe_execution_params())
    expect_stop(
        sfn,
        s3,
        stubbed,
        why="timeout",
        in_progress=[run_item("run_a1", asset_id="a1", created_at=CREATED_AT + timedelta(seconds=30))],
        submitted=[
            run_item("run_a3", "SUBMITTED", asset_id="a3", created_at=CREATED_AT + timedelta(seconds=50)),
            run_item("run_other", "SUBMITTED", asset_id="z9", created_at=CREATED_AT + timedelta(seconds=50)),
        ],
        cancelled=["run_a1", "run_a3"],
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within {TIMEOUT} s; the execution was stopped "
        "and its runs cancelled (use wait_for_completion=False for batches longer than the deploy may wait); "
        "the execution is still running"
    )


@pytest.mark.parametrize(("code", "http_status", "message"), TRANSIENT[:3])
def test_transient_error_at_the_deadline_fails_naming_it(
    sfn: Stubber, clock: list[float], context: FakeContext, code: str, http_status: int, message: str
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT + 5
    sfn.add_client_error(
        "describe_execution",
        service_error_code=code,
        service_message=message,
        http_status_code=http_status,
        expected_params=describe_execution_params(),
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME} did not finish within {TIMEOUT} s (use "
        f"wait_for_completion=False for batches longer than the deploy may wait); last poll failed: {code}: {message}"
    )


# ---------------------------------------------------------------------------------------------
# SUCCEEDED: the summary


def test_all_assets_succeeded_completes_with_counts_in_data_and_physical_id(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext
) -> None:
    records = [ok("a1"), ok("a2", "PARTIALLY_SUCCEEDED"), {**ok("a3"), "revision": "4"}]
    succeeded_execution(sfn, s3, {"SUCCEEDED": [child(r) for r in records]})
    expect_summary(
        s3,
        summary_of(
            3,
            3,
            {"PARTIALLY_SUCCEEDED": 1, "SUCCEEDED": 2},
            [],
        ),
    )
    assert batch.is_complete(batch_poll_event(), context) == {
        "IsComplete": True,
        "PhysicalResourceId": batch_pid(status="SUCCEEDED", counts="3.0"),
        "Data": {
            "ExecutionArn": execution_arn_of(),
            "Status": "SUCCEEDED",
            "SucceededCount": "3",
            "FailedCount": "0",
            "Summary": SUMMARY_URL,
        },
    }


def test_summary_counts_every_status_and_gives_each_failures_reason(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext
) -> None:
    records = [
        ok("a1"),
        ok("a2", "PARTIALLY_SUCCEEDED"),
        run_failed("a3", "the model refused"),
        {"assetId": "a4", "runId": "run_a4", "lastStatus": "IN_PROGRESS", "status": "TIMED_OUT"},
        {"assetId": "a5", "error": "DataZone.AccessDeniedException", "cause": "not a member", "status": "START_FAILED"},
        {"assetId": "a6", "runId": "run_a6", "status": "CANCELED", "run": {"Status": "CANCELED"}},
    ]
    crashed = child(None, status="FAILED", asset="a7", Error="States.Runtime", Cause="boom")
    succeeded_execution(sfn, s3, {"FAILED": [crashed], "SUCCEEDED": [child(r) for r in records]})
    failures = [
        {"assetId": "a7", "status": "EXECUTION_FAILED", "reason": "States.Runtime: boom"},
        {**records[2], "reason": "BUSINESS_DESCRIPTIONS: the model refused"},
        {**records[3], "reason": "last status IN_PROGRESS"},
        {**records[4], "reason": "DataZone.AccessDeniedException: not a member"},
        {**records[5], "reason": "the service gave no error message"},
    ]
    counts = {
        "CANCELED": 1,
        "EXECUTION_FAILED": 1,
        "FAILED": 1,
        "PARTIALLY_SUCCEEDED": 1,
        "START_FAILED": 1,
        "SUCCEEDED": 1,
        "TIMED_OUT": 1,
    }
    expect_summary(s3, summary_of(7, 2, counts, failures))
    result = batch.is_complete(batch_poll_event(batch_props(FailureTolerancePercent="100")), context)
    assert result["PhysicalResourceId"] == batch_pid(
        batch_props(FailureTolerancePercent="100"), status="SUCCEEDED", counts="2.5"
    )
    assert result.get("Data", {})["FailedCount"] == "5"


def test_an_empty_batch_succeeds_with_zero_counts(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext
) -> None:
    sfn.add_response(
        "describe_execution", describe_execution_response("SUCCEEDED", output=OUTPUT), describe_execution_params()
    )
    s3.add_response("get_object", s3_body({"ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": []}}), None)
    expect_summary(s3, summary_of(0, 0, {}, []))
    assert batch.is_complete(batch_poll_event(), context)["PhysicalResourceId"] == batch_pid(
        status="SUCCEEDED", counts="0.0"
    )


@pytest.mark.parametrize(
    ("tolerance", "failed", "total", "passes"),
    [
        ("25", 1, 4, True),  # exactly at the tolerance
        ("24.9", 1, 4, False),
        ("10", 1, 10, True),
        ("0", 1, 10, False),
        ("0", 0, 10, True),
        ("50", 2, 4, True),
        ("50", 3, 4, False),
        ("100", 4, 4, True),
    ],
)
def test_failure_tolerance_boundary(
    sfn: Stubber,
    s3: Stubber,
    clock: list[float],
    context: FakeContext,
    tolerance: str,
    failed: int,
    total: int,
    passes: bool,
) -> None:
    records = [run_failed(f"f{n}", "no luck") for n in range(failed)] + [ok(f"s{n}") for n in range(total - failed)]
    succeeded_execution(sfn, s3, {"SUCCEEDED": [child(r) for r in records]})
    counts = {k: v for k, v in (("FAILED", failed), ("SUCCEEDED", total - failed)) if v}
    failures = [{**r, "reason": "BUSINESS_DESCRIPTIONS: no luck"} for r in records[:failed]]
    expect_summary(s3, summary_of(total, total - failed, counts, failures))
    props = batch_props(FailureTolerancePercent=tolerance)
    if passes:
        result = batch.is_complete(batch_poll_event(props), context)
        assert result["PhysicalResourceId"] == batch_pid(props, status="SUCCEEDED", counts=f"{total - failed}.{failed}")
        return
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(props), context)
    assert str(caught.value).startswith(
        f"Metadata-generation batch {EXECUTION_NAME}: {failed} of {total} assets failed "
        f"(failure_tolerance {float(tolerance):g} %; summary {SUMMARY_URL}): f0 FAILED: BUSINESS_DESCRIPTIONS: no luck"
    )


def test_failures_above_tolerance_name_the_first_five_with_their_reasons(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext
) -> None:
    records = [
        run_failed("a1", "model refused"),
        {"assetId": "a2", "runId": "run_a2", "lastStatus": "SUBMITTED", "status": "TIMED_OUT"},
        {"assetId": "a3", "error": "DataZone.ValidationException", "cause": "bad asset", "status": "START_FAILED"},
        {"assetId": "a4", "runId": "r4", "error": "States.Timeout", "cause": "poll", "status": "POLL_FAILED"},
        run_failed("a5", "quota", status="CANCELED"),
        run_failed("a6", "sixth is not shown"),
        ok("a7"),
    ]
    succeeded_execution(sfn, s3, {"SUCCEEDED": [child(r) for r in records]})
    reasons = [
        "BUSINESS_DESCRIPTIONS: model refused",
        "last status SUBMITTED",
        "DataZone.ValidationException: bad asset",
        "States.Timeout: poll",
        "BUSINESS_DESCRIPTIONS: quota",
        "BUSINESS_DESCRIPTIONS: sixth is not shown",
    ]
    failures = [{**r, "reason": reason} for r, reason in zip(records[:6], reasons, strict=True)]
    expect_summary(
        s3,
        summary_of(
            7,
            1,
            {"CANCELED": 1, "FAILED": 2, "POLL_FAILED": 1, "START_FAILED": 1, "SUCCEEDED": 1, "TIMED_OUT": 1},
            failures,
        ),
    )
    props = batch_props(FailureTolerancePercent="50")
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(props), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME}: 6 of 7 assets failed (failure_tolerance 50 %; summary "
        f"{SUMMARY_URL}): a1 FAILED: BUSINESS_DESCRIPTIONS: model refused; a2 TIMED_OUT: last status SUBMITTED; "
        "a3 START_FAILED: DataZone.ValidationException: bad asset; a4 POLL_FAILED: States.Timeout: poll; "
        "a5 CANCELED: BUSINESS_DESCRIPTIONS: quota"
    )


def test_failure_reason_fits_the_response_limit(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext
) -> None:
    # Reasons the service wrote: long, with control characters, quotes and characters outside the BMP.
    huge = ('\u0001"\\ \U0001f600 \u2028 ' * 2000)[:9000]
    records = [run_failed(f"asset-{n:03d}", huge) for n in range(8)]
    succeeded_execution(sfn, s3, {"SUCCEEDED": [child(r) for r in records]})
    s3.add_response("put_object", {}, None)
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    reason = str(caught.value)
    assert reason.startswith(f"Metadata-generation batch {EXECUTION_NAME}: 8 of 8 assets failed")
    assert index.json_size(reason) <= index.REASON_LIMIT
    # CloudFormation's limit is on the whole JSON response body, ASCII-escaped or not.
    for ensure_ascii in (True, False):
        assert len(json.dumps({"Reason": reason}, ensure_ascii=ensure_ascii).encode()) < 4096
    assert reason.endswith("...")


# ---------------------------------------------------------------------------------------------
# Ended otherwise


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_execution_that_ended_badly_fails_naming_status_error_and_cause(
    sfn: Stubber, clock: list[float], context: FakeContext, status: str
) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response(status, error="States.ItemReaderFailed", cause="Access Denied on items.json"),
        describe_execution_params(),
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME}: execution ended {status}: "
        "States.ItemReaderFailed: Access Denied on items.json"
    )


def test_execution_stopped_without_error_or_cause_says_so(
    sfn: Stubber, clock: list[float], context: FakeContext
) -> None:
    sfn.add_response("describe_execution", describe_execution_response("ABORTED"), describe_execution_params())
    with pytest.raises(index.RunError, match=r"execution ended ABORTED: no error: no cause$"):
        batch.is_complete(batch_poll_event(), context)


# ---------------------------------------------------------------------------------------------
# Errors of the calls


@pytest.mark.parametrize(("code", "http_status", "message"), TRANSIENT)
def test_transient_describe_error_is_not_complete(
    sfn: Stubber, clock: list[float], context: FakeContext, code: str, http_status: int, message: str
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
    sfn: Stubber, monkeypatch: pytest.MonkeyPatch, clock: list[float], context: FakeContext, error: Exception
) -> None:
    calls: list[dict[str, Any]] = []

    def fail(**params: Any) -> Any:
        calls.append(params)
        raise error

    monkeypatch.setattr(sfn.client, "describe_execution", fail)
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}
    assert calls == [describe_execution_params()]


@pytest.mark.parametrize(("code", "http_status", "message"), TRANSIENT)
def test_transient_error_reading_results_is_not_complete(
    sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext, code: str, http_status: int, message: str
) -> None:
    sfn.add_response(
        "describe_execution", describe_execution_response("SUCCEEDED", output=OUTPUT), describe_execution_params()
    )
    s3.add_client_error(
        "get_object",
        service_error_code=code,
        service_message=message,
        http_status_code=http_status,
        expected_params={"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY},
    )
    assert batch.is_complete(batch_poll_event(), context) == {"IsComplete": False}


def test_transient_start_error_is_not_complete(sfn: Stubber, clock: list[float], context: FakeContext) -> None:
    sfn.add_client_error("describe_execution", service_error_code="ExecutionDoesNotExist", http_status_code=400)
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
    sfn: Stubber, clock: list[float], context: FakeContext, operation: str, code: str, message: str
) -> None:
    if operation == "start_execution":
        sfn.add_client_error("describe_execution", service_error_code="ExecutionDoesNotExist", http_status_code=400)
    sfn.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=400)
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == f"Metadata-generation batch {EXECUTION_NAME}: {code}: {message}"


def test_missing_result_file_fails(sfn: Stubber, s3: Stubber, clock: list[float], context: FakeContext) -> None:
    sfn.add_response(
        "describe_execution", describe_execution_response("SUCCEEDED", output=OUTPUT), describe_execution_params()
    )
    s3.add_client_error(
        "get_object",
        service_error_code="NoSuchKey",
        service_message="The specified key does not exist.",
        http_status_code=404,
        expected_params={"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY},
    )
    with pytest.raises(index.RunError) as caught:
        batch.is_complete(batch_poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation batch {EXECUTION_NAME}: NoSuchKey: The specified key does not exist."
    )
