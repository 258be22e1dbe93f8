"""Accepting or rejecting a finished run's predictions (the Predictions property)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import index
from tests.handler.helpers import (
    ASSET_ID,
    CREATED_AT,
    DOMAIN_ID,
    RUN_ID,
    FakeContext,
    get_params,
    get_response,
    make_event,
    make_props,
    poll_event,
)

ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL", "Threshold": "0.8"}


def _queue_get(stubbed: Stubber, status: str, revision: str | None = None) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response(status, revision=revision), get_params())


@pytest.mark.parametrize("status", ["SUCCEEDED", "PARTIALLY_SUCCEEDED"])
def test_accepts_after_a_successful_run_and_reports_the_new_revision(
    stubbed: Stubber, context: FakeContext, status: str
) -> None:
    _queue_get(stubbed, status, revision="3")
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
    result = index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)
    assert result == {"IsComplete": True, "Data": {"RunId": RUN_ID, "Status": status, "AssetRevision": "4"}}


def test_accept_choices_are_sent_with_rule_none(stubbed: Stubber, context: FakeContext) -> None:
    policy = {
        "Action": "ACCEPT",
        "Rule": "NONE",
        "Choices": [
            {"PredictionTarget": "businessNameForm", "PredictionChoice": "1"},
            {"PredictionTarget": "col_a", "EditedValue": "Order id"},
        ],
    }
    _queue_get(stubbed, "SUCCEEDED")
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


def test_reject_uses_reject_predictions_and_its_revision_field(stubbed: Stubber, context: FakeContext) -> None:
    policy = {"Action": "REJECT", "Rule": "NONE", "Choices": [{"PredictionTarget": "t", "PredictionChoices": ["0", 2]}]}
    _queue_get(stubbed, "SUCCEEDED")
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
    result = index.is_complete(poll_event(make_props(Predictions=policy)), context)
    assert result["Data"]["AssetRevision"] == "9"


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS"])
def test_nothing_is_applied_while_the_run_is_going(
    stubbed: Stubber, context: FakeContext, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "now", lambda: CREATED_AT.timestamp() + 60)
    _queue_get(stubbed, status)  # and no accept_predictions queued: a call would fail the test
    assert index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("status", "overrides"),
    [("FAILED", {}), ("CANCELED", {}), ("PARTIALLY_SUCCEEDED", {"FailOnPartialSuccess": "true"})],
)
def test_nothing_is_applied_when_the_run_fails(
    stubbed: Stubber, context: FakeContext, status: str, overrides: dict[str, Any]
) -> None:
    _queue_get(stubbed, status)
    with pytest.raises(index.RunError, match=status):
        index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL, **overrides)), context)


def _captured_tokens(stubbed: Stubber) -> list[str]:
    tokens: list[str] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "AcceptPredictions":
            tokens.append(params["clientToken"])

    stubbed.client.meta.events.register("provide-client-params.datazone", record)
    return tokens


def test_client_token_is_stable_for_a_run_and_policy(stubbed: Stubber, context: FakeContext) -> None:
    tokens = _captured_tokens(stubbed)
    answer = {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "revision": "2"}
    for threshold in ("0.8", "0.8", "0.5"):
        _queue_get(stubbed, "SUCCEEDED")
        stubbed.add_response("accept_predictions", answer)
        index.is_complete(poll_event(make_props(Predictions={**ACCEPT_ALL, "Threshold": threshold})), context)
    assert tokens[0] == tokens[1] != tokens[2]
    assert all(1 <= len(t) <= 128 and t.isascii() and " " not in t for t in tokens)


def test_failure_to_accept_fails_with_the_service_reason(stubbed: Stubber, context: FakeContext) -> None:
    _queue_get(stubbed, "SUCCEEDED")
    stubbed.add_client_error(
        "accept_predictions",
        service_error_code="ConflictException",
        service_message="No predictions to accept",
        http_status_code=409,
    )
    with pytest.raises(index.RunError, match=r"AcceptPredictions failed: ConflictException: No predictions to accept"):
        index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)


def test_policy_change_is_a_new_run_on_update(stubbed: Stubber, context: FakeContext) -> None:
    old = make_props(Predictions=ACCEPT_ALL)
    new = make_props(Predictions={**ACCEPT_ALL, "Threshold": "0.9"})
    assert index.run_identity(old) != index.run_identity(new)
    assert index.run_identity(old) == index.run_identity(make_props(Predictions=dict(reversed(ACCEPT_ALL.items()))))
    event = make_event("Update", new, old_props=old, physical_id=RUN_ID)
    stubbed.add_response(
        "start_metadata_generation_run",
        {"domainId": DOMAIN_ID, "id": "run_new", "status": "SUBMITTED"},
    )
    assert index.on_event(event, context)["PhysicalResourceId"] == "run_new"


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
    with pytest.raises(index.PropertyError, match=rf"^ResourceProperties\.{name.replace('.', '[.]')} "):
        index.parse_properties(make_props(Predictions=policy))


def test_response_with_revision_stays_small(stubbed: Stubber, context: FakeContext) -> None:
    _queue_get(stubbed, "SUCCEEDED")
    stubbed.add_response("accept_predictions", {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "revision": "r" * 64})
    result = index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)
    assert len(json.dumps({"PhysicalResourceId": RUN_ID, **result})) <= 4096
