"""Accepting or rejecting a finished run's predictions (the Predictions property).

Predictions are applied once per run (issue 8, scenario 4): only in the isComplete of the request
that started the run, only while CloudFormation still wants that request done (the stack is
CREATE_IN_PROGRESS or UPDATE_IN_PROGRESS), and with one clientToken per run and policy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    ASSET_ID,
    CREATED_AT,
    DOMAIN_ID,
    NEW_RUN_ID,
    RUN_ID,
    Clock,
    FakeContext,
    get_params,
    get_response,
    make_event,
    make_props,
    pid,
    poll_event,
    stack_params,
    stack_response,
    start_response,
    started_data,
)

ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL", "Threshold": "0.8"}
ACCEPTED = {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "revision": "2"}


def _queue_get(stubbed: Stubber, status: str, revision: str | None = None) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response(status, revision=revision), get_params())


def _queue_stack(cfn: Stubber, status: str = "CREATE_IN_PROGRESS") -> None:
    cfn.add_response("describe_stacks", stack_response(status), expected_params=stack_params())


def _accept_params(token: Any = ANY) -> dict[str, Any]:
    return {
        "domainIdentifier": DOMAIN_ID,
        "identifier": ASSET_ID,
        "acceptRule": {"rule": "ALL", "threshold": 0.8},
        "clientToken": token,
    }


def _tokens(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [params["clientToken"] for name, params in calls if name in ("AcceptPredictions", "RejectPredictions")]


@pytest.mark.parametrize("status", ["SUCCEEDED", "PARTIALLY_SUCCEEDED"])
def test_accepts_after_a_successful_run_and_reports_the_new_revision(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, status: str
) -> None:
    _queue_get(stubbed, status, revision="3")
    _queue_stack(cfn)
    stubbed.add_response(
        "accept_predictions",
        {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "revision": "4"},
        {
            "domainIdentifier": DOMAIN_ID,
            "identifier": ASSET_ID,
            "revision": "3",  # the revision the run targeted
            "acceptRule": {"rule": "ALL", "threshold": 0.8},
            "clientToken": ANY,
        },
    )
    props = make_props(Predictions=ACCEPT_ALL)
    # The revision goes into the physical id with the status: later requests report it with no call.
    assert index.is_complete(poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": pid(props, status=status, revision="4"),
        "Data": {"RunId": RUN_ID, "Status": status, "AssetRevision": "4"},
    }


def test_accept_choices_are_sent_with_rule_none(stubbed: Stubber, cfn: Stubber, context: FakeContext) -> None:
    policy = {
        "Action": "ACCEPT",
        "Rule": "NONE",
        "Choices": [
            {"PredictionTarget": "businessNameForm", "PredictionChoice": "1"},
            {"PredictionTarget": "col_a", "EditedValue": "Order id"},
        ],
    }
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn, "UPDATE_IN_PROGRESS")
    stubbed.add_response(
        "accept_predictions",
        {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "revision": "2"},
        {
            "domainIdentifier": DOMAIN_ID,
            "identifier": ASSET_ID,
            "acceptRule": {"rule": "NONE"},
            "acceptChoices": [
                {"predictionTarget": "businessNameForm", "predictionChoice": 1},
                {"predictionTarget": "col_a", "editedValue": "Order id"},
            ],
            "clientToken": ANY,
        },
    )
    result = index.is_complete(poll_event(make_props(Predictions=policy)), context)
    assert result["Data"]["AssetRevision"] == "2"


def test_reject_uses_reject_predictions_and_its_revision_field(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    policy = {"Action": "REJECT", "Rule": "NONE", "Choices": [{"PredictionTarget": "t", "PredictionChoices": ["0", 2]}]}
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_response(
        "reject_predictions",
        {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "assetRevision": "9"},
        {
            "domainIdentifier": DOMAIN_ID,
            "identifier": ASSET_ID,
            "rejectRule": {"rule": "NONE"},
            "rejectChoices": [{"predictionTarget": "t", "predictionChoices": [0, 2]}],
            "clientToken": ANY,
        },
    )
    props = make_props(Predictions=policy)
    assert index.is_complete(poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": pid(props, status="SUCCEEDED", revision="9"),
        "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "9"},
    }


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS"])
def test_nothing_is_applied_while_the_run_is_going(
    clock: Clock, stubbed: Stubber, context: FakeContext, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock[0] = CREATED_AT.timestamp() + 60
    _queue_get(stubbed, status)  # and no accept_predictions queued: a call would fail the test
    assert index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("status", "overrides"),
    [("FAILED", {}), ("CANCELED", {}), ("PARTIALLY_SUCCEEDED", {"FailOnPartialSuccess": "true"})],
)
def test_nothing_is_applied_when_the_run_fails(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, status: str, overrides: dict[str, Any]
) -> None:
    _queue_get(stubbed, status)
    with pytest.raises(common.RunError, match=status):
        index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL, **overrides)), context)


def test_client_token_is_stable_for_a_run_and_policy(
    stubbed: Stubber, cfn: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    for threshold in ("0.8", "0.8", "0.5"):
        _queue_get(stubbed, "SUCCEEDED")
        _queue_stack(cfn)
        stubbed.add_response("accept_predictions", ACCEPTED)
        index.is_complete(poll_event(make_props(Predictions={**ACCEPT_ALL, "Threshold": threshold})), context)
    tokens = _tokens(api_calls)
    assert tokens[0] == tokens[1] != tokens[2]
    assert all(1 <= len(t) <= 128 and t.isascii() and " " not in t for t in tokens)


def test_client_token_differs_per_run_and_resource(
    stubbed: Stubber, cfn: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    props = make_props(Predictions=ACCEPT_ALL)
    for run_id, logical_id in ((RUN_ID, "A"), (NEW_RUN_ID, "A"), (RUN_ID, "B")):
        stubbed.add_response(
            "get_metadata_generation_run", get_response("SUCCEEDED", run_id=run_id), get_params(run_id)
        )
        _queue_stack(cfn)
        stubbed.add_response("accept_predictions", ACCEPTED, _accept_params())
        event = make_event(
            "Create", props, physical_id=pid(props, run_id), data=started_data(run_id), logical_id=logical_id
        )
        index.is_complete(event, context)
    assert len(set(_tokens(api_calls))) == 3


def test_redelivered_poll_accepts_with_the_same_token(
    stubbed: Stubber, cfn: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    # A second waiter for the same request (Lambda/CloudFormation redelivery) polls the same run:
    # DataZone must see the same clientToken, and answer with its first revision.
    props = make_props(Predictions=ACCEPT_ALL)
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_response("accept_predictions", ACCEPTED, _accept_params())
    first = index.is_complete(poll_event(props), context)
    [token] = _tokens(api_calls)
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_response("accept_predictions", ACCEPTED, _accept_params(token))
    assert index.is_complete(poll_event(props), context) == first


def test_transient_accept_error_tries_again_with_the_same_token(
    clock: Clock,
    stubbed: Stubber,
    cfn: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
) -> None:
    clock[0] = CREATED_AT.timestamp() + 60
    props = make_props(Predictions=ACCEPT_ALL)
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_client_error(
        "accept_predictions",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=429,
        expected_params=_accept_params(),
    )
    assert index.is_complete(poll_event(props), context) == {"IsComplete": False}
    [token] = _tokens(api_calls)
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_response("accept_predictions", ACCEPTED, _accept_params(token))
    assert index.is_complete(poll_event(props), context)["Data"] == {
        "RunId": RUN_ID,
        "Status": "SUCCEEDED",
        "AssetRevision": "2",
    }


def test_failure_to_accept_fails_with_the_service_reason(stubbed: Stubber, cfn: Stubber, context: FakeContext) -> None:
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_client_error(
        "accept_predictions",
        service_error_code="ConflictException",
        service_message="No predictions to accept",
        http_status_code=409,
        expected_params=_accept_params(),
    )
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} SUCCEEDED: AcceptPredictions failed: ConflictException: "
        "No predictions to accept"
    )


@pytest.mark.parametrize("stack_status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"])
def test_predictions_are_applied_only_while_the_request_is_wanted(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, stack_status: str
) -> None:
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn, stack_status)
    stubbed.add_response("accept_predictions", ACCEPTED, _accept_params())
    assert index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)["IsComplete"] is True


@pytest.mark.parametrize(
    ("code", "status"), [("Throttling", 400), ("ServiceUnavailable", 503), ("InternalFailure", 500)]
)
def test_unreadable_stack_status_tries_again(
    clock: Clock,
    stubbed: Stubber,
    cfn: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    context: FakeContext,
    code: str,
    status: int,
) -> None:
    clock[0] = CREATED_AT.timestamp() + 60
    _queue_get(stubbed, "SUCCEEDED")
    cfn.add_client_error(
        "describe_stacks",
        service_error_code=code,
        service_message="try later",
        http_status_code=status,
        expected_params=stack_params(),
    )
    assert index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context) == {"IsComplete": False}


def test_denied_stack_status_fails_without_the_project_hint(
    stubbed: Stubber, cfn: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    # DescribeStacks is an IAM permission, not DataZone project membership: no project fix is offered.
    monkeypatch.setenv("HANDLER_ROLE_ARN", "arn:aws:iam::123456789012:role/R")
    _queue_get(stubbed, "SUCCEEDED")
    cfn.add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="not authorized to perform cloudformation:DescribeStacks",
        http_status_code=403,
        expected_params=stack_params(),
    )
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)
    assert str(caught.value) == (
        "DescribeStacks failed: AccessDenied: not authorized to perform cloudformation:DescribeStacks"
    )


def test_policy_change_is_a_new_run_on_update(stubbed: Stubber, cfn: Stubber, context: FakeContext) -> None:
    old = make_props(Predictions=ACCEPT_ALL)
    new = make_props(Predictions={**ACCEPT_ALL, "Threshold": "0.9"})
    assert index.run_identity(old) != index.run_identity(new)
    assert index.run_identity(old) == index.run_identity(make_props(Predictions=dict(reversed(ACCEPT_ALL.items()))))
    carried = pid(old, status="SUCCEEDED", revision="4")
    event = make_event("Update", new, old_props=old, physical_id=carried)
    _queue_stack(cfn, "UPDATE_IN_PROGRESS")
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": DOMAIN_ID,
            "owningProjectIdentifier": ANY,
            "target": ANY,
            "types": ANY,
            "clientToken": index.derive_client_token(event),
        },
    )
    assert index.on_event(event, context) == {
        "PhysicalResourceId": pid(new, NEW_RUN_ID, previous=carried),
        "Data": started_data(NEW_RUN_ID),
    }


@pytest.mark.parametrize(
    "changes", [{"TimeoutSeconds": "900"}, {"WaitForCompletion": "false"}, {"FailOnPartialSuccess": "true"}]
)
def test_settings_only_update_applies_nothing(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, changes: dict[str, str]
) -> None:
    # Nothing queued anywhere: no Start, no DescribeStacks, no Get and no AcceptPredictions, in
    # onEvent or in isComplete. The revision the predictions made comes from the physical id.
    old = make_props(Predictions=ACCEPT_ALL)
    carried = pid(old, status="SUCCEEDED", revision="4")
    new = {**old, **changes}
    kept = index.on_event(make_event("Update", new, old_props=old, physical_id=carried), context)
    data = {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "4"}
    assert kept == {"PhysicalResourceId": carried, "Data": data}
    poll = make_event("Update", new, old_props=old, physical_id=kept["PhysicalResourceId"], data=kept.get("Data"))
    assert index.is_complete(poll, context) == {"IsComplete": True, "Data": data}


@pytest.mark.parametrize("revision", ["7", "r:1!x%2F/ \u00e9", "r" * 64])
def test_revision_survives_the_physical_id(stubbed: Stubber, cfn: Stubber, context: FakeContext, revision: str) -> None:
    # Whatever DataZone answers, the physical id still parses: `:` `!` `%` are percent-encoded.
    props = make_props(Predictions=ACCEPT_ALL)
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_response("accept_predictions", {**ACCEPTED, "revision": revision}, _accept_params())
    result = index.is_complete(poll_event(props), context)
    assert result.get("PhysicalResourceId") == pid(props, status="SUCCEEDED", revision=revision)
    kept = index.on_event(make_event("Update", props, physical_id=result["PhysicalResourceId"]), context)
    assert kept["Data"] == {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": revision}


@pytest.mark.parametrize(
    ("policy", "name"),
    [
        ("accept", "Predictions"),
        ({"Action": "APPROVE"}, "Predictions.Action"),
        ({"Action": "ACCEPT", "Rule": "SOME"}, "Predictions.Rule"),
        ({"Action": "ACCEPT", "Threshold": "1.5"}, "Predictions.Threshold"),
        ({"Action": "ACCEPT", "Threshold": "high"}, "Predictions.Threshold"),
        ({"Action": "ACCEPT", "Threshold": "nan"}, "Predictions.Threshold"),
        ({"Action": "ACCEPT", "Choices": {"PredictionTarget": "t"}}, "Predictions.Choices"),
        ({"Action": "ACCEPT", "Choices": [{"PredictionTarget": ""}]}, "Predictions.Choices.PredictionTarget"),
        (
            {"Action": "ACCEPT", "Choices": [{"PredictionTarget": "t", "PredictionChoice": "-1"}]},
            "Predictions.Choices.PredictionChoice",
        ),
        (
            {"Action": "ACCEPT", "Choices": [{"PredictionTarget": "t", "EditedValue": "x" * 5001}]},
            "Predictions.Choices.EditedValue",
        ),
        (
            {"Action": "REJECT", "Choices": [{"PredictionTarget": "t", "PredictionChoices": "0"}]},
            "Predictions.Choices.PredictionChoices",
        ),
    ],
)
def test_invalid_policy_names_the_property(policy: Any, name: str) -> None:
    with pytest.raises(common.PropertyError, match=rf"^ResourceProperties\.{name.replace('.', '[.]')} "):
        index.parse_properties(make_props(Predictions=policy))


def test_response_with_revision_stays_small(stubbed: Stubber, cfn: Stubber, context: FakeContext) -> None:
    _queue_get(stubbed, "SUCCEEDED")
    _queue_stack(cfn)
    stubbed.add_response("accept_predictions", {**ACCEPTED, "revision": "%" * 64}, _accept_params())
    result = index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)
    assert len(result.get("PhysicalResourceId", "")) <= 1024
    assert len(json.dumps(result)) <= 4096
