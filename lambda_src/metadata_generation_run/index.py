"""Custom-resource handler for ``Custom::DataZoneMetadataGenerationRun``.

Runs inside AWS Lambda behind ``aws_cdk.custom_resources.Provider``: ``on_event`` starts (or keeps,
or adopts, or cancels) a DataZone metadata-generation run and ``is_complete`` polls it until it
reaches a terminal status. The provider framework sends the CloudFormation response; raising here
fails the request and the exception message becomes the reason CloudFormation shows.

The handler keeps no state: what it must know about the run a resource already has travels in the
physical id (see ``contract.PhysicalId`` and docs/lifecycle.md). What it shares with the batch
handler (clients, logging, error wording, the Update rule) is in :mod:`common`.

This module must stay importable with nothing but the Lambda runtime's boto3: it imports nothing
from the construct library or aws-cdk-lib.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, NotRequired, TypedDict

import botocore
from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import common, contract
except ImportError:  # Lambda loads index.py as a top-level module, next to contract.py
    import common  # type: ignore[no-redef, import-not-found]
    import contract  # type: ignore[no-redef, import-not-found]

Prop = contract.Prop
Attr = contract.Attr
PhysicalId = contract.PhysicalId
PredictionsProperty = contract.PredictionsProperty
DOMAIN_ID_RE = contract.DOMAIN_ID_RE
PROJECT_ID_RE = contract.PROJECT_ID_RE
REVISION_MAX = contract.REVISION_MAX
# Read through this module by the construct's tests, which compare the handler's limits with the
# construct's and botocore's model (tests/construct/test_validation.py); the handler reads them
# in common.types and common.timeout.
KNOWN_TYPES = common.KNOWN_TYPES
TYPES_MAX = common.TYPES_MAX
MAX_TIMEOUT_SECONDS = common.MAX_TIMEOUT_SECONDS

RUNNING = frozenset({"SUBMITTED", "IN_PROGRESS"})
ALWAYS_FAILS = frozenset({"FAILED", "CANCELED"})
PARTIAL = "PARTIALLY_SUCCEEDED"
SUCCEEDS = frozenset({"SUCCEEDED", PARTIAL})
TERMINAL = ALWAYS_FAILS | SUCCEEDS
UNKNOWN = common.UNKNOWN

#: What one type's error message may take of a failed run's reason (the run and status come first).
TYPE_ERROR_LIMIT = 300
#: Pages of ListMetadataGenerationRuns an invented-id Delete reads (50 runs each), newest first:
#: one Delete must finish within its Lambda timeout, whatever the asset's history.
LIST_PAGES_MAX = 4


class ResourceProperties(TypedDict):
    ServiceToken: str
    DomainId: str
    ProjectId: str
    AssetId: str
    AssetRevision: NotRequired[str]
    Types: list[str]
    WaitForCompletion: NotRequired[str | bool]
    TimeoutSeconds: NotRequired[str | int]
    FailOnPartialSuccess: NotRequired[str | bool]
    CancelOnDelete: NotRequired[str | bool]
    RerunToken: NotRequired[str]
    Predictions: NotRequired[PredictionsProperty]
    ServiceTimeout: NotRequired[str | int]
    #: Written by 0.1 templates; ignored (the token is always derived from the request).
    ClientToken: NotRequired[str]


CloudFormationEvent = common.CloudFormationEvent[ResourceProperties]
IsCompleteEvent = common.IsCompleteEvent[ResourceProperties]


class _TryAgainError(Exception):
    """A transient failure worth another try at the next poll."""


@dataclass(frozen=True)
class RunSpec:
    """Validated resource properties of one run."""

    domain_id: str
    project_id: str
    asset_id: str
    asset_revision: str | None
    types: tuple[str, ...]
    wait_for_completion: bool
    timeout_seconds: int
    fail_on_partial_success: bool
    cancel_on_delete: bool
    rerun_token: str | None
    predictions: common.Predictions | None = None


# ---------------------------------------------------------------------------------------------
# Properties


def _optional_str(props: dict[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        common.invalid(name, value, "must be a string")
    return value


def parse_properties(props: dict[str, Any]) -> RunSpec:
    """Validate ResourceProperties; raise PropertyError naming the property and the fix."""
    revision = _optional_str(props, Prop.ASSET_REVISION)
    if revision is not None and len(revision) > REVISION_MAX:
        common.invalid(Prop.ASSET_REVISION, revision, f"must be 1-{REVISION_MAX} characters")
    return RunSpec(
        domain_id=common.required_str(props, Prop.DOMAIN_ID, DOMAIN_ID_RE, f"must match {DOMAIN_ID_RE.pattern}"),
        project_id=common.required_str(props, Prop.PROJECT_ID, PROJECT_ID_RE, f"must match {PROJECT_ID_RE.pattern}"),
        asset_id=common.required_str(props, Prop.ASSET_ID, None, "must be a non-empty asset id"),
        asset_revision=revision,
        types=common.types(props),
        wait_for_completion=common.flag(props, Prop.WAIT_FOR_COMPLETION, True),
        timeout_seconds=common.timeout(props),
        fail_on_partial_success=common.flag(props, Prop.FAIL_ON_PARTIAL_SUCCESS, False),
        cancel_on_delete=common.flag(props, Prop.CANCEL_ON_DELETE, True),
        rerun_token=_optional_str(props, Prop.RERUN_TOKEN),
        predictions=common.predictions(props.get(Prop.PREDICTIONS)),
    )


def run_identity(props: dict[str, Any]) -> tuple[Any, ...]:
    """What decides whether a run still fits the properties; type order does not matter to DataZone.

    Everything else (timeout, flags, ServiceTimeout, a 0.1 ClientToken) is a setting of the
    resource, not of the run: changing it never starts a run.
    """
    types = props.get(Prop.TYPES)
    return (
        props.get(Prop.DOMAIN_ID),
        props.get(Prop.PROJECT_ID),
        props.get(Prop.ASSET_ID),
        props.get(Prop.ASSET_REVISION) or None,
        tuple(sorted(types)) if isinstance(types, list) else types,
        props.get(Prop.RERUN_TOKEN) or None,
        # A new policy applies to a new run: predictions are applied once, right after their run.
        json.dumps(props.get(Prop.PREDICTIONS), sort_keys=True),
    )


def inputs_hash(props: dict[str, Any]) -> str:
    """The ``inputs`` of a run's physical id: :func:`run_identity`, hashed."""
    return common.identity_hash(run_identity(props))


