"""The ``MetadataGenerationRun`` construct and the per-stack provider behind it."""

from __future__ import annotations

import enum
import hashlib
import importlib.util
import json
import re
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
from constructs import Construct, IValidation

from constructs_lib.predictions import AcceptPredictions, RejectPredictions

RESOURCE_TYPE = "Custom::DataZoneMetadataGenerationRun"
PROVIDER_ID = "DataZoneMetadataGenerationRunProvider"

# Kept as Python ints: every Duration.to_seconds() would be a jsii round trip per run.
#: How often the provider's waiter asks ``is_complete`` for the run's status.
POLL_INTERVAL_SECONDS = 10
#: The provider framework's own limit; CloudFormation waits at most one hour for a custom resource.
MAX_TIMEOUT_SECONDS = 60 * 60
DEFAULT_TIMEOUT_SECONDS = 30 * 60
POLL_INTERVAL = cdk.Duration.seconds(POLL_INTERVAL_SECONDS)
MAX_TIMEOUT = cdk.Duration.seconds(MAX_TIMEOUT_SECONDS)
#: Covers one DataZone call at its worst: 5 attempts x (3 s connect + 10 s read) plus
#: botocore's backoff between them (see CLIENT_CONFIG in the handler).
HANDLER_TIMEOUT = cdk.Duration.minutes(3)
#: CloudFormation rejects templates with more outputs than this.
MAX_STACK_OUTPUTS = 200

# From the botocore DataZone model (StartMetadataGenerationRunInput); tests compare them to it.
DOMAIN_ID_PATTERN = re.compile(r"dzd[-_][a-zA-Z0-9_-]{1,36}")
PROJECT_ID_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,36}")
CLIENT_TOKEN_PATTERN = re.compile(r"[\x21-\x7E]{1,128}")
REVISION_MAX_LENGTH = 64
MAX_TYPES = 2
PROJECT_DESIGNATIONS = (
    "PROJECT_OWNER",
    "PROJECT_CONTRIBUTOR",
    "PROJECT_CATALOG_VIEWER",
    "PROJECT_CATALOG_CONSUMER",
    "PROJECT_CATALOG_STEWARD",
)

# These actions have no resource types or condition keys in the Service Authorization Reference,
# so no ARN can scope them: a statement naming a domain ARN would simply never match.
DATAZONE_ACTIONS = (
    "datazone:StartMetadataGenerationRun",
    "datazone:GetMetadataGenerationRun",
    "datazone:CancelMetadataGenerationRun",
)
WILDCARD_REASON = (
    "DataZone metadata-generation actions support no resource-level permissions or condition "
    "keys, so Resource '*' is the only form IAM accepts; DataZone itself limits the role to the "
    "projects it is a member of."
)


class MetadataGenerationType(enum.StrEnum):
    """What a metadata-generation run generates (DataZone ``MetadataGenerationRunType``)."""

    BUSINESS_DESCRIPTIONS = "BUSINESS_DESCRIPTIONS"
    BUSINESS_NAMES = "BUSINESS_NAMES"
    BUSINESS_GLOSSARY_ASSOCIATIONS = "BUSINESS_GLOSSARY_ASSOCIATIONS"


def is_token(value: object) -> bool:
    """Whether ``value`` is an unresolved CDK token.

    Equivalent to ``Token.is_unresolved`` for the strings and lists this construct takes, but
    decided in Python: jsii encodes tokens as ``${Token[...]}`` (strings) and ``#{Token[...]}``
    (list elements), and asking the Node kernel costs one IPC round trip per prop.
    """
    if isinstance(value, str):
        return "${Token[" in value or "#{Token[" in value
    if isinstance(value, (list, tuple)):
        return any(is_token(item) for item in value)
    return False


def _invalid(prop: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"MetadataGenerationRun: {prop}={value!r} is invalid: {allowed}")


def _check_pattern(prop: str, value: str, pattern: re.Pattern[str], allowed: str) -> None:
    if not isinstance(value, str):
        raise _invalid(prop, value, f"must be a string; {allowed}")
    if not is_token(value) and not pattern.fullmatch(value):
        raise _invalid(prop, value, allowed)


