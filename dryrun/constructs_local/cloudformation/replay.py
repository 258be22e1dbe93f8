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
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs_local._deps import check_local
from constructs_local.clock import Clock, EventClock, RealClock, SimulatedClock, WallClock
from constructs_local.cloudformation.assembly import AssemblyError, StackArtifact, load_assembly
from constructs_local.cloudformation.control import EndpointControl, _HttpControl, _InProcessControl
from constructs_local.cloudformation.deploy import DeploySteps
from constructs_local.cloudformation.destroy import DestroySteps
from constructs_local.cloudformation.endpoint import LocalCloudFormationEndpoint
from constructs_local.cloudformation.provision import HttpWorld, World, provision
from constructs_local.cloudformation.results import RequestRecord, ResourceEvent, StackResult
from constructs_local.cloudformation.session import (
    DEFAULT_REGION,
    DEFAULT_SERVICE_TIMEOUT_SECONDS,
    LOCAL_ACCOUNT,
    MEMBERSHIP_TYPE,
    ROLLBACK_PHYSICAL_IDS,
    RUN_RESOURCE_TYPE,
    SERVICE_TIMEOUT_REASON,
)
from constructs_local.cloudformation.state import DEFAULT_STATE_FILE, STATE_VERSION, _load_state, _save_state
from constructs_local.datazone.models import DataZoneBackend
from constructs_local.datazone.server import LocalDataZone
from constructs_local.events.catchup import DataSourceRunResult, run_data_source
from constructs_local.knobs import Knobs
from constructs_local.stepfunctions.interpreter import BATCH_RESOURCE_TYPE, LocalStepFunctions

#: Simulated seconds per real second of a batch's ``Wait`` states and back-offs when the endpoint
#: is another process (``serve``) whose clock runs in real time, unless ``time_scale`` says otherwise.
BATCH_CLOCK_SPEED = 30.0