def run_data(physical: PhysicalId, spec: RunSpec) -> dict[str, str]:
    """Response Data for a resource that keeps this (finished) run: no call needed."""
    data = {Attr.RUN_ID: physical.name, Attr.STATUS: physical.status or UNKNOWN}
    if spec.predictions is not None:
        data[Attr.ASSET_REVISION] = physical.revision or UNKNOWN
    return data


def derive_client_token(event: CloudFormationEvent) -> str:
    """Same request (CloudFormation or Lambda retry) -> same token -> DataZone returns the same run.

    Only the request decides it: any other request (an update that needs a new run, a stack
    created again after a delete) gets a token no earlier run was started with.
    """
    return "cfn-" + common.request_digest(event)


# ---------------------------------------------------------------------------------------------
# Calls


def _supports_types(client: Any) -> bool:
    members = client.meta.service_model.operation_model("StartMetadataGenerationRun").input_shape.members
    return "types" in members


def start_run(spec: RunSpec, client_token: str) -> dict[str, Any]:
    client = common.datazone()
    target: dict[str, str] = {"type": "ASSET", "identifier": spec.asset_id}
    if spec.asset_revision is not None:
        target["revision"] = spec.asset_revision
    params: dict[str, Any] = {
        "domainIdentifier": spec.domain_id,
        "owningProjectIdentifier": spec.project_id,
        "target": target,
        "clientToken": client_token,
    }
    if _supports_types(client):
        params["types"] = list(spec.types)
    elif len(spec.types) == 1:
        # botocore releases before `types` existed know only the deprecated single `type`.
        params["type"] = spec.types[0]
    else:
        raise common.RunError(
            f"this Lambda runtime's botocore {_botocore_version()} does not know the `types` "
            f"parameter, so it can ask for one type only, not {list(spec.types)}: use one type"
        )
    try:
        response: dict[str, Any] = client.start_metadata_generation_run(**params)
    except ClientError as error:
        raise common.client_error("StartMetadataGenerationRun", error, spec) from error
    return response