def _normalize_types(types: Sequence[MetadataGenerationType | str] | None) -> list[str]:
    if types is None:
        return [MetadataGenerationType.BUSINESS_DESCRIPTIONS.value]
    known = [t.value for t in MetadataGenerationType]
    allowed = f"use 1-{MAX_TYPES} distinct values of MetadataGenerationType ({', '.join(known)})"
    if isinstance(types, str) or not isinstance(types, Sequence):
        raise _invalid("types", types, f"must be a list; {allowed}")
    values = [t.value if isinstance(t, MetadataGenerationType) else t for t in types]
    if not 1 <= len(values) <= MAX_TYPES or len(set(values)) != len(values):
        raise _invalid("types", values, allowed)
    for value in values:
        if not isinstance(value, str) or (not is_token(value) and value not in known):
            raise _invalid("types", values, f"{value!r} is not a known type; {allowed}")
    return values


def _timeout_seconds(timeout: cdk.Duration | None) -> int:
    if timeout is None:
        return DEFAULT_TIMEOUT_SECONDS
    if not isinstance(timeout, cdk.Duration):
        raise _invalid("timeout", timeout, "must be an aws_cdk.Duration, e.g. Duration.minutes(30)")
    seconds = timeout.to_seconds(integral=False)
    low, high = POLL_INTERVAL_SECONDS, MAX_TIMEOUT_SECONDS
    if not low <= seconds <= high or seconds != int(seconds):
        raise _invalid(
            "timeout",
            f"{seconds:g} s",
            f"must be a whole number of seconds from {low} s (the poll interval) to {high} s (1 hour)",
        )
    return int(seconds)


def _predictions_policy(
    accept: AcceptPredictions | None, reject: RejectPredictions | None, wait_for_completion: bool
) -> AcceptPredictions | RejectPredictions | None:
    if accept is not None and reject is not None:
        raise _invalid("reject_predictions", reject, "set accept_predictions or reject_predictions, not both")
    if accept is not None and not isinstance(accept, AcceptPredictions):
        raise _invalid("accept_predictions", accept, "use AcceptPredictions.all(...) or AcceptPredictions.choices(...)")
    if reject is not None and not isinstance(reject, RejectPredictions):
        raise _invalid("reject_predictions", reject, "use RejectPredictions.all(...) or RejectPredictions.choices(...)")
    policy = accept or reject
    if policy is not None and not wait_for_completion:
        prop = "accept_predictions" if accept is not None else "reject_predictions"
        raise _invalid(
            "wait_for_completion",
            False,
            f"{prop} needs the run to finish first: keep wait_for_completion=True or drop {prop}",
        )
    return policy


def _lambda_code_dir() -> str:
    # Found through the import system, not a path relative to the repo, so an installed wheel
    # (site-packages/lambda_src/...) works from any working directory.
    spec = importlib.util.find_spec("lambda_src.metadata_generation_run")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package lambda_src.metadata_generation_run is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))))


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


_PROVIDERS: weakref.WeakKeyDictionary[Construct, MetadataGenerationRunProvider] = weakref.WeakKeyDictionary()


