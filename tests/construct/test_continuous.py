"""MetadataGenerationBatch(continuous=True): a rule on DataZone's data-source run events per batch,
one intake function and one dead-letter queue per stack, and the IAM they need, only when asked.

The rule matches the domain only (the intake confirms the data source with the API); its target
is the intake with the batch's own properties (the very ones its custom resource gets), a retry
policy and the dead-letter queue, which also takes the intake's own failures. Synth refuses
continuous=True without a data-source selection, naming the prop, the value and the fix.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest

from constructs_lib import AcceptChoice, AcceptPredictions, AssetSelection, MetadataGenerationBatch
from constructs_lib._handler import contract
from tests.construct.conftest import BATCHES_STACK, DOMAIN, PROJECT, Synthesized

INTAKE = "DataZoneMetadataGenerationContinuousIntake"
HANDLER_ROLE = "DataZoneMetadataGenerationRunProviderHandlerRole"
#: What CDK's input transformer puts where each event field goes (InputPathsMap names).
EVENT_FIELDS = {"id": '"e-1"', "detail-type": '"Data Source Run Succeeded"', "time": '"t"', "detail": '{"x": 1}'}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _of_type(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(template: dict[str, Any]) -> set[str]:
    return {
        action
        for statement in _statements(template)
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }


CONTINUOUS_ONLY_TYPES = {
    "AWS::Events::Rule",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventInvokeConfig",
}
CONTINUOUS_ONLY_ACTIONS = {"datazone:GetDataSourceRun", "cloudformation:DescribeStackResource", "sqs:SendMessage"}


@pytest.mark.parametrize("stack_name", ["BatchIds10", "BatchSource", "BatchSearch"])
def test_nothing_continuous_without_the_prop(batches: Synthesized, stack_name: str) -> None:
    template = batches.templates[stack_name]
    assert {v["Type"] for v in template["Resources"].values()} & CONTINUOUS_ONLY_TYPES == set()
    assert _actions(template) & CONTINUOUS_ONLY_ACTIONS == set()
    assert "Turn" not in json.dumps(template)


@pytest.fixture(scope="module")
def batches_template(batches: Synthesized) -> dict[str, Any]:
    return batches.templates[BATCHES_STACK]


def _rule(template: dict[str, Any]) -> dict[str, Any]:
    (rule,) = _of_type(template, "AWS::Events::Rule").values()
    props: dict[str, Any] = rule["Properties"]
    return props


def test_the_rule_matches_data_source_runs_of_the_batchs_domain_only(batches_template: dict[str, Any]) -> None:
    rule = _rule(batches_template)
    assert rule["State"] == "ENABLED"
    assert "EventBusName" not in rule  # the default bus, where DataZone sends its events
    assert rule["EventPattern"] == {
        "source": ["aws.datazone"],
        "detail-type": ["Data Source Run Succeeded", "Data Source Run Failed"],
        "detail": {"metadata": {"domain": [{"Fn::GetAtt": ["Domain", "Id"]}]}},
    }


def _rendered_input(template: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """The target's input as EventBridge would deliver it: tokens stand in as their CloudFormation
    form (JSON), the event's fields as EVENT_FIELDS."""
    transformer = target["InputTransformer"]
    assert set(transformer["InputPathsMap"]) == set(EVENT_FIELDS)
    separator, parts = transformer["InputTemplate"]["Fn::Join"]
    text = separator.join(p if isinstance(p, str) else f"@@{json.dumps(p)}@@" for p in parts)
    for name, value in EVENT_FIELDS.items():
        text = text.replace(f"<{name}>", value)
    # A token sits inside a JSON string: its CloudFormation form, escaped into that string.
    text = re.sub(r"@@(.*?)@@", lambda m: json.dumps(m.group(1))[1:-1], text)
    rendered: dict[str, Any] = json.loads(text)
    return rendered


def test_the_target_is_the_intake_with_the_batchs_own_properties(batches_template: dict[str, Any]) -> None:
    (target,) = _rule(batches_template)["Targets"]
    (intake_id,) = [k for k in _of_type(batches_template, "AWS::Lambda::Function") if k.startswith(INTAKE)]
    assert target["Arn"] == {"Fn::GetAtt": [intake_id, "Arn"]}
    rendered = _rendered_input(batches_template, target)
    assert rendered["event"] == {
        "id": "e-1",
        "detailType": "Data Source Run Succeeded",
        "time": "t",
        "detail": {"x": 1},
    }
    (batch_id,) = [
        k
        for k, v in _of_type(batches_template, contract.BATCH_RESOURCE_TYPE).items()
        if v["Properties"].get("Continuous")
    ]
    batch = batches_template["Resources"][batch_id]["Properties"]
    # The same settings the custom resource gets (tokens in their CloudFormation form), so the
    # intake starts the same workflow with the same types, predictions and concurrency.
    expected = {
        k: json.dumps(v) if isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("Ref", "Fn::GetAtt") else v
        for k, v in batch.items()
        if k not in ("ServiceToken", "ServiceTimeout")
    }
    expected["Selection"] = {"Kind": "DATA_SOURCE", "DataSourceId": json.dumps({"Fn::GetAtt": ["DataSource", "Id"]})}
    assert rendered["batch"] == expected
    assert rendered["resource"] == {"stackId": json.dumps({"Ref": "AWS::StackId"}), "logicalResourceId": batch_id}


