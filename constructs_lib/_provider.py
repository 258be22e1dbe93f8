"""The custom-resource provider a stack's runs and batches share.

One per stack (a direct child with id ``DataZoneMetadataGenerationRunProvider``): the aws-cdk-lib
``custom_resources.Provider``, its onEvent/isComplete functions, the handler role and its grants,
and the role's project memberships. ``MetadataGenerationRun`` and ``MetadataGenerationBatch`` use it
only through what has no underscore here: :meth:`Provider.of`, :meth:`Provider.custom_resource`,
:meth:`Provider.grant`, :meth:`Provider.membership`, :meth:`Provider.worker_function`,
:meth:`Provider.trust`, :meth:`Provider.acknowledge` and ``Provider.role``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_datazone as datazone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct, IValidation

from constructs_lib import _nag
from constructs_lib._handler import contract
from constructs_lib._props import RUN
from constructs_lib._singleton import stack_singleton
from constructs_lib._validation import invalid, is_token

PROVIDER_ID = "DataZoneMetadataGenerationRunProvider"

_POLL_INTERVAL = cdk.Duration.seconds(contract.POLL_INTERVAL_SECONDS)
#: CloudFormation's limit for a custom resource, and the provider framework waiter's: each
#: resource states it, so CloudFormation's own limit is known to sit above the longest timeout.
_SERVICE_TIMEOUT = cdk.Duration.seconds(contract.SERVICE_TIMEOUT_SECONDS)
_HANDLER_TIMEOUT = cdk.Duration.seconds(contract.HANDLER_TIMEOUT_SECONDS)
#: CloudFormation rejects templates with more outputs than this.
MAX_STACK_OUTPUTS = 200

# These actions have no resource types or condition keys in the Service Authorization Reference,
# so no ARN can scope them: a statement naming a domain ARN would simply never match.
DATAZONE_ACTIONS = (
    "datazone:StartMetadataGenerationRun",
    "datazone:GetMetadataGenerationRun",
    "datazone:CancelMetadataGenerationRun",
    # A Delete for a Create CloudFormation stopped waiting for finds its run by listing.
    "datazone:ListMetadataGenerationRuns",
)
WILDCARD_REASON = (
    "DataZone metadata-generation actions support no resource-level permissions or condition "
    "keys, so Resource '*' is the only form IAM accepts; DataZone itself limits the role to the "
    "projects it is a member of."
)


def lambda_code_dir() -> str:
    # Found through the import system, not a path relative to the repo, so an installed wheel
    # (site-packages/constructs_lib/_handler) works from any working directory; resolved because
    # in the repo it is a link to lambda_src/metadata_generation_run.
    spec = importlib.util.find_spec("constructs_lib._handler")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("constructs_lib._handler is missing: reinstall datazone-metadata-generation-constructs")
    return os.path.realpath(Path(next(iter(spec.submodule_search_locations))))


@jsii.implements(IValidation)
class _OutputLimit:
    """Turns CloudFormation's deploy-time 200-output limit into a synth-time error."""

    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        outputs = sum(1 for node in self._stack.node.find_all() if isinstance(node, cdk.CfnOutput))
        if outputs <= MAX_STACK_OUTPUTS:
            return []
        return [
            f"stack {self._stack.stack_name} has {outputs} outputs, more than CloudFormation's limit of "
            f"{MAX_STACK_OUTPUTS}: pass create_outputs=False to MetadataGenerationRun (each adds 2 or 3) "
            "and read run_id/run_status where you need them"
        ]


_PROVIDERS: weakref.WeakKeyDictionary[Construct, Provider] = weakref.WeakKeyDictionary()


