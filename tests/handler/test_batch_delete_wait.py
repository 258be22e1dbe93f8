"""A batch's Delete completes once the cancel executions it started ended: CloudFormation deletes
what they need (the project membership, the role, the worker, the workflow) only after the Delete
completes. It never fails: past DELETE_WAIT_SECONDS, or when they cannot be read, it completes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import batch
from tests.handler.helpers import (
    CREATED_AT,
    EXECUTION_NAME,
    Clock,
    FakeContext,
    batch_event,
    batch_pid,
    describe_execution_response,
    execution_arn_of,
)

CANCELLER = f"{EXECUTION_NAME}-cancel"
STARTED = CREATED_AT.timestamp()


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> Clock:
    return Clock(time_machine, STARTED + 30)


def delete_poll(*cancellers: str) -> dict[str, Any]:
    event: dict[str, Any] = dict(batch_event("Delete", physical_id=batch_pid()))
    if cancellers:
        event["Data"] = {
            batch.CANCELLERS: " ".join(execution_arn_of(c) for c in cancellers),
            "StartedAt": f"{STARTED:.3f}",
        }
    return event


def expect_canceller(sfn: Stubber, status: str, name: str = CANCELLER) -> None:
    sfn.add_response(
        "describe_execution",
        describe_execution_response(status, name=name),
        {"executionArn": execution_arn_of(name)},
    )


def test_a_delete_that_started_no_cancel_is_complete_at_once(context: FakeContext) -> None:
    assert batch.is_complete(delete_poll(), context) == {"IsComplete": True}  # type: ignore[arg-type]


def test_a_running_cancel_is_waited_for(sfn: Stubber, clock: Clock, context: FakeContext) -> None:
    expect_canceller(sfn, "RUNNING")
    assert batch.is_complete(delete_poll(CANCELLER), context) == {"IsComplete": False}  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"])
def test_an_ended_cancel_completes_the_delete(sfn: Stubber, clock: Clock, context: FakeContext, status: str) -> None:
    expect_canceller(sfn, status)
    assert batch.is_complete(delete_poll(CANCELLER), context) == {"IsComplete": True}  # type: ignore[arg-type]


def test_every_cancel_is_waited_for(sfn: Stubber, clock: Clock, context: FakeContext) -> None:
    other = "mgb-0123456789abcdef0123456789abcdef-cancel"
    expect_canceller(sfn, "SUCCEEDED")
    expect_canceller(sfn, "RUNNING", other)
    event = delete_poll(CANCELLER, other)
    assert batch.is_complete(event, context) == {"IsComplete": False}  # type: ignore[arg-type]


def test_past_the_wait_a_running_cancel_no_longer_holds_the_delete(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    clock[0] = STARTED + batch.DELETE_WAIT_SECONDS
    expect_canceller(sfn, "RUNNING")
    assert batch.is_complete(delete_poll(CANCELLER), context) == {"IsComplete": True}  # type: ignore[arg-type]


def test_just_before_the_wait_ends_it_still_waits(sfn: Stubber, clock: Clock, context: FakeContext) -> None:
    clock[0] = STARTED + batch.DELETE_WAIT_SECONDS - 0.001
    expect_canceller(sfn, "RUNNING")
    assert batch.is_complete(delete_poll(CANCELLER), context) == {"IsComplete": False}  # type: ignore[arg-type]


def test_the_wait_covers_the_longest_cancel() -> None:
    # Two passes a minute apart over max_concurrency marks at 20 cancels a second, plus the
    # stopped execution's end, fit well within it; and within CloudFormation's hour.
    assert batch.DELETE_WAIT_SECONDS == 900
    assert 60 + 2 * 1000 / 20 + 300 < batch.DELETE_WAIT_SECONDS < 3600


@pytest.mark.parametrize(("elapsed", "complete"), [(30, False), (batch.DELETE_WAIT_SECONDS, True)])
def test_a_transient_error_reading_the_cancel_waits_until_the_wait_ends(
    sfn: Stubber, clock: Clock, context: FakeContext, elapsed: float, complete: bool
) -> None:
    clock[0] = STARTED + elapsed
    sfn.add_client_error(
        "describe_execution",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
        expected_params={"executionArn": execution_arn_of(CANCELLER)},
    )
    assert batch.is_complete(delete_poll(CANCELLER), context) == {"IsComplete": complete}  # type: ignore[arg-type]


def test_a_cancel_that_cannot_be_read_does_not_fail_the_delete(
    sfn: Stubber, clock: Clock, context: FakeContext
) -> None:
    sfn.add_client_error(
        "describe_execution",
        service_error_code="AccessDeniedException",
        service_message="no",
        http_status_code=400,
        expected_params={"executionArn": execution_arn_of(CANCELLER)},
    )
    assert batch.is_complete(delete_poll(CANCELLER), context) == {"IsComplete": True}  # type: ignore[arg-type]
