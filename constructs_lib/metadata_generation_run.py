"""The ``MetadataGenerationRun`` construct and the per-stack provider behind it."""

from __future__ import annotations

import enum
import hashlib
import importlib.util
import json
import os
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
from constructs import Construct, IConstruct, IValidation

from constructs_lib import _nag
from constructs_lib._handler import contract
from constructs_lib._handler.contract import Attr, Prop
from constructs_lib._signature import show_init_signature
from constructs_lib._singleton import stack_singleton
from constructs_lib._validation import invalid, is_token
from constructs_lib.predictions import AcceptPredictions, RejectPredictions

RESOURCE_TYPE = contract.RESOURCE_TYPE
PROVIDER_ID = "DataZoneMetadataGenerationRunProvider"

# Kept as Python ints: every Duration.to_seconds() would be a jsii round trip per run.
POLL_INTERVAL_SECONDS = contract.POLL_INTERVAL_SECONDS
MAX_TIMEOUT_SECONDS = contract.MAX_TIMEOUT_SECONDS
DEFAULT_TIMEOUT_SECONDS = contract.DEFAULT_TIMEOUT_SECONDS
POLL_INTERVAL = cdk.Duration.seconds(POLL_INTERVAL_SECONDS)
#: The waiter's limit: the provider framework's, and CloudFormation's for a custom resource.
WAITER_TIMEOUT = cdk.Duration.seconds(contract.SERVICE_TIMEOUT_SECONDS)
SERVICE_TIMEOUT = cdk.Duration.seconds(contract.SERVICE_TIMEOUT_SECONDS)
HANDLER_TIMEOUT = cdk.Duration.seconds(contract.HANDLER_TIMEOUT_SECONDS)
#: CloudFormation rejects templates with more outputs than this.
MAX_STACK_OUTPUTS = 200

DOMAIN_ID_PATTERN = contract.DOMAIN_ID_RE
PROJECT_ID_PATTERN = contract.PROJECT_ID_RE
REVISION_MAX_LENGTH = contract.REVISION_MAX
MAX_TYPES = contract.TYPES_MAX
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
    # A Delete for a Create CloudFormation stopped waiting for finds its run by listing.
    "datazone:ListMetadataGenerationRuns",
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


_invalid = invalid

# Shared with MetadataGenerationBatch, so both constructs explain a bad id or timeout alike.
DOMAIN_ID_ALLOWED = f"use a DataZone domain id matching {DOMAIN_ID_PATTERN.pattern}, e.g. 'dzd_abc123'"
PROJECT_ID_ALLOWED = f"use a DataZone project id matching {PROJECT_ID_PATTERN.pattern}"


def timeout_allowed(low: str, stop: str) -> str:
    """What a deploy-time ``timeout`` may be, and why the upper bound is below an hour."""
    high = MAX_TIMEOUT_SECONDS
    return (
        f"must be a whole number of seconds from {low} to {high} s ({high // 60} minutes: CloudFormation gives a "
        f"custom resource {contract.SERVICE_TIMEOUT_SECONDS // 60} minutes, and the handler needs the rest to "
        f"notice the timeout, {stop} and report it)"
    )


def _check_pattern(prop: str, value: str, pattern: re.Pattern[str], allowed: str) -> None:
    if not isinstance(value, str):
        raise _invalid(prop, value, f"must be a string; {allowed}")
    if not is_token(value) and not pattern.fullmatch(value):
        raise _invalid(prop, value, allowed)


def _normalize_types(
    types: Sequence[MetadataGenerationType | str] | None, owner: str = "MetadataGenerationRun"
) -> list[str]:
    if types is None:
        return [MetadataGenerationType.BUSINESS_DESCRIPTIONS.value]
    known = [t.value for t in MetadataGenerationType]
    allowed = f"use 1-{MAX_TYPES} distinct values of MetadataGenerationType ({', '.join(known)})"
    if isinstance(types, str) or not isinstance(types, Sequence):
        raise invalid("types", types, f"must be a list; {allowed}", owner)
    values = [t.value if isinstance(t, MetadataGenerationType) else t for t in types]
    if not 1 <= len(values) <= MAX_TYPES or len(set(values)) != len(values):
        raise invalid("types", values, allowed, owner)
    for value in values:
        if not isinstance(value, str) or (not is_token(value) and value not in known):
            raise invalid("types", values, f"{value!r} is not a known type; {allowed}", owner)
    return values


