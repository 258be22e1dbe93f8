"""A continuous batch's intake: the rule's target, one invocation per DataZone data-source run event.

It confirms before it acts: an event of another domain is ignored without a call; an event that
names no run raises (Lambda retries it, then the dead-letter queue keeps it: nothing started);
GetDataSourceRun decides the rest. A run of another data source is ignored; a FAILED run starts
nothing and leaves ``skipped.json`` with DataZone's error; a run that created and updated nothing
(by its statistics) leaves ``skipped.json`` too; a run still going raises (the event is early).
Otherwise the run is claimed for the batch (an S3 conditional write): a claim by the batch's
deploy-time execution means that execution covers the run (skipped.json, nothing started); a
claim by this very execution is a redelivery. StartExecution is named after the batch and the
run, so a duplicate event finds it there (ExecutionAlreadyExists) and starts nothing more. The
execution input is the batch's usual one over that run's created and updated assets only.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import continuous, entry
from tests.handler.conftest import Clients
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    CREATED_AT,
    DATA_SOURCE_ID,
    DESCRIPTIONS,
    DOMAIN_ID,
    PROJECT_ID,
    RESULTS_BUCKET,
    STACK_ID,
    STATE_MACHINE_ARN,
    FakeContext,
    JsonOf,
    execution_arn_of,
    s3_body,
    stack_params,
    stack_response,
)

RUN = "dsr_0123456789new"
#: The batch's key and its continuous execution for RUN, computed here, not by the module.
KEY = "mgc-" + hashlib.sha256(f"{STACK_ID}\n{BATCH_LOGICAL_ID}".encode()).hexdigest()[:20]
NAME = f"{KEY}-{RUN}"
FOLDER = f"batches/{BATCH_LOGICAL_ID}/continuous/{RUN}"
#: The batch's settings as the rule's input transformer carries them: JSON values, not strings.
SETTINGS: dict[str, Any] = {
    "DomainId": DOMAIN_ID,
    "ProjectId": PROJECT_ID,
    "Types": [DESCRIPTIONS],
    "MaxConcurrency": 7,
    "FailureTolerancePercent": 5,
    "TimeoutSeconds": 1800,
    "RunTimeoutSeconds": 3600,
    "Selection": {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID},
    "WaitForCompletion": True,
    "CancelOnDelete": True,
    "StateMachineArn": STATE_MACHINE_ARN,
    "ResultsBucket": RESULTS_BUCKET,
    "Continuous": True,
    "Predictions": {"Action": "ACCEPT", "Rule": "ALL", "Threshold": 0.8},
}


def detail(run_id: Any = RUN, domain: str = DOMAIN_ID, project: str | None = PROJECT_ID) -> dict[str, Any]:
    """The event detail as public samples show it (metadata.id is the run)."""
    metadata: dict[str, Any] = {
        "version": "1",
        "typeName": "DataSourceRunType",
        "domain": domain,
        "owningProjectId": project,
        "awsAccountId": "123456789012",
    }
    if run_id is not None:
        metadata["id"] = run_id
    return {"version": "1", "metadata": metadata, "data": {"dataSourceId": DATA_SOURCE_ID}}


def target_input(event_detail: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    """What the rule sends the intake (contract.ContinuousTargetInput)."""
    return {
        "event": {
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detailType": "Data Source Run Succeeded",
            "time": "2026-01-02T03:10:00Z",
            "detail": detail() if event_detail is None else event_detail,
        },
        "batch": {**SETTINGS, **settings},
        "resource": {"stackId": STACK_ID, "logicalResourceId": BATCH_LOGICAL_ID},
    }


def run_response(
    status: str = "SUCCESS", *, source: str = DATA_SOURCE_ID, stats: dict[str, int] | None = None, **extra: Any
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "domainId": DOMAIN_ID,
        "dataSourceId": source,
        "id": RUN,
        "projectId": PROJECT_ID,
        "status": status,
        "type": "SCHEDULED",
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT + timedelta(minutes=5),
        **extra,
    }
    if stats is not None:
        response["runStatisticsForAssets"] = stats
    return response


def expect_run(stubbed: Stubber, response: dict[str, Any]) -> None:
    stubbed.add_response("get_data_source_run", response, {"domainIdentifier": DOMAIN_ID, "identifier": RUN})


def expect_claim(s3: Stubber, claim: dict[str, Any], *, taken_by: dict[str, Any] | None = None) -> None:
    params = {
        "Bucket": RESULTS_BUCKET,
        "Key": f"{FOLDER}/claim.json",
        "Body": JsonOf(claim),
        "ContentType": "application/json",
        "IfNoneMatch": "*",
    }
    if taken_by is None:
        s3.add_response("put_object", {}, params)
        return
    s3.add_client_error(
        "put_object", service_error_code="PreconditionFailed", http_status_code=412, expected_params=params
    )
    s3.add_response("get_object", s3_body(taken_by), {"Bucket": RESULTS_BUCKET, "Key": f"{FOLDER}/claim.json"})


def expect_skipped(s3: Stubber, body: dict[str, Any]) -> None:
    s3.add_response(
        "put_object",
        {},
        {
            "Bucket": RESULTS_BUCKET,
            "Key": f"{FOLDER}/skipped.json",
            "Body": JsonOf(body),
            "ContentType": "application/json",
        },
    )


OUR_CLAIM = {"by": "continuous", "executionArn": execution_arn_of(NAME), "runId": RUN}
EVENT_FIELDS = {"eventId": "7bf73129-1428-4cd3-a780-95db273d1602", "detailType": "Data Source Run Succeeded"}

#: contract.BatchInput of the continuous execution, written out by hand.
EXECUTION_INPUT: dict[str, Any] = {
    "mode": "RUN",
    "domainId": DOMAIN_ID,
    "projectId": PROJECT_ID,
    "types": [DESCRIPTIONS],
    "selection": {
        "Kind": "DATA_SOURCE",
        "DataSourceId": DATA_SOURCE_ID,
        "RunId": RUN,
        "AssetStatuses": ["SUCCEEDED_CREATED", "SUCCEEDED_UPDATED"],
    },
    "resultsBucket": RESULTS_BUCKET,
    "prefix": FOLDER,
    "executionArn": execution_arn_of(NAME),
    "failureTolerance": 5.0,
    "selectionWaitSeconds": 1800,
    "allowEmptySelection": True,
    "maxConcurrency": 7,
    "pollSeconds": 10,
    "runTimeoutSeconds": 3600,
    "tokenSeed": NAME,
    "predictions": {"mode": "ACCEPT_RULE", "rule": {"Rule": "ALL", "Threshold": 0.8}, "choices": []},
    "resource": {"stackId": STACK_ID, "logicalResourceId": BATCH_LOGICAL_ID},
    "continuousPrefix": f"batches/{BATCH_LOGICAL_ID}/continuous",
    "turn": {"batchKey": KEY, "dataSourceRunId": RUN},
}


def expect_start(sfn: Stubber, *, exists: bool = False) -> None:
    params = {"stateMachineArn": STATE_MACHINE_ARN, "name": NAME, "input": JsonOf(EXECUTION_INPUT)}
    if exists:
        sfn.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists", expected_params=params)
    else:
        sfn.add_response("start_execution", {"executionArn": execution_arn_of(NAME), "startDate": CREATED_AT}, params)


def test_a_run_that_created_and_updated_assets_starts_one_execution_over_them(clients: Clients) -> None:
    expect_run(
        clients.datazone, run_response(stats={"added": 2, "updated": 1, "unchanged": 40, "skipped": 0, "failed": 0})
    )
    clients.cloudformation.add_response("describe_stacks", stack_response("UPDATE_COMPLETE"), stack_params())
    expect_claim(clients.s3, OUR_CLAIM)
    expect_start(clients.stepfunctions)
    result = entry.continuous_intake(target_input(), FakeContext())
    assert result == {"outcome": "started", "execution": execution_arn_of(NAME)}


def test_the_execution_name_fits_step_functions_for_the_longest_run_id() -> None:
    longest = "r" * 36  # contract.RUN_ID_RE allows 36 characters
    name = continuous.execution_name(continuous.batch_key(STACK_ID, BATCH_LOGICAL_ID), longest)
    assert len(f"{name}-cancel") <= 80  # Step Functions' limit for an execution name
    assert name == f"{KEY}-{longest}"


def test_a_duplicate_event_finds_the_execution_and_starts_nothing_more(clients: Clients) -> None:
    # The first delivery claimed the run (and started the execution); the second finds its own claim.
    expect_run(
        clients.datazone, run_response(stats={"added": 1, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0})
    )
    clients.cloudformation.add_response("describe_stacks", stack_response("CREATE_COMPLETE"), stack_params())
    expect_claim(clients.s3, OUR_CLAIM, taken_by=OUR_CLAIM)
    expect_start(clients.stepfunctions, exists=True)
    result = entry.continuous_intake(target_input(), FakeContext())
    assert result == {"outcome": "duplicate", "execution": execution_arn_of(NAME)}


def test_a_duplicate_event_while_the_execution_runs_gets_it_back_from_the_idempotent_start(
    clients: Clients,
) -> None:
    # Step Functions answers a StartExecution of a running execution (same name and input) as
    # the first: the claim, this execution's own, says it is a duplicate.
    stats = {"added": 1, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    expect_run(clients.datazone, run_response(stats=stats))
    clients.cloudformation.add_response("describe_stacks", stack_response("UPDATE_COMPLETE"), stack_params())
    expect_claim(clients.s3, OUR_CLAIM, taken_by=OUR_CLAIM)
    expect_start(clients.stepfunctions)
    result = entry.continuous_intake(target_input(), FakeContext())
    assert result == {"outcome": "duplicate", "execution": execution_arn_of(NAME)}


def test_an_event_whose_execution_has_ended_is_a_duplicate_too(clients: Clients) -> None:
    # ExecutionAlreadyExists, even with the claim written now (it had expired from the bucket, say).
    stats = {"added": 1, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    expect_run(clients.datazone, run_response(stats=stats))
    clients.cloudformation.add_response("describe_stacks", stack_response("UPDATE_COMPLETE"), stack_params())
    expect_claim(clients.s3, OUR_CLAIM)
    expect_start(clients.stepfunctions, exists=True)
    result = entry.continuous_intake(target_input(), FakeContext())
    assert result == {"outcome": "duplicate", "execution": execution_arn_of(NAME)}


def test_a_run_the_deploy_time_execution_chose_is_not_done_twice(clients: Clients) -> None:
    deploy_time = {"by": "deployment", "executionArn": execution_arn_of("mgb-" + "0" * 32), "runId": RUN}
    run = run_response(stats={"added": 3, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0})
    expect_run(clients.datazone, run)
    clients.cloudformation.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), stack_params())
    expect_claim(clients.s3, OUR_CLAIM, taken_by=deploy_time)
    why = f"the batch's execution {deploy_time['executionArn']} covers this data-source run"
    expect_skipped(
        clients.s3,
        {
            "dataSourceRunId": RUN,
            "dataSourceId": DATA_SOURCE_ID,
            "status": "SUCCESS",
            "errorMessage": None,
            "runStatisticsForAssets": run["runStatisticsForAssets"],
            "reason": why,
            "event": EVENT_FIELDS,
        },
    )
    assert entry.continuous_intake(target_input(), FakeContext()) == {"outcome": "skipped", "why": why}


def test_an_event_of_another_domain_is_ignored_without_a_call() -> None:
    result = entry.continuous_intake(target_input(detail(domain="dzd_other99")), FakeContext())
    assert result == {"outcome": "ignored", "why": "another domain"}


@pytest.mark.parametrize("run_id", [None, "", "not a run id!", 42])
def test_an_event_that_names_no_run_raises_for_the_dead_letter_queue(run_id: Any) -> None:
    # A renamed or missing field must neither start anything nor vanish: Lambda retries the
    # invocation, then the rule's dead-letter queue keeps the event.
    with pytest.raises(continuous.IntakeError, match=r"names no data-source run \(detail\.metadata\.id"):
        entry.continuous_intake(target_input(detail(run_id=run_id)), FakeContext())


def test_a_run_of_another_data_source_of_the_domain_is_ignored(clients: Clients) -> None:
    expect_run(clients.datazone, run_response(source="ds_someoneelse"))
    result = entry.continuous_intake(target_input(), FakeContext())
    assert result == {"outcome": "ignored", "why": "another data source"}


def test_a_failed_run_starts_nothing_and_says_why_beside_the_summaries(clients: Clients) -> None:
    error = {"errorType": "ACCESS_DENIED_EXCEPTION", "errorDetail": "Lake Formation denied the table"}
    run = run_response("FAILED", errorMessage=error)
    expect_run(clients.datazone, run)
    why = "the data-source run FAILED: ACCESS_DENIED_EXCEPTION: Lake Formation denied the table"
    expect_skipped(
        clients.s3,
        {
            "dataSourceRunId": RUN,
            "dataSourceId": DATA_SOURCE_ID,
            "status": "FAILED",
            "errorMessage": error,
            "runStatisticsForAssets": None,
            "reason": why,
            "event": EVENT_FIELDS,
        },
    )
    assert entry.continuous_intake(target_input(), FakeContext()) == {"outcome": "skipped", "why": why}


def test_a_run_that_created_and_updated_nothing_starts_nothing(clients: Clients) -> None:
    stats = {"added": 0, "updated": 0, "unchanged": 120, "skipped": 2, "failed": 1}
    expect_run(clients.datazone, run_response("PARTIALLY_SUCCEEDED", stats=stats))
    why = f"the data-source run created and updated no asset ({json.dumps(stats)})"
    expect_skipped(
        clients.s3,
        {
            "dataSourceRunId": RUN,
            "dataSourceId": DATA_SOURCE_ID,
            "status": "PARTIALLY_SUCCEEDED",
            "errorMessage": None,
            "runStatisticsForAssets": stats,
            "reason": why,
            "event": EVENT_FIELDS,
        },
    )
    assert entry.continuous_intake(target_input(), FakeContext()) == {"outcome": "skipped", "why": why}


def test_without_statistics_the_activities_decide(clients: Clients) -> None:
    # runStatisticsForAssets is optional in the model: its absence is no reason to skip a run.
    expect_run(clients.datazone, run_response())
    clients.cloudformation.add_response("describe_stacks", stack_response("UPDATE_COMPLETE"), stack_params())
    expect_claim(clients.s3, OUR_CLAIM)
    expect_start(clients.stepfunctions)
    assert entry.continuous_intake(target_input(), FakeContext())["outcome"] == "started"


@pytest.mark.parametrize("status", ["REQUESTED", "RUNNING"])
def test_an_event_ahead_of_the_api_raises_to_be_retried(clients: Clients, status: str) -> None:
    expect_run(clients.datazone, run_response(status))
    with pytest.raises(continuous.IntakeError, match=f"is {status}, not finished"):
        entry.continuous_intake(target_input(), FakeContext())


@pytest.mark.parametrize("status", ["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"])
def test_nothing_starts_while_the_stack_goes_away(clients: Clients, status: str) -> None:
    expect_run(
        clients.datazone, run_response(stats={"added": 1, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0})
    )
    clients.cloudformation.add_response("describe_stacks", stack_response(status), stack_params())
    result = entry.continuous_intake(target_input(), FakeContext())
    assert result == {"outcome": "ignored", "why": f"the stack is {status}"}


def test_a_throttled_call_raises_so_that_lambda_retries(clients: Clients) -> None:
    clients.datazone.add_client_error(
        "get_data_source_run",
        service_error_code="ThrottlingException",
        http_status_code=429,
        expected_params={"domainIdentifier": DOMAIN_ID, "identifier": RUN},
    )
    with pytest.raises(ClientError, match="ThrottlingException"):
        entry.continuous_intake(target_input(), FakeContext())


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"Selection": {"Kind": "SEARCH", "AssetTypes": []}}, "needs a DATA_SOURCE selection"),
        ({"DomainId": "not-a-domain"}, "batch settings are not valid"),
    ],
)
def test_broken_rule_settings_raise(settings: dict[str, Any], match: str) -> None:
    with pytest.raises(continuous.IntakeError, match=match):
        entry.continuous_intake(target_input(**settings), FakeContext())


def test_a_run_of_another_project_the_role_may_not_read_is_ignored(clients: Clients) -> None:
    # The rule hears the whole domain; the batch's role is a member of its own project only.
    clients.datazone.add_client_error(
        "get_data_source_run",
        service_error_code="AccessDeniedException",
        http_status_code=403,
        expected_params={"domainIdentifier": DOMAIN_ID, "identifier": RUN},
    )
    result = entry.continuous_intake(target_input(detail(project="prj_someoneelse")), FakeContext())
    assert result == {"outcome": "ignored", "why": "another project"}


@pytest.mark.parametrize("project", [PROJECT_ID, None])
def test_access_denied_on_its_own_projects_run_raises_for_the_queue(clients: Clients, project: str | None) -> None:
    # The batch's own project (or no project named): a missing membership, not someone else's run.
    clients.datazone.add_client_error(
        "get_data_source_run",
        service_error_code="AccessDeniedException",
        http_status_code=403,
        expected_params={"domainIdentifier": DOMAIN_ID, "identifier": RUN},
    )
    with pytest.raises(ClientError, match="AccessDeniedException"):
        entry.continuous_intake(target_input(detail(project=project)), FakeContext())