class Provider(Construct):
    """The one custom-resource provider a stack's ``MetadataGenerationRun``s and
    ``MetadataGenerationBatch``es share.

    Created on first use as a direct child of the stack with id
    ``DataZoneMetadataGenerationRunProvider``; use :meth:`of` rather than constructing it.
    """

    @classmethod
    def of(cls, scope: Construct) -> Provider:
        """The provider of ``scope``'s stack, made on first use."""
        return stack_singleton(cls, scope, PROVIDER_ID, _PROVIDERS, "MetadataGenerationRun's provider")

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._memberships: dict[str, tuple[datazone.CfnProjectMembership, str]] = {}

        self._log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.role = self._lambda_role("HandlerRole", "starts, polls and cancels DataZone metadata-generation runs")
        # One statement for every run in the stack: its size does not grow with the number of runs.
        self._statement = iam.PolicyStatement(actions=list(DATAZONE_ACTIONS), resources=["*"])
        self._granted: set[str] = set(DATAZONE_ACTIONS)
        self.role.add_to_principal_policy(self._statement)
        # Rollbacks and in-flight deletes are told apart from user changes by the stack's status;
        # only this stack's (one provider per stack).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[cdk.Aws.STACK_ID])
        )

        code = lambda_.Code.from_asset(lambda_code_dir(), exclude=["__pycache__", "*.pyc", "*.pyo"])
        self._common: dict[str, Any] = {
            "code": code,
            "runtime": lambda_.Runtime.PYTHON_3_14,
            "architecture": lambda_.Architecture.ARM_64,
            "memory_size": 256,
            "role": self.role,
            "log_group": self._log_group,
            "environment": {"HANDLER_ROLE_ARN": self.role.role_arn},
        }
        on_event = lambda_.Function(
            self,
            "OnEvent",
            handler="entry.on_event",
            timeout=_HANDLER_TIMEOUT,
            description="Custom::DataZoneMetadataGenerationRun onEvent",
            **self._common,
        )
        is_complete = lambda_.Function(
            self,
            "IsComplete",
            handler="entry.is_complete",
            timeout=_HANDLER_TIMEOUT,
            description="Custom::DataZoneMetadataGenerationRun isComplete",
            **self._common,
        )
        # Our own roles for the framework's three functions instead of the three it would make
        # (each with the AWS managed basic-execution policy): log writes go to our log group only.
        # onEvent needs a role of its own: it starts the waiter, whose isComplete/onTimeout
        # functions would otherwise depend on the state machine that depends on them.
        framework_on_event_role = self._lambda_role("FrameworkOnEventRole", "starts the waiter")
        framework_waiter_role = self._lambda_role("FrameworkWaiterRole", "polls and times out")
        self._framework = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=_POLL_INTERVAL,
            total_timeout=_SERVICE_TIMEOUT,
            log_group=self._log_group,
            framework_on_event_role=framework_on_event_role,
            framework_complete_and_timeout_role=framework_waiter_role,
        )
        self._service_token = self._framework.service_token
        self._handler_policy = _nag.policy_of(self.role)
        self._acknowledge_findings((framework_on_event_role, framework_waiter_role), (on_event, is_complete))
        # Every stack gets it, not only ones with our outputs: the user's own outputs count too.
        self.node.add_validation(_OutputLimit(cdk.Stack.of(self)))

    def custom_resource(self, scope: Construct, resource_type: str, properties: dict[str, Any]) -> cdk.CustomResource:
        """``scope``'s resource of ``resource_type`` (its child ``Resource``), served by this provider."""
        return cdk.CustomResource(
            scope,
            "Resource",
            service_token=self._service_token,
            resource_type=resource_type,
            properties=properties,
            service_timeout=_SERVICE_TIMEOUT,
        )

    def grant(self, *actions: str) -> None:
        """Add ``actions`` to the handler's DataZone statement, each once, when a run or batch
        first needs it (the statement then grows only with what the stack uses)."""
        for action in actions:
            if action not in self._granted:
                self._granted.add(action)
                self._statement.add_actions(action)

    def membership(
        self, domain_id: str, project_id: str, designation: str, owner: str = RUN
    ) -> datazone.CfnProjectMembership:
        """The stack's single membership of the handler role in (domain, project), for the runs
        and batches (``owner`` names the construct asking, in errors) of that project."""
        key = json.dumps([self._stable(domain_id), self._stable(project_id)], sort_keys=True)
        found = self._memberships.get(key)
        if found is not None:
            membership, existing = found
            if existing != designation:
                raise invalid(
                    "project_designation",
                    designation,
                    f"another run or batch in this stack already grants {existing} in the same project; "
                    "use the same designation for every MetadataGenerationRun and MetadataGenerationBatch "
                    "of a project",
                    owner,
                )
            return membership
        digest = hashlib.sha256(key.encode()).hexdigest()[:8].upper()
        membership = datazone.CfnProjectMembership(
            self,
            f"ProjectMembership{digest}",
            domain_identifier=domain_id,
            project_identifier=project_id,
            designation=designation,
            member=datazone.CfnProjectMembership.MemberProperty(user_identifier=self.role.role_arn),
        )
        self._memberships[key] = (membership, designation)
        return membership

    def trust(self, service: str) -> None:
        """Let ``service`` (e.g. ``states.amazonaws.com``) assume the handler role too: what it
        runs calls DataZone for the same runs, under the same grants and memberships."""
        self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]  # made with assumed_by
            iam.PolicyStatement(actions=["sts:AssumeRole"], principals=[iam.ServicePrincipal(service)])
        )

    def acknowledge(self, entries: Sequence[_nag.Entry]) -> None:
        """Say why the cdk-nag findings ``entries`` on the handler role's policy stand: for what a
        batch grants the role (its reasons join the provider's own, see :func:`_nag.acknowledge`)."""
        _nag.acknowledge(self._handler_policy, entries)

    def worker_function(self, scope: Construct, construct_id: str, **settings: Any) -> lambda_.Function:
        """Another function of the handler's code asset, role and log group (the batch
        workflow's worker): one asset upload, one role to grant DataZone actions to."""
        return lambda_.Function(scope, construct_id, **{**self._common, **settings})

    def _lambda_role(self, construct_id: str, purpose: str) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Custom::DataZoneMetadataGenerationRun provider: {purpose}",
        )
        self._log_group.grant_write(role)
        return role

    def _acknowledge_findings(self, framework_roles: Sequence[iam.Role], handlers: Sequence[lambda_.Function]) -> None:
        """Record, on the exact resources concerned, why their cdk-nag AwsSolutions findings stand
        (for cdk-nag 2 and 3: see :mod:`constructs_lib._nag`)."""
        stack = cdk.Stack.of(self)

        def arn_wildcard(function: IConstruct) -> str:
            logical_id = stack.resolve(stack.get_logical_id(_nag.cfn_resource(function.node.default_child)))
            return f"Resource::<{logical_id}.Arn>:*"

        invoke = "AwsSolutions-IAM5"
        invoke_reason = (
            "lambda:InvokeFunction on '<function arn>:*' is how grantInvoke covers the function's "
            "versions and aliases; it names one function of this provider, no other."
        )
        # No cache keyed by id(): jsii hands out short-lived proxies, and a freed proxy's id() is
        # reused by the next lookup, which then got another function's finding (a flaky cdk-nag 2
        # failure: the onTimeout wildcard went unsuppressed).
        handler_wildcards = [arn_wildcard(handler) for handler in handlers]
        findings: list[tuple[cdk.CfnResource, list[_nag.Entry]]] = [
            (self._handler_policy, [("AwsSolutions-IAM5", "Resource::*", WILDCARD_REASON)])
        ]
        findings += [
            (_nag.policy_of(role), [(invoke, wildcard, invoke_reason) for wildcard in handler_wildcards])
            for role in framework_roles
        ]
        waiter = self._framework.node.find_child("waiter-state-machine")
        findings.append(
            (
                _nag.policy_of(waiter.node.find_child("Role")),
                [
                    (invoke, arn_wildcard(self._framework.node.find_child(target)), invoke_reason)
                    for target in ("framework-isComplete", "framework-onTimeout")
                ],
            )
        )
        findings.append(
            (
                _nag.cfn_resource(waiter.node.find_child("Resource")),
                [
                    (
                        "AwsSolutions-SF1",
                        None,
                        "The provider framework's waiter state machine carries the CloudFormation presigned "
                        "ResponseURL in its execution data; logging ALL events would write it to CloudWatch Logs.",
                    ),
                    (
                        "AwsSolutions-SF2",
                        None,
                        "The waiter is a single poll-and-wait loop owned by aws-cdk-lib's provider framework; "
                        "the handler logs carry run id and status, X-Ray adds cost without insight.",
                    ),
                ],
            )
        )
        for resource, entries in findings:
            _nag.acknowledge(resource, entries)

    def _stable(self, value: str) -> Any:
        # A token's string form depends on how many tokens were made before it; its resolved
        # CloudFormation form ({"Ref": ...}) does not, so construct ids stay put across edits.
        return cdk.Stack.of(self).resolve(value) if is_token(value) else value
