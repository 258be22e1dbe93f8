"""Update: a new run only when the run's inputs change; settings changes keep the run.

The inputs a run was started for travel in the physical id, so keeping needs no call at all. Rollbacks
(Updates back to the previous properties) are in test_rollback.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import index
from tests.handler.helpers import (
    ABSENT,
    DESCRIPTIONS,
    FAILED_CREATE_MARKER,
    GLOSSARY,
    NAMES,
    NEW_RUN_ID,
    RUN_ID,
    FakeContext,
    make_event,
    make_props,
    pid,
    stack_params,
    stack_response,
    start_response,
    started_data,
)

OLD = make_props(Types=[NAMES, GLOSSARY], AssetRevision="3", RerunToken="v1")
# The physical id the resource has once the run for OLD succeeded.
OLD_ID = pid(OLD, status="SUCCEEDED")
ANY_START = {"domainIdentifier": ANY, "owningProjectIdentifier": ANY, "target": ANY, "types": ANY, "clientToken": ANY}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"TimeoutSeconds": "600"},
        {"WaitForCompletion": "false"},
        {"FailOnPartialSuccess": "true"},
        {"CancelOnDelete": "false"},
        {"TimeoutSeconds": "3600", "WaitForCompletion": "false", "CancelOnDelete": "false"},
        {"Types": [GLOSSARY, NAMES]},
        {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:Other"},
        {"ClientToken": "new-token"},
        {"ServiceTimeout": "3600"},
    ],
)
@pytest.mark.parametrize("old_props", [OLD, None])
def test_update_keeps_run_when_inputs_unchanged(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, changes: dict[str, Any], old_props: dict[str, Any] | None
) -> None:
    # Nothing queued on either client: keeping compares with the physical id, with no call, and
    # does not even need OldResourceProperties.
    event = make_event("Update", {**OLD, **changes}, old_props=old_props, physical_id=OLD_ID)
    assert index.on_event(event, context) == {
        "PhysicalResourceId": OLD_ID,
        "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED"},
    }


def test_kept_run_is_complete_without_any_call(stubbed: Stubber, cfn: Stubber, context: FakeContext) -> None:
    # What the provider framework hands isComplete after onEvent kept the run: no StartedAt.
    new = {**OLD, "TimeoutSeconds": "600"}
    event = make_event("Update", new, old_props=OLD, physical_id=OLD_ID)
    kept = index.on_event(event, context)
    poll = make_event("Update", new, old_props=OLD, physical_id=kept["PhysicalResourceId"], data=kept.get("Data"))
    assert index.is_complete(poll, context) == {"IsComplete": True, "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED"}}


@pytest.mark.parametrize(
    ("changes", "target", "types"),
    [
        ({"DomainId": "dzd_other1"}, None, None),
        ({"ProjectId": "prj_other"}, None, None),
        ({"AssetId": "asset-other"}, {"identifier": "asset-other"}, None),
        ({"AssetRevision": "4"}, {"revision": "4"}, None),
        ({"AssetRevision": ABSENT}, {"revision": None}, None),
        ({"Types": [NAMES]}, None, [NAMES]),
        ({"Types": [NAMES, DESCRIPTIONS]}, None, [NAMES, DESCRIPTIONS]),
        ({"RerunToken": "v2"}, None, None),
        ({"RerunToken": ABSENT}, None, None),
    ],
)
def test_update_starts_new_run_when_inputs_change(
    stubbed: Stubber,
    cfn: Stubber,
    context: FakeContext,
    changes: dict[str, Any],
    target: dict[str, str | None] | None,
    types: list[str] | None,
) -> None:
    new = make_props(**{**OLD, **changes})
    expected_target: dict[str, str] = {"type": "ASSET", "identifier": new["AssetId"], "revision": "3"}
    for key, value in (target or {}).items():
        if value is None:
            del expected_target[key]
        else:
            expected_target[key] = value
    event = make_event("Update", new, old_props=OLD, physical_id=OLD_ID, request_id="update-req")
    # Only a stack that is not rolling back may start a run.
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": new["DomainId"],
            "owningProjectIdentifier": new["ProjectId"],
            "target": expected_target,
            "types": types or [NAMES, GLOSSARY],
            "clientToken": index.derive_client_token(event),
        },
    )
    # The new id remembers the run it replaces, so that a rollback can go back to it without a call.
    assert index.on_event(event, context) == {
        "PhysicalResourceId": pid(new, NEW_RUN_ID, previous=OLD_ID),
        "Data": started_data(NEW_RUN_ID),
    }


def test_new_run_remembers_one_step_back_only(stubbed: Stubber, cfn: Stubber, context: FakeContext) -> None:
    # The carried id itself replaced an older run: only the carried one (its `!...` dropped) is kept.
    older = pid(make_props(), "run_older", status="SUCCEEDED")
    carried = pid(OLD, status="PARTIALLY_SUCCEEDED", previous=older)
    new = {**OLD, "RerunToken": "v2"}
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response("start_metadata_generation_run", start_response(run_id=NEW_RUN_ID), expected_params=ANY_START)
    result = index.on_event(make_event("Update", new, old_props=OLD, physical_id=carried), context)
    assert result["PhysicalResourceId"] == pid(new, NEW_RUN_ID, previous=pid(OLD, status="PARTIALLY_SUCCEEDED"))


def test_update_new_run_uses_update_request_token(
    stubbed: Stubber, cfn: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    new = {**OLD, "RerunToken": "v2"}
    event = make_event("Update", new, old_props=OLD, physical_id=OLD_ID, request_id="update-req")
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": ANY,
            "owningProjectIdentifier": ANY,
            "target": ANY,
            "types": ANY,
            "clientToken": index.derive_client_token(event),
        },
    )
    index.on_event(event, context)
    [(_, params)] = api_calls
    assert params["clientToken"] != index.derive_client_token(make_event("Create", OLD))


@pytest.mark.parametrize(
    "old_id", [FAILED_CREATE_MARKER, "", "not a run id", "r" * 37, "run:nothex", f"{RUN_ID}!{RUN_ID}"]
)
def test_update_from_non_run_physical_id_starts_new_run(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, old_id: str
) -> None:
    # Not an id this handler wrote: there is no run to keep or go back to (and no DescribeStacks).
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": OLD["DomainId"],
            "owningProjectIdentifier": OLD["ProjectId"],
            "target": {"type": "ASSET", "identifier": OLD["AssetId"], "revision": "3"},
            "types": [NAMES, GLOSSARY],
            "clientToken": ANY,
        },
    )
    event = make_event("Update", OLD, old_props=OLD, physical_id=old_id)
    assert index.on_event(event, context) == {
        "PhysicalResourceId": pid(OLD, NEW_RUN_ID),
        "Data": started_data(NEW_RUN_ID),
    }


def test_legacy_update_without_old_properties_starts_new_run(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # A 0.1 id carries no inputs: with no OldResourceProperties to compare with, the inputs differ.
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response("start_metadata_generation_run", start_response(run_id=NEW_RUN_ID), expected_params=ANY_START)
    event = make_event("Update", OLD, physical_id=RUN_ID)
    assert index.on_event(event, context)["PhysicalResourceId"] == pid(OLD, NEW_RUN_ID, previous=pid({}, RUN_ID))


def test_run_identity_ignores_settings_and_type_order() -> None:
    base = index.run_identity(make_props(Types=[NAMES, GLOSSARY]))
    assert (
        index.run_identity(make_props(Types=[GLOSSARY, NAMES], TimeoutSeconds="5", WaitForCompletion="false")) == base
    )
    assert index.run_identity(make_props(Types=[NAMES, GLOSSARY], AssetRevision="")) == base
    assert index.run_identity(make_props(Types=[NAMES])) != base


def test_inputs_hash_is_sixteen_hex_digits_of_the_run_identity() -> None:
    base = index.inputs_hash(OLD)
    assert len(base) == 16
    assert int(base, 16) >= 0
    assert base == base.lower()
    assert index.inputs_hash({**OLD, "Types": [GLOSSARY, NAMES], "TimeoutSeconds": "5", "ClientToken": "x"}) == base
    assert index.inputs_hash({**OLD, "RerunToken": "v2"}) != base
    assert index.inputs_hash({**OLD, "Predictions": {"Action": "ACCEPT", "Rule": "ALL"}}) != base