__all__ = [
    "DEFAULT_REGION",
    "DEFAULT_SERVICE_TIMEOUT_SECONDS",
    "DEFAULT_STATE_FILE",
    "LOCAL_ACCOUNT",
    "MEMBERSHIP_TYPE",
    "ROLLBACK_PHYSICAL_IDS",
    "RUN_RESOURCE_TYPE",
    "SERVICE_TIMEOUT_REASON",
    "STATE_VERSION",
    "EndpointControl",
    "LocalCloudFormation",
    "RequestRecord",
    "ResourceEvent",
    "StackResult",
]


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
    :param batch_poll_seconds: the ``PollSeconds`` every batch resource gets (its workflow's
        ``Wait`` between two polls of a run); default: the template's. A batch's workflow runs in
        moto (:mod:`constructs_local.stepfunctions.interpreter`) on the endpoint's clock, which must then
        be an :class:`EventClock` (the replay's own endpoint gets one: simulated time shared by
        every thread, moto's included) or a :class:`RealClock`; a single-threaded
        :class:`SimulatedClock` cannot follow moto's threads.
    :param stepfunctions: a started :class:`LocalStepFunctions` to run batches in (tests, the
        bench): it outlives the command, so executions and result files can be inspected and a
        later ``destroy`` finds the execution a ``deploy`` left running. Default: one per command.
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
        batch_poll_seconds: int | None = None,
        stepfunctions: LocalStepFunctions | None = None,
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
        self.batch_poll_seconds = batch_poll_seconds
        self._given_stepfunctions = stepfunctions
        self._endpoint = endpoint
        self._endpoint_url = endpoint_url
        self._seed = seed
        self._knobs = knobs
        self._time_scale = time_scale
        self.strict = strict
        self.notify = notify
        self.notices: list[str] = []
        #: The clock of the latest command (its counters tell what ran on simulated time).
        self.clock: Clock | None = None

    # -- public ---------------------------------------------------------------------------------

    def check(self, stacks: Sequence[str] | None = None) -> list[StackArtifact]:
        """The stacks a command works on, once the assembly is readable and every module the
        command needs is installed (raises AssemblyError or MissingDependencyError otherwise)."""
        selected = self._select(stacks)
        # Locally, or against a `serve` process, a batch's workflow runs in this process's moto.
        check_local(batches=not self.aws and any(has_batch(stack) for stack in selected))
        return selected

    def deploy(self, stacks: Sequence[str] | None = None) -> list[StackResult]:
        """Deploy the named stacks (default: all), dependencies first; stop at the first failure."""
        selected = self.check(stacks)
        with self._session(selected) as session:
            self._provision(session, selected)
            session.events.watch()  # the data-source runs provisioning started end during the deploy
            results = []
            for stack in selected:
                result = session.deploy(stack)
                results.append(result)
                if not result.ok:
                    break
            return results

    def destroy(self, stacks: Sequence[str] | None = None) -> list[StackResult]:
        """Destroy the named stacks (default: all), dependents first."""
        selected = self.check(stacks)
        with self._session(selected) as session:
            results = []
            for stack in reversed(selected):
                result = session.destroy(stack)
                results.append(result)
                if not result.ok:
                    break
            return results

    def data_source_run(self, **options: Any) -> DataSourceRunResult:
        """A later run of a deployed data source, its events delivered, the executions it started
        waited for (``constructs_local.events.catchup``; options as ``run_data_source``)."""
        selected = self.check(None)
        with self._session(selected) as session:
            return run_data_source(session, selected, **options)

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

    def _checked_state(self) -> dict[str, Any]:
        state = _load_state(self.state_file)
        target = self._target()
        if state.get("stacks") and state.get("target", target) != target:
            raise AssemblyError(
                f"{self.state_file} holds stacks deployed against {state['target']}, not {target}: "
                "pass another --state file (physical ids of one are meaningless to the other)"
            )
        state["target"] = target
        return state

    def _open_endpoint(self, state: Mapping[str, Any]) -> _Endpoint:
        scaled = self._time_scale if self._time_scale is not None else 1.0
        if self.aws:
            return _Endpoint(WallClock(scaled), None)
        if self._endpoint_url is not None:
            return _Endpoint(WallClock(scaled), _HttpControl(self._endpoint_url))
        if self._endpoint is not None:
            given = self._endpoint.clock
            control = _InProcessControl(self._endpoint)
            # A sped-up RealClock is a timeline of its own too: handlers must read it, or their
            # deadlines run in wall seconds while runs and the waiter run faster (a 1-minute batch
            # timeout never fired before a 10-minute run at speed 50 ended).
            sped_up = isinstance(given, RealClock) and not isinstance(given, WallClock) and given.speed != 1
            simulated = isinstance(given, (SimulatedClock, EventClock)) or sped_up
            return _Endpoint(given, control, simulated, self._endpoint.backend)
        saved = state.get("datazone")
        start = max(time.time(), float(saved["now"])) if saved else None
        # One simulated timeline for every thread, a batch's workflow on moto's included: see
        # EventClock. Handlers read it too, so their own deadlines, the waiter's, CloudFormation's
        # and the workflow's all fire at the same simulated moment.
        clock = EventClock(start=start, time_scale=self._time_scale or 0.0)
        fresh = DataZoneBackend(seed=self._seed, clock=clock, knobs=self._knobs)
        if saved:
            fresh.import_state(saved)
        owned = LocalDataZone(backend=fresh).start()
        return _Endpoint(clock, _InProcessControl(owned), True, owned.backend, owned)

    def _stepfunctions(self, endpoint: _Endpoint, account: str) -> LocalStepFunctions | None:
        if endpoint.control is None:
            return None  # against AWS the handler starts real executions
        clock = endpoint.clock
        if isinstance(clock, SimulatedClock):
            raise AssemblyError(
                "a MetadataGenerationBatch runs its workflow on moto's threads, which a SimulatedClock "
                "cannot follow: give the endpoint an EventClock (simulated) or a RealClock"
            )
        if isinstance(clock, EventClock):
            return LocalStepFunctions(datazone_url=endpoint.control.url, account=account, clock=clock)
        if isinstance(clock, WallClock):
            speed = 1 / clock.time_scale if clock.time_scale > 0 else BATCH_CLOCK_SPEED
        else:
            speed = float(getattr(clock, "speed", 1.0))
        return LocalStepFunctions(datazone_url=endpoint.control.url, speed=speed, account=account)

    @contextlib.contextmanager
    def _session(self, stacks: Sequence[StackArtifact] = ()) -> Iterator[_Session]:
        state = self._checked_state()
        batches = any(has_batch(stack) for stack in stacks)
        endpoint = self._open_endpoint(state)
        self.clock = endpoint.clock
        cfn: LocalCloudFormationEndpoint | None = None
        if not self.aws:
            cfn = LocalCloudFormationEndpoint(endpoint.clock, call_seconds=0.05 if endpoint.simulate else 0.0).start()
            for known in state.get("stacks", {}).values():
                cfn.set_status(known["stackId"], known["stackName"], known.get("status", "CREATE_COMPLETE"))
        given = self._given_stepfunctions
        if given is not None and isinstance(endpoint.clock, EventClock):
            # A caller's moto world waits on the endpoint's simulated time like the replay's own.
            given.adapter.use_clock(endpoint.clock)
        # The account the stacks' ARNs name (the first batch stack's, else the replay's own).
        account = next((s.account for s in stacks if has_batch(s) and s.account), LOCAL_ACCOUNT)
        steps = self._stepfunctions(endpoint, account) if batches and given is None else None
        session = _Session(
            self,
            state,
            endpoint.clock,
            endpoint.control,
            simulate=endpoint.simulate,
            backend=endpoint.backend,
            cfn=cfn,
            stepfunctions=given or steps,
        )
        try:
            with steps if steps is not None else contextlib.nullcontext():
                yield session
                session.events.close()  # runs ending later are announced by the next command
                session.scheduler.drain()
        finally:
            for function in session.functions.values():
                function.close()
            if cfn is not None:
                cfn.stop()
            if endpoint.owned is not None:
                state["datazone"] = endpoint.owned.backend.export_state()
                endpoint.owned.stop()
            _save_state(self.state_file, state)


@dataclass
class _Endpoint:
    """Where a command's DataZone calls go, and the clock everything shares."""

    clock: Clock
    control: EndpointControl | None
    simulate: bool = False
    backend: DataZoneBackend | None = None
    owned: LocalDataZone | None = None  # the replay's own endpoint (its state is saved)


def has_batch(stack: StackArtifact) -> bool:
    return any(r.get("Type") == BATCH_RESOURCE_TYPE for r in stack.template.get("Resources", {}).values())


class _Session(DeploySteps, DestroySteps):
    """One command: the state, the clock, the endpoint and warm functions; deploys and destroys."""
