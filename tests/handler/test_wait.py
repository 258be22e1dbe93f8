"""Issue 8, scenarios 2, 6 and 7: only the run's own end or the per-run timeout ends the wait.

The provider framework gives up on the first isComplete that raises, so a bad poll (throttling
beyond botocore's retries, 5xx, a dropped connection, a 404 right after Start) must answer
IsComplete False; an unknown status keeps waiting and never succeeds; and a run the handler stops
waiting for (timeout, unreadable) is cancelled before the request fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    CREATED_AT,
    RUN_ID,
    Clock,
    FakeContext,
    cancel_params,
    get_params,
    get_response,
    make_props,
    poll_event,
)

TIMEOUT = 600
PROPS = make_props(TimeoutSeconds=str(TIMEOUT))
ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL"}

# (code, HTTP status, message) of the answers that mean "ask again at the next poll".
TRANSIENT_ANSWERS = [
    ("ThrottlingException", 429, "Rate exceeded"),
    ("TooManyRequestsException", 429, "Too many requests"),
    ("InternalServerException", 500, "Internal error"),
    ("ServiceUnavailableException", 503, "Service unavailable"),
    ("SomethingNew", 502, "Bad gateway"),
    ("RequestTimeout", 408, "Request timed out"),
    # Read-after-write: the run just started is not visible yet.
    ("ResourceNotFoundException", 404, "Run not found"),
]
CONNECTION_ERRORS = [
    EndpointConnectionError(endpoint_url="https://datazone.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://datazone.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://datazone.us-east-1.amazonaws.com"),
]


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> Clock:
    """The handler's time.time() is clock[0]; starts a minute after the run was started."""
    return Clock(time_machine, CREATED_AT.timestamp() + 60)


def fail_get_with(monkeypatch: pytest.MonkeyPatch, client: Any, error: Exception) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fail(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise error

    monkeypatch.setattr(client, "get_metadata_generation_run", fail)
    return calls


@pytest.mark.parametrize(("code", "status", "text"), TRANSIENT_ANSWERS)
def test_transient_get_error_is_not_complete(
    stubbed: Stubber, context: FakeContext, clock: Clock, code: str, status: int, text: str
) -> None:
    stubbed.add_client_error(
        "get_metadata_generation_run",
        service_error_code=code,
        service_message=text,
        http_status_code=status,
        expected_params=get_params(),
    )
    assert index.is_complete(poll_event(PROPS), context) == {"IsComplete": False}


@pytest.mark.parametrize("error", CONNECTION_ERRORS, ids=lambda e: type(e).__name__)
def test_connection_error_is_not_complete(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, clock: Clock, error: Exception
) -> None:
    calls = fail_get_with(monkeypatch, stubbed.client, error)
    assert index.is_complete(poll_event(PROPS), context) == {"IsComplete": False}
    assert calls == [get_params()]


def test_transient_errors_then_success_completes(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    for code, status, text in TRANSIENT_ANSWERS:
        stubbed.add_client_error(
            "get_metadata_generation_run",
            service_error_code=code,
            service_message=text,
            http_status_code=status,
            expected_params=get_params(),
        )
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    answers = [index.is_complete(poll_event(PROPS), context) for _ in range(len(TRANSIENT_ANSWERS) + 1)]
    assert answers[:-1] == [{"IsComplete": False}] * len(TRANSIENT_ANSWERS)
    assert answers[-1]["IsComplete"] is True


@pytest.mark.parametrize(("code", "status", "text"), TRANSIENT_ANSWERS)
def test_timeout_during_transient_errors_cancels_and_names_the_last_error(
    stubbed: Stubber, context: FakeContext, clock: Clock, code: str, status: int, text: str
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT + 5
    stubbed.add_client_error(
        "get_metadata_generation_run",
        service_error_code=code,
        service_message=text,
        http_status_code=status,
        expected_params=get_params(),
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(PROPS), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} timed out after {TIMEOUT + 5} s (timeout {TIMEOUT} s); "
        f"last poll failed: {code}: {text}"
    )


def test_timeout_during_connection_errors_counts_from_started_at(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, clock: Clock
) -> None:
    # No run was read, so the wait is bounded by onEvent's StartedAt (the run's createdAt).
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    fail_get_with(monkeypatch, stubbed.client, EndpointConnectionError(endpoint_url="https://dz"))
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(PROPS), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} timed out after {TIMEOUT} s (timeout {TIMEOUT} s); "
        'last poll failed: EndpointConnectionError: Could not connect to the endpoint URL: "https://dz"'
    )


