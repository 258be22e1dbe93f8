"""The batch workflow's worker, ``cancel``: the runs a stopped execution left in flight.

A Delete (or a timeout) stops an execution and starts ``<name>-cancel`` with contract.CancelInput
(tests/handler/test_batch_delete.py). Its worker first waits (10 s at a time) while the stopped
execution still runs, at most STOP_WAIT_SECONDS; then it lists ``<prefix>/inflight/`` (every page)
and for each marker cancels the run it names: a marker with a run id is cancelled as it is, an
empty one (Start sent, or about to be, when the child was stopped) is found again by Start with
the child's own client token (sha256 of ``<seed>|<asset>|start``), then cancelled. The marker is
deleted after. A step stops when the time left drops below RESERVE_SECONDS and the next lists
again from the start (handled markers are gone: none is lost). CANCEL_PASSES passes, 60 s apart;
the counts per outcome (cancelled, recovered, unknown) are returned. Transient errors are raised
as TransientError (the workflow retries the step).
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from constructs_lib import _batch_definition
from lambda_src.metadata_generation_run import contract, worker
from tests.handler.conftest import Clients
from tests.handler.helpers import (
    CREATED_AT,
    DESCRIPTIONS,
    DOMAIN_ID,
    EXECUTION_NAME,
    PROJECT_ID,
    RESULTS_BUCKET,
    batch_prefix,
    cancel_input,
    describe_execution_params,
    describe_execution_response,
    start_response,
)
from tests.handler.helpers import (
    WorkerContext as Clock,
)

PREFIX = batch_prefix()
INFLIGHT = f"{PREFIX}/inflight/"
#: Where the marker loop begins: the stopped execution has ended, pass 1.
STOPPED = {"stopped": True, "pass": 1}


def token(asset: str, seed: str = EXECUTION_NAME) -> str:
    """The child's Start client token, computed here independently of the worker."""
    return hashlib.sha256(f"{seed}|{asset}|start".encode()).hexdigest()


def event(state: dict[str, Any] | None = None) -> worker.WorkerEvent:
    return {"action": "cancel", "batch": cancel_input(), "state": state or {}}


def target_is(sfn: Stubber, status: str) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response(status, execution_input=cancel_input()),
        describe_execution_params(),
    )


def listing_params(continuation: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"Bucket": RESULTS_BUCKET, "Prefix": INFLIGHT, "MaxKeys": 1000}
    if continuation is not None:
        params["ContinuationToken"] = continuation
    return params


def expect_listing(
    s3: Stubber, assets: list[str], *, continuation: str | None = None, next_token: str | None = None
) -> None:
    page: dict[str, Any] = {
        "Name": RESULTS_BUCKET,
        "Prefix": INFLIGHT,
        "KeyCount": len(assets),
        "IsTruncated": next_token is not None,
    }
    if assets:
        page["Contents"] = [{"Key": INFLIGHT + asset, "Size": 20, "LastModified": CREATED_AT} for asset in assets]
    if next_token is not None:
        page["NextContinuationToken"] = next_token
    s3.add_response("list_objects_v2", page, listing_params(continuation))


def marker(text: str) -> dict[str, Any]:
    data = text.encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


def expect_marker_read(s3: Stubber, asset: str, body: str) -> None:
    s3.add_response("get_object", marker(body), {"Bucket": RESULTS_BUCKET, "Key": INFLIGHT + asset})


def expect_unmark(s3: Stubber, asset: str) -> None:
    s3.add_response("delete_object", {}, {"Bucket": RESULTS_BUCKET, "Key": INFLIGHT + asset})


def recover_params(asset: str) -> dict[str, Any]:
    """The child's own StartMetadataGenerationRun parameters (the definition's Start task)."""
    return {
        "domainIdentifier": DOMAIN_ID,
        "owningProjectIdentifier": PROJECT_ID,
        "target": {"type": "ASSET", "identifier": asset},
        "types": [DESCRIPTIONS],
        "clientToken": token(asset),
    }