def _botocore_version() -> str:
    return str(botocore.__version__)


def get_run(spec: RunSpec, run_id: str) -> dict[str, Any]:
    """GetMetadataGenerationRun; raises ClientError/BotoCoreError for the caller to classify."""
    response: dict[str, Any] = common.datazone().get_metadata_generation_run(
        domainIdentifier=spec.domain_id, identifier=run_id
    )
    return response


def cancel_quietly(domain_id: str, run_id: str, why: str) -> bool:
    """Cancel a run, best effort: whatever happens is logged, nothing is raised. Returns False
    when DataZone says there is no such run (not found, or not a valid run id)."""
    try:
        common.datazone().cancel_metadata_generation_run(domainIdentifier=domain_id, identifier=run_id)
    except ClientError as error:
        code = common.error_code(error)
        outcome = {
            "ConflictException": "run already finished; nothing to cancel",
            common.NOT_FOUND: "run no longer exists; nothing to cancel",
            "ValidationException": "not a valid run; nothing to cancel",
        }.get(code)
        if outcome is not None:
            common.log(logging.INFO, outcome, runId=run_id, errorCode=code, why=why)
        else:
            common.log(logging.WARNING, "could not cancel run", runId=run_id, errorCode=code, error=str(error), why=why)
        return code not in (common.NOT_FOUND, "ValidationException")
    except BotoCoreError as error:
        common.log(logging.WARNING, "could not reach DataZone to cancel run", runId=run_id, error=str(error), why=why)
        return True
    common.log(logging.INFO, "run cancelled", runId=run_id, status="CANCELED", why=why)
    return True


# ---------------------------------------------------------------------------------------------
# onEvent


def on_event(event: CloudFormationEvent, context: Any) -> common.OnEventResponse:
    """Provider framework entry point for Create, Update and Delete."""
    request_type = event.get("RequestType")
    common.log(logging.INFO, "request received", **common.request_fields(event))
    if request_type == "Create":
        return _start(event, parse_properties(dict(event["ResourceProperties"])), previous=None)
    if request_type == "Update":
        return _update(event)
    if request_type == "Delete":
        return _delete(event)
    raise common.PropertyError(common.fit(f"RequestType {request_type!r} is invalid: must be Create, Update or Delete"))


def _start(event: CloudFormationEvent, spec: RunSpec, previous: PhysicalId | None) -> common.OnEventResponse:
    response = start_run(spec, derive_client_token(event))
    run_id = str(response["id"])
    status = str(response.get("status", "SUBMITTED"))
    common.log(logging.INFO, "run started", runId=run_id, status=status, assetId=spec.asset_id, types=list(spec.types))
    if previous is not None:
        previous = previous.alone()
    physical = PhysicalId.run(run_id, inputs_hash(dict(event["ResourceProperties"])), previous=previous)
    created = response.get("createdAt")
    started = created.timestamp() if isinstance(created, datetime) else time.time()
    # StartedAt tells isComplete that this request started the run (so it waits for it, and
    # applies its predictions), and bounds the wait while Get answers nothing useful.
    return {
        "PhysicalResourceId": str(physical),
        "Data": {Attr.RUN_ID: run_id, Attr.STATUS: status, "StartedAt": f"{started:.3f}"},
    }