def _timeout_seconds(timeout: cdk.Duration | None) -> int:
    if timeout is None:
        return DEFAULT_TIMEOUT_SECONDS
    if not isinstance(timeout, cdk.Duration):
        raise _invalid("timeout", timeout, "must be an aws_cdk.Duration, e.g. Duration.minutes(30)")
    seconds = timeout.to_seconds(integral=False)
    low, high = POLL_INTERVAL_SECONDS, MAX_TIMEOUT_SECONDS
    if not low <= seconds <= high or seconds != int(seconds):
        raise _invalid("timeout", f"{seconds:g} s", timeout_allowed(f"{low} s (the poll interval)", "cancel the run"))
    return int(seconds)


def _predictions_policy(
    accept: AcceptPredictions | None,
    reject: RejectPredictions | None,
    wait_for_completion: bool,
    owner: str = "MetadataGenerationRun",
) -> AcceptPredictions | RejectPredictions | None:
    if accept is not None and reject is not None:
        raise invalid("reject_predictions", reject, "set accept_predictions or reject_predictions, not both", owner)
    if accept is not None and not isinstance(accept, AcceptPredictions):
        allowed = "use AcceptPredictions.all(...) or AcceptPredictions.choices(...)"
        raise invalid("accept_predictions", accept, allowed, owner)
    if reject is not None and not isinstance(reject, RejectPredictions):
        allowed = "use RejectPredictions.all(...) or RejectPredictions.choices(...)"
        raise invalid("reject_predictions", reject, allowed, owner)
    policy = accept or reject
    if policy is not None and not wait_for_completion:
        prop = "accept_predictions" if accept is not None else "reject_predictions"
        raise invalid(
            "wait_for_completion",
            False,
            f"{prop} needs the run to finish first: keep wait_for_completion=True or drop {prop}",
            owner,
        )
    return policy


def _lambda_code_dir() -> str:
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


_PROVIDERS: weakref.WeakKeyDictionary[Construct, _MetadataGenerationRunProvider] = weakref.WeakKeyDictionary()


