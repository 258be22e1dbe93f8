"""Issue 8, scenario 1: a rolled-back Update never starts a run.

CloudFormation rolls a failed Update back with another Update whose ResourceProperties are the
previous ones. Which physical id it carries is undocumented, so both are played: the old run's id
(kept with no call at all) and the id the FAILED response named (its `!previous` part is adopted).
Only when the carried id has a status (our Update had succeeded; another resource failed) is
DescribeStacks asked whether this is a rollback. Nothing here may call Start: it may be what
failed (402 quota), and a failed rollback leaves the stack UPDATE_ROLLBACK_FAILED.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    GLOSSARY,
    NAMES,
    NEW_RUN_ID,
    RUN_ID,
    FakeContext,
    get_params,
    get_response,
    make_event,
    make_props,
    pid,
    stack_params,
    stack_response,
    start_params,
    start_response,
    started_data,
)

ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL"}
OLD = make_props(Types=[NAMES, GLOSSARY], RerunToken="v1", Predictions=ACCEPT_ALL)
NEW = {**OLD, "RerunToken": "v2"}
# The resource before the Update: run RUN_ID for OLD finished, its predictions made revision 4.
OLD_ID = pid(OLD, status="SUCCEEDED", revision="4")
OLD_DATA = {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "4"}
# What the Update's onEvent returned (and a FAILED response names): NEW_RUN_ID, no status yet.
FAILED_ID = pid(NEW, NEW_RUN_ID, previous=OLD_ID)
# What the Update's isComplete returned when its run succeeded.
SUCCEEDED_ID = pid(NEW, NEW_RUN_ID, status="SUCCEEDED", revision="5", previous=OLD_ID)
ROLLBACK_STATES = ["UPDATE_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS"]


def rollback(physical_id: str) -> index.IsCompleteEvent:
    """The rollback Update: the previous properties back, the failed ones as old."""
    return make_event("Update", OLD, old_props=NEW, physical_id=physical_id, request_id="rollback-req")


def poll_after(event: index.IsCompleteEvent, result: common.OnEventResponse) -> index.IsCompleteEvent:
    """What the provider framework hands isComplete after onEvent answered ``result``."""
    return {**event, "PhysicalResourceId": result["PhysicalResourceId"], "Data": result.get("Data", {})}


def test_rollback_carrying_the_old_runs_id_keeps_it_with_no_call(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # Nothing queued on either client: any call fails the test.
    event = rollback(OLD_ID)
    result = index.on_event(event, context)
    assert result == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    # isComplete neither waits nor applies the predictions again.
    assert index.is_complete(poll_after(event, result), context) == {"IsComplete": True, "Data": OLD_DATA}


def test_rollback_carrying_the_failed_runs_id_adopts_the_previous_run_with_no_call(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    event = rollback(FAILED_ID)
    result = index.on_event(event, context)
    # The previous id is returned, so the cleanup Delete goes to the failed run's id.
    assert result == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    assert index.is_complete(poll_after(event, result), context) == {"IsComplete": True, "Data": OLD_DATA}


def test_rollback_to_a_previous_run_without_status_reads_it_once(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # The previous run never finished as far as its id knows (it was the Create's, which did not
    # wait): onEvent still makes no call; isComplete reads the status once and cannot fail.
    previous = pid(OLD)
    event = rollback(pid(NEW, NEW_RUN_ID, previous=previous))
    result = index.on_event(event, context)
    assert result == {"PhysicalResourceId": previous, "Data": {"RunId": RUN_ID}}
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    assert index.is_complete(poll_after(event, result), context) == {
        "IsComplete": True,
        "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "UNKNOWN"},
    }


@pytest.mark.parametrize("stack_status", ROLLBACK_STATES)
def test_rollback_after_our_update_succeeded_adopts_the_previous_run(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, stack_status: str
) -> None:
    # Our Update finished (its id has a status); another resource failed, so CloudFormation rolls
    # us back too. Only DescribeStacks tells that from a user going back to the old properties.
    cfn.add_response("describe_stacks", stack_response(stack_status), expected_params=stack_params())
    event = rollback(SUCCEEDED_ID)
    result = index.on_event(event, context)
    assert result == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    assert index.is_complete(poll_after(event, result), context) == {"IsComplete": True, "Data": OLD_DATA}


def test_going_back_to_old_properties_outside_a_rollback_starts_a_new_run(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # The user reverts their change in a later deploy: predictions are applied after a new run,
    # which remembers the one it replaces (its own `!previous` dropped).
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    event = make_event("Update", OLD, old_props=NEW, physical_id=SUCCEEDED_ID, request_id="revert-req")
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id="run_third"),
        expected_params=start_params(types=[NAMES, GLOSSARY], token=index.derive_client_token(event)),
    )
    assert index.on_event(event, context) == {
        "PhysicalResourceId": pid(OLD, "run_third", previous=pid(NEW, NEW_RUN_ID, status="SUCCEEDED", revision="5")),
        "Data": started_data("run_third"),
    }


@pytest.mark.parametrize("stack_status", ROLLBACK_STATES)
def test_rollback_with_no_matching_earlier_run_keeps_the_carried_one(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, stack_status: str
) -> None:
    # The carried id's previous run was for other inputs (two updates ago): never start one in a rollback.
    carried = pid(NEW, NEW_RUN_ID, status="SUCCEEDED", previous=pid(make_props(RerunToken="v0"), "run_older"))
    cfn.add_response("describe_stacks", stack_response(stack_status), expected_params=stack_params())
    result = index.on_event(rollback(carried), context)
    assert result == {
        "PhysicalResourceId": carried,
        "Data": {"RunId": NEW_RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "UNKNOWN"},
    }


def test_rollback_while_start_would_answer_402_makes_no_start_call(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # The Update fails at Start (quota): the framework's FAILED response names the id it carried.
    update = make_event("Update", NEW, old_props=OLD, physical_id=OLD_ID, request_id="update-req")
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="ServiceQuotaExceededException",
        service_message="Too many runs",
        http_status_code=402,
        expected_params=start_params(types=[NAMES, GLOSSARY], token=ANY),
    )
    with pytest.raises(common.RunError, match=r"^StartMetadataGenerationRun failed: ServiceQuotaExceededException"):
        index.on_event(update, context)
    stubbed.assert_no_pending_responses()
    # The rollback, with Start still answering 402, asks nothing at all.
    assert index.on_event(rollback(OLD_ID), context) == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}


@pytest.mark.parametrize("carried", [FAILED_ID, SUCCEEDED_ID])
def test_rollback_applies_no_predictions(stubbed: Stubber, cfn: Stubber, context: FakeContext, carried: str) -> None:
    # Whatever the path back, the previous run's predictions were applied once, by its own request.
    if carried == SUCCEEDED_ID:
        cfn.add_response(
            "describe_stacks", stack_response("UPDATE_ROLLBACK_IN_PROGRESS"), expected_params=stack_params()
        )
    event = rollback(carried)
    result = index.on_event(event, context)
    index.is_complete(poll_after(event, result), context)


@pytest.mark.parametrize(
    "error",
    [
        ("ClientError", "Throttling", 400),
        ("ClientError", "AccessDenied", 403),
        ("ClientError", "InternalFailure", 500),
    ],
)
def test_rollback_survives_describe_stacks_failing(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, error: tuple[str, str, int]
) -> None:
    # Going back to the previous run's inputs either is a rollback (must not fail) or a user's
    # revert; with the stack's status unknown, returning to the previous run is the safe choice.
    _, code, status = error
    cfn.add_client_error(
        "describe_stacks",
        service_error_code=code,
        service_message="cannot tell",
        http_status_code=status,
        expected_params=stack_params(),
    )
    assert index.on_event(rollback(SUCCEEDED_ID), context) == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}


def test_rollback_survives_describe_stacks_unreachable(
    stubbed: Stubber, cfn: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    calls: list[dict[str, Any]] = []

    def fail(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")

    monkeypatch.setattr(cfn.client, "describe_stacks", fail)
    assert index.on_event(rollback(SUCCEEDED_ID), context) == {"PhysicalResourceId": OLD_ID, "Data": OLD_DATA}
    assert calls == [stack_params()]


def test_user_update_fails_clearly_when_describe_stacks_fails(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # Not going back: a new run may only start once the stack is known not to be rolling back.
    cfn.add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="not authorized to perform cloudformation:DescribeStacks",
        http_status_code=403,
        expected_params=stack_params(),
    )
    event = make_event("Update", NEW, old_props=OLD, physical_id=OLD_ID)
    with pytest.raises(common.RunError) as caught:
        index.on_event(event, context)
    assert str(caught.value) == (
        "DescribeStacks failed: AccessDenied: not authorized to perform cloudformation:DescribeStacks"
    )


# 0.1 physical ids are bare run ids: their inputs come from OldResourceProperties.

LEGACY_OLD = make_props(Types=[NAMES], RerunToken="v1", ClientToken="fixed-token")
LEGACY_NEW = {**LEGACY_OLD, "RerunToken": "v2"}


@pytest.mark.parametrize("changes", [{}, {"TimeoutSeconds": "3600"}, {"ClientToken": "other"}, {"Types": [NAMES]}])
def test_legacy_id_with_same_inputs_is_kept_with_no_call(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, changes: dict[str, Any]
) -> None:
    event = make_event("Update", {**LEGACY_OLD, **changes}, old_props=LEGACY_OLD, physical_id=RUN_ID)
    assert index.on_event(event, context) == {"PhysicalResourceId": RUN_ID, "Data": {"RunId": RUN_ID}}


@pytest.mark.parametrize("stack_status", ROLLBACK_STATES)
def test_legacy_id_in_a_rollback_is_kept(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, stack_status: str
) -> None:
    cfn.add_response("describe_stacks", stack_response(stack_status), expected_params=stack_params())
    event = make_event("Update", LEGACY_OLD, old_props=LEGACY_NEW, physical_id=RUN_ID)
    assert index.on_event(event, context) == {"PhysicalResourceId": RUN_ID, "Data": {"RunId": RUN_ID}}


def test_legacy_id_is_kept_when_the_stack_status_cannot_be_read(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, log_lines: list[dict[str, Any]]
) -> None:
    # It may be the rollback that carries the bare id: failing it, or starting a run, would be wrong.
    cfn.add_client_error("describe_stacks", service_error_code="Throttling", service_message="slow down")
    event = make_event("Update", LEGACY_OLD, old_props=LEGACY_NEW, physical_id=RUN_ID)
    assert index.on_event(event, context) == {"PhysicalResourceId": RUN_ID, "Data": {"RunId": RUN_ID}}
    assert log_lines[-1] == {
        "level": "INFO",
        "message": "DescribeStacks failed (Throttling: slow down); keeping the run, starting none",
        "runId": RUN_ID,
        "status": None,
    }


def test_legacy_id_with_changed_inputs_starts_a_run_that_remembers_it(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    event = make_event("Update", LEGACY_NEW, old_props=LEGACY_OLD, physical_id=RUN_ID, request_id="upgrade-req")
    # The 0.1 ClientToken is ignored: the token is the request's.
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params=start_params(types=[NAMES], token=index.derive_client_token(event)),
    )
    # The bare id becomes a full one (inputs from OldResourceProperties), so a rollback can return to it.
    assert index.on_event(event, context) == {
        "PhysicalResourceId": pid(LEGACY_NEW, NEW_RUN_ID, previous=pid(LEGACY_OLD, RUN_ID)),
        "Data": started_data(NEW_RUN_ID),
    }


def test_rollback_of_the_first_update_after_0_1_adopts_the_legacy_run(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    carried = pid(LEGACY_NEW, NEW_RUN_ID, previous=pid(LEGACY_OLD, RUN_ID))
    event = make_event("Update", LEGACY_OLD, old_props=LEGACY_NEW, physical_id=carried)
    assert index.on_event(event, context) == {
        "PhysicalResourceId": pid(LEGACY_OLD, RUN_ID),
        "Data": {"RunId": RUN_ID},
    }