def _keep(current: PhysicalId, spec: RunSpec, why: str) -> common.OnEventResponse:
    common.log(logging.INFO, why, runId=current.name, status=current.status)
    if current.status is None:
        # Only a 0.1 id, or what a FAILED response named: isComplete reads the status once.
        return {"PhysicalResourceId": str(current), "Data": {Attr.RUN_ID: current.name}}
    return {"PhysicalResourceId": str(current), "Data": run_data(current, spec)}


def _update(event: CloudFormationEvent) -> common.OnEventResponse:
    props = dict(event["ResourceProperties"])
    spec = parse_properties(props)
    carried = event.get("PhysicalResourceId")
    current = PhysicalId.parse("RUN", carried)
    if current is None:
        common.log(
            logging.INFO, "physical id is not a run of this resource; starting a run", physicalResourceId=carried
        )
        return _start(event, spec, previous=None)
    if current.inputs is None:
        return _update_legacy(event, spec, current)
    decision = common.decide_update(event, inputs_hash(props), current)
    if decision.start:
        # The new physical id makes CloudFormation send Delete for this one in the cleanup phase,
        # which cancels the run if it is somehow still running.
        return _start(event, spec, previous=decision.physical)
    return _keep(decision.physical, spec, decision.why)


def _update_legacy(event: CloudFormationEvent, spec: RunSpec, current: PhysicalId) -> common.OnEventResponse:
    """An Update of a resource created by 0.1, whose physical id is the bare run id."""
    old_props = dict(event.get("OldResourceProperties") or {})
    props = dict(event["ResourceProperties"])
    if run_identity(props) == run_identity(old_props):
        return _keep(current, spec, "run inputs unchanged; keeping the run")
    try:
        status = common.stack_status(event)
    except (ClientError, BotoCoreError) as error:
        # This may be the rollback that carries the old bare id: failing it would wedge the stack.
        return _keep(current, spec, f"DescribeStacks failed ({common.describe(error)}); keeping the run, starting none")
    if "ROLLBACK" in status:
        # Runs started by this version have `inputs` in their ids: a bare id is the one from before.
        return _keep(current, spec, f"stack is {status}; keeping the run, starting none")
    return _start(event, spec, previous=PhysicalId.run(current.name, inputs_hash(old_props)))


def _delete(event: CloudFormationEvent) -> common.OnEventResponse:
    physical_id = event.get("PhysicalResourceId", "")
    response: common.OnEventResponse = {"PhysicalResourceId": physical_id}
    props = dict(event.get("ResourceProperties") or {})
    # A Delete must never fail the stack: nothing is left behind by not cancelling, while a
    # failed Delete leaves the stack in DELETE_FAILED. So every problem below is logged, not raised.
    try:
        cancel = common.flag(props, Prop.CANCEL_ON_DELETE, True)
    except common.PropertyError:
        cancel = True
    if not cancel:
        common.log(logging.INFO, "cancel_on_delete is off; run left alone", physicalResourceId=physical_id)
        return response
    domain_id = props.get(Prop.DOMAIN_ID)
    if not isinstance(domain_id, str) or not DOMAIN_ID_RE.fullmatch(domain_id):
        common.log(logging.WARNING, "DomainId is not valid; nothing to cancel", physicalResourceId=physical_id)
        return response
    current = PhysicalId.parse("RUN", physical_id)
    if current is None:
        _cancel_in_flight_create(event, props)
    elif current.status in TERMINAL:
        common.log(logging.INFO, "run finished; nothing to cancel", runId=current.name, status=current.status)
    elif not cancel_quietly(domain_id, current.name, "delete") and current.inputs is None:
        # A short invented id (`<stack>-<logical>-<random>`) looks like a 0.1 bare run id; DataZone
        # knowing no such run is what tells them apart.
        _cancel_in_flight_create(event, props)
    return response


