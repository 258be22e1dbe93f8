"""A continuous batch in its workflow and its lifecycle.

- The deploy-time execution of a continuous batch gets ``continuousPrefix`` and claims the run its
  selection chooses (while it is still going, too), so that the event of its end starts nothing
  more; a run claimed before is covered all the same.
- A continuous execution's selection is the run its intake confirmed (no ListDataSourceRuns) and
  only that run's SUCCEEDED_CREATED and SUCCEEDED_UPDATED activities.
- ``turn``: it waits while an earlier execution of the same batch runs (a continuous one started
  before it, or the batch's deploy-time execution), never for a later one or another batch's,
  backing off from 60 s to 15 minutes; past 7 days it fails naming what it waited for.
- Delete: when the batch goes away (the stack is deleted, or the batch left the template) its
  running continuous executions are stopped and their cancels started, and isComplete waits for
  them; a replaced batch (another physical id holds the logical id) keeps them; with continuous
  off or cancel_on_delete false nothing is asked.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import batch, continuous, entry, worker
from tests.handler.conftest import Clients
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    CREATED_AT,
    DATA_SOURCE_ID,
    DOMAIN_ID,
    EXECUTION_NAME,
    RESULTS_BUCKET,
    STACK_ID,
    STATE_MACHINE_ARN,
    FakeContext,
    JsonOf,
    activity,
    batch_event,
    batch_input,
    batch_pid,
    batch_poll_event,
    batch_props,
    data_source_run,
    describe_execution_params,
    describe_execution_response,
    execution_arn_of,
    expect_stop,
    stack_params,
    stack_response,
)
from tests.handler.helpers import WorkerContext as Clock

KEY = "mgc-" + hashlib.sha256(f"{STACK_ID}\n{BATCH_LOGICAL_ID}".encode()).hexdigest()[:20]
FOLDER = f"batches/{BATCH_LOGICAL_ID}/continuous"
DATA_SOURCE = {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID}
CONTINUOUS_PROPS = batch_props(Selection=DATA_SOURCE, Continuous="true")


def deploy_time_input(**changes: Any) -> dict[str, Any]:
    return {**batch_input(selection=DATA_SOURCE, **changes), "continuousPrefix": FOLDER}


def continuous_input(
    run_id: str, *, statuses: tuple[str, ...] = ("SUCCEEDED_CREATED", "SUCCEEDED_UPDATED")
) -> dict[str, Any]:
    name = f"{KEY}-{run_id}"
    value = batch_input(
        name=name,
        selection={**DATA_SOURCE, "RunId": run_id, "AssetStatuses": list(statuses)},
        allow_empty_selection=True,
    )
    return {
        **value,
        "prefix": f"{FOLDER}/{run_id}",
        "continuousPrefix": FOLDER,
        "turn": {"batchKey": KEY, "dataSourceRunId": run_id},
    }


# ---------------------------------------------------------------------------------------------
# The deploy-time execution


def test_a_continuous_batchs_deploy_time_execution_is_told_where_to_claim(
    clients: Clients, context: FakeContext
) -> None:
    clients.stepfunctions.add_client_error(
        "describe_execution",
        service_error_code="ExecutionDoesNotExist",
        http_status_code=400,
        expected_params=describe_execution_params(),
    )
    clients.cloudformation.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), stack_params())
    clients.stepfunctions.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(), "startDate": CREATED_AT},
        {"stateMachineArn": STATE_MACHINE_ARN, "name": EXECUTION_NAME, "input": JsonOf(deploy_time_input())},
    )
    assert batch.is_complete(batch_poll_event(CONTINUOUS_PROPS), context) == {"IsComplete": False}


def expect_deploy_claim(s3: Stubber, run_id: str, *, taken: bool = False) -> None:
    params = {
        "Bucket": RESULTS_BUCKET,
        "Key": f"{FOLDER}/{run_id}/claim.json",
        "Body": JsonOf({"by": "deployment", "executionArn": execution_arn_of(), "runId": run_id}),
        "ContentType": "application/json",
        "IfNoneMatch": "*",
    }
    if taken:
        s3.add_client_error(
            "put_object", service_error_code="PreconditionFailed", http_status_code=412, expected_params=params
        )
    else:
        s3.add_response("put_object", {}, params)


def list_runs_params() -> dict[str, Any]:
    return {"domainIdentifier": DOMAIN_ID, "dataSourceIdentifier": DATA_SOURCE_ID, "maxResults": 50}


def test_the_deploy_time_selection_claims_the_run_it_waits_for_once(clients: Clients) -> None:
    runs = [
        data_source_run("dsr_old", "SUCCESS", created_at=CREATED_AT - timedelta(days=1)),
        data_source_run("dsr_new", "RUNNING"),
    ]
    clients.datazone.add_response("list_data_source_runs", {"items": runs}, list_runs_params())
    clients.datazone.add_response("list_data_source_runs", {"items": runs}, list_runs_params())
    expect_deploy_claim(clients.s3, "dsr_new")
    first = worker.select(deploy_time_input(), {}, Clock())
    assert first == {"claimed": "dsr_new", "waitedSeconds": 30, "done": False, "waitSeconds": 30}
    # The next look sees the same run: no second claim.
    second = worker.select(deploy_time_input(), first, Clock())
    assert second == {"claimed": "dsr_new", "waitedSeconds": 60, "done": False, "waitSeconds": 30}


def test_a_run_claimed_before_is_selected_all_the_same(clients: Clients) -> None:
    # A redeploy (a new rerun_token) over a run the intake or an earlier deploy already covered:
    # the deploy-time execution still covers all of it, as asked.
    clients.datazone.add_response(
        "list_data_source_runs", {"items": [data_source_run("dsr_1", "SUCCESS")]}, list_runs_params()
    )
    expect_deploy_claim(clients.s3, "dsr_1", taken=True)
    clients.datazone.add_response(
        "list_data_source_run_activities",
        {"items": [activity("a1", "UNCHANGED", run_id="dsr_1"), activity("a2", run_id="dsr_1")]},
        {"domainIdentifier": DOMAIN_ID, "identifier": "dsr_1", "maxResults": 50},
    )
    clients.s3.add_response(
        "put_object",
        {},
        {
            "Bucket": RESULTS_BUCKET,
            "Key": f"batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}/selection/part-00001.json",
            "Body": JsonOf(["a1", "a2"]),
            "ContentType": "application/json",
        },
    )
    state = worker.select(deploy_time_input(), {}, Clock())
    assert (state["runId"], state["found"], state["paged"]) == ("dsr_1", 2, True)


def test_a_claim_that_cannot_be_written_does_not_fail_the_deploy_time_batch(clients: Clients) -> None:
    clients.datazone.add_response(
        "list_data_source_runs", {"items": [data_source_run("dsr_1", "RUNNING")]}, list_runs_params()
    )
    clients.s3.add_client_error(
        "put_object",
        service_error_code="AccessDenied",
        http_status_code=403,
        expected_params={
            "Bucket": RESULTS_BUCKET,
            "Key": f"{FOLDER}/dsr_1/claim.json",
            "Body": JsonOf({"by": "deployment", "executionArn": execution_arn_of(), "runId": "dsr_1"}),
            "ContentType": "application/json",
            "IfNoneMatch": "*",
        },
    )
    state = worker.select(deploy_time_input(), {}, Clock())
    assert state == {"claimed": "dsr_1", "waitedSeconds": 30, "done": False, "waitSeconds": 30}


# ---------------------------------------------------------------------------------------------
# A continuous execution's selection


def test_a_continuous_selection_pages_its_own_run_keeping_created_and_updated_assets(clients: Clients) -> None:
    run_id = "dsr_later"
    items = [
        activity("new1", "SUCCEEDED_CREATED", run_id=run_id),
        activity("same1", "UNCHANGED", run_id=run_id),
        activity("changed1", "SUCCEEDED_UPDATED", run_id=run_id),
        activity("old1", "SKIPPED_ALREADY_IMPORTED", run_id=run_id),
        activity(None, "FAILED", run_id=run_id),
        activity("new2", "SUCCEEDED_CREATED", run_id=run_id),
    ]
    # No ListDataSourceRuns: the run is the one the intake confirmed, not the latest.
    clients.datazone.add_response(
        "list_data_source_run_activities",
        {"items": items},
        {"domainIdentifier": DOMAIN_ID, "identifier": run_id, "maxResults": 50},
    )
    clients.s3.add_response(
        "put_object",
        {},
        {
            "Bucket": RESULTS_BUCKET,
            "Key": f"{FOLDER}/{run_id}/selection/part-00001.json",
            "Body": JsonOf(["new1", "changed1", "new2"]),
            "ContentType": "application/json",
        },
    )
    state = worker.select(continuous_input(run_id), {}, Clock())
    assert state == {
        "runId": run_id,
        "parts": 1,
        "found": 3,
        "listed": 6,
        "nextToken": None,
        "paged": True,
        "done": False,
        "waitSeconds": 0,
    }


# ---------------------------------------------------------------------------------------------
# Taking turns


def execution_item(name: str, start: Any) -> dict[str, Any]:
    return {
        "executionArn": execution_arn_of(name),
        "stateMachineArn": STATE_MACHINE_ARN,
        "name": name,
        "status": "RUNNING",
        "startDate": start,
    }


def expect_look(sfn: Stubber, me: str, running: list[dict[str, Any]], described: dict[str, dict[str, Any]]) -> None:
    """One look: DescribeExecution of itself, ListExecutions (RUNNING), DescribeExecution of each
    deploy-time (``mgb-``) execution listed (``described``: name -> its input)."""
    sfn.add_response("describe_execution", describe_execution_response(name=me), describe_execution_params(me))
    sfn.add_response(
        "list_executions", {"executions": running}, {"stateMachineArn": STATE_MACHINE_ARN, "statusFilter": "RUNNING"}
    )
    for name, given in described.items():
        sfn.add_response(
            "describe_execution",
            describe_execution_response(name=name, execution_input=given),
            describe_execution_params(name),
        )


def turn(me_run: str, state: dict[str, Any]) -> dict[str, Any]:
    return worker.handler({"action": "turn", "batch": continuous_input(me_run), "state": state}, Clock())


ME = f"{KEY}-dsr_2"


def test_alone_it_goes_at_once(sfn: Stubber) -> None:
    expect_look(sfn, ME, [execution_item(ME, CREATED_AT)], {})
    assert turn("dsr_2", {}) == {"done": True, "waitSeconds": 0, "waited": 0}


def test_it_waits_for_an_earlier_continuous_execution_and_backs_off(sfn: Stubber) -> None:
    earlier = execution_item(f"{KEY}-dsr_1", CREATED_AT - timedelta(seconds=5))
    running = [earlier, execution_item(ME, CREATED_AT)]
    waits = []
    state: dict[str, Any] = {}
    for _ in range(6):
        expect_look(sfn, ME, running, {})
        state = turn("dsr_2", state)
        assert state["done"] is False
        waits.append(state["waitSeconds"])
    assert waits == [60, 120, 240, 480, 900, 900]
    assert state["waited"] == sum(waits)


def test_same_start_the_name_orders_them_and_the_later_does_not_wait_for_the_first(sfn: Stubber) -> None:
    later = execution_item(f"{KEY}-dsr_3", CREATED_AT)  # same instant, greater name
    expect_look(sfn, ME, [execution_item(ME, CREATED_AT), later], {})
    assert turn("dsr_2", {})["done"] is True


def test_it_waits_for_its_batchs_earlier_deploy_time_execution_not_another_batchs(sfn: Stubber) -> None:
    ours, theirs = "mgb-" + "1" * 32, "mgb-" + "2" * 32
    other_resource = {**batch_input(name=theirs), "resource": {"stackId": STACK_ID, "logicalResourceId": "OtherBatch"}}
    running = [
        execution_item(theirs, CREATED_AT - timedelta(hours=2)),
        execution_item(f"{theirs}-cancel", CREATED_AT - timedelta(hours=1)),
        execution_item("mgc-ffffffffffffffffffff-dsr_9", CREATED_AT - timedelta(hours=1)),  # another batch's
        execution_item(ME, CREATED_AT),
        # The batch's own deploy-time execution, started after this one: it waits, not this one.
        execution_item(ours, CREATED_AT + timedelta(minutes=1)),
    ]
    expect_look(sfn, ME, running, {theirs: other_resource})
    assert turn("dsr_2", {})["done"] is True
    earlier = [*running[:-1], execution_item(ours, CREATED_AT - timedelta(minutes=1))]
    expect_look(sfn, ME, earlier, {theirs: other_resource, ours: batch_input(name=ours)})
    assert turn("dsr_2", {})["waitSeconds"] == 60


def test_a_deploy_time_execution_waits_for_an_earlier_continuous_one(sfn: Stubber) -> None:
    # A redeploy (a new rerun_token) while an import is being enriched: its runs would meet
    # the continuous execution's on the same assets (409), and double the runs in flight.
    deploy_time = "mgb-" + "3" * 32
    running = [
        execution_item(f"{KEY}-dsr_1", CREATED_AT - timedelta(minutes=5)),
        execution_item(deploy_time, CREATED_AT),
    ]
    expect_look(sfn, deploy_time, running, {})
    given = {**deploy_time_input(), "executionArn": execution_arn_of(deploy_time)}
    state = worker.handler({"action": "turn", "batch": given, "state": {}}, Clock())
    assert (state["done"], state["waitSeconds"]) == (False, 60)


def test_after_seven_days_it_fails_naming_what_it_waited_for(sfn: Stubber) -> None:
    earlier = execution_item(f"{KEY}-dsr_1", CREATED_AT - timedelta(days=8))
    expect_look(sfn, ME, [earlier, execution_item(ME, CREATED_AT)], {})
    with pytest.raises(
        continuous.TurnTimeoutError, match=rf"waited 604800 s for the batch's earlier executions \({KEY}-dsr_1\)"
    ):
        turn("dsr_2", {"waited": 7 * 24 * 3600, "wait": 900})


# ---------------------------------------------------------------------------------------------
# Delete


def expect_resource(cfn: Stubber, physical_id: str | None) -> None:
    params = {"StackName": STACK_ID, "LogicalResourceId": BATCH_LOGICAL_ID}
    if physical_id is None:
        cfn.add_client_error(
            "describe_stack_resource",
            service_error_code="ValidationError",
            service_message=f"Resource {BATCH_LOGICAL_ID} does not exist for stack Demo",
            expected_params=params,
        )
        return
    detail = {
        "StackName": "Demo",
        "StackId": STACK_ID,
        "LogicalResourceId": BATCH_LOGICAL_ID,
        "PhysicalResourceId": physical_id,
        "ResourceType": "Custom::DataZoneMetadataGenerationBatch",
        "LastUpdatedTimestamp": CREATED_AT,
        "ResourceStatus": "DELETE_IN_PROGRESS",
    }
    cfn.add_response("describe_stack_resource", {"StackResourceDetail": detail}, params)


FINISHED = batch_pid(CONTINUOUS_PROPS, status="SUCCEEDED", counts="40.0")


def expect_continuous_stopped(sfn: Stubber, run_ids: list[str], others: list[dict[str, Any]], *, why: str) -> None:
    names = [f"{KEY}-{run_id}" for run_id in run_ids]
    sfn.add_response(
        "list_executions",
        {"executions": [*others, *(execution_item(name, CREATED_AT) for name in names)]},
        {"stateMachineArn": STATE_MACHINE_ARN, "statusFilter": "RUNNING"},
    )
    for run_id, name in zip(run_ids, names, strict=True):
        given = continuous_input(run_id)
        cancel = {
            "mode": "CANCEL",
            "target": execution_arn_of(name),
            "domainId": DOMAIN_ID,
            "projectId": given["projectId"],
            "types": given["types"],
            "tokenSeed": name,
            "resultsBucket": RESULTS_BUCKET,
            "prefix": f"{FOLDER}/{run_id}",
        }
        expect_stop(sfn, why=why, name=name, execution_input=given, cancel=cancel)


def test_a_stack_delete_stops_the_continuous_executions_and_waits_for_their_cancels(clients: Clients) -> None:
    clients.cloudformation.add_response("describe_stacks", stack_response("DELETE_IN_PROGRESS"), stack_params())
    others = [
        execution_item("mgc-ffffffffffffffffffff-dsr_9", CREATED_AT),
        execution_item(f"{KEY}-dsr_0-cancel", CREATED_AT),
    ]
    why = "delete of the batch (the stack is DELETE_IN_PROGRESS)"
    expect_continuous_stopped(clients.stepfunctions, ["dsr_1", "dsr_2"], others, why=why)
    response = entry.on_event(dict(batch_event("Delete", CONTINUOUS_PROPS, physical_id=FINISHED)), FakeContext())
    assert response == {
        "PhysicalResourceId": FINISHED,
        "Data": {
            "Cancellers": f"{execution_arn_of(f'{KEY}-dsr_1-cancel')} {execution_arn_of(f'{KEY}-dsr_2-cancel')}",
            "StartedAt": f"{CREATED_AT.timestamp() + 30:.3f}",
        },
    }


def test_a_batch_that_left_the_template_stops_them_too(clients: Clients) -> None:
    clients.cloudformation.add_response(
        "describe_stacks", stack_response("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), stack_params()
    )
    expect_resource(clients.cloudformation, FINISHED)
    why = "delete of the batch (the batch left the template)"
    expect_continuous_stopped(clients.stepfunctions, ["dsr_1"], [], why=why)
    response = entry.on_event(dict(batch_event("Delete", CONTINUOUS_PROPS, physical_id=FINISHED)), FakeContext())
    assert response["Data"]["Cancellers"] == execution_arn_of(f"{KEY}-dsr_1-cancel")


def test_a_replaced_batch_keeps_its_continuous_executions(clients: Clients) -> None:
    clients.cloudformation.add_response(
        "describe_stacks", stack_response("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), stack_params()
    )
    expect_resource(clients.cloudformation, batch_pid(CONTINUOUS_PROPS, name="mgb-" + "9" * 32))
    response = entry.on_event(dict(batch_event("Delete", CONTINUOUS_PROPS, physical_id=FINISHED)), FakeContext())
    assert response == {"PhysicalResourceId": FINISHED}


@pytest.mark.parametrize(
    "props",
    [batch_props(Selection=DATA_SOURCE), batch_props(Selection=DATA_SOURCE, Continuous="true", CancelOnDelete="false")],
)
def test_without_continuous_or_cancel_on_delete_a_finished_batch_asks_nothing(props: dict[str, Any]) -> None:
    finished = batch_pid(props, status="SUCCEEDED", counts="40.0")
    assert entry.on_event(dict(batch_event("Delete", props, physical_id=finished)), FakeContext()) == {
        "PhysicalResourceId": finished
    }


def test_an_unreadable_stack_leaves_them_alone(clients: Clients) -> None:
    clients.cloudformation.add_client_error(
        "describe_stacks",
        service_error_code="ThrottlingException",
        http_status_code=400,
        expected_params=stack_params(),
    )
    response = entry.on_event(dict(batch_event("Delete", CONTINUOUS_PROPS, physical_id=FINISHED)), FakeContext())
    assert response == {"PhysicalResourceId": FINISHED}


def test_the_key_is_the_stack_and_logical_id() -> None:
    assert continuous.batch_key(STACK_ID, BATCH_LOGICAL_ID) == KEY
    assert continuous.batch_key(STACK_ID, "Another") != KEY
    assert continuous.state_machine_arn(execution_arn_of(f"{KEY}-dsr_1")) == STATE_MACHINE_ARN


def test_an_execution_started_by_hand_without_a_batch_does_not_wait() -> None:
    started_by_hand = {k: v for k, v in continuous_input("dsr_2").items() if k not in ("turn", "resource")}
    state = worker.handler({"action": "turn", "batch": started_by_hand, "state": {}}, Clock())
    assert state == {"done": True, "waitSeconds": 0, "waited": 0}
