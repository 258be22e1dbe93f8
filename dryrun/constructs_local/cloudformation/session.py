"""One replay command's session: its environment, how it sends custom-resource requests, and
the bookkeeping every stack command shares (events, deletes, outputs). Deploy, rollback and
destroy build on it (``replay_deploy``, ``replay_rollback``, ``replay_destroy``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import string
import time
import uuid
from collections import Counter
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from constructs_lib._handler import contract  # the wire contract: stdlib only
from constructs_local._deps import botocore_module
from constructs_local.awslambda.runtime import LocalFunction, LocalMode
from constructs_local.clock import Clock
from constructs_local.cloudformation.assembly import (
    AssemblyError,
    FunctionSpec,
    ProviderSpec,
    ResolveError,
    Resolver,
    StackArtifact,
    find_provider,
    function_spec,
    references,
    stringify,
)
from constructs_local.cloudformation.control import EndpointControl
from constructs_local.cloudformation.endpoint import LocalCloudFormationEndpoint
from constructs_local.cloudformation.provider import (
    MAX_PHYSICAL_ID_BYTES,
    MAX_RESPONSE_BYTES,
    CfnResponse,
    ProviderFramework,
)
from constructs_local.cloudformation.results import RequestRecord, ResourceEvent, StackResult
from constructs_local.cloudformation.scheduler import Join, Scheduler
from constructs_local.cloudformation.state import _Resource
from constructs_local.datazone.exceptions import ServiceError
from constructs_local.datazone.models import DataZoneBackend
from constructs_local.events.replay import EVENT_RESOURCE_TYPES, ReplayEvents
from constructs_local.stepfunctions.interpreter import (
    BATCH_RESOURCE_TYPE,
    BUCKET_TYPE,
    STATE_MACHINE_TYPE,
    LocalStepFunctions,
    access_key_for,
    is_batch_definition,
    stage_selection,
)

if TYPE_CHECKING:
    from constructs_local.cloudformation.replay import LocalCloudFormation

RUN_RESOURCE_TYPE = contract.RESOURCE_TYPE
MEMBERSHIP_TYPE = "AWS::DataZone::ProjectMembership"
LOCAL_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
#: CloudFormation's limit for a custom resource's answer when the template sets no ServiceTimeout.
DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600
#: What CloudFormation reports when a custom resource did not answer within its ServiceTimeout.
SERVICE_TIMEOUT_REASON = "Custom Resource failed to stabilize in expected time"
#: Which physical id the rollback Update of a failed Update carries (CloudFormation does not
#: document it): the id the resource had before the update, or the id the FAILED response named.
ROLLBACK_PHYSICAL_IDS = ("previous", "failed")
Steps = Generator["float | Join", None, Any]


def _is_custom(kind: str) -> bool:
    return kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"


class _FailureError(Exception):
    def __init__(self, reason: str, physical_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_id = physical_id
        self.logical: str | None = None  # the resource that failed (set by the deployment)
        #: Resources deleted in flight whose Delete failed: they stay, and the rollback fails.
        self.undeleted: dict[str, Any] = {}


@dataclass
class _Context:
    """One stack command in progress."""

    stack: StackArtifact
    result: StackResult
    resolver: Resolver
    wall: float
    records: dict[str, RequestRecord] = field(default_factory=dict)  # latest request per logical id


@dataclass
class _Change:
    logical: str
    action: str  # Create | Update
    before: _Resource | None
    after: _Resource
    produced: str | None = None  # the physical id a failed Update's response named


@dataclass
class _Deployment(_Context):
    previous: Mapping[str, Any] | None = None
    old: dict[str, _Resource] = field(default_factory=dict)
    old_order: list[str] = field(default_factory=list)
    changes: list[_Change] = field(default_factory=list)
    current: dict[str, _Resource] = field(default_factory=dict)  # what the resolver sees as deployed


class SessionCore:
    """One command: the state, the clock, the endpoint and warm functions."""

    def __init__(
        self,
        owner: LocalCloudFormation,
        state: dict[str, Any],
        clock: Clock,
        control: EndpointControl | None,
        *,
        simulate: bool,
        backend: DataZoneBackend | None,
        cfn: LocalCloudFormationEndpoint | None = None,
        stepfunctions: LocalStepFunctions | None = None,
    ) -> None:
        self.owner = owner
        self.cfn = cfn
        self.stepfunctions = stepfunctions
        self.scheduler = Scheduler(clock, (lambda: backend.calls) if backend is not None else None)
        self.backend = backend
        self.state = state
        self.clock = clock
        self.control = control
        self.simulate = simulate
        self.functions: dict[str, LocalFunction] = {}
        self.providers: dict[str, ProviderFramework] = {}
        #: The batch state machines' roles: the principal their workflows call DataZone as.
        self.workflow_roles: set[str] = set()
        #: EventBridge: rules, dead-letter queues and the endpoint's events (constructs_local.events).
        self.events = ReplayEvents(self)
        self._paths: dict[str, dict[str, str]] = {}

    # -- environment ----------------------------------------------------------------------------

    def region(self, stack: StackArtifact) -> str:
        if self.owner.region:
            return self.owner.region
        if stack.region:
            return stack.region
        if self.owner.aws:
            session = botocore_module("boto3").session.Session(profile_name=self.owner.profile)
            if session.region_name:
                return str(session.region_name)
        return DEFAULT_REGION

    def resolver(self, stack: StackArtifact, stack_id: str, resources: Mapping[str, _Resource]) -> Resolver:
        def custom_attribute(logical: str, name: str) -> str:
            resource = resources.get(logical)
            if resource is None:
                raise ResolveError(f"{logical} is not deployed")
            if name not in resource.data:
                raise ResolveError(
                    f"CustomResource attribute error: Vendor response doesn't contain {name} attribute in object "
                    f"{stack_id}|{logical}"
                )
            return str(resource.data[name])

        return Resolver(
            stack.template,
            stack_name=stack.stack_name,
            stack_id=stack_id,
            region=self.region(stack),
            account=stack.account or LOCAL_ACCOUNT,
            physical_ids={logical: r.physical_id for logical, r in resources.items()},
            custom_attributes=custom_attribute,
        )

    def provider(self, stack: StackArtifact, resolver: Resolver, service_token: Any) -> ProviderFramework:
        spec: ProviderSpec = find_provider(stack, service_token)
        key = f"{stack.name}/{spec.framework_logical_id}"
        if key not in self.providers:
            on_event = self.function(stack, resolver, spec.on_event.logical_id, spec)
            is_complete = (
                self.function(stack, resolver, spec.is_complete.logical_id, spec) if spec.is_complete else None
            )
            self.providers[key] = ProviderFramework(on_event, is_complete, spec.waiter, self.clock)
        return self.providers[key]

    def function(self, stack: StackArtifact, resolver: Resolver, logical_id: str, spec: ProviderSpec) -> LocalFunction:
        function_spec = spec.on_event if spec.on_event.logical_id == logical_id else spec.is_complete
        assert function_spec is not None
        return self.local_function(stack, resolver, function_spec)

    def local_function(self, stack: StackArtifact, resolver: Resolver, function_spec: FunctionSpec) -> LocalFunction:
        """The template's function, warm across the command (one container per function)."""
        logical_id = function_spec.logical_id
        key = f"{stack.name}/{logical_id}"
        if key in self.functions:
            return self.functions[key]
        resource = stack.template["Resources"][logical_id]
        environment = {k: str(stringify(resolver.resolve(v))) for k, v in function_spec.environment.items()}
        if self.owner.aws and self.owner.profile:
            environment["AWS_PROFILE"] = self.owner.profile
        local: LocalMode | None = None
        if self.control is not None:
            role = str(resolver.resolve(resource.get("Properties", {}).get("Role", "")))
            access_key = access_key_for(role)
            self.control.register_principal(access_key, role)
            local = LocalMode(
                endpoint_url=self.control.url,
                access_key_id=access_key,
                region=resolver.region,
                cloudformation_url=self.cfn.url if self.cfn is not None else None,
                aws_mocked=self.stepfunctions is not None,
            )
        function = LocalFunction(
            function_spec,
            function_name=resolver.physical_id(logical_id),
            function_arn=resolver.attribute(logical_id, "Arn"),
            environment=environment,
            clock=self.clock,
            region=resolver.region,
            local=local,
            simulate_time=self.simulate,
            invoke_seconds=self.owner.invoke_seconds,
        )
        self.functions[key] = function
        return function

    # -- batch workflows (moto) ------------------------------------------------------------------

    def moto_physical_id(self, ctx: _Context, logical: str, kind: str, physical: str) -> str:
        """A results bucket or batch state machine, made real in moto; its physical id there.

        The state machine is created from the template's own DefinitionString, resolved like any
        property: the definition that ships is the one that runs.
        """
        steps = self.stepfunctions
        if steps is not None and kind in EVENT_RESOURCE_TYPES:
            return self.events.deploy(ctx, logical, kind, physical)
        if steps is None or kind not in (BUCKET_TYPE, STATE_MACHINE_TYPE):
            return physical
        region = ctx.resolver.region
        if kind == BUCKET_TYPE:
            return steps.ensure_bucket(_bucket_name(physical), region)
        properties = ctx.resolver.resolve(ctx.stack.template["Resources"][logical].get("Properties", {}))
        definition = properties.get("DefinitionString")
        if not is_batch_definition(definition):
            return physical
        role = str(properties.get("RoleArn", ""))
        self.workflow_roles.add(role)
        if self.control is not None:
            self.control.register_principal(access_key_for(role), role)
        self._register_workflow_functions(ctx, logical)
        return steps.put_state_machine(physical.rsplit(":", 1)[-1][:80], str(definition), role, region)

    def _register_workflow_functions(self, ctx: _Context, logical: str) -> None:
        """The Lambda functions the state machine's definition names, invocable from its tasks."""
        assert self.stepfunctions is not None
        template = ctx.stack.template["Resources"]
        named = references(template[logical].get("Properties", {}).get("DefinitionString"))
        for function_logical in sorted(named):
            if template.get(function_logical, {}).get("Type") != "AWS::Lambda::Function":
                continue
            function = self.local_function(ctx.stack, ctx.resolver, function_spec(ctx.stack, function_logical))
            self.stepfunctions.adapter.functions[function.function_arn] = function
            self.stepfunctions.adapter.functions[function.function_name] = function

    def restore_moto(self, ctx: _Context, resources: Mapping[str, _Resource]) -> None:
        """moto forgets everything between commands: the stack's buckets and state machines again."""
        for logical, resource in resources.items():
            restored = (BUCKET_TYPE, STATE_MACHINE_TYPE, *EVENT_RESOURCE_TYPES)
            if resource.type in restored and logical in ctx.stack.template.get("Resources", {}):
                self.moto_physical_id(ctx, logical, resource.type, resource.physical_id)

    def stage_batch(self, ctx: _Context, kind: str, properties: Mapping[str, Any]) -> None:
        """The ids file of an ``AssetSelection.ids`` batch, uploaded as ``cdk deploy`` would."""
        if self.stepfunctions is None or kind != BATCH_RESOURCE_TYPE:
            return
        selection = properties.get("Selection")
        if isinstance(selection, Mapping):
            notice = stage_selection(self.stepfunctions, selection, ctx.stack.assembly_dir, ctx.resolver.region)
            if notice is not None:
                ctx.result.notes.append(notice)

    # -- requests -------------------------------------------------------------------------------

    def send(
        self,
        ctx: _Context,
        logical_id: str,
        request_type: str,
        phase: str,
        properties: Mapping[str, Any],
        *,
        old_properties: Mapping[str, Any] | None = None,
        physical_id: str | None = None,
        service_token: Any = None,
    ) -> CfnResponse:
        """Send one custom-resource request and wait for it (other work in flight goes on meanwhile)."""
        steps = self.send_steps(
            ctx,
            logical_id,
            request_type,
            phase,
            properties,
            old_properties=old_properties,
            physical_id=physical_id,
            service_token=service_token,
        )
        response: CfnResponse = self.scheduler.drive(steps, f"{logical_id} {request_type}")
        return response

    def send_steps(
        self,
        ctx: _Context,
        logical_id: str,
        request_type: str,
        phase: str,
        properties: Mapping[str, Any],
        *,
        old_properties: Mapping[str, Any] | None = None,
        physical_id: str | None = None,
        service_token: Any = None,
    ) -> Generator[float | Join, None, CfnResponse]:
        """Send one custom-resource request through its provider; check the response like CloudFormation.

        The provider's work runs as its own task: when CloudFormation stops waiting (ServiceTimeout,
        or the request is deleted in flight) the waiter goes on to its end, and its answer is ignored.
        """
        stack, result = ctx.stack, ctx.result
        resource_type = str(stack.template["Resources"].get(logical_id, {}).get("Type", RUN_RESOURCE_TYPE))
        request_id = str(uuid.uuid4())
        request: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties.get("ServiceToken"),
            "ResponseURL": f"http://127.0.0.1:9/local-replay/{stack.stack_name}/{logical_id}/{request_id}",
            "StackId": result.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": dict(properties),
        }
        if old_properties is not None:
            request["OldResourceProperties"] = dict(old_properties)
        if physical_id is not None:
            request["PhysicalResourceId"] = physical_id
        raw_token = _token(stack, logical_id) or service_token
        if raw_token is None:
            raise AssemblyError(f"cannot find the provider of custom resource {logical_id} in the current template")
        provider = self.provider(stack, ctx.resolver, raw_token)
        deliveries = 2 if request_type in self.owner.redeliver else 1
        timeout = _service_timeout(properties)
        deadline = self.clock.now() + timeout
        shown = {k: v for k, v in request.items() if k != "ResponseURL"}
        record = RequestRecord(result.stack, logical_id, request_type, phase, shown, [])
        result.requests.append(record)
        ctx.records[logical_id] = record
        for _ in range(deliveries):
            run = provider.new_run(request)
            record.runs.append(run)
            task = self.scheduler.spawn(
                provider.handle_steps(request, run), f"{logical_id} {request_type} waiter", calls=record.calls
            )
            yield Join(task, deadline)
            if not task.done:
                record.ignored = f"ServiceTimeout {timeout} s"
                raise _FailureError(f"{SERVICE_TIMEOUT_REASON} (ServiceTimeout {timeout} s; RequestId: {request_id})")
            task.outcome()
        response = record.runs[0].response
        assert response is not None
        if response.size > MAX_RESPONSE_BYTES:
            raise _FailureError(
                f"Response object is too long ({response.size} bytes; the limit is {MAX_RESPONSE_BYTES})."
            )
        if len(response.physical_id.encode()) > MAX_PHYSICAL_ID_BYTES:
            raise _FailureError(f"Physical resource id is longer than {MAX_PHYSICAL_ID_BYTES} bytes.")
        if response.status != "SUCCESS":
            raise _FailureError(
                f"Received response status [FAILED] from custom resource. Message returned: {response.reason} "
                f"(RequestId: {request_id})",
                response.physical_id,
            )
        return response

    def _remember_paths(self, stack: StackArtifact) -> None:
        prefix = f"{stack.stack_name}/"
        self._paths[stack.name] = {
            logical: str(resource.get("Metadata", {}).get("aws:cdk:path", logical)).removeprefix(prefix)
            for logical, resource in stack.template.get("Resources", {}).items()
        }

    def _included(self, ctx: _Context, logical: str) -> bool:
        condition = ctx.stack.template["Resources"][logical].get("Condition")
        return condition is None or ctx.resolver.condition(condition)

    def _properties(self, ctx: _Context, logical: str, kind: str) -> tuple[Any, str]:
        raw = ctx.stack.template["Resources"][logical].get("Properties", {})
        if _emulated(kind):
            resolved = ctx.resolver.resolve(raw)
            properties = stringify(resolved) if _is_custom(kind) else resolved
            poll = self.owner.batch_poll_seconds
            if kind == BATCH_RESOURCE_TYPE and self.stepfunctions is not None and poll is not None:
                properties["PollSeconds"] = str(poll)
            return properties, _fingerprint(properties)
        # Other resources are not deployed anywhere: only their template text decides "changed".
        return None, _fingerprint(raw)

    def _membership(self, properties: Mapping[str, Any], *, add: bool) -> None:
        if self.control is None:
            return  # against AWS the replay creates no memberships; the handler runs with your own identity
        member = _member(properties)
        if member is None:
            return
        domain, project = str(properties.get("DomainIdentifier")), str(properties.get("ProjectIdentifier"))
        if add:
            designation = str(properties.get("Designation", "PROJECT_CONTRIBUTOR"))
            self.control.add_membership(domain, project, member, designation)
        else:
            with contextlib.suppress(ServiceError):
                self.control.remove_membership(domain, project, member)

    def _check_attributes(self, ctx: _Context, logical: str, kind: str) -> None:
        """CloudFormation fails a custom resource whose response lacks an attribute the template reads."""
        if not _is_custom(kind):
            return
        for name in sorted(_attributes_read(ctx.stack.template, logical)):
            try:
                ctx.resolver.attribute(logical, name)
            except ResolveError as error:
                raise _FailureError(str(error)) from error

    def _outputs(self, ctx: _Context) -> tuple[dict[str, str], dict[str, str]]:
        values: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        for name, output in ctx.stack.template.get("Outputs", {}).items():
            if "Condition" in output and not ctx.resolver.condition(output["Condition"]):
                continue
            try:
                value = ctx.resolver.resolve(output.get("Value"))
            except ResolveError as error:
                raise _FailureError(f"Output {name}: {error}") from error
            values[name] = value if isinstance(value, str) else json.dumps(value)
            if output.get("Description"):
                descriptions[name] = str(output["Description"])
        return values, descriptions

    def _remove(self, ctx: _Context, logical: str, resource: _Resource, phase: str, *, tolerate: bool = False) -> bool:
        removed: bool = self.scheduler.drive(
            self._remove_steps(ctx, logical, resource, phase, tolerate=tolerate), f"{logical} delete"
        )
        return removed

    def _remove_steps(
        self, ctx: _Context, logical: str, resource: _Resource, phase: str, *, tolerate: bool = False
    ) -> Generator[float | Join, None, bool]:
        """Delete one resource; True when it is gone. Cleanup failures only warn, as in CloudFormation."""
        if _is_custom(resource.type):
            self._event(ctx, logical, resource.type, "DELETE_IN_PROGRESS", physical_id=resource.physical_id)
            try:
                yield from self.send_steps(
                    ctx,
                    logical,
                    "Delete",
                    phase,
                    resource.properties or {},
                    physical_id=resource.physical_id,
                    service_token=resource.service_token,
                )
            except _FailureError as failure:
                self._event(
                    ctx,
                    logical,
                    resource.type,
                    "DELETE_FAILED",
                    reason=failure.reason,
                    physical_id=resource.physical_id,
                )
                if tolerate:
                    ctx.result.notes.append(f"cleanup of {logical} ({resource.physical_id}) failed: {failure.reason}")
                return False
            self._event(ctx, logical, resource.type, "DELETE_COMPLETE", physical_id=resource.physical_id)
            return True
        if resource.type in EVENT_RESOURCE_TYPES:
            self.events.remove(ctx, logical, resource)
        if resource.type == MEMBERSHIP_TYPE:
            self._event(ctx, logical, resource.type, "DELETE_IN_PROGRESS")
            if resource.properties:
                self._membership(resource.properties, add=False)
            self._event(ctx, logical, resource.type, "DELETE_COMPLETE")
        return True

    # -- helpers --------------------------------------------------------------------------------

    def _new_stack_id(self, stack: StackArtifact) -> str:
        account = stack.account or LOCAL_ACCOUNT
        return f"arn:aws:cloudformation:{self.region(stack)}:{account}:stack/{stack.stack_name}/{uuid.uuid4()}"

    def _event(
        self,
        ctx: _Context,
        logical: str,
        kind: str,
        status: str,
        *,
        reason: str | None = None,
        physical_id: str | None = None,
    ) -> None:
        ctx.result.events.append(ResourceEvent(self.clock.now(), logical, kind, status, reason, physical_id))
        if self.cfn is not None and ctx.result.stack_id:
            self.cfn.set_resource(ctx.result.stack_id, logical, kind, status, physical_id)

    def _stack_status(self, ctx: _Context, status: str) -> None:
        """What DescribeStacks answers from now on (the handler reads it)."""
        if self.cfn is not None and ctx.result.stack_id:
            self.cfn.set_status(ctx.result.stack_id, ctx.stack.stack_name, status)

    def _finish(self, ctx: _Context) -> StackResult:
        result = ctx.result
        result.notes.extend(self.events.take_notes())
        if result.status and result.status != "NO_CHANGES":
            self._stack_status(ctx, result.status)
        result.finished_at = self.clock.now()
        if self.backend is not None and self.workflow_roles:
            made = (
                c.operation
                for c in self.backend.calls
                if c.at >= result.started_at and c.principal in self.workflow_roles
            )
            result.workflow_calls = dict(Counter(made))
        if self.stepfunctions is not None:
            result.max_history_events = self.stepfunctions.adapter.max_history_events
        result.paths = self._paths.get(result.stack, {})
        result.wall_seconds = time.monotonic() - ctx.wall
        if result.reason is None and not result.ok:
            result.reason = next((e.reason for e in reversed(result.events) if e.reason), None)
        return result