def _cancel_in_flight_create(event: CloudFormationEvent, props: dict[str, Any]) -> None:
    """A Delete whose physical id we never wrote: CloudFormation gave up on our Create (another
    resource failed) before it answered, and invented an id. Cancel the run that Create started,
    found from the properties: same asset, project, revision and types, still running, and young
    enough to belong to a request CloudFormation still waits for."""
    try:
        spec = parse_properties(props)
    except common.PropertyError as error:
        common.log(logging.WARNING, "properties are not valid; nothing to cancel", error=str(error))
        return
    try:
        runs = list(_recent_active_runs(spec))
    except (ClientError, BotoCoreError) as error:
        common.log(
            logging.WARNING, "could not list runs to cancel; delete succeeds anyway", error=common.describe(error)
        )
        return
    if not runs:
        common.log(
            logging.INFO,
            "no running run of this resource; nothing to cancel",
            physicalResourceId=event.get("PhysicalResourceId"),
        )
    for run_id in runs:
        cancel_quietly(spec.domain_id, run_id, "delete of a create CloudFormation stopped waiting for")


def _recent_active_runs(spec: RunSpec) -> Iterator[str]:
    # Only runs young enough to belong to the Create the invented-id Delete interrupts: CloudFormation
    # stops waiting for a request after its ServiceTimeout, so an older run is someone else's.
    oldest = time.time() - contract.SERVICE_TIMEOUT_SECONDS
    listing = common.pages(
        common.datazone(),
        "list_metadata_generation_runs",
        page_size=50,
        domainIdentifier=spec.domain_id,
        targetIdentifier=spec.asset_id,
    )
    for page in islice(listing, LIST_PAGES_MAX):
        for item in page.get("items") or []:
            target = item.get("target") or {}
            types = item.get("types") or ([item["type"]] if item.get("type") else [])
            created = item.get("createdAt")
            if (
                item.get("status") in RUNNING
                and item.get("owningProjectId", spec.project_id) == spec.project_id
                and target.get("identifier", spec.asset_id) == spec.asset_id
                and (spec.asset_revision is None or target.get("revision") == spec.asset_revision)
                and sorted(types) == sorted(spec.types)
                and (not isinstance(created, datetime) or created.timestamp() >= oldest)
            ):
                yield str(item["id"])


# ---------------------------------------------------------------------------------------------
# isComplete


def _failure_reason(run_id: str, status: str, run: dict[str, Any]) -> str:
    head = f"Metadata-generation run {run_id} ended {status}: "
    messages = [
        f"{stat.get('type')}: {common.fit(str(stat['errorMessage']), TYPE_ERROR_LIMIT)}"
        for stat in run.get("typeStats") or []
        if stat.get("errorMessage")
    ]
    detail = "; ".join(messages) if messages else "the service gave no error message"
    # The head (run and status) always survives; the service's text gives way.
    return head + common.fit(detail, common.REASON_LIMIT - common.json_size(head))


def _elapsed_seconds(run: dict[str, Any] | None, started_at: float) -> float:
    created = (run or {}).get("createdAt")
    start = created.timestamp() if isinstance(created, datetime) else started_at
    return time.time() - start


def is_complete(event: IsCompleteEvent, context: Any) -> common.IsCompleteResponse:
    """Provider framework poll: is the run in a terminal status yet?"""
    if event.get("RequestType") == "Delete":
        return {"IsComplete": True}
    spec = parse_properties(dict(event["ResourceProperties"]))
    current = PhysicalId.parse("RUN", event.get("PhysicalResourceId"))
    data = event.get("Data") or {}
    if current is None:
        raise common.RunError(
            common.fit(f"physical id {event.get('PhysicalResourceId')!r} is not a run of this resource")
        )
    if "StartedAt" not in data:
        # A kept or adopted run: this request started nothing, so it waits for nothing, applies
        # no predictions and cannot fail.
        if current.status is not None:
            return {"IsComplete": True, "Data": run_data(current, spec)}
        return {"IsComplete": True, "Data": _read_status(spec, current)}
    return _wait(event, spec, current, float(data["StartedAt"]), data.get(Attr.STATUS, "SUBMITTED"), context=context)


