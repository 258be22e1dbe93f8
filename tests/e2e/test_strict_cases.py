"""Issue 8's scenarios, end to end: each case fails on the 0.1 handler (9ad59a1) and passes now."""

from __future__ import annotations

import json

import pytest
from constructs_local.cloudformation.provider import MAX_RESPONSE_BYTES
from constructs_local.cloudformation.replay import SERVICE_TIMEOUT_REASON

from constructs_lib._handler import contract
from tests.e2e.cases import MAX_TIMEOUT_SECONDS, Outcome

START = "StartMetadataGenerationRun"
ACCEPT = "AcceptPredictions"


@pytest.mark.parametrize("variant", ["previous", "failed"])
@pytest.mark.parametrize("kind", ["failed-run", "quota"])
def test_rollback_of_a_failed_update_starts_nothing(outcomes: dict[str, Outcome], kind: str, variant: str) -> None:
    outcome = outcomes[f"rollback-{kind}-{variant}-id"]
    assert outcome.results[-1].status == "UPDATE_ROLLBACK_COMPLETE"
    rollback = [r for r in outcome.results[-1].requests if r.phase == "rollback"]
    assert [c.operation for r in rollback for c in r.calls if c.operation == START] == []
    # Back on the first run, which the outputs still name.
    assert outcome.results[-1].outputs == outcome.results[0].outputs


@pytest.mark.parametrize("case_id", ["poll-errors", "poll-404-after-start"])
def test_bad_polls_do_not_fail_the_deploy(outcomes: dict[str, Outcome], case_id: str) -> None:
    outcome = outcomes[case_id]
    assert outcome.results[0].status == "CREATE_COMPLETE"
    assert any(c.error for c in outcome.calls_to("GetMetadataGenerationRun"))
    assert [status for _, status in outcome.runs] == ["SUCCEEDED"]


def test_in_flight_create_deleted_with_an_invented_id_cancels_the_run(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["in-flight-create-deleted"]
    (result,) = outcome.results
    assert result.status == "ROLLBACK_COMPLETE"
    create = next(r for r in result.requests if r.request_type == "Create")
    assert create.ignored == "deleted in flight"
    delete = next(r for r in result.requests if r.request_type == "Delete")
    assert delete.request["PhysicalResourceId"].startswith("DataZoneMetadataGenerationExample-Descriptions")
    assert [status for _, status in outcome.runs] == ["CANCELED"]
    assert outcome.calls_to(ACCEPT) == []


@pytest.mark.parametrize("variant", ["previous", "failed"])
def test_predictions_are_applied_once_per_run(outcomes: dict[str, Outcome], variant: str) -> None:
    outcome = outcomes[f"predictions-once-{variant}-id"]
    assert [r.status for r in outcome.results] == ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"]
    (accept,) = outcome.calls_to(ACCEPT)
    assert accept.status == 200
    assert len(outcome.harness.endpoint.backend.prediction_decisions()) == 1


def test_no_request_adopts_a_run_of_an_earlier_request(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["fixed-client-token"]
    assert [r.status for r in outcome.results][-2:] == ["CREATE_COMPLETE", "UPDATE_COMPLETE"]
    assert [status for _, status in outcome.runs] == ["CANCELED", "SUCCEEDED", "SUCCEEDED"]


def test_unknown_status_never_succeeds(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["unknown-status"]
    assert outcome.results[0].status == "ROLLBACK_COMPLETE"
    assert "PAUSED" in (outcome.results[0].reason or "")


def test_timeout_cancels_the_run_before_failing(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["timeout-cancels-run"]
    create = outcome.results[0].requests[0]
    assert create.response.status == "FAILED"
    cancel = [c for c in create.calls if c.operation == "CancelMetadataGenerationRun"]
    assert cancel
    assert cancel[0].status == 200
    assert [status for _, status in outcome.runs] == ["CANCELED"]


def test_hostile_service_message_fits_and_names_run_and_status(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["hostile-error-message"]
    for response in outcome.results[0].responses:
        assert len(json.dumps(response.body).encode()) <= MAX_RESPONSE_BYTES
    reason = outcome.results[0].reason or ""
    assert f"run {outcome.runs[0][0]} ended FAILED" in reason


def test_our_timeout_message_beats_cloudformations_service_timeout(outcomes: dict[str, Outcome]) -> None:
    assert MAX_TIMEOUT_SECONDS == contract.MAX_TIMEOUT_SECONDS
    outcome = outcomes["max-timeout-vs-service-timeout"]
    reason = outcome.results[0].reason or ""
    assert f"(timeout {MAX_TIMEOUT_SECONDS} s)" in reason
    assert SERVICE_TIMEOUT_REASON not in reason
    create = outcome.results[0].requests[0]
    assert create.ignored is None