class MetadataGenerationRunProvider(Construct):
    """The one custom-resource provider a stack's ``MetadataGenerationRun``s share.

    Created on first use as a direct child of the stack with id
    ``DataZoneMetadataGenerationRunProvider``; use :meth:`of` rather than constructing it.
    """

    @classmethod
    def of(cls, scope: Construct) -> MetadataGenerationRunProvider:
        # Cached per scope object: a stack of N runs asks jsii for its provider once, not N times.
        cached = _PROVIDERS.get(scope)
        if cached is not None:
            return cached
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if existing is not None and not isinstance(existing, MetadataGenerationRunProvider):
            raise ValueError(f"construct id {PROVIDER_ID!r} is reserved for MetadataGenerationRun's provider")
        provider = existing if existing is not None else cls(stack, PROVIDER_ID)
        _PROVIDERS[scope] = provider
        return provider

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._memberships: dict[str, tuple[datazone.CfnProjectMembership, str]] = {}

        self.log_group = logs.LogGroup(
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

        code = lambda_.Code.from_asset(_lambda_code_dir(), exclude=["__pycache__", "*.pyc", "*.pyo"])
        common: dict[str, Any] = {
            "code": code,
            "runtime": lambda_.Runtime.PYTHON_3_14,
            "architecture": lambda_.Architecture.ARM_64,
            "memory_size": 256,
            "role": self.role,
            "log_group": self.log_group,
            "environment": {"HANDLER_ROLE_ARN": self.role.role_arn},
        }
        on_event = lambda_.Function(
            self,
            "OnEvent",
            handler="index.on_event",
            timeout=HANDLER_TIMEOUT,
            description="Custom::DataZoneMetadataGenerationRun onEvent",
            **common,
        )
        is_complete = lambda_.Function(
            self,
            "IsComplete",
            handler="index.is_complete",
            timeout=HANDLER_TIMEOUT,
            description="Custom::DataZoneMetadataGenerationRun isComplete",
            **common,
        )
        # Our own roles for the framework's three functions instead of the three it would make
        # (each with the AWS managed basic-execution policy): log writes go to our log group only.
        # onEvent needs a role of its own: it starts the waiter, whose isComplete/onTimeout
        # functions would otherwise depend on the state machine that depends on them.
        framework_on_event_role = self._lambda_role("FrameworkOnEventRole", "starts the waiter")
        framework_waiter_role = self._lambda_role("FrameworkWaiterRole", "polls and times out")
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=POLL_INTERVAL,
            total_timeout=MAX_TIMEOUT,
            log_group=self.log_group,
            framework_on_event_role=framework_on_event_role,
            framework_complete_and_timeout_role=framework_waiter_role,
        )
        self.service_token = self.provider.service_token
        self._acknowledge_findings((framework_on_event_role, framework_waiter_role), (on_event, is_complete))
        # Every stack gets it, not only ones with our outputs: the user's own outputs count too.
        self.node.add_validation(_OutputLimit(cdk.Stack.of(self)))

    def _lambda_role(self, construct_id: str, purpose: str) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Custom::DataZoneMetadataGenerationRun provider: {purpose}",
        )
        self.log_group.grant_write(role)
        return role

    def _acknowledge_findings(self, framework_roles: Sequence[iam.Role], handlers: Sequence[lambda_.Function]) -> None:
        """Record, on the exact constructs concerned, why their cdk-nag AwsSolutions findings stand.

        Each acknowledgment names one finding id (with its ``[...]`` applies-to part) and sits on
        the construct that draws it, so it cannot hide findings in the user's own constructs.
        """
        stack = cdk.Stack.of(self)

        wildcards: dict[int, str] = {}
        pending: list[tuple[Construct, list[cdk.Acknowledgment]]] = []

        def arn_wildcard(function: lambda_.IFunction) -> str:
            if id(function) not in wildcards:
                cfn = function.node.default_child
                logical_id = stack.resolve(stack.get_logical_id(cfn))  # type: ignore[arg-type]
                wildcards[id(function)] = f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"
            return wildcards[id(function)]

        def acknowledge(scope: Construct, finding: str, reason: str) -> None:
            # Collected, then one Validations.of(scope).acknowledge(*all) per scope: fewer jsii round trips.
            if not pending or pending[-1][0] is not scope:
                pending.append((scope, []))
            pending[-1][1].append(cdk.Acknowledgment(id=finding, reason=reason))

        acknowledge(self.role, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", WILDCARD_REASON)
        invoke_reason = (
            "lambda:InvokeFunction on '<function arn>:*' is how grantInvoke covers the function's "
            "versions and aliases; it names one function of this provider, no other."
        )
        for role in framework_roles:
            for handler in handlers:
                acknowledge(role, arn_wildcard(handler), invoke_reason)
        waiter_targets = (
            self.provider.node.find_child("framework-isComplete"),
            self.provider.node.find_child("framework-onTimeout"),
        )
        for target in waiter_targets:
            acknowledge(self.provider, arn_wildcard(target), invoke_reason)  # type: ignore[arg-type]
        acknowledge(
            self.provider,
            "AwsSolutions::AwsSolutions-SF1",
            "The provider framework's waiter state machine carries the CloudFormation presigned "
            "ResponseURL in its execution data; logging ALL events would write it to CloudWatch Logs.",
        )
        acknowledge(
            self.provider,
            "AwsSolutions::AwsSolutions-SF2",
            "The waiter is a single poll-and-wait loop owned by aws-cdk-lib's provider framework; "
            "the handler logs carry run id and status, X-Ray adds cost without insight.",
        )
        for scope, acknowledgments in pending:
            cdk.Validations.of(scope).acknowledge(*acknowledgments)

    def grant(self, action: str) -> None:
        """Add ``action`` to the handler's DataZone statement, once, when a run first needs it."""
        if action not in self._granted:
            self._granted.add(action)
            self._statement.add_actions(action)

    def membership(self, domain_id: str, project_id: str, designation: str) -> datazone.CfnProjectMembership:
        """The stack's single membership of the handler role in (domain, project)."""
        key = json.dumps([self._stable(domain_id), self._stable(project_id)], sort_keys=True)
        found = self._memberships.get(key)
        if found is not None:
            membership, existing = found
            if existing != designation:
                raise _invalid(
                    "project_designation",
                    designation,
                    f"another MetadataGenerationRun in this stack already grants {existing} in the same "
                    "project; use the same designation for every run of a project",
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

    def _stable(self, value: str) -> Any:
        # A token's string form depends on how many tokens were made before it; its resolved
        # CloudFormation form ({"Ref": ...}) does not, so construct ids stay put across edits.
        return cdk.Stack.of(self).resolve(value) if is_token(value) else value


class MetadataGenerationRun(Construct):
    """Starts an Amazon DataZone metadata-generation run for one asset when the stack deploys.

    The run is started on Create, and again on Update when its inputs or ``rerun_token`` change.
    The deployment waits for a terminal status (unless ``wait_for_completion=False``) and fails
    with DataZone's own error messages when the run fails.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_id: str,
        project_id: str,
        asset_id: str,
        asset_revision: str | None = None,
        types: Sequence[MetadataGenerationType | str] | None = None,
        wait_for_completion: bool = True,
        timeout: cdk.Duration | None = None,
        fail_on_partial_success: bool = False,
        cancel_on_delete: bool = True,
        rerun_token: str | None = None,
        client_token: str | None = None,
        grant_project_access: bool = True,
        project_designation: str = "PROJECT_CONTRIBUTOR",
        create_outputs: bool = True,
        accept_predictions: AcceptPredictions | None = None,
        reject_predictions: RejectPredictions | None = None,
    ) -> None:
        """
        :param domain_id: DataZone domain id (``dzd_...``), or a token such as ``CfnDomain.attr_id``.
        :param project_id: id of the project that owns the asset (and the run), or a token.
        :param asset_id: id of the asset to generate metadata for, or a token.
        :param asset_revision: asset revision to target. Default: the latest revision.
        :param types: 1-2 distinct ``MetadataGenerationType`` values (or their strings).
            Default: ``[BUSINESS_DESCRIPTIONS]``.
        :param wait_for_completion: wait until the run is SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED
            or CANCELED. Default: True. When False the deploy goes on as soon as the run is
            submitted and ``run_status`` is the status at that moment.
        :param timeout: how long to wait for the run, from its creation; a run still going then
            fails the deploy. Default: 30 minutes; at least the 10 s poll interval, at most 1 hour.
        :param fail_on_partial_success: fail the deploy when the run ends PARTIALLY_SUCCEEDED.
            Default: False (FAILED and CANCELED always fail it).
        :param cancel_on_delete: cancel the run on Delete (or replacement) when it is still
            SUBMITTED or IN_PROGRESS. Default: True.
        :param rerun_token: any change of this value starts a new run on the next deploy (e.g. a
            hash of the asset's schema). Default: no token; a new run starts only when domain,
            project, asset, revision or types change.
        :param client_token: DataZone idempotency token for the start call. Default: derived from
            the stack id, logical id and CloudFormation request id, so a retried request never
            starts a second run while every new request (create, or update that needs a new run)
            gets a new token.
        :param grant_project_access: add the handler's role to the owning project as
            ``project_designation`` with ``AWS::DataZone::ProjectMembership`` and make the run
            depend on it. Default: True. With False the role must already be a project member.
        :param project_designation: the membership's designation. Default: PROJECT_CONTRIBUTOR.
        :param create_outputs: add stack outputs for the run ID and status (and the asset revision
            when predictions are accepted or rejected). Default: True.
        :param accept_predictions: after the run SUCCEEDED or PARTIALLY_SUCCEEDED, accept its
            predictions on the asset and revision it targeted, e.g. ``AcceptPredictions.all(threshold=0.8)``.
            Default: None, predictions wait for a person in the data portal. Needs
            ``wait_for_completion=True``; not undone on Delete.
        :param reject_predictions: likewise, but reject them (``RejectPredictions.all()``).
            Default: None. At most one of ``accept_predictions`` and ``reject_predictions``.
        """
        super().__init__(scope, construct_id)
        _check_pattern(
            "domain_id",
            domain_id,
            DOMAIN_ID_PATTERN,
            f"use a DataZone domain id matching {DOMAIN_ID_PATTERN.pattern}, e.g. 'dzd_abc123'",
        )
        _check_pattern(
            "project_id",
            project_id,
            PROJECT_ID_PATTERN,
            f"use a DataZone project id matching {PROJECT_ID_PATTERN.pattern}",
        )
        if not isinstance(asset_id, str) or not asset_id:
            raise _invalid("asset_id", asset_id, "use the non-empty id of a DataZone asset")
        if asset_revision is not None and (
            not isinstance(asset_revision, str)
            or (not is_token(asset_revision) and not 1 <= len(asset_revision) <= REVISION_MAX_LENGTH)
        ):
            raise _invalid(
                "asset_revision",
                asset_revision,
                f"use 1-{REVISION_MAX_LENGTH} characters, or None for the latest revision",
            )
        type_values = _normalize_types(types)
        timeout_seconds = _timeout_seconds(timeout)
        if client_token is not None:
            _check_pattern(
                "client_token",
                client_token,
                CLIENT_TOKEN_PATTERN,
                "use 1-128 printable ASCII characters without spaces, or None to derive one",
            )
        if rerun_token is not None and not isinstance(rerun_token, str):
            raise _invalid("rerun_token", rerun_token, "use a string (e.g. a schema hash) or None")
        if project_designation not in PROJECT_DESIGNATIONS and not is_token(project_designation):
            raise _invalid("project_designation", project_designation, f"use one of {', '.join(PROJECT_DESIGNATIONS)}")

        predictions = _predictions_policy(accept_predictions, reject_predictions, wait_for_completion)

        provider = MetadataGenerationRunProvider.of(scope)
        properties: dict[str, Any] = {
            "DomainId": domain_id,
            "ProjectId": project_id,
            "AssetId": asset_id,
            "Types": type_values,
            "WaitForCompletion": wait_for_completion,
            "TimeoutSeconds": timeout_seconds,
            "FailOnPartialSuccess": fail_on_partial_success,
            "CancelOnDelete": cancel_on_delete,
        }
        optional = {"AssetRevision": asset_revision, "RerunToken": rerun_token, "ClientToken": client_token}
        properties.update({key: value for key, value in optional.items() if value is not None})
        if predictions is not None:
            properties["Predictions"] = predictions.to_property()
            provider.grant(predictions.iam_action)

        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
        )
        node = self.node  # one jsii round trip, reused below
        if grant_project_access:
            # A dependency of this construct is one of every resource in it: the custom resource.
            node.add_dependency(provider.membership(domain_id, project_id, project_designation))

        # Tokens made on first use (see the properties): a run nobody reads costs no jsii calls.
        self._attributes: dict[str, str] = {}
        self._has_revision = predictions is not None

        if create_outputs:
            path = node.path
            about = "the asset" if is_token(asset_id) else f"asset {asset_id}"
            cdk.CfnOutput(
                self,
                "RunIdOutput",
                value=self.run_id,
                description=f"DataZone metadata-generation run ID for {about} ({path})",
            )
            cdk.CfnOutput(
                self,
                "RunStatusOutput",
                value=self.run_status,
                description=f"DataZone metadata-generation run status for {about} ({path})",
            )
            if self.asset_revision is not None:
                cdk.CfnOutput(
                    self,
                    "AssetRevisionOutput",
                    value=self.asset_revision,
                    description=f"Revision of {about} after its predictions were applied ({path})",
                )

    def _attribute(self, name: str) -> str:
        if name not in self._attributes:
            self._attributes[name] = self.resource.get_att_string(name)
        return self._attributes[name]

    @property
    def run_id(self) -> str:
        """The run ID (``Fn::GetAtt`` of the custom resource), a token."""
        return self._attribute("RunId")

    @property
    def run_status(self) -> str:
        """The run's status when the deployment finished with it, a token."""
        return self._attribute("Status")

    @property
    def asset_revision(self) -> str | None:
        """The asset revision that accepting/rejecting predictions produced, a token; None
        unless ``accept_predictions`` or ``reject_predictions`` is set."""
        return self._attribute("AssetRevision") if self._has_revision else None