def expect_cancel(stubbed: Stubber, run_id: str) -> None:
    stubbed.add_response("cancel_metadata_generation_run", {}, {"domainIdentifier": DOMAIN_ID, "identifier": run_id})


def expect_marked(s3: Stubber, stubbed: Stubber, asset: str, run_id: str) -> None:
    """A marker with its run id: read, cancelled, removed."""
    expect_marker_read(s3, asset, run_id)
    expect_cancel(stubbed, run_id)
    expect_unmark(s3, asset)


def expect_recovered(s3: Stubber, stubbed: Stubber, asset: str, run_id: str) -> None:
    """An empty marker: read, the run found by Start with the child's token, cancelled, removed."""
    expect_marker_read(s3, asset, "")
    stubbed.add_response("start_metadata_generation_run", start_response(run_id), recover_params(asset))
    expect_cancel(stubbed, run_id)
    expect_unmark(s3, asset)


def next_pass(counts: dict[str, int], **state: Any) -> dict[str, Any]:
    """What pass 1 returns: pass 2 a minute later, listing from the start."""
    return {**STOPPED, **state, "pass": 2, "counts": counts, "waitSeconds": 60, "done": False}


def take_refused(clients: Clients) -> list[str]:
    refused = [message for stubber in clients.all() for message in stubber.refused]
    for stubber in clients.all():
        stubber.refused.clear()
    return refused


# ---------------------------------------------------------------------------------------------
# The client token


def test_the_token_is_the_childs_start_token() -> None:
    assert worker.run_token("mgb-seed", "asset-1") == hashlib.sha256(b"mgb-seed|asset-1|start").hexdigest()
    assert worker.run_token(EXECUTION_NAME, "a1") == token("a1")
    assert (
        worker.run_token(EXECUTION_NAME, "a1", "accept")
        == hashlib.sha256(f"{EXECUTION_NAME}|a1|accept".encode()).hexdigest()
    )
    # The definition's Start task hashes the same text (States.Format fills the {} in order).
    assert _batch_definition._token("start") == (
        "States.Hash(States.Format('{}|{}|start', $.tokenSeed, $.assetId), 'SHA-256')"
    )


# ---------------------------------------------------------------------------------------------
# Waiting for the stopped execution to end


def test_it_waits_while_the_stopped_execution_still_runs(sfn: Stubber, s3: Stubber, stubbed: Stubber) -> None:
    target_is(sfn, "RUNNING")
    assert worker.handler(event(), Clock()) == {"waitedSeconds": 10, "waitSeconds": 10, "done": False}


def test_it_counts_the_wait_across_steps(sfn: Stubber, s3: Stubber) -> None:
    target_is(sfn, "RUNNING")
    given = {"waitedSeconds": 290, "waitSeconds": 10, "done": False}
    assert worker.handler(event(given), Clock()) == {"waitedSeconds": 300, "waitSeconds": 10, "done": False}
    assert given == {"waitedSeconds": 290, "waitSeconds": 10, "done": False}  # the event's own state is left


def test_it_gives_up_waiting_after_stop_wait_seconds_and_cancels_anyway(
    sfn: Stubber, s3: Stubber, stubbed: Stubber
) -> None:
    assert worker.STOP_WAIT_SECONDS == 300
    target_is(sfn, "RUNNING")
    expect_listing(s3, ["a1"])
    expect_marked(s3, stubbed, "a1", "run_a1")
    state = worker.handler(event({"waitedSeconds": 300, "waitSeconds": 10, "done": False}), Clock())
    assert state == next_pass({"cancelled": 1}, waitedSeconds=300)


@pytest.mark.parametrize("status", ["ABORTED", "FAILED", "TIMED_OUT", "SUCCEEDED"])
def test_an_ended_execution_is_not_waited_for(sfn: Stubber, s3: Stubber, status: str) -> None:
    target_is(sfn, status)
    expect_listing(s3, [])
    assert worker.handler(event(), Clock()) == next_pass({})


def test_the_target_is_described_once_then_never_again(s3: Stubber) -> None:
    # Pass 2 (and any resumed step) carries `stopped`: no DescribeExecution (the sfn stubber has none queued).
    expect_listing(s3, [])
    assert worker.handler(event(next_pass({})), Clock()) == {"done": True, "waitSeconds": 0, "counts": {}}