def _bucket_name(physical: str) -> str:
    # The replay's generated names keep the stack's case; S3 (moto too) takes lowercase only.
    return "".join(c if c.isalnum() or c in "-." else "-" for c in physical.lower())[:63].strip("-.")


def _emulated(kind: str) -> bool:
    return _is_custom(kind) or kind == MEMBERSHIP_TYPE


def _member(properties: Mapping[str, Any]) -> str | None:
    member = properties.get("Member") or {}
    value = member.get("UserIdentifier") or member.get("GroupIdentifier")
    return str(value) if value else None


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _failed_logical(result: StackResult) -> str | None:
    for event in reversed(result.events):
        if event.status.endswith("_FAILED"):
            return event.logical_id
    return None


def _attributes_read(template: Mapping[str, Any], logical: str) -> set[str]:
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, arg in value.items():
                if key == "Fn::GetAtt":
                    target, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
                    if target == logical and isinstance(attr, str):
                        names.add(attr)
                else:
                    walk(arg)

    walk(template.get("Outputs", {}))
    for other, resource in template.get("Resources", {}).items():
        if other != logical:
            walk(resource.get("Properties", {}))
    return names


def _dependencies(template: Mapping[str, Any], logical: str) -> set[str]:
    resource = template.get("Resources", {}).get(logical, {})
    depends = resource.get("DependsOn", [])
    named = {depends} if isinstance(depends, str) else set(depends)
    return named | set(references(resource.get("Properties", {})))


def _random_suffix() -> str:
    # CloudFormation's invented ids end in 12 random uppercase letters and digits.
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=12))  # noqa: S311 - not a secret


def _service_timeout(properties: Mapping[str, Any]) -> int:
    raw = properties.get("ServiceTimeout")
    try:
        value = int(str(raw)) if raw is not None else DEFAULT_SERVICE_TIMEOUT_SECONDS
    except ValueError:
        return DEFAULT_SERVICE_TIMEOUT_SECONDS
    return min(max(value, 1), DEFAULT_SERVICE_TIMEOUT_SECONDS)


def _token(stack: StackArtifact, logical: str) -> Any:
    return stack.template.get("Resources", {}).get(logical, {}).get("Properties", {}).get("ServiceToken")