def test_timeout_still_fails_when_the_cancel_fails(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT + 1
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code="ThrottlingException",
        service_message="slow down",
        http_status_code=429,
        expected_params=cancel_params(),
    )
    with pytest.raises(common.RunError, match=rf"^Metadata-generation run {RUN_ID} timed out after {TIMEOUT + 1} s"):
        index.is_complete(poll_event(PROPS), context)


def test_access_denied_on_get_cancels_before_failing(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, clock: Clock
) -> None:
    stubbed.add_client_error(
        "get_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message="not a project member",
        http_status_code=403,
        expected_params=get_params(),
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError, match=r"^GetMetadataGenerationRun failed: AccessDeniedException: "):
        index.is_complete(poll_event(PROPS), context)
    assert [name for name, _ in api_calls] == ["GetMetadataGenerationRun", "CancelMetadataGenerationRun"]


# Scenario 6: a status this handler does not know is not success.


@pytest.mark.parametrize("status", ["PAUSED", "", "succeeded", "SUCCEEDED_WITH_WARNINGS"])
@pytest.mark.parametrize("props", [PROPS, make_props(TimeoutSeconds=str(TIMEOUT), Predictions=ACCEPT_ALL)])
def test_unknown_status_keeps_waiting(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, clock: Clock, status: str, props: dict[str, Any]
) -> None:
    # No DescribeStacks or AcceptPredictions queued: predictions are never applied to it.
    stubbed.add_response("get_metadata_generation_run", get_response(status), expected_params=get_params())
    assert index.is_complete(poll_event(props), context) == {"IsComplete": False}


@pytest.mark.parametrize("props", [PROPS, make_props(TimeoutSeconds=str(TIMEOUT), Predictions=ACCEPT_ALL)])
def test_unknown_status_at_timeout_cancels_and_names_it(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, clock: Clock, props: dict[str, Any]
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    stubbed.add_response("get_metadata_generation_run", get_response("PAUSED"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(props), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} timed out after {TIMEOUT} s (timeout {TIMEOUT} s); "
        "last status PAUSED (not a status this handler knows)"
    )


def test_unknown_status_is_polled_until_the_timeout(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, clock: Clock
) -> None:
    answers = []
    for elapsed in (60, 300, TIMEOUT - 1):
        clock[0] = CREATED_AT.timestamp() + elapsed
        stubbed.add_response("get_metadata_generation_run", get_response("PAUSED"), expected_params=get_params())
        answers.append(index.is_complete(poll_event(PROPS), context))
    assert answers == [{"IsComplete": False}] * 3
    clock[0] = CREATED_AT.timestamp() + TIMEOUT
    stubbed.add_response("get_metadata_generation_run", get_response("PAUSED"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError, match=r"last status PAUSED \(not a status this handler knows\)$"):
        index.is_complete(poll_event(PROPS), context)


# Scenario 7: the Cancel comes before the failure, in that order.


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS"])
def test_timeout_cancels_the_run_before_failing(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, clock: Clock, status: str
) -> None:
    clock[0] = CREATED_AT.timestamp() + TIMEOUT + 30
    stubbed.add_response("get_metadata_generation_run", get_response(status), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(PROPS), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} timed out after {TIMEOUT + 30} s (timeout {TIMEOUT} s); last status {status}"
    )
    assert api_calls == [("GetMetadataGenerationRun", get_params()), ("CancelMetadataGenerationRun", cancel_params())]


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_run_that_ended_is_not_cancelled(stubbed: Stubber, context: FakeContext, clock: Clock, status: str) -> None:
    # Past the timeout too: the run's own end wins, and there is nothing to cancel.
    clock[0] = CREATED_AT.timestamp() + TIMEOUT + 30
    stubbed.add_response("get_metadata_generation_run", get_response(status), expected_params=get_params())
    with pytest.raises(common.RunError, match=rf"^Metadata-generation run {RUN_ID} ended {status}: "):
        index.is_complete(poll_event(PROPS), context)