def test_failed_deliveries_and_failed_invocations_go_to_one_queue(batches_template: dict[str, Any]) -> None:
    (target,) = _rule(batches_template)["Targets"]
    (queue_id, queue) = next(iter(_of_type(batches_template, "AWS::SQS::Queue").items()))
    assert queue_id.startswith(f"{INTAKE}DeadLetters")
    assert queue["Properties"] == {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 24 * 3600, "MaximumRetryAttempts": 185}
    (intake_id, intake) = next(
        (k, v) for k, v in _of_type(batches_template, "AWS::Lambda::Function").items() if k.startswith(INTAKE)
    )
    props = intake["Properties"]
    assert props["Handler"] == "entry.continuous_intake"
    assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert props["Role"]["Fn::GetAtt"][0].startswith(HANDLER_ROLE)
    (config,) = _of_type(batches_template, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"] == {
        "FunctionName": {"Ref": intake_id},
        "MaximumEventAgeInSeconds": 6 * 3600,
        "MaximumRetryAttempts": 2,
        "Qualifier": "$LATEST",
    }
    (policy,) = _of_type(batches_template, "AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    (events,) = [s for s in statements if s["Effect"] == "Allow"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == "sqs:SendMessage"
    (rule_id,) = _of_type(batches_template, "AWS::Events::Rule")
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    (permission,) = _of_type(batches_template, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}


def test_iam_adds_the_run_read_the_stack_resource_read_and_the_queue(batches_template: dict[str, Any]) -> None:
    statements = _statements(batches_template)
    (datazone,) = [s for s in statements if any(str(a).startswith("datazone:") for a in s["Action"])]
    assert "datazone:GetDataSourceRun" in datazone["Action"]
    (stack_resource,) = [s for s in statements if s["Action"] == "cloudformation:DescribeStackResource"]
    assert stack_resource["Resource"] == {"Ref": "AWS::StackId"}
    (send,) = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    (queue_id,) = _of_type(batches_template, "AWS::SQS::Queue")
    assert send["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def _stack_with(*batches: dict[str, Any]) -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    for index, props in enumerate(batches):
        MetadataGenerationBatch(
            stack, f"Batch{index}", domain_id=DOMAIN, project_id=PROJECT, create_outputs=False, **props
        )
    template: dict[str, Any] = app.synth().get_stack_by_name("Stack").template
    return template


def test_batches_share_the_intake_and_queue_and_iam_does_not_grow() -> None:
    one = _stack_with({"assets": AssetSelection.data_source("source1"), "continuous": True})
    two = _stack_with(
        {"assets": AssetSelection.data_source("source1"), "continuous": True},
        {"assets": AssetSelection.data_source("source2"), "continuous": True},
    )
    assert len(_of_type(two, "AWS::Events::Rule")) == 2
    for kind in ("AWS::SQS::Queue", "AWS::Lambda::EventInvokeConfig"):
        assert len(_of_type(two, kind)) == 1, kind
    assert len(_of_type(two, "AWS::Lambda::Function")) == len(_of_type(one, "AWS::Lambda::Function"))
    # The roles' statements are the same; only the queue's own policy names each rule.
    assert json.dumps(_statements(two), sort_keys=True) == json.dumps(_statements(one), sort_keys=True)


@pytest.mark.parametrize(
    ("assets", "kind"),
    [(AssetSelection.ids(["asset1"]), "ids"), (AssetSelection.search(text="orders"), "search")],
)
def test_fails_if_continuous_without_data_source(assets: AssetSelection, kind: str) -> None:
    with pytest.raises(ValueError, match="continuous=True is invalid") as error:
        _stack_with({"assets": assets, "continuous": True})
    assert str(error.value) == (
        "MetadataGenerationBatch: continuous=True is invalid: it follows a data source's runs, and assets is an "
        f"AssetSelection.{kind}(...) selection: use assets=AssetSelection.data_source(<data source id>), or drop "
        "continuous=True"
    )


def test_continuous_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match=r"^MetadataGenerationBatch: continuous='yes' is invalid: use True or False$"):
        _stack_with({"assets": AssetSelection.data_source("source1"), "continuous": "yes"})


def test_settings_too_large_for_the_rules_input_fail_synth_naming_the_predictions() -> None:
    choices = [AcceptChoice(f"column{i}", edited_value="x" * 400) for i in range(20)]
    with pytest.raises(ValueError, match=r"continuous=True is invalid: the rule sends the batch's settings.*8192"):
        _stack_with(
            {
                "assets": AssetSelection.data_source("source1"),
                "continuous": True,
                "accept_predictions": AcceptPredictions.choices(choices),
            }
        )


def test_the_rule_and_the_queue_are_attributes_of_a_continuous_batch_only() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    plain = MetadataGenerationBatch(
        stack, "Plain", domain_id=DOMAIN, project_id=PROJECT, assets=AssetSelection.data_source("s1")
    )
    watched = MetadataGenerationBatch(
        stack, "Watched", domain_id=DOMAIN, project_id=PROJECT, assets=AssetSelection.data_source("s2"), continuous=True
    )
    assert (plain.continuous_rule, plain.continuous_dead_letter_queue) == (None, None)
    assert watched.continuous_rule is not None
    assert watched.continuous_rule.node.path == "Stack/Watched/Continuous"
    assert watched.continuous_dead_letter_queue is not None
    assert (
        watched.continuous_dead_letter_queue.node.path == "Stack/DataZoneMetadataGenerationContinuousIntake/DeadLetters"
    )
