"""The issue's end-to-end and fault cases, through the replay + local endpoint with the packaged asset."""

from __future__ import annotations

import json
import re

import pytest
from constructs_local.cloudformation.provider import CREATE_FAILED_MARKER, MAX_RESPONSE_BYTES
from constructs_local.cloudformation.replay import RequestRecord

from tests.e2e.cases import Outcome
from tests.e2e.conftest import ASSET, DOMAIN, EXAMPLE_STACK, PROJECT

START = "StartMetadataGenerationRun"
GET = "GetMetadataGenerationRun"
CANCEL = "CancelMetadataGenerationRun"
RUN_ID = re.compile(r"[a-zA-Z0-9_-]{1,36}")


def requests(outcome: Outcome) -> list[RequestRecord]:
    return [record for result in outcome.results for record in result.requests]


def output(outcome: Outcome, suffix: str, index: int = -1) -> str:
    outputs = outcome.results[index].outputs
    (key,) = [k for k in outputs if k.startswith(suffix)]
    return outputs[key]


def test_happy_path_creates_one_run_and_prints_its_outputs(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["happy-path"]
    (result,) = outcome.results
    assert result.status == "CREATE_COMPLETE"
    (run_id, status) = outcome.runs[0]
    assert output(outcome, "DescriptionsRunIdOutput") == run_id
    assert output(outcome, "DescriptionsRunStatusOutput") == status == "SUCCEEDED"
    (record,) = requests(outcome)
    event = record.request
    assert event["RequestType"] == "Create"
    assert event["StackId"] == result.stack_id
    assert event["ResourceType"] == "Custom::DataZoneMetadataGenerationRun"
    # CloudFormation delivers numbers and booleans as strings.
    assert event["ResourceProperties"]["TimeoutSeconds"] == "1800"
    assert event["ResourceProperties"]["WaitForCompletion"] == "true"
    assert event["ResourceProperties"]["ServiceToken"].startswith("arn:aws:lambda:us-east-1:000000000000:function:")
    start = outcome.calls_to(START)[0]
    assert start.params["target"] == {"type": "ASSET", "identifier": ASSET}
    assert start.params["types"] == ["BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES"]
    assert start.params["clientToken"].startswith("cfn-")
    # Polled at once, then every 10 s (read from the waiter in the template) until done at ~26 s;
    # each invocation and call costs a little simulated time, so the polls drift by under a second.
    polls = [run.at - record.run.started_at for run in outcome.calls_to(GET)]
    assert [round(p, -1) for p in polls] == [0, 10, 20, 30]
    assert all(0 < p - 10 * i < 2 for i, p in enumerate(polls))
    assert {k: v for k, v in record.response.data.items() if k != "StartedAt"} == {
        "RunId": run_id,
        "Status": "SUCCEEDED",
    }


def test_api_calls_per_run(outcomes: dict[str, Outcome]) -> None:
    """One Start, then one Get per 10 s poll: a 26 s run costs 1 + 4 calls."""
    calls = [c.operation for c in outcomes["happy-path"].calls]
    assert calls == [START, GET, GET, GET, GET]


def test_unchanged_second_deploy_sends_nothing(outcomes: dict[str, Outcome]) -> None:
    first, second = outcomes["redeploy-unchanged"].results
    assert second.status == "NO_CHANGES"
    assert second.requests == []
    assert second.outputs == first.outputs


def test_cloudformation_retry_of_the_same_create_starts_no_second_run(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["cfn-retry-create"]
    (record,) = requests(outcome)
    assert len(record.runs) == 2  # delivered twice with the same RequestId
    starts = outcome.calls_to(START)
    assert len(starts) == 2
    assert starts[0].params["clientToken"] == starts[1].params["clientToken"]
    assert len(outcome.runs) == 1
    assert {run.response.physical_id.split(":")[0] for run in record.runs if run.response} == {outcome.runs[0][0]}


def test_throttled_three_times_then_success(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["throttled"]
    assert outcome.results[0].status == "CREATE_COMPLETE"
    assert [c.status for c in outcome.calls_to(START)] == [429, 429, 429, 200]
    assert len(outcome.runs) == 1


def test_transient_server_error_is_retried(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["transient-500"]
    assert outcome.results[0].status == "CREATE_COMPLETE"
    assert [c.status for c in outcome.calls_to(START)] == [500, 200]


def test_quota_exceeded_fails_create_and_the_framework_answers_the_rollback_delete(
    outcomes: dict[str, Outcome],
) -> None:
    outcome = outcomes["quota-402"]
    (result,) = outcome.results
    assert result.status == "ROLLBACK_COMPLETE"
    assert result.reason is not None
    assert "ServiceQuotaExceededException" in result.reason
    create, delete = requests(outcome)
    assert create.response.status == "FAILED"
    assert create.response.physical_id == CREATE_FAILED_MARKER
    assert delete.phase == "rollback"
    assert delete.request["PhysicalResourceId"] == CREATE_FAILED_MARKER
    assert delete.response.status == "SUCCESS"
    assert not delete.run.handler_called
    assert outcome.runs == []


def test_access_denied_reason_names_role_and_project(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["access-denied"]
    (result,) = outcome.results
    assert result.status == "ROLLBACK_COMPLETE"
    reason = result.reason or ""
    assert "AccessDeniedException" in reason
    assert re.search(r"arn:aws:iam::000000000000:role/\S+ must be a member of DataZone project " + PROJECT, reason)
    assert DOMAIN in reason


@pytest.mark.parametrize(
    ("case_id", "status"), [("run-failed", "FAILED"), ("run-partial-strict", "PARTIALLY_SUCCEEDED")]
)
def test_failed_runs_fail_the_deploy_with_the_service_messages(
    outcomes: dict[str, Outcome], case_id: str, status: str
) -> None:
    outcome = outcomes[case_id]
    (result,) = outcome.results
    assert result.status == "ROLLBACK_COMPLETE"
    assert f"ended {status}: " in (result.reason or "")
    assert "BUSINESS_NAMES: metadata generation failed for this type" in (result.reason or "")
    create, delete = requests(outcome)
    # isComplete raised: FAILED with the run id kept, so the rollback Delete reaches the handler.
    assert create.response.physical_id.split(":")[0] == outcome.runs[0][0]
    assert delete.run.handler_called
    assert outcome.calls[-1].operation == CANCEL
    assert outcome.calls[-1].error == "ConflictException"  # finished runs cannot be cancelled


def test_partially_succeeded_run_succeeds_by_default(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["run-partial"]
    assert outcome.results[0].status == "CREATE_COMPLETE"
    assert output(outcome, "DescriptionsRunStatusOutput") == "PARTIALLY_SUCCEEDED"


def test_per_run_timeout_fails_and_cancels_the_run(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["run-timeout"]
    (result,) = outcome.results
    assert result.status == "ROLLBACK_COMPLETE"
    assert re.search(r"timed out after 18\d\d s \(timeout 1800 s\); last status IN_PROGRESS", result.reason or "")
    assert outcome.runs[0][1] == "CANCELED"


def test_provider_total_timeout_comes_from_the_template(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["provider-timeout"]
    (result,) = outcome.results
    assert "Operation timed out" in (result.reason or "")
    # The waiter's MaxAttempts was cut to 6: one call at once plus six retries.
    assert len(outcome.calls_to(GET)) == 7
    assert outcome.runs[0][1] == "CANCELED"


def test_update_that_changes_types_while_the_old_run_runs_is_rolled_back(outcomes: dict[str, Outcome]) -> None:
    """With one active run per asset (the endpoint's strict default) the new run is refused, and
    the rollback goes back to the running run without another Start."""
    outcome = outcomes["update-types-while-running"]
    first, second = outcome.results
    assert (first.status, second.status) == ("CREATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
    ((old_id, old_status),) = outcome.runs
    assert old_status == "SUBMITTED"
    update, rollback = second.requests
    assert update.request["ResourceProperties"]["Types"] == ["BUSINESS_DESCRIPTIONS", "BUSINESS_GLOSSARY_ASSOCIATIONS"]
    assert [c.error for c in update.calls] == ["ConflictException"]
    assert rollback.phase == "rollback"
    assert rollback.calls == []
    assert rollback.response.physical_id.split(":")[0] == old_id


def test_update_without_a_run_change_calls_no_start(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["update-no-new-run"]
    first, second = outcome.results
    assert second.status == "UPDATE_COMPLETE"
    (update,) = second.requests
    assert update.request["OldResourceProperties"]["TimeoutSeconds"] == "1800"
    assert update.request["ResourceProperties"]["TimeoutSeconds"] == "900"
    assert update.calls == []  # the physical id says everything the keep path needs
    assert second.outputs == first.outputs


def test_delete_mid_run_cancels_it(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["delete-mid-run"]
    assert [r.status for r in outcome.results] == ["CREATE_COMPLETE", "DELETE_COMPLETE"]
    assert output(outcome, "DescriptionsRunStatusOutput", 0) == "SUBMITTED"
    assert outcome.calls[-1].operation == CANCEL
    assert outcome.calls[-1].status == 200
    assert outcome.runs[0][1] == "CANCELED"


@pytest.mark.parametrize("case_id", ["delete-finished", "delete-unknown-run"])
def test_delete_of_a_finished_run_calls_nothing(outcomes: dict[str, Outcome], case_id: str) -> None:
    """The physical id records the terminal status: there is nothing to cancel, and nothing to ask."""
    outcome = outcomes[case_id]
    assert outcome.results[-1].status == "DELETE_COMPLETE"
    (delete,) = outcome.results[-1].requests
    assert delete.calls == []


def test_unknown_domain_is_refused_by_strict_and_made_on_the_fly_otherwise(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["unknown-domain"]
    refused = outcome.harness.commands[0]
    assert refused.startswith("deploy --strict: refused, domain dzd_notseeded1")
    # Refused before any call: the one deploy recorded is the one without --strict.
    (result,) = outcome.results
    assert result.status == "CREATE_COMPLETE"
    domain = outcome.harness.endpoint.backend.world["domains"]["dzd_notseeded1"]
    assert domain["onTheFly"] is True
    assert next(call.operation for call in outcome.calls) == "StartMetadataGenerationRun"


def test_every_response_fits_cloudformations_limit(outcomes: dict[str, Outcome]) -> None:
    sizes = {case_id: outcome.max_response_bytes for case_id, outcome in outcomes.items()}
    assert all(0 <= size <= MAX_RESPONSE_BYTES for size in sizes.values()), sizes
    # The long service messages are cut by the handler, not by luck.
    long_case = outcomes["long-error-messages"]
    assert long_case.results[0].status == "ROLLBACK_COMPLETE"
    assert 1000 < long_case.max_response_bytes <= MAX_RESPONSE_BYTES


def test_responses_are_what_the_framework_sends(outcomes: dict[str, Outcome]) -> None:
    (record,) = requests(outcomes["happy-path"])
    body = json.loads(record.response.text)
    assert list(body) == ["Status", "Reason", "StackId", "RequestId", "PhysicalResourceId", "LogicalResourceId", "Data"]
    assert body["RequestId"] == record.request["RequestId"]
    assert body["LogicalResourceId"] == record.request["LogicalResourceId"]
    assert RUN_ID.fullmatch(body["PhysicalResourceId"].split(":")[0])
    assert EXAMPLE_STACK in body["StackId"]


@pytest.mark.parametrize(
    ("case_id", "operation", "action"),
    [("accept-predictions", "AcceptPredictions", "ACCEPT"), ("reject-predictions", "RejectPredictions", "REJECT")],
)
def test_predictions_policy_is_applied_once_after_the_run(
    outcomes: dict[str, Outcome], case_id: str, operation: str, action: str
) -> None:
    outcome = outcomes[case_id]
    (result,) = outcome.results
    assert result.status == "CREATE_COMPLETE"
    (call,) = outcome.calls_to(operation)
    assert call.params["clientToken"].startswith("cfn-")
    (decision,) = outcome.harness.endpoint.backend.prediction_decisions(DOMAIN, ASSET)
    assert (decision.action, decision.run_id, decision.revision_after) == (action, outcome.runs[0][0], "2")
    assert result.requests[0].response.data["AssetRevision"] == "2"


def test_accept_policy_sends_the_rule_from_the_stringified_property(outcomes: dict[str, Outcome]) -> None:
    (call,) = outcomes["accept-predictions"].calls_to("AcceptPredictions")
    assert call.params["acceptRule"] == {"rule": "ALL", "threshold": 0.8}
    (reject,) = outcomes["reject-predictions"].calls_to("RejectPredictions")
    assert reject.params["rejectChoices"] == [{"predictionTarget": "col1", "predictionChoices": [0, 2]}]


def test_no_predictions_call_after_a_failed_run(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["predictions-after-failed-run"]
    assert outcome.results[0].status == "ROLLBACK_COMPLETE"
    assert outcome.calls_to("AcceptPredictions") == []