class _MetadataGenerationRunProvider(Construct):
    """The one custom-resource provider a stack's ``MetadataGenerationRun``s share.

    Created on first use as a direct child of the stack with id
    ``DataZoneMetadataGenerationRunProvider``; use :meth:`of` rather than constructing it.
    """

    @classmethod
    def of(cls, scope: Construct) -> _MetadataGenerationRunProvider:
        return stack_singleton(cls, scope, PROVIDER_ID, _PROVIDERS, "MetadataGenerationRun's provider")

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
        # Rollbacks and in-flight deletes are told apart from user changes by the stack's status;
        # only this stack's (one provider per stack).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[cdk.Aws.STACK_ID])
        )

        code = lambda_.Code.from_asset(_lambda_code_dir(), exclude=["__pycache__", "*.pyc", "*.pyo"])
        self._common: dict[str, Any] = {
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
            handler="entry.on_event",
            timeout=HANDLER_TIMEOUT,
            description="Custom::DataZoneMetadataGenerationRun onEvent",
            **self._common,
        )
        is_complete = lambda_.Function(
            self,
            "IsComplete",
            handler="entry.is_complete",
            timeout=HANDLER_TIMEOUT,
            description="Custom::DataZoneMetadataGenerationRun isComplete",
            **self._common,
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
            total_timeout=WAITER_TIMEOUT,
            log_group=self.log_group,
            framework_on_event_role=framework_on_event_role,
            framework_complete_and_timeout_role=framework_waiter_role,
        )
        self.service_token = self.provider.service_token
        #: The handler role's policy resource: batches acknowledge their grants on it too.
        self.handler_policy = _nag.policy_of(self.role)
        self._acknowledge_findings((framework_on_event_role, framework_waiter_role), (on_event, is_complete))
        # Every stack gets it, not only ones with our outputs: the user's own outputs count too.
        self.node.add_validation(_OutputLimit(cdk.Stack.of(self)))

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
        self.log_group.grant_write(role)
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
            (self.handler_policy, [("AwsSolutions-IAM5", "Resource::*", WILDCARD_REASON)])
        ]
        findings += [
            (_nag.policy_of(role), [(invoke, wildcard, invoke_reason) for wildcard in handler_wildcards])
            for role in framework_roles
        ]
        waiter = self.provider.node.find_child("waiter-state-machine")
        findings.append(
            (
                _nag.policy_of(waiter.node.find_child("Role")),
                [
                    (invoke, arn_wildcard(self.provider.node.find_child(target)), invoke_reason)
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

    def _grant(self, action: str) -> None:
        """Add ``action`` to the handler's DataZone statement, once, when a run first needs it."""
        if action not in self._granted:
            self._granted.add(action)
            self._statement.add_actions(action)

    def membership(
        self, domain_id: str, project_id: str, designation: str, owner: str = "MetadataGenerationRun"
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

    def __new__(cls, *args: Any, **kwargs: Any) -> MetadataGenerationRun:
        # client_token is out of the typed signature, so a type checker flags it; a caller that
        # is not type-checked (or passes **props) still learns why, not Python's bare TypeError.
        if "client_token" in kwargs:
            raise _invalid(
                "client_token",
                kwargs["client_token"],
                "the prop was removed in 0.2.0: a fixed token made DataZone return runs started for earlier "
                "requests, so the token is now always derived from the CloudFormation request; drop the "
                "argument (use rerun_token to ask for a new run)",
            )
        return super().__new__(cls)

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
            fails the deploy (after the run is cancelled). Default: 30 minutes; at least the 10 s poll
            interval, at most 55 minutes (CloudFormation waits an hour, counted from the request).
        :param fail_on_partial_success: fail the deploy when the run ends PARTIALLY_SUCCEEDED.
            Default: False (FAILED and CANCELED always fail it).
        :param cancel_on_delete: cancel the run on Delete (or replacement) when it is still
            SUBMITTED or IN_PROGRESS. Default: True.
        :param rerun_token: any change of this value starts a new run on the next deploy (e.g. a
            hash of the asset's schema). Default: no token; a new run starts only when domain,
            project, asset, revision or types change.
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
        predictions = _predictions_policy(accept_predictions, reject_predictions, wait_for_completion)
        properties = _run_properties(
            domain_id=domain_id,
            project_id=project_id,
            asset_id=asset_id,
            asset_revision=asset_revision,
            types=types,
            wait_for_completion=wait_for_completion,
            timeout=timeout,
            fail_on_partial_success=fail_on_partial_success,
            cancel_on_delete=cancel_on_delete,
            rerun_token=rerun_token,
        )
        if project_designation not in PROJECT_DESIGNATIONS and not is_token(project_designation):
            raise _invalid("project_designation", project_designation, f"use one of {', '.join(PROJECT_DESIGNATIONS)}")

        provider = _MetadataGenerationRunProvider.of(scope)
        if predictions is not None:
            properties[Prop.PREDICTIONS] = predictions.to_property()
            provider._grant(predictions.iam_action)

        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            # Explicit, so CloudFormation's own limit is known to sit above the longest timeout.
            service_timeout=SERVICE_TIMEOUT,
        )
        node = self.node  # one jsii round trip, reused below
        if grant_project_access:
            # A dependency of this construct is one of every resource in it: the custom resource.
            node.add_dependency(provider.membership(domain_id, project_id, project_designation))

        # Tokens made on first use (see the properties): a run nobody reads costs no jsii calls.
        self._attributes: dict[str, str] = {}
        self._has_revision = predictions is not None
        if create_outputs:
            self._add_outputs(node.path, "the asset" if is_token(asset_id) else f"asset {asset_id}")

    def _add_outputs(self, path: str, about: str) -> None:
        outputs = [
            ("RunIdOutput", self.run_id, f"DataZone metadata-generation run ID for {about} ({path})"),
            ("RunStatusOutput", self.run_status, f"DataZone metadata-generation run status for {about} ({path})"),
        ]
        if self.applied_asset_revision is not None:
            # The output id keeps its 0.1 name: renaming it would replace every deployed output.
            outputs.append(
                (
                    "AssetRevisionOutput",
                    self.applied_asset_revision,
                    f"Revision of {about} after its predictions were applied ({path})",
                )
            )
        for output_id, value, description in outputs:
            cdk.CfnOutput(self, output_id, value=value, description=description)

    def _attribute(self, name: str) -> str:
        if name not in self._attributes:
            self._attributes[name] = self.resource.get_att_string(name)
        return self._attributes[name]

    @property
    def run_id(self) -> str:
        """The run ID (``Fn::GetAtt <resource>.RunId``), a token."""
        return self._attribute(Attr.RUN_ID)

    @property
    def run_status(self) -> str:
        """The run's status when the deployment finished with it (``Fn::GetAtt <resource>.Status``), a token."""
        return self._attribute(Attr.STATUS)

    @property
    def applied_asset_revision(self) -> str | None:
        """The asset revision that accepting/rejecting the run's predictions produced
        (``Fn::GetAtt <resource>.AssetRevision``), a token; None unless ``accept_predictions``
        or ``reject_predictions`` is set. Not to be confused with the ``asset_revision`` prop,
        the revision the run reads."""
        return self._attribute(Attr.ASSET_REVISION) if self._has_revision else None


show_init_signature(MetadataGenerationRun)


def _run_properties(
    *,
    domain_id: str,
    project_id: str,
    asset_id: str,
    asset_revision: str | None,
    types: Sequence[MetadataGenerationType | str] | None,
    wait_for_completion: bool,
    timeout: cdk.Duration | None,
    fail_on_partial_success: bool,
    cancel_on_delete: bool,
    rerun_token: str | None,
) -> dict[str, Any]:
    """The validated ResourceProperties of one run (all but Predictions)."""
    _check_pattern("domain_id", domain_id, DOMAIN_ID_PATTERN, DOMAIN_ID_ALLOWED)
    _check_pattern("project_id", project_id, PROJECT_ID_PATTERN, PROJECT_ID_ALLOWED)
    if not isinstance(asset_id, str) or not asset_id:
        raise _invalid("asset_id", asset_id, "use the non-empty id of a DataZone asset")
    if asset_revision is not None and (
        not isinstance(asset_revision, str)
        or (not is_token(asset_revision) and not 1 <= len(asset_revision) <= REVISION_MAX_LENGTH)
    ):
        raise _invalid(
            "asset_revision", asset_revision, f"use 1-{REVISION_MAX_LENGTH} characters, or None for the latest revision"
        )
    if rerun_token is not None and not isinstance(rerun_token, str):
        raise _invalid("rerun_token", rerun_token, "use a string (e.g. a schema hash) or None")
    properties: dict[str, Any] = {
        Prop.DOMAIN_ID: domain_id,
        Prop.PROJECT_ID: project_id,
        Prop.ASSET_ID: asset_id,
        Prop.TYPES: _normalize_types(types),
        Prop.WAIT_FOR_COMPLETION: wait_for_completion,
        Prop.TIMEOUT_SECONDS: _timeout_seconds(timeout),
        Prop.FAIL_ON_PARTIAL_SUCCESS: fail_on_partial_success,
        Prop.CANCEL_ON_DELETE: cancel_on_delete,
    }
    optional = {Prop.ASSET_REVISION: asset_revision, Prop.RERUN_TOKEN: rerun_token}
    properties.update({key: value for key, value in optional.items() if value is not None})
    return properties