# ---------------------------------------------------------------------------------------------
# The markers


def test_markers_with_and_without_run_ids(sfn: Stubber, s3: Stubber, stubbed: Stubber) -> None:
    target_is(sfn, "ABORTED")
    expect_listing(s3, ["a1", "a2", "a3"])
    expect_marked(s3, stubbed, "a1", "run_a1")
    expect_recovered(s3, stubbed, "a2", "run_a2")
    expect_marked(s3, stubbed, "a3", "run_a3")
    assert worker.handler(event(), Clock()) == next_pass({"cancelled": 2, "recovered": 1})


@pytest.mark.parametrize("body", ["run_a1\n", '"run_a1"', ' "run_a1" \n'])
def test_a_run_id_is_read_as_written_or_json_encoded(s3: Stubber, stubbed: Stubber, body: str) -> None:
    # Whether Step Functions writes a string Body raw or as JSON is not documented: both are read.
    expect_listing(s3, ["a1"])
    expect_marker_read(s3, "a1", body)
    expect_cancel(stubbed, "run_a1")
    expect_unmark(s3, "a1")
    assert worker.cancel(cancel_input(), dict(STOPPED), Clock()) == next_pass({"cancelled": 1})


def test_the_recovered_runs_start_is_the_childs_start_whole(s3: Stubber, stubbed: Stubber) -> None:
    # Pinned literally: DataZone returns the child's run only for the same token and parameters.
    asset = "asset-789ghi"
    seed = "mgb-0123456789abcdef0123456789abcdef"
    batch = {**cancel_input(), "tokenSeed": seed, "types": ["BUSINESS_NAMES", "BUSINESS_DESCRIPTIONS"]}
    expect_listing(s3, [asset])
    expect_marker_read(s3, asset, "")
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response("run_found"),
        {
            "domainIdentifier": "dzd_abc123",
            "owningProjectIdentifier": "prj_456def",
            "target": {"type": "ASSET", "identifier": asset},
            "types": ["BUSINESS_NAMES", "BUSINESS_DESCRIPTIONS"],
            "clientToken": hashlib.sha256(f"{seed}|{asset}|start".encode()).hexdigest(),
        },
    )
    expect_cancel(stubbed, "run_found")
    expect_unmark(s3, asset)
    assert worker.cancel(batch, dict(STOPPED), Clock()) == next_pass({"recovered": 1})


@pytest.mark.parametrize(
    ("code", "http_status", "recovered", "counts"),
    [
        # Ended before it could be cancelled: nothing runs on, counted as handled.
        ("ConflictException", 409, False, {"cancelled": 2}),
        ("ConflictException", 409, True, {"recovered": 1, "cancelled": 1}),
        # DataZone knows no such run.
        ("ResourceNotFoundException", 404, False, {"unknown": 1, "cancelled": 1}),
        ("ResourceNotFoundException", 404, True, {"unknown": 1, "cancelled": 1}),
        ("ValidationException", 400, False, {"unknown": 1, "cancelled": 1}),
    ],
)
def test_a_run_that_cannot_be_cancelled_is_counted_and_the_next_marker_handled(
    s3: Stubber, stubbed: Stubber, code: str, http_status: int, recovered: bool, counts: dict[str, int]
) -> None:
    expect_listing(s3, ["a1", "a2"])
    expect_marker_read(s3, "a1", "" if recovered else "run_a1")
    if recovered:
        stubbed.add_response("start_metadata_generation_run", start_response("run_a1"), recover_params("a1"))
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message="no",
        http_status_code=http_status,
        expected_params={"domainIdentifier": DOMAIN_ID, "identifier": "run_a1"},
    )
    expect_unmark(s3, "a1")
    expect_marked(s3, stubbed, "a2", "run_a2")
    assert worker.cancel(cancel_input(), dict(STOPPED), Clock()) == next_pass(counts)


def test_no_markers_is_nothing_to_cancel(s3: Stubber) -> None:
    expect_listing(s3, [])
    assert worker.cancel(cancel_input(), dict(STOPPED), Clock()) == next_pass({})


