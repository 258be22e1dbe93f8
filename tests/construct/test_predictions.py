"""accept_predictions / reject_predictions: properties, IAM growth, outputs, validation."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from constructs_lib import (
    AcceptChoice,
    AcceptPredictions,
    MetadataGenerationRun,
    RejectChoice,
    RejectPredictions,
)

VALID: dict[str, Any] = {"domain_id": "dzd_abc123", "project_id": "proj123", "asset_id": "asset123"}
RUN = "Custom::DataZoneMetadataGenerationRun"


@pytest.fixture
def stack() -> cdk.Stack:
    # A new app each time: Template.from_stack synthesizes the whole app, which freezes it.
    return cdk.Stack(cdk.App(), "Stack")


def _datazone_actions(template: Template) -> list[str]:
    actions: list[str] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            actions += [a for a in listed if a.startswith("datazone:")]
    return actions


@pytest.fixture(scope="module")
def predictions_template() -> Template:
    app = cdk.App()
    stack = cdk.Stack(app, "Predictions")
    MetadataGenerationRun(stack, "AcceptAll", **VALID, accept_predictions=AcceptPredictions.all(threshold=0.8))
    MetadataGenerationRun(
        stack,
        "AcceptSome",
        **{**VALID, "asset_id": "asset2"},
        accept_predictions=AcceptPredictions.choices(
            [AcceptChoice("businessNameForm", prediction_choice=1), AcceptChoice("col_a", edited_value="Order id")]
        ),
        create_outputs=False,
    )
    return Template.from_stack(stack)


def test_accept_policy_travels_as_a_property(predictions_template: Template) -> None:
    predictions_template.has_resource_properties(
        RUN, {"AssetId": "asset123", "Predictions": {"Action": "ACCEPT", "Rule": "ALL", "Threshold": 0.8}}
    )
    predictions_template.has_resource_properties(
        RUN,
        {
            "AssetId": "asset2",
            "Predictions": {
                "Action": "ACCEPT",
                "Rule": "NONE",
                "Threshold": Match.absent(),
                "Choices": [
                    {"PredictionTarget": "businessNameForm", "PredictionChoice": 1},
                    {"PredictionTarget": "col_a", "EditedValue": "Order id"},
                ],
            },
        },
    )


def test_iam_grows_by_the_used_action_only_once(predictions_template: Template) -> None:
    actions = _datazone_actions(predictions_template)
    assert actions.count("datazone:AcceptPredictions") == 1
    assert "datazone:RejectPredictions" not in actions


def test_asset_revision_attribute_and_output(predictions_template: Template) -> None:
    outputs = predictions_template.find_outputs("*")
    revision = {key: o for key, o in outputs.items() if o["Value"]["Fn::GetAtt"][1] == "AssetRevision"}
    assert len(revision) == 1  # AcceptSome has outputs off
    # The output id is a public contract (renaming it replaces the deployed output).
    [(key, output)] = revision.items()
    assert key.startswith("AcceptAllAssetRevisionOutput")
    assert (
        output["Description"] == "Revision of asset asset123 after its predictions were applied (Predictions/AcceptAll)"
    )


def test_no_policy_means_no_prediction_action_and_no_attribute(stack: cdk.Stack) -> None:
    run = MetadataGenerationRun(stack, "Run", **VALID)
    assert run.applied_asset_revision is None
    template = Template.from_stack(stack)
    assert not [a for a in _datazone_actions(template) if "Predictions" in a]
    template.has_resource_properties(RUN, {"Predictions": Match.absent()})
    assert len(template.find_outputs("*")) == 2


def test_reject_policy_grants_reject_only(stack: cdk.Stack) -> None:
    run = MetadataGenerationRun(
        stack,
        "Run",
        **VALID,
        reject_predictions=RejectPredictions.choices([RejectChoice("col_a", prediction_choices=[0, 2])]),
    )
    assert run.applied_asset_revision is not None
    template = Template.from_stack(stack)
    actions = _datazone_actions(template)
    assert "datazone:RejectPredictions" in actions
    assert "datazone:AcceptPredictions" not in actions
    template.has_resource_properties(
        RUN,
        {
            "Predictions": {
                "Action": "REJECT",
                "Rule": "NONE",
                "Choices": [{"PredictionTarget": "col_a", "PredictionChoices": [0, 2]}],
            }
        },
    )


def test_threshold_may_be_a_token(stack: cdk.Stack) -> None:
    threshold = cdk.CfnParameter(stack, "Threshold", type="Number").value_as_number
    MetadataGenerationRun(stack, "Run", **VALID, accept_predictions=AcceptPredictions.all(threshold=threshold))
    Template.from_stack(stack).has_resource_properties(RUN, {"Predictions": {"Threshold": {"Ref": "Threshold"}}})


@pytest.mark.parametrize("threshold", [-0.1, 1.01, float("nan"), "0.8", True])
def test_fails_if_threshold_is_not_between_0_and_1(threshold: Any) -> None:
    with pytest.raises(ValueError, match=r"accept_predictions\.threshold=.*0 to 1"):
        AcceptPredictions.all(threshold=threshold)
    with pytest.raises(ValueError, match=r"reject_predictions\.threshold=.*0 to 1"):
        RejectPredictions.all(threshold=threshold)


@pytest.mark.parametrize(
    ("choices", "prop"),
    [
        ([], "accept_predictions.choices"),
        ([AcceptChoice("")], "accept_predictions.choices.prediction_target"),
        ([AcceptChoice("t", prediction_choice=-1)], "accept_predictions.choices.prediction_choice"),
        ([AcceptChoice("t", edited_value="")], "accept_predictions.choices.edited_value"),
        ([AcceptChoice("t", edited_value="x" * 5001)], "accept_predictions.choices.edited_value"),
        ([RejectChoice("t")], "accept_predictions.choices"),
    ],
)
def test_fails_if_accept_choices_are_invalid(choices: Any, prop: str) -> None:
    with pytest.raises(ValueError, match=rf"AcceptPredictions: {re.escape(prop)}="):
        AcceptPredictions.choices(choices)


@pytest.mark.parametrize(
    ("choices", "prop"),
    [
        ([], "reject_predictions.choices"),
        ([RejectChoice("")], "reject_predictions.choices.prediction_target"),
        ([RejectChoice("t", prediction_choices=[0, -2])], "reject_predictions.choices.prediction_choices"),
        ([AcceptChoice("t")], "reject_predictions.choices"),
    ],
)
def test_fails_if_reject_choices_are_invalid(choices: Any, prop: str) -> None:
    with pytest.raises(ValueError, match=rf"RejectPredictions: {re.escape(prop)}="):
        RejectPredictions.choices(choices)


def test_fails_if_both_accept_and_reject(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match="accept_predictions or reject_predictions, not both"):
        MetadataGenerationRun(
            stack,
            "Run",
            **VALID,
            accept_predictions=AcceptPredictions.all(),
            reject_predictions=RejectPredictions.all(),
        )


def test_fails_if_predictions_without_waiting(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"wait_for_completion=False.*accept_predictions"):
        MetadataGenerationRun(
            stack, "Run", **VALID, wait_for_completion=False, accept_predictions=AcceptPredictions.all()
        )


def test_fails_if_policy_is_of_the_wrong_kind(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"accept_predictions=.*AcceptPredictions\.all"):
        MetadataGenerationRun(stack, "Run", **VALID, accept_predictions=RejectPredictions.all())  # type: ignore[arg-type]
