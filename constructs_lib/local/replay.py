"""A local "deploy" / "destroy": CloudFormation's custom-resource lifecycle, replayed.

For each stack of a synthesized cloud assembly, :class:`LocalCloudFormation` walks the template in
dependency order and does what CloudFormation would do to the resources that matter here:

* ``Custom::DataZoneMetadataGenerationRun`` (and other Provider-backed custom resources): Create,
  Update (only when the resolved properties changed; ``OldResourceProperties`` included) and
  Delete requests through the replayed Provider framework, which drives the *packaged* Lambda
  asset from the cloud assembly;
* ``AWS::DataZone::ProjectMembership``: added to / removed from the local endpoint (so a stack
  without it meets AccessDenied, as on AWS);
* everything else: given a fake physical id so references resolve; no calls.

It follows CloudFormation's rules for custom resources: properties arrive as strings; a new
physical id on Update is a replacement, and the old id gets a Delete in the cleanup phase; a
failed Create rolls the stack back (Delete of what was created, the failed resource included); a
failed Update rolls back with swapped properties; the response body must be <= 4096 bytes; an
output's ``Fn::GetAtt`` must find its key in the response Data. State (stack id, physical ids,
properties, Data — and, with the built-in endpoint, the endpoint's runs) persists in a JSON file
between commands.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import string
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from constructs_lib.local._deps import botocore_module
from constructs_lib.local.assembly import (
    AssemblyError,
    ProviderSpec,
    ResolveError,
    Resolver,
    StackArtifact,
    deployment_order,
    find_provider,
    load_assembly,
    references,
    stringify,
)
from constructs_lib.local.backend import Call, DataZoneBackend, Knobs
from constructs_lib.local.cfn_endpoint import LocalCloudFormationEndpoint
from constructs_lib.local.clock import Clock, RealClock, SimulatedClock
from constructs_lib.local.lambda_runtime import LocalFunction, LocalMode
from constructs_lib.local.model import ServiceError
from constructs_lib.local.provider import (
    MAX_PHYSICAL_ID_BYTES,
    MAX_RESPONSE_BYTES,
    CfnResponse,
    ProviderFramework,
    ProviderRun,
)
from constructs_lib.local.provision import HttpWorld, World, provision
from constructs_lib.local.scheduler import Join, Scheduler
from constructs_lib.local.server import LOOPBACK_HOSTS, LocalDataZone

RUN_RESOURCE_TYPE = "Custom::DataZoneMetadataGenerationRun"
MEMBERSHIP_TYPE = "AWS::DataZone::ProjectMembership"
LOCAL_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
DEFAULT_STATE_FILE = Path(".local-deploy") / "state.json"
STATE_VERSION = 1
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


# ---------------------------------------------------------------------------------------------
# What a command reports


@dataclass
class ResourceEvent:
    """A stack event, as ``cdk deploy`` prints them."""

    at: float
    logical_id: str
    resource_type: str
    status: str
    reason: str | None = None
    physical_id: str | None = None


@dataclass
class RequestRecord:
    """One custom-resource request CloudFormation sent, and what the provider did with it."""

    stack: str
    logical_id: str
    request_type: str
    phase: str  # deploy | rollback | cleanup | destroy
    request: dict[str, Any]
    runs: list[ProviderRun]  # one per delivery (a redelivered request has two)
    calls: list[Call] = field(default_factory=list)  # DataZone calls it caused (built-in/in-process endpoint)
    #: Why CloudFormation stopped waiting for the response (it then ignores it), if it did.
    ignored: str | None = None

    @property
    def run(self) -> ProviderRun:
        return self.runs[0]

    @property
    def response(self) -> CfnResponse:
        assert self.run.response is not None
        return self.run.response


@dataclass
class StackResult:
    """The outcome of deploying or destroying one stack."""

    stack: str
    stack_id: str
    action: str  # deploy | destroy
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    output_descriptions: dict[str, str] = field(default_factory=dict)
    events: list[ResourceEvent] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    reason: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    wall_seconds: float = 0.0
    changed: bool = True
    notes: list[str] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # logical id -> construct path (for display)

    def display_name(self, logical_id: str) -> str:
        return self.paths.get(logical_id, logical_id)

    @property
    def ok(self) -> bool:
        return self.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "NO_CHANGES")

    @property
    def responses(self) -> list[CfnResponse]:
        return [run.response for record in self.requests for run in record.runs if run.response is not None]

    @property
    def simulated_seconds(self) -> float:
        return self.finished_at - self.started_at


# ---------------------------------------------------------------------------------------------
# Talking to the endpoint's control side


class EndpointControl(Protocol):
    url: str

    def register_principal(self, access_key_id: str, arn: str) -> None: ...

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None: ...

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None: ...


class _InProcessControl:
    def __init__(self, endpoint: LocalDataZone) -> None:
        self.url = endpoint.url
        self._backend = endpoint.backend

    def register_principal(self, access_key_id: str, arn: str) -> None:
        self._backend.register_principal(access_key_id, arn)

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None:
        self._backend.add_membership(domain_id, project_id, principal, designation)

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None:
        self._backend.remove_membership(domain_id, project_id, principal)


class _HttpControl:
    """The ``/_local/`` routes of a ``serve`` process (loopback only)."""

    def __init__(self, url: str) -> None:
        host = urlsplit(url).hostname
        if host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"--endpoint-url must be a local endpoint on {', '.join(LOOPBACK_HOSTS)}, not {url!r}; "
                "use --aws to run against AWS"
            )
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, body: Mapping[str, Any]) -> None:
        request = Request(f"{self.url}{path}", data=json.dumps(body).encode(), method=method)  # noqa: S310 - loopback only
        request.add_header("Content-Type", "application/json")
        try:
            with urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
                response.read()
        except OSError as error:
            status = getattr(error, "code", None)
            if status == 404 and path == "/_local/memberships":
                text = error.read().decode() if hasattr(error, "read") else str(error)
                raise ServiceError("ResourceNotFoundException", json.loads(text).get("message", text)) from error
            raise

    def register_principal(self, access_key_id: str, arn: str) -> None:
        self._call("POST", "/_local/principals", {"accessKeyId": access_key_id, "arn": arn})

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None:
        body = {"domainId": domain_id, "projectId": project_id, "principal": principal, "designation": designation}
        self._call("POST", "/_local/memberships", body)

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None:
        self._call(
            "DELETE", "/_local/memberships", {"domainId": domain_id, "projectId": project_id, "principal": principal}
        )


class _WallClock(RealClock):
    """Wall time whose waits are scaled (for a separate endpoint process, or AWS)."""

    def __init__(self, time_scale: float) -> None:
        super().__init__(speed=1.0)
        self.time_scale = time_scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self.time_scale)


# ---------------------------------------------------------------------------------------------
# State


def _load_state(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {"version": STATE_VERSION, "stacks": {}}
    state: dict[str, Any] = json.loads(path.read_text())
    if state.get("version") != STATE_VERSION:
        raise AssemblyError(f"{path} was written by another version of the local replay; delete it to start over")
    return state


def _save_state(path: Path | None, state: Mapping[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(state, indent=1, sort_keys=True, default=str))
    temporary.replace(path)


# ---------------------------------------------------------------------------------------------
# The engine


@dataclass
class _Resource:
    type: str
    physical_id: str
    properties: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    service_token: Any = None  # the template's (unresolved) ServiceToken: how to find the provider again

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "physicalId": self.physical_id,
            "properties": self.properties,
            "data": self.data,
            "fingerprint": self.fingerprint,
            "serviceToken": self.service_token,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> _Resource:
        return cls(
            raw["type"],
            raw["physicalId"],
            raw.get("properties"),
            dict(raw.get("data") or {}),
            raw.get("fingerprint", ""),
            raw.get("serviceToken"),
        )


class _FailureError(Exception):
    def __init__(self, reason: str, physical_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_id = physical_id
        self.logical: str | None = None  # the resource that failed (set by the deployment)


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


class LocalCloudFormation:
    """Deploys and destroys the custom resources of a cloud assembly locally.

    :param assembly_dir: the synthesized cloud assembly (``cdk.out``).
    :param state_file: where stack state persists between commands (None: in memory only).
    :param endpoint: a running :class:`LocalDataZone` to use (tests); its clock is shared.
    :param endpoint_url: a local endpoint in another process (``serve``); loopback only.
    :param aws: run the handlers against real AWS (explicit opt-in; never the default).
    :param profile: AWS profile for ``aws=True``.
    :param region: region for ARNs and clients. Default: the stack's, else us-east-1 (local) or
        the AWS configuration's (aws=True).
    :param time_scale: real seconds per simulated second (local: 0 = no waiting at all); with an
        external endpoint or AWS, the factor applied to the provider's waits. Default: 0 for the
        built-in endpoint, 1 otherwise.
    :param seed, knobs: for the built-in endpoint (ignored with ``endpoint``/``endpoint_url``).
    :param redeliver: request types (e.g. ``{"Create"}``) delivered twice, as when Lambda retries
        the framework's asynchronous invocation.
    :param rollback_physical_id: which physical id the rollback Update of a failed Update carries,
        ``"previous"`` (the id from before the update) or ``"failed"`` (the id the FAILED response
        named). CloudFormation does not document it; run rollback cases under both.
    :param fail_resources: logical id -> simulated seconds after which creating or updating that
        resource fails (a sibling failing while a custom resource is still in flight).
    :param invoke_seconds: simulated time each Lambda invocation costs.
    :param strict: refuse a deploy whose app references domain, project or asset ids the local
        endpoint does not know (default: create them, with a notice each).
    :param notify: called with each such notice (they are also kept in ``notices``).
    """

    def __init__(
        self,
        assembly_dir: str | Path,
        *,
        state_file: str | Path | None = None,
        endpoint: LocalDataZone | None = None,
        endpoint_url: str | None = None,
        aws: bool = False,
        profile: str | None = None,
        region: str | None = None,
        time_scale: float | None = None,
        seed: Mapping[str, Any] | None = None,
        knobs: Knobs | None = None,
        redeliver: Sequence[str] = (),
        rollback_physical_id: str = "previous",
        fail_resources: Mapping[str, float] | None = None,
        invoke_seconds: float = 0.2,
        strict: bool = False,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if rollback_physical_id not in ROLLBACK_PHYSICAL_IDS:
            raise ValueError(
                f"rollback_physical_id must be one of {ROLLBACK_PHYSICAL_IDS}, not {rollback_physical_id!r}"
            )
        if sum(1 for chosen in (endpoint is not None, endpoint_url is not None, aws) if chosen) > 1:
            raise ValueError("choose one of endpoint, endpoint_url and aws")
        if profile is not None and not aws:
            raise ValueError("profile is for aws=True only; the local replay never uses AWS credentials")
        self.assembly_dir = Path(assembly_dir)
        self.state_file = Path(state_file) if state_file is not None else None
        self.aws = aws
        self.profile = profile
        self.region = region
        self.redeliver = frozenset(redeliver)
        self.rollback_physical_id = rollback_physical_id
        self.fail_resources = dict(fail_resources or {})
        self.invoke_seconds = invoke_seconds
        self._endpoint = endpoint
        self._endpoint_url = endpoint_url
        self._seed = seed
        self._knobs = knobs
        self._time_scale = time_scale
        self.strict = strict
        self.notify = notify
        self.notices: list[str] = []

    # -- public ---------------------------------------------------------------------------------

    def deploy(self, stacks: Sequence[str] | None = None) -> list[StackResult]:
        """Deploy the named stacks (default: all), dependencies first; stop at the first failure."""
        with self._session() as session:
            selected = self._select(stacks)
            self._provision(session, selected)
            results = []
            for stack in selected:
                result = session.deploy(stack)
                results.append(result)
                if not result.ok:
                    break
            return results

    def destroy(self, stacks: Sequence[str] | None = None) -> list[StackResult]:
        """Destroy the named stacks (default: all), dependents first."""
        with self._session() as session:
            results = []
            for stack in reversed(self._select(stacks)):
                result = session.destroy(stack)
                results.append(result)
                if not result.ok:
                    break
            return results

    def state(self) -> dict[str, Any]:
        return _load_state(self.state_file)

    # -- internals ------------------------------------------------------------------------------

    def _select(self, names: Sequence[str] | None) -> list[StackArtifact]:
        stacks = load_assembly(self.assembly_dir)
        if not names:
            return stacks
        known = {s.name for s in stacks} | {s.stack_name for s in stacks}
        missing = [n for n in names if n not in known]
        if missing:
            raise AssemblyError(
                f"no stack named {', '.join(missing)} in {self.assembly_dir} (stacks: {', '.join(sorted(known))})"
            )
        return [s for s in stacks if s.name in names or s.stack_name in names]

    def _provision(self, session: _Session, stacks: Sequence[StackArtifact]) -> None:
        """The domains, projects and assets the app creates or references exist before its runs start."""
        if self.aws:
            return  # real AWS has what it has
        world: World = session.backend if session.backend is not None else HttpWorld(str(self._endpoint_url))
        own_endpoint = self._endpoint is None and self._endpoint_url is None
        for notice in provision(stacks, world, seed=self._seed if own_endpoint else None, strict=self.strict):
            self.notices.append(notice)
            if self.notify is not None:
                self.notify(notice)

    def _target(self) -> str:
        if self.aws:
            return "aws"
        if self._endpoint_url is not None:
            return f"endpoint {self._endpoint_url}"
        return "local" if self._endpoint is None else "local (caller's endpoint)"

    @contextlib.contextmanager
    def _session(self) -> Iterator[_Session]:
        state = _load_state(self.state_file)
        target = self._target()
        if state.get("stacks") and state.get("target", target) != target:
            raise AssemblyError(
                f"{self.state_file} holds stacks deployed against {state['target']}, not {target}: "
                "pass another --state file (physical ids of one are meaningless to the other)"
            )
        state["target"] = target
        owned: LocalDataZone | None = None
        backend: DataZoneBackend | None = None
        control: EndpointControl | None
        clock: Clock
        simulate = False
        if self.aws:
            clock, control = _WallClock(self._time_scale if self._time_scale is not None else 1.0), None
        elif self._endpoint_url is not None:
            control = _HttpControl(self._endpoint_url)
            clock = _WallClock(self._time_scale if self._time_scale is not None else 1.0)
        elif self._endpoint is not None:
            control, clock = _InProcessControl(self._endpoint), self._endpoint.clock
            simulate = isinstance(clock, SimulatedClock)
        else:
            saved = state.get("datazone")
            start = max(time.time(), float(saved["now"])) if saved else None
            clock = SimulatedClock(start=start, time_scale=self._time_scale or 0.0)
            fresh = DataZoneBackend(seed=self._seed, clock=clock, knobs=self._knobs)
            if saved:
                fresh.import_state(saved)
            owned = LocalDataZone(backend=fresh).start()
            control, simulate = _InProcessControl(owned), True
        if owned is not None:
            backend = owned.backend
        elif self._endpoint is not None:
            backend = self._endpoint.backend
        cfn: LocalCloudFormationEndpoint | None = None
        if not self.aws:
            cfn = LocalCloudFormationEndpoint(clock, call_seconds=0.05 if simulate else 0.0).start()
            for known in state.get("stacks", {}).values():
                cfn.set_status(known["stackId"], known["stackName"], known.get("status", "CREATE_COMPLETE"))
        session = _Session(self, state, clock, control, simulate=simulate, backend=backend, cfn=cfn)
        try:
            yield session
            session.scheduler.drain()
        finally:
            for function in session.functions.values():
                function.close()
            if cfn is not None:
                cfn.stop()
            if owned is not None:
                state["datazone"] = owned.backend.export_state()
                owned.stop()
            _save_state(self.state_file, state)


class _Session:
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
    ) -> None:
        self.owner = owner
        self.cfn = cfn
        self.scheduler = Scheduler(clock, (lambda: backend.calls) if backend is not None else None)
        self.backend = backend
        self.state = state
        self.clock = clock
        self.control = control
        self.simulate = simulate
        self.functions: dict[str, LocalFunction] = {}
        self.providers: dict[str, ProviderFramework] = {}
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
        key = f"{stack.name}/{logical_id}"
        if key in self.functions:
            return self.functions[key]
        function_spec = spec.on_event if spec.on_event.logical_id == logical_id else spec.is_complete
        assert function_spec is not None
        resource = stack.template["Resources"][logical_id]
        environment = {k: str(stringify(resolver.resolve(v))) for k, v in function_spec.environment.items()}
        if self.owner.aws and self.owner.profile:
            environment["AWS_PROFILE"] = self.owner.profile
        local: LocalMode | None = None
        if self.control is not None:
            role = str(resolver.resolve(resource.get("Properties", {}).get("Role", "")))
            access_key = "ASIA" + hashlib.sha256(role.encode()).hexdigest()[:16].upper()
            self.control.register_principal(access_key, role)
            local = LocalMode(
                endpoint_url=self.control.url,
                access_key_id=access_key,
                region=resolver.region,
                cloudformation_url=self.cfn.url if self.cfn is not None else None,
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

    # -- deploy ---------------------------------------------------------------------------------

    def _remember_paths(self, stack: StackArtifact) -> None:
        prefix = f"{stack.stack_name}/"
        self._paths[stack.name] = {
            logical: str(resource.get("Metadata", {}).get("aws:cdk:path", logical)).removeprefix(prefix)
            for logical, resource in stack.template.get("Resources", {}).items()
        }

    def deploy(self, stack: StackArtifact) -> StackResult:
        wall = time.monotonic()
        self._remember_paths(stack)
        previous = self.state.setdefault("stacks", {}).get(stack.name)
        if previous is not None and previous.get("status") in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
            previous = None  # cdk deploy deletes a stack that never got created, then creates it anew
        stack_id = previous["stackId"] if previous else self._new_stack_id(stack)
        old = {k: _Resource.from_json(v) for k, v in (previous or {}).get("resources", {}).items()}
        current = dict(old)
        dep = _Deployment(
            stack=stack,
            result=StackResult(stack.name, stack_id, "deploy", "", started_at=self.clock.now()),
            resolver=self.resolver(stack, stack_id, current),
            wall=wall,
            previous=previous,
            old=old,
            old_order=list((previous or {}).get("order", [])),
            current=current,
        )
        order = [lid for lid in deployment_order(stack.template) if self._included(dep, lid)]
        cleanup: list[tuple[str, _Resource]] = []
        self._stack_status(dep, "CREATE_IN_PROGRESS" if previous is None else "UPDATE_IN_PROGRESS")
        try:
            for change in self._deploy_in_parallel(dep, order):
                before = change.before
                if before is not None and (
                    before.type != change.after.type or before.physical_id != change.after.physical_id
                ):
                    cleanup.append((change.logical, before))
            outputs = self._outputs(dep)
        except _FailureError as failure:
            return self._rollback(dep, failure)
        removed = [lid for lid in reversed(dep.old_order) if lid in old and lid not in order]
        for logical in removed:
            cleanup.append((logical, old[logical]))
            current.pop(logical, None)
        if cleanup and previous is not None:
            self._stack_status(dep, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        for logical, resource in cleanup:
            self._remove(dep, logical, resource, "cleanup", tolerate=True)
        return self._complete(dep, order, current, outputs, changed=bool(dep.changes or removed))

    def _deploy_in_parallel(self, dep: _Deployment, order: list[str]) -> list[_Change]:
        """Create/update every resource as soon as what it depends on is done, as CloudFormation does.

        On the first failure nothing new starts. A stack being created deletes the custom resources
        still in flight (with an invented physical id, their waiters running on); a stack being
        updated lets them finish. Then the failure is raised for the rollback.
        """
        template = dep.stack.template
        included = set(order)
        needs = {logical: _dependencies(template, logical) & included for logical in order}
        pending = list(order)
        running: dict[str, Any] = {}
        done: set[str] = set()
        changes: list[_Change] = []
        deleting: list[Any] = []
        failure: _FailureError | None = None
        while True:
            if failure is None:
                for logical in [lid for lid in pending if needs[lid] <= done]:
                    pending.remove(logical)
                    running[logical] = self.scheduler.spawn(self._change_steps(dep, logical), logical)
            if not running:
                break
            self.scheduler.run_until(lambda: any(task.done for task in running.values()))
            for logical, task in list(running.items()):
                if logical not in running or not task.done:
                    continue  # still working, or deleted in flight a moment ago
                del running[logical]
                if task.error is None:
                    done.add(logical)
                    if task.result is not None:
                        changes.append(task.result)
                    continue
                if not isinstance(task.error, _FailureError):
                    raise task.error
                if failure is None:
                    failure = task.error
                    failure.logical = logical
                    if dep.previous is None:
                        self._stack_status(dep, "ROLLBACK_IN_PROGRESS")
                        deleting += self._delete_in_flight(dep, running)
        self.scheduler.run_until(lambda: all(task.done for task in deleting))
        if failure is not None:
            raise failure
        return changes

    def _delete_in_flight(self, dep: _Deployment, running: dict[str, Any]) -> list[Any]:
        """CloudFormation stops waiting for the Creates still in flight and deletes those resources
        with a physical id it invents (their waiters go on; what they answer is ignored)."""
        deletes = []
        for logical, task in list(running.items()):
            record = dep.records.get(logical)
            self.scheduler.cancel(task)
            del running[logical]
            kind = str(dep.stack.template["Resources"][logical].get("Type"))
            self._event(dep, logical, kind, "CREATE_FAILED", reason="Resource creation cancelled")
            if record is None or not _is_custom(kind) or record.request_type != "Create":
                continue
            record.ignored = "deleted in flight"
            invented = f"{dep.stack.stack_name}-{logical}-{_random_suffix()}"
            resource = _Resource(
                kind, invented, record.request["ResourceProperties"], {}, "", _token(dep.stack, logical)
            )
            deletes.append(
                self.scheduler.spawn(self._remove_steps(dep, logical, resource, "rollback"), f"{logical} delete")
            )
        return deletes

    def _change_steps(self, dep: _Deployment, logical: str) -> Generator[float | Join, None, _Change | None]:
        """Create or update one resource if its properties changed; None when it did not."""
        kind = str(dep.stack.template["Resources"][logical].get("Type"))
        before = dep.old.get(logical)
        properties, fingerprint = self._properties(dep, logical, kind)
        if before is not None and before.type == kind and before.fingerprint == fingerprint:
            return None
        action = "Create" if before is None or before.type != kind else "Update"
        if logical in self.owner.fail_resources:
            verb = action.upper()
            self._event(dep, logical, kind, f"{verb}_IN_PROGRESS")
            yield self.owner.fail_resources[logical]
            reason = (
                'Resource handler returned message: "failure injected by the local replay" '
                "(HandlerErrorCode: InternalFailure)"
            )
            self._event(dep, logical, kind, f"{verb}_FAILED", reason=reason)
            raise _FailureError(reason)
        after = yield from self._apply_steps(
            dep, logical, kind, action, properties=properties, fingerprint=fingerprint, before=before
        )
        change = _Change(logical, action, before, after)
        dep.changes.append(change)
        dep.current[logical] = after
        dep.resolver.physical_ids[logical] = after.physical_id
        try:
            self._check_attributes(dep, logical, kind)
        except _FailureError as failure:
            self._event(
                dep, logical, kind, f"{action.upper()}_FAILED", reason=failure.reason, physical_id=after.physical_id
            )
            raise
        return change

    def _complete(
        self,
        dep: _Deployment,
        order: list[str],
        current: Mapping[str, _Resource],
        outputs: tuple[dict[str, str], dict[str, str]],
        *,
        changed: bool,
    ) -> StackResult:
        result = dep.result
        creating = dep.previous is None
        result.changed = changed
        result.status = ("CREATE_COMPLETE" if creating else "UPDATE_COMPLETE") if changed else "NO_CHANGES"
        result.outputs, result.output_descriptions = outputs
        if dep.changes and not any(_emulated(c.after.type) for c in dep.changes):
            result.notes.append(f"{len(dep.changes)} resource(s) without a local emulation changed (no calls made)")
        status = result.status if changed else (dep.previous or {}).get("status", "CREATE_COMPLETE")
        self.state["stacks"][dep.stack.name] = {
            "stackId": result.stack_id,
            "stackName": dep.stack.stack_name,
            "status": status,
            "order": order,
            "resources": {k: current[k].to_json() for k in order if k in current},
            "outputs": result.outputs,
        }
        return self._finish(dep)

    def _included(self, ctx: _Context, logical: str) -> bool:
        condition = ctx.stack.template["Resources"][logical].get("Condition")
        return condition is None or ctx.resolver.condition(condition)

    def _properties(self, ctx: _Context, logical: str, kind: str) -> tuple[Any, str]:
        raw = ctx.stack.template["Resources"][logical].get("Properties", {})
        if _emulated(kind):
            resolved = ctx.resolver.resolve(raw)
            properties = stringify(resolved) if _is_custom(kind) else resolved
            return properties, _fingerprint(properties)
        # Other resources are not deployed anywhere: only their template text decides "changed".
        return None, _fingerprint(raw)

    def _apply_steps(
        self,
        ctx: _Context,
        logical: str,
        kind: str,
        action: str,
        *,
        properties: Any,
        fingerprint: str,
        before: _Resource | None,
    ) -> Generator[float | Join, None, _Resource]:
        verb = "CREATE" if action == "Create" else "UPDATE"
        if _is_custom(kind):
            self._event(ctx, logical, kind, f"{verb}_IN_PROGRESS")
            replacing = before if before is not None and before.type == kind else None
            try:
                response = yield from self.send_steps(
                    ctx,
                    logical,
                    action,
                    "deploy",
                    properties,
                    old_properties=replacing.properties if replacing is not None else None,
                    physical_id=replacing.physical_id if replacing is not None else None,
                )
            except _FailureError as failure:
                self._event(
                    ctx, logical, kind, f"{verb}_FAILED", reason=failure.reason, physical_id=failure.physical_id
                )
                raise
            # The attributes are this response's Data, as on CloudFormation (nothing carried over).
            self._event(ctx, logical, kind, f"{verb}_COMPLETE", physical_id=response.physical_id)
            return _Resource(
                kind, response.physical_id, properties, response.data, fingerprint, _token(ctx.stack, logical)
            )
        if kind == MEMBERSHIP_TYPE:
            self._event(ctx, logical, kind, f"{verb}_IN_PROGRESS")
            try:
                if before is not None and before.properties:
                    self._membership(before.properties, add=False)
                self._membership(properties, add=True)
            except ServiceError as error:
                reason = f'Resource handler returned message: "{error.message}" (HandlerErrorCode: NotFound)'
                self._event(ctx, logical, kind, f"{verb}_FAILED", reason=reason)
                raise _FailureError(reason) from error
            physical = "|".join(
                str(v)
                for v in (properties.get("DomainIdentifier"), properties.get("ProjectIdentifier"), _member(properties))
            )
            self._event(ctx, logical, kind, f"{verb}_COMPLETE", physical_id=physical)
            return _Resource(kind, physical, properties, {}, fingerprint)
        keep = before is not None and before.type == kind
        physical = before.physical_id if keep and before is not None else ctx.resolver.physical_id(logical)
        return _Resource(kind, physical, None, {}, fingerprint)

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
        if resource.type == MEMBERSHIP_TYPE:
            self._event(ctx, logical, resource.type, "DELETE_IN_PROGRESS")
            if resource.properties:
                self._membership(resource.properties, add=False)
            self._event(ctx, logical, resource.type, "DELETE_COMPLETE")
        return True

    # -- rollback -------------------------------------------------------------------------------

    def _failed_resource(self, dep: _Deployment, failure: _FailureError) -> _Change | None:
        """The resource whose failure stopped the deployment, when it is not among the finished changes."""
        logical = failure.logical or _failed_logical(dep.result)
        if not logical or logical in {c.logical for c in dep.changes}:
            return None
        kind = str(dep.stack.template["Resources"].get(logical, {}).get("Type", ""))
        properties, fingerprint = self._properties(dep, logical, kind)
        before = dep.old.get(logical)
        if before is not None and before.type == kind:
            carried = before.physical_id
            if self.owner.rollback_physical_id == "failed" and failure.physical_id:
                carried = failure.physical_id
            attempted = _Resource(kind, carried, properties, {}, fingerprint, _token(dep.stack, logical))
            return _Change(logical, "Update", before, attempted, produced=failure.physical_id)
        if _is_custom(kind) and failure.physical_id:
            created = _Resource(kind, failure.physical_id, properties, {}, fingerprint, _token(dep.stack, logical))
            return _Change(logical, "Create", None, created)
        return None

    def _rollback(self, dep: _Deployment, failure: _FailureError) -> StackResult:
        dep.result.reason = failure.reason
        failed = self._failed_resource(dep, failure)
        attempted = dep.changes + ([failed] if failed is not None else [])
        if dep.previous is None:
            return self._rollback_create(dep, attempted)
        return self._rollback_update(dep, attempted)

    def _rollback_create(self, dep: _Deployment, attempted: list[_Change]) -> StackResult:
        """A new stack that failed: delete what was created (the failed resource too), newest first."""
        remaining: dict[str, _Resource] = {}
        for change in reversed(attempted):
            if not self._remove(dep, change.logical, change.after, "rollback"):
                remaining[change.logical] = change.after
        dep.result.status = "ROLLBACK_FAILED" if remaining else "ROLLBACK_COMPLETE"
        self.state["stacks"][dep.stack.name] = {
            "stackId": dep.result.stack_id,
            "stackName": dep.stack.stack_name,
            "status": dep.result.status,
            "order": [c.logical for c in attempted if c.logical in remaining],
            "resources": {k: v.to_json() for k, v in remaining.items()},
            "outputs": {},
        }
        return self._finish(dep)

    def _rollback_update(self, dep: _Deployment, attempted: list[_Change]) -> StackResult:
        """An update that failed: updated resources get an Update back to the old properties, created ones a Delete."""
        self._stack_status(dep, "UPDATE_ROLLBACK_IN_PROGRESS")
        restored = dict(dep.old)
        ok = True
        cleanup: list[tuple[str, _Resource]] = []
        for change in reversed(attempted):
            logical, before, after = change.logical, change.before, change.after
            dep.resolver.physical_ids[logical] = after.physical_id
            if before is None or before.type != after.type:
                ok &= self._remove(dep, logical, after, "rollback")
                if before is None:
                    restored.pop(logical, None)
                continue
            if after.type == MEMBERSHIP_TYPE:
                self._membership(after.properties or {}, add=False)
                self._membership(before.properties or {}, add=True)
            if not _is_custom(after.type):
                continue
            self._event(dep, logical, after.type, "UPDATE_IN_PROGRESS")
            try:
                response = self.send(
                    dep,
                    logical,
                    "Update",
                    "rollback",
                    before.properties or {},
                    old_properties=after.properties or {},
                    physical_id=after.physical_id,
                )
            except _FailureError as failure:
                self._event(dep, logical, after.type, "UPDATE_FAILED", reason=failure.reason)
                ok = False
                break
            self._event(dep, logical, after.type, "UPDATE_COMPLETE", physical_id=response.physical_id)
            restored[logical] = _Resource(
                before.type,
                response.physical_id,
                before.properties,
                response.data,
                before.fingerprint,
                before.service_token,
            )
            # The cleanup deletes what the update had produced, whichever id the rollback carried.
            produced = change.produced or after.physical_id
            if produced != response.physical_id:
                cleanup.append(
                    (logical, _Resource(after.type, produced, after.properties, {}, "", after.service_token))
                )
        if ok and cleanup:
            self._stack_status(dep, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            for logical, resource in cleanup:
                self._remove(dep, logical, resource, "cleanup", tolerate=True)
        dep.result.status = "UPDATE_ROLLBACK_COMPLETE" if ok else "UPDATE_ROLLBACK_FAILED"
        outputs = dict((dep.previous or {}).get("outputs", {}))
        self.state["stacks"][dep.stack.name] = {
            "stackId": dep.result.stack_id,
            "stackName": dep.stack.stack_name,
            "status": dep.result.status,
            "order": dep.old_order,
            "resources": {k: v.to_json() for k, v in restored.items()},
            "outputs": outputs,
        }
        dep.result.outputs = outputs
        return self._finish(dep)

    # -- destroy --------------------------------------------------------------------------------

    def destroy(self, stack: StackArtifact) -> StackResult:
        wall = time.monotonic()
        self._remember_paths(stack)
        stacks_state: dict[str, Any] = self.state.setdefault("stacks", {})
        previous = stacks_state.get(stack.name)
        stack_id = previous["stackId"] if previous else ""
        resources = {k: _Resource.from_json(v) for k, v in (previous or {}).get("resources", {}).items()}
        ctx = _Context(
            stack=stack,
            result=StackResult(stack.name, stack_id, "destroy", "", started_at=self.clock.now()),
            resolver=self.resolver(stack, stack_id, resources),
            wall=wall,
        )
        if previous is None:
            ctx.result.status, ctx.result.changed = "DELETE_COMPLETE", False
            ctx.result.notes.append("stack is not deployed locally; nothing to destroy")
            return self._finish(ctx)
        self._stack_status(ctx, "DELETE_IN_PROGRESS")
        order = [lid for lid in previous.get("order", []) if lid in resources]
        for logical in reversed(order):
            ctx.resolver.physical_ids.setdefault(logical, resources[logical].physical_id)
            if not self._remove(ctx, logical, resources[logical], "destroy"):
                ctx.result.status = "DELETE_FAILED"
                previous["status"] = "DELETE_FAILED"
                return self._finish(ctx)
            resources.pop(logical)
            previous["resources"] = {k: v.to_json() for k, v in resources.items()}
        ctx.result.status = "DELETE_COMPLETE"
        stacks_state.pop(stack.name, None)
        return self._finish(ctx)

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
        if result.status and result.status != "NO_CHANGES":
            self._stack_status(ctx, result.status)
        result.finished_at = self.clock.now()
        result.paths = self._paths.get(result.stack, {})
        result.wall_seconds = time.monotonic() - ctx.wall
        if result.reason is None and not result.ok:
            result.reason = next((e.reason for e in reversed(result.events) if e.reason), None)
        return result


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
