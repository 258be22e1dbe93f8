"""The batch workflow's logging: a vended-logs log group, errors only by default, one setting per
stack (its batches share the workflow)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from constructs_lib import AssetSelection, MetadataGenerationBatch, WorkflowLogging

DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
FULL = WorkflowLogging(level=sfn.LogLevel.ALL, include_execution_data=True)


def _stack(*loggings: WorkflowLogging | None) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "Logged")
    for index, logging in enumerate(loggings):
        MetadataGenerationBatch(
            stack,
            f"Batch{index}",
            domain_id=DOMAIN,
            project_id=PROJECT,
            assets=AssetSelection.ids([f"asset{index}"]),
            workflow_logging=logging,
        )
    return stack


def _machine_logging(template: Template) -> dict[str, Any]:
    machines = template.find_resources("AWS::StepFunctions::StateMachine").values()
    (machine,) = [m for m in machines if "ForEachAsset" in json.dumps(m["Properties"]["DefinitionString"])]
    found: dict[str, Any] = machine["Properties"]["LoggingConfiguration"]
    return found


def test_log_group_is_named_under_vendedlogs_states() -> None:
    template = Template.from_stack(_stack(None))
    (group_id, group) = next(iter(template.find_resources("AWS::Logs::LogGroup").items()))
    name = group["Properties"]["LogGroupName"]
    assert name == {
        "Fn::Join": ["", ["/aws/vendedlogs/states/", {"Ref": "AWS::StackName"}, "-MetadataGenerationBatch"]]
    }
    assert group_id.startswith("DataZoneMetadataGenerationBatchWorkflowLogs")  # construct id kept
    destinations = _machine_logging(template)["Destinations"]
    assert destinations == [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [group_id, "Arn"]}}}]


def test_logs_errors_without_execution_data_by_default() -> None:
    logging = _machine_logging(Template.from_stack(_stack(None, None)))
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    assert WorkflowLogging() == WorkflowLogging(level=sfn.LogLevel.ERROR, include_execution_data=False)


@pytest.mark.parametrize("order", [(FULL, None), (None, FULL), (FULL, FULL)])
def test_one_batch_raises_the_stacks_logging(order: tuple[WorkflowLogging | None, ...]) -> None:
    logging = _machine_logging(Template.from_stack(_stack(*order)))
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True


def test_fails_if_two_batches_of_a_stack_ask_for_different_logging() -> None:
    errors_with_data = WorkflowLogging(include_execution_data=True)
    with pytest.raises(ValueError, match="workflow_logging") as raised:
        _stack(FULL, errors_with_data)
    message = str(raised.value)
    assert "Logged/Batch1 asks for WorkflowLogging(level=ERROR, include_execution_data=True)" in message
    assert "Logged/Batch0 asks for WorkflowLogging(level=ALL, include_execution_data=True)" in message
    assert "give them the same workflow_logging, or set it on one batch only" in message


def test_fails_if_workflow_logging_is_not_a_workflow_logging() -> None:
    with pytest.raises(ValueError, match=r"workflow_logging='ALL' is invalid: use WorkflowLogging\("):
        _stack("ALL")  # type: ignore[arg-type]