def _read_status(spec: RunSpec, current: PhysicalId) -> dict[str, str]:
    try:
        status = str(get_run(spec, current.name).get("status", UNKNOWN))
    except (ClientError, BotoCoreError) as error:
        common.log(
            logging.WARNING, "could not read the kept run's status", runId=current.name, error=common.describe(error)
        )
        status = UNKNOWN
    return run_data(current.finished(status, revision=current.revision), spec)


def _wait(
    event: IsCompleteEvent,
    spec: RunSpec,
    current: PhysicalId,
    started_at: float,
    start_status: str,
    *,
    context: Any = None,
) -> common.IsCompleteResponse:
    run_id = current.name
    if not spec.wait_for_completion:
        return _finish(current, spec, start_status, None)
    try:
        run = get_run(spec, run_id)
    except (ClientError, BotoCoreError) as error:
        # A 404 right after Start is read-after-write, not a lost run; throttles beyond botocore's
        # retries, 5xx and dropped connections pass too. The framework gives up on the first
        # isComplete that raises, so only the timeout may end the wait on these.
        code = common.error_code(error) if isinstance(error, ClientError) else None
        if not common.is_transient(error) and code != common.NOT_FOUND:
            cancel_quietly(spec.domain_id, run_id, "the run could not be read")
            raise common.call_failed("GetMetadataGenerationRun", error, spec) from error
        common.log(
            logging.WARNING, "poll failed; trying again at the next poll", runId=run_id, error=common.describe(error)
        )
        _check_timeout(spec, run_id, _elapsed_seconds(None, started_at), f"last poll failed: {common.describe(error)}")
        return {"IsComplete": False}
    status = str(run.get("status"))
    elapsed = _elapsed_seconds(run, started_at)
    common.log(logging.INFO, "run status", runId=run_id, status=status, elapsedSeconds=round(elapsed))
    if status in ALWAYS_FAILS or (status == PARTIAL and spec.fail_on_partial_success):
        raise common.RunError(_failure_reason(run_id, status, run))
    if status not in SUCCEEDS:
        if status not in RUNNING:
            # A status this handler does not know may be anything but success: wait on, and
            # name it if the wait ends.
            common.log(logging.WARNING, "unknown run status; still waiting", runId=run_id, status=status)
            status = f"{status} (not a status this handler knows)"
        _check_timeout(spec, run_id, elapsed, f"last status {status}")
        return {"IsComplete": False}
    if spec.predictions is None:
        return _finish(current, spec, status, None)
    return _apply_then_finish(event, spec, current, run, elapsed, context=context)


def _apply_then_finish(
    event: IsCompleteEvent, spec: RunSpec, current: PhysicalId, run: dict[str, Any], elapsed: float, *, context: Any
) -> common.IsCompleteResponse:
    """The run ended well: apply its predictions (if CloudFormation still wants them), then finish."""
    run_id = current.name
    # Get, DescribeStacks and Accept at their worst (botocore's retries) outlast the Lambda
    # timeout, and a killed invocation fails the request: leave the rest to the next poll,
    # which repeats them (Accept with the same clientToken).
    if common.time_left(context) < common.CALL_BUDGET_SECONDS * 2:
        common.log(logging.INFO, "too little time left to apply predictions; next poll", runId=run_id)
        return {"IsComplete": False}
    if not _may_apply(event, spec, run_id, elapsed):
        return {"IsComplete": False}
    if common.time_left(context) < common.CALL_BUDGET_SECONDS:
        common.log(logging.INFO, "too little time left to apply predictions; next poll", runId=run_id)
        return {"IsComplete": False}
    try:
        revision = apply_predictions(spec, run_id, run, event)
    except _TryAgainError as error:
        # The same clientToken at the next poll: DataZone applies them once.
        common.log(logging.WARNING, "applying predictions failed; trying again", runId=run_id, error=str(error))
        _check_timeout(spec, run_id, elapsed, f"applying predictions failed: {error}")
        return {"IsComplete": False}
    return _finish(current, spec, str(run.get("status")), revision)