def test_every_page_of_markers_is_read(s3: Stubber, stubbed: Stubber) -> None:
    expect_listing(s3, ["a1", "a2"], next_token="t2")
    expect_marked(s3, stubbed, "a1", "run_a1")
    expect_recovered(s3, stubbed, "a2", "run_a2")
    expect_listing(s3, ["a3"], continuation="t2", next_token="t3")
    expect_marked(s3, stubbed, "a3", "run_a3")
    # A page may come back empty and still be truncated.
    expect_listing(s3, [], continuation="t3", next_token="t4")
    expect_listing(s3, ["a4"], continuation="t4")
    expect_recovered(s3, stubbed, "a4", "run_a4")
    assert worker.cancel(cancel_input(), dict(STOPPED), Clock()) == next_pass({"cancelled": 2, "recovered": 2})


# ---------------------------------------------------------------------------------------------
# Bounded steps, two passes


def test_a_step_stops_when_time_runs_low_and_the_next_lists_again_from_the_start(s3: Stubber, stubbed: Stubber) -> None:
    # The time left is read after each marker: enough after a1, too little after a2.
    low = (worker.RESERVE_SECONDS - 1) * 1000
    expect_listing(s3, ["a1", "a2"], next_token="t2")
    expect_marked(s3, stubbed, "a1", "run_a1")
    expect_marked(s3, stubbed, "a2", "run_a2")
    state = worker.cancel(cancel_input(), dict(STOPPED), Clock([worker.RESERVE_SECONDS * 1000, low]))
    assert state == {**STOPPED, "counts": {"cancelled": 2}, "waitSeconds": 0, "done": False}
    # The next step: from the start (no ContinuationToken), the same pass; a1 and a2 are gone,
    # a3 (on the page the first step never read) is not lost.
    expect_listing(s3, ["a3"])
    expect_recovered(s3, stubbed, "a3", "run_a3")
    assert worker.handler(event(state), Clock()) == next_pass({"cancelled": 2, "recovered": 1})


def test_a_resumed_step_in_pass_two_finishes_the_cancel(s3: Stubber, stubbed: Stubber) -> None:
    state = {"stopped": True, "pass": 2, "counts": {"cancelled": 4}, "waitSeconds": 0, "done": False}
    expect_listing(s3, ["a9"])
    expect_marked(s3, stubbed, "a9", "run_a9")
    assert worker.cancel(cancel_input(), state, Clock()) == {
        "done": True,
        "waitSeconds": 0,
        "counts": {"cancelled": 5},
    }


def test_the_whole_cancel_as_the_workflow_runs_it(sfn: Stubber, s3: Stubber, stubbed: Stubber) -> None:
    """CancelRuns, then the definition's Choice: done ends, waitSeconds > 0 waits that long, else again."""
    assert worker.CANCEL_PASSES == 2
    target_is(sfn, "RUNNING")
    target_is(sfn, "RUNNING")
    target_is(sfn, "ABORTED")
    # Pass 1: a child started a run and marked it; another sent Start before it was stopped.
    expect_listing(s3, ["a1", "a2"])
    expect_marked(s3, stubbed, "a1", "run_a1")
    expect_recovered(s3, stubbed, "a2", "run_a2")
    # Pass 2, a minute later: a Start that landed late marked its run.
    expect_listing(s3, ["a3"])
    expect_marked(s3, stubbed, "a3", "run_a3")
    state: dict[str, Any] = {}
    waits: list[int] = []
    for _ in range(10):
        state = worker.handler(event(state), Clock())
        if state["done"]:
            break
        waits.append(state["waitSeconds"])
    assert waits == [10, 10, 60]
    assert state == {"done": True, "waitSeconds": 0, "counts": {"cancelled": 2, "recovered": 1}}


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("code", "http_status", "message"),
    [("SlowDown", 503, "Please reduce your request rate"), ("InternalError", 500, "We encountered an internal error")],
)
def test_a_transient_s3_error_is_raised_as_transient_error(
    s3: Stubber, code: str, http_status: int, message: str
) -> None:
    s3.add_client_error(
        "list_objects_v2",
        service_error_code=code,
        service_message=message,
        http_status_code=http_status,
        expected_params=listing_params(),
    )
    with pytest.raises(worker.TransientError) as caught:
        worker.handler(event(dict(STOPPED)), Clock())
    assert str(caught.value) == f"{code}: {message}"
    assert isinstance(caught.value.__cause__, ClientError)


