"""``MetadataGenerationBatch(continuous=True)``: a rule per batch, one intake function per stack.

DataZone sends ``Data Source Run Succeeded`` / ``Failed`` events to the account's default event
bus. Each continuous batch gets a rule matching its domain's (the detail's other fields are not
documented in full, so the intake confirms the data source with ``GetDataSourceRun`` rather than
trusting a field the pattern would have to name); the rule's target is the stack's one intake
function (``entry.continuous_intake``: the handler's code asset and role), which starts the
batch's workflow for the run. Events the target cannot take, and invocations that keep failing,
land in the stack's one dead-letter queue. Nothing here exists unless a batch asks for it.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _nag
from constructs_lib._handler import contract
from constructs_lib._provider import Provider
from constructs_lib._singleton import stack_singleton
from constructs_lib._validation import invalid

INTAKE_ID = "DataZoneMetadataGenerationContinuousIntake"
#: EventBridge's own maximums for delivering to the target (the default when a rule sets none):
#: delivery failures (throttled Invoke, a missing permission) are retried for a day, then queued.
DELIVERY_RETRIES = 185
DELIVERY_MAX_AGE = cdk.Duration.hours(24)
#: The intake's own failures (EventBridge invokes Lambda asynchronously): Lambda retries twice,
#: 1 and 2 minutes apart, then sends the event to the same queue.
INTAKE_RETRIES = 2
INTAKE_MAX_AGE = cdk.Duration.hours(6)
#: SQS's longest retention: a queued event waits two weeks for someone to look.
QUEUE_RETENTION = cdk.Duration.days(14)
#: EventBridge's limit on an input transformer's template; the batch's settings travel in it.
MAX_INPUT_TEMPLATE = 8192
#: Room allowed, in that estimate, for what one token resolves to (an ARN, an id, a name), and
#: for the event's and the resource's parts of the template.
TOKEN_ROOM = 256
TEMPLATE_ROOM = 400

_INTAKES: weakref.WeakKeyDictionary[Construct, ContinuousIntake] = weakref.WeakKeyDictionary()


class ContinuousIntake(Construct):
    """The stack's intake function and dead-letter queue, shared by its continuous batches."""

    @classmethod
    def of(cls, scope: Construct) -> ContinuousIntake:
        return stack_singleton(cls, scope, INTAKE_ID, _INTAKES, "MetadataGenerationBatch's continuous intake")

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        provider = Provider.of(cdk.Stack.of(self))
        self.queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=QUEUE_RETENTION,
        )
        # The handler's role: it is the project member DataZone authorizes GetDataSourceRun for,
        # and it already starts and reads the workflow's executions and writes its results.
        self.function = provider.worker_function(
            self,
            "Function",
            handler="entry.continuous_intake",
            timeout=cdk.Duration.seconds(contract.HANDLER_TIMEOUT_SECONDS),
            description="MetadataGenerationBatch(continuous=True): starts the batch workflow for a data-source run",
            dead_letter_queue=self.queue,
            retry_attempts=INTAKE_RETRIES,
            max_event_age=INTAKE_MAX_AGE,
        )
        # The intake confirms the run; a continuous batch's selection is a data source's.
        provider.grant("datazone:GetDataSourceRun", "datazone:ListDataSourceRunActivities")
        # A Delete tells a batch that goes away from one that is replaced (continuous.py).
        provider.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStackResource"], resources=[cdk.Aws.STACK_ID])
        )
        _nag.acknowledge(
            _nag.cfn_resource(self.queue.node.default_child),
            [
                (
                    "AwsSolutions-SQS3",
                    None,
                    "This queue is itself the dead-letter queue of the continuous batches' rules and intake "
                    "function: what lands here is kept 14 days for a person to read.",
                )
            ],
        )

    def watch(
        self, batch: Construct, *, domain_id: str, properties: dict[str, Any], resource: cdk.CfnResource
    ) -> events.Rule:
        """A rule that sends the intake every data-source run event of ``domain_id``, with the
        batch's ``properties`` and identity (``contract.ContinuousTargetInput``)."""
        stack = cdk.Stack.of(batch)
        _check_size(properties)
        rule = events.Rule(
            batch,
            "Continuous",
            description=f"DataZone data-source runs of the domain, for {batch.node.path} (continuous=True)",
            event_pattern=events.EventPattern(
                source=["aws.datazone"],
                detail_type=list(contract.CONTINUOUS_DETAIL_TYPES),
                detail={"metadata": {"domain": [domain_id]}},
            ),
        )
        target_input: dict[str, Any] = {
            "event": {
                "id": events.EventField.event_id,
                "detailType": events.EventField.detail_type,
                "time": events.EventField.time,
                "detail": events.EventField.from_path("$.detail"),
            },
            "batch": properties,
            "resource": {"stackId": cdk.Aws.STACK_ID, "logicalResourceId": stack.get_logical_id(resource)},
        }
        rule.add_target(
            targets.LambdaFunction(
                self.function,
                event=events.RuleTargetInput.from_object(target_input),
                dead_letter_queue=self.queue,
                retry_attempts=DELIVERY_RETRIES,
                max_event_age=DELIVERY_MAX_AGE,
            )
        )
        return rule


def _check_size(properties: dict[str, Any]) -> None:
    """The batch's settings must fit the rule's input template, or the deploy fails at the rule.
    Only a predictions policy with many long choices comes near."""
    text = json.dumps(properties, default=str)
    estimate = len(text) + TOKEN_ROOM * len(re.findall(r"\$\{Token\[", text)) + TEMPLATE_ROOM
    if estimate > MAX_INPUT_TEMPLATE:
        predictions = len(json.dumps(properties.get(contract.Prop.PREDICTIONS), default=str))
        raise invalid(
            "continuous",
            True,
            f"the rule sends the batch's settings in its input, about {estimate} characters here, over EventBridge's "
            f"{MAX_INPUT_TEMPLATE} for an input template ({predictions} of them the predictions policy): use "
            "AcceptPredictions.all(...)/RejectPredictions.all(...) or fewer choices, or drop continuous=True",
            "MetadataGenerationBatch",
        )