def _finish(current: PhysicalId, spec: RunSpec, status: str, revision: str | None) -> common.IsCompleteResponse:
    finished = current.finished(status, revision=revision)
    return {"IsComplete": True, "PhysicalResourceId": str(finished), "Data": run_data(finished, spec)}


def _check_timeout(spec: RunSpec, run_id: str, elapsed: float, last: str) -> None:
    if elapsed < spec.timeout_seconds:
        return
    # Cancel first: failing the resource does not stop the run, and nothing will wait for it.
    cancel_quietly(spec.domain_id, run_id, "timeout")
    head = f"Metadata-generation run {run_id} timed out after {round(elapsed)} s (timeout {spec.timeout_seconds} s); "
    raise common.RunError(head + common.fit(last, common.REASON_LIMIT - common.json_size(head)))


def _may_apply(event: IsCompleteEvent, spec: RunSpec, run_id: str, elapsed: float) -> bool:
    """Whether CloudFormation still wants this request done: predictions rewrite the asset, and
    must not land once the stack rolls back or is deleted (an in-flight Create is deleted with an
    invented physical id while its waiter still polls)."""
    status = common.read_stack_status(event, runId=run_id)
    if isinstance(status, Exception):
        _check_timeout(spec, run_id, elapsed, f"the stack's status could not be read: {common.describe(status)}")
        return False
    if status not in common.APPLY_STACK_STATES:
        raise common.RunError(
            common.fit(f"Metadata-generation run {run_id} finished, but the stack is {status}: predictions not applied")
        )
    return True


def apply_predictions(spec: RunSpec, run_id: str, run: dict[str, Any], event: IsCompleteEvent) -> str:
    """Accept or reject the finished run's predictions; return the asset revision DataZone made."""
    assert spec.predictions is not None
    action = spec.predictions.action
    operation = "AcceptPredictions" if action == "ACCEPT" else "RejectPredictions"
    target = run.get("target") or {}
    revision = target.get("revision") or spec.asset_revision
    # Same run and policy -> same token, so the framework redelivering this request (a second
    # waiter polls the same run) gets DataZone's first answer instead of a second revision.
    token = common.digest(
        event["StackId"], event["LogicalResourceId"], run_id, action, json.dumps(spec.predictions.body, sort_keys=True)
    )
    params: dict[str, Any] = {
        "domainIdentifier": spec.domain_id,
        "identifier": target.get("identifier") or spec.asset_id,
        "clientToken": "cfn-" + token,
        **spec.predictions.body,
    }
    if revision:
        params["revision"] = revision
    client = common.datazone()
    try:
        if action == "ACCEPT":
            response = client.accept_predictions(**params)
            new_revision = response.get("revision")
        else:
            response = client.reject_predictions(**params)
            new_revision = response.get("assetRevision")
    except (ClientError, BotoCoreError) as error:
        if common.is_transient(error):
            raise _TryAgainError(common.describe(error)) from error
        prefix = f"Metadata-generation run {run_id} {run.get('status')}: "
        raise common.call_failed(operation, error, spec, prefix) from error
    common.log(
        logging.INFO, f"{operation} applied", runId=run_id, assetId=params["identifier"], assetRevision=new_revision
    )
    # It goes into the physical id: nothing the service sends may break that.
    return common.clean(str(new_revision or ""))