def test_a_transient_step_functions_error_is_raised_as_transient_error(sfn: Stubber) -> None:
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )
    with pytest.raises(worker.TransientError) as caught:
        worker.handler(event(), Clock())
    assert str(caught.value) == "ThrottlingException: Rate exceeded"


def test_a_transient_start_error_keeps_the_marker(s3: Stubber, stubbed: Stubber) -> None:
    # Raised before the marker is deleted: the retried step finds it again.
    expect_listing(s3, ["a1"])
    expect_marker_read(s3, "a1", "")
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=429,
        expected_params=recover_params("a1"),
    )
    with pytest.raises(worker.TransientError) as caught:
        worker.handler(event(dict(STOPPED)), Clock())
    assert str(caught.value) == "ThrottlingException: Rate exceeded"


def test_a_dropped_connection_is_raised_as_transient_error(s3: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")

    monkeypatch.setattr(s3.client, "list_objects_v2", unreachable)
    with pytest.raises(worker.TransientError) as caught:
        worker.handler(event(dict(STOPPED)), Clock())
    assert (
        str(caught.value)
        == 'EndpointConnectionError: Could not connect to the endpoint URL: "https://s3.us-east-1.amazonaws.com"'
    )


def test_access_denied_is_raised_as_it_is(s3: Stubber) -> None:
    s3.add_client_error(
        "list_objects_v2",
        service_error_code="AccessDenied",
        service_message="Access Denied",
        http_status_code=403,
        expected_params=listing_params(),
    )
    with pytest.raises(ClientError) as caught:
        worker.handler(event(dict(STOPPED)), Clock())
    assert not isinstance(caught.value, worker.TransientError)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(("code", "http_status"), [("ThrottlingException", 429), ("InternalServerException", 500)])
def test_a_transient_cancel_error_keeps_the_marker(
    clients: Clients, s3: Stubber, stubbed: Stubber, code: str, http_status: int
) -> None:
    expect_listing(s3, ["a1"])
    expect_marker_read(s3, "a1", "run_a1")
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message="try again",
        http_status_code=http_status,
        expected_params={"domainIdentifier": DOMAIN_ID, "identifier": "run_a1"},
    )
    try:
        with pytest.raises(worker.TransientError):
            worker.handler(event(dict(STOPPED)), Clock())
    finally:
        refused = take_refused(clients)
    # No DeleteObject of the marker (none is queued: a refused call shows it was attempted).
    assert refused == []


def test_a_marker_removed_since_the_listing_is_skipped(clients: Clients, s3: Stubber, stubbed: Stubber) -> None:
    expect_listing(s3, ["a1", "a2"])
    s3.add_client_error(
        "get_object",
        service_error_code="NoSuchKey",
        service_message="The specified key does not exist.",
        http_status_code=404,
        expected_params={"Bucket": RESULTS_BUCKET, "Key": INFLIGHT + "a1"},
    )
    try:
        expect_marked(s3, stubbed, "a2", "run_a2")
        state = worker.handler(event(dict(STOPPED)), Clock())
        assert state["counts"].get("cancelled") == 1
    finally:
        refused = take_refused(clients)
        for stubber in clients.all():
            # Left for the fixed worker; a failing one stops before them.
            stubber._queue.clear()  # type: ignore[attr-defined]
    assert refused == []


def test_the_cancel_input_is_the_contracts(sfn: Stubber) -> None:
    # The worker reads target, domainId, projectId, types, tokenSeed, resultsBucket and prefix.
    assert set(cancel_input()) == set(contract.CancelInput.__annotations__)
    assert contract.INFLIGHT_FOLDER == "inflight"
