"""Custom-resource handler for ``Custom::DataZoneMetadataGenerationBatch``.

A batch is one execution of the stack's batch workflow (a Step Functions state machine; see
``constructs_lib/_batch_definition.py``). This module decides *which* assets (the selection),
starts the execution idempotently, waits for it, turns its results into a summary and enforces
the failure tolerance; on Delete it stops the execution and cancels the runs it left in flight.

It shares the run handler's lifecycle rule (:func:`common.decide_update`: keep, return to the
previous execution on a rollback, or start anew) and the physical-id format
(``contract.PhysicalId`` of kind BATCH: the execution's name, and the counts once it finished).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, NotRequired, TypedDict

from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import common, contract
except ImportError:  # Lambda loads the entry module top-level, next to this one
    import common  # type: ignore[no-redef, import-not-found]
    import contract  # type: ignore[no-redef, import-not-found]

BatchProp = contract.BatchProp
BatchAttr = contract.BatchAttr
Prop = contract.Prop
PhysicalId = contract.PhysicalId

EXECUTION_RUNNING = "RUNNING"
#: Pages of ListExecutions an invented-id Delete reads (each running execution found costs a
#: DescribeExecution too): it must finish within its Lambda timeout, however busy the workflow.
LIST_EXECUTIONS_PAGES_MAX = 10


class BatchProperties(TypedDict):
    """The batch's ResourceProperties (numbers and booleans arrive as strings)."""

    ServiceToken: str
    DomainId: str
    ProjectId: str
    Types: list[str]
    Selection: contract.SelectionProperty
    MaxConcurrency: NotRequired[str | int]
    FailureTolerancePercent: NotRequired[str | float]
    WaitForCompletion: NotRequired[str | bool]
    FailOnTimeout: NotRequired[str | bool]
    AllowEmptySelection: NotRequired[str | bool]
    TimeoutSeconds: NotRequired[str | int]
    RunTimeoutSeconds: NotRequired[str | int]
    PollSeconds: NotRequired[str | int]
    CancelOnDelete: NotRequired[str | bool]
    RerunToken: NotRequired[str]
    Predictions: NotRequired[contract.PredictionsProperty]
    StateMachineArn: str
    ResultsBucket: str
    ServiceTimeout: NotRequired[str | int]


BatchEvent = common.CloudFormationEvent[BatchProperties]
BatchPollEvent = common.IsCompleteEvent[BatchProperties]


@dataclass(frozen=True)
class Selection:
    kind: str
    bucket: str | None = None
    key: str | None = None
    data_source_id: str | None = None
    text: str | None = None
    asset_types: tuple[str, ...] = ()

    @property
    def prop(self) -> contract.SelectionProperty:
        """The validated selection, as the workflow's worker reads it."""
        prop: contract.SelectionProperty = {"Kind": self.kind}  # type: ignore[typeddict-item]
        if self.kind == "IDS":
            prop.update({"Bucket": str(self.bucket), "Key": str(self.key)})
        elif self.kind == "DATA_SOURCE":
            prop["DataSourceId"] = str(self.data_source_id)
        else:
            if self.text:
                prop["Text"] = self.text
            prop["AssetTypes"] = list(self.asset_types)
        return prop


@dataclass(frozen=True)
class BatchSpec:
    """Validated resource properties of one batch."""

    domain_id: str
    project_id: str
    types: tuple[str, ...]
    selection: Selection
    max_concurrency: int
    failure_tolerance: float
    wait_for_completion: bool
    fail_on_timeout: bool
    allow_empty_selection: bool
    timeout_seconds: int
    run_timeout_seconds: int
    poll_seconds: int
    cancel_on_delete: bool
    predictions: common.Predictions | None
    state_machine_arn: str
    results_bucket: str


def _int(props: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = props.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        common.invalid(name, value, f"must be a whole number from {low} to {high}")
    if isinstance(value, bool) or not low <= number <= high:
        common.invalid(name, value, f"must be a whole number from {low} to {high}")
    return number


def _selection(value: Any) -> Selection:
    if not isinstance(value, dict):
        common.invalid(BatchProp.SELECTION, value, "must be an object with Kind IDS, DATA_SOURCE or SEARCH")
    kind = value.get("Kind")
    if kind == "IDS":
        bucket, key = value.get("Bucket"), value.get("Key")
        if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
            common.invalid(
                f"{BatchProp.SELECTION}.Bucket/Key", [bucket, key], "must name the S3 object of the asset ids"
            )
        return Selection(kind, bucket=bucket, key=key)
    if kind == "DATA_SOURCE":
        source = value.get("DataSourceId")
        if not isinstance(source, str) or not contract.DATA_SOURCE_ID_RE.fullmatch(source):
            common.invalid(
                f"{BatchProp.SELECTION}.DataSourceId", source, f"must match {contract.DATA_SOURCE_ID_RE.pattern}"
            )
        return Selection(kind, data_source_id=source)
    if kind == "SEARCH":
        text = value.get("Text") or None
        if text is not None and (not isinstance(text, str) or len(text) > contract.SEARCH_TEXT_MAX):
            common.invalid(f"{BatchProp.SELECTION}.Text", text, f"must be 1-{contract.SEARCH_TEXT_MAX} characters")
        types = value.get("AssetTypes") or []
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            common.invalid(f"{BatchProp.SELECTION}.AssetTypes", types, "must be a list of asset type identifiers")
        return Selection(kind, text=text, asset_types=tuple(types))
    return common.invalid(f"{BatchProp.SELECTION}.Kind", kind, "must be IDS, DATA_SOURCE or SEARCH")


def parse_properties(props: dict[str, Any]) -> BatchSpec:
    """Validate the batch's ResourceProperties; raise PropertyError naming the property and the fix."""
    tolerance = props.get(BatchProp.FAILURE_TOLERANCE, 0)
    try:
        tolerance_value = float(tolerance)
    except (TypeError, ValueError):
        common.invalid(BatchProp.FAILURE_TOLERANCE, tolerance, "must be a percentage from 0 to 100")
    if not 0 <= tolerance_value <= 100:  # NaN fails the comparison too
        common.invalid(BatchProp.FAILURE_TOLERANCE, tolerance, "must be a percentage from 0 to 100")
    for name in (BatchProp.STATE_MACHINE_ARN, BatchProp.RESULTS_BUCKET):
        if not isinstance(props.get(name), str) or not props[name]:
            common.invalid(name, props.get(name), "must be set (the construct sets it)")
    return BatchSpec(
        domain_id=common.required_str(
            props, Prop.DOMAIN_ID, contract.DOMAIN_ID_RE, f"must match {contract.DOMAIN_ID_RE.pattern}"
        ),
        project_id=common.required_str(
            props, Prop.PROJECT_ID, contract.PROJECT_ID_RE, f"must match {contract.PROJECT_ID_RE.pattern}"
        ),
        types=common.types(props),
        selection=_selection(props.get(BatchProp.SELECTION)),
        max_concurrency=_int(props, BatchProp.MAX_CONCURRENCY, 10, 1, contract.MAX_CONCURRENCY_MAX),
        failure_tolerance=tolerance_value,
        wait_for_completion=common.flag(props, Prop.WAIT_FOR_COMPLETION, True),
        fail_on_timeout=common.flag(props, BatchProp.FAIL_ON_TIMEOUT, False),
        allow_empty_selection=common.flag(props, BatchProp.ALLOW_EMPTY_SELECTION, False),
        timeout_seconds=common.timeout(props),
        run_timeout_seconds=_int(
            props,
            BatchProp.RUN_TIMEOUT_SECONDS,
            contract.DEFAULT_RUN_TIMEOUT_SECONDS,
            1,
            contract.MAX_RUN_TIMEOUT_SECONDS,
        ),
        poll_seconds=_int(props, BatchProp.POLL_SECONDS, contract.POLL_INTERVAL_SECONDS, 0, 3600),
        cancel_on_delete=common.flag(props, Prop.CANCEL_ON_DELETE, True),
        predictions=common.predictions(props.get(Prop.PREDICTIONS)),
        state_machine_arn=props[BatchProp.STATE_MACHINE_ARN],
        results_bucket=props[BatchProp.RESULTS_BUCKET],
    )


def batch_identity(props: dict[str, Any]) -> str:
    """What decides whether an Update needs a new execution (settings such as concurrency,
    tolerance or timeouts do not)."""
    types = props.get(Prop.TYPES)
    identity = (
        props.get(Prop.DOMAIN_ID),
        props.get(Prop.PROJECT_ID),
        tuple(sorted(types)) if isinstance(types, list) else types,
        json.dumps(props.get(BatchProp.SELECTION), sort_keys=True),
        props.get(Prop.RERUN_TOKEN) or None,
        json.dumps(props.get(Prop.PREDICTIONS), sort_keys=True),
        props.get(BatchProp.STATE_MACHINE_ARN),
    )
    return common.identity_hash(identity)


def execution_name(event: BatchEvent) -> str:
    """Same request -> same name (contract.EXECUTION_NAME_RE): Step Functions refuses a second
    execution of that name, so a redelivered request never starts two."""
    return "mgb-" + common.request_digest(event)[:32]


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def results_prefix(event: BatchEvent, name: str) -> str:
    return f"batches/{event['LogicalResourceId']}/{name}"


def summary_location(spec: BatchSpec, event: BatchEvent, name: str) -> str:
    """Where the workflow writes the execution's summary: known before it starts, so the
    attribute is set whether or not the deploy waits, and kept by settings-only updates."""
    return f"s3://{spec.results_bucket}/{results_prefix(event, name)}/summary.json"


def _data(spec: BatchSpec, current: PhysicalId, event: BatchEvent) -> dict[str, str]:
    succeeded, failed = (common.UNKNOWN, common.UNKNOWN) if current.counts is None else map(str, current.counts)
    return {
        BatchAttr.EXECUTION_ARN: execution_arn(spec.state_machine_arn, current.name),
        BatchAttr.STATUS: current.status or common.UNKNOWN,
        BatchAttr.SUCCEEDED_COUNT: succeeded,
        BatchAttr.FAILED_COUNT: failed,
        BatchAttr.SUMMARY: summary_location(spec, event, current.name),
    }


# ---------------------------------------------------------------------------------------------
# onEvent


def on_event(event: BatchEvent, context: Any) -> common.OnEventResponse:
    request_type = event.get("RequestType")
    common.log(logging.INFO, "batch request received", **common.request_fields(event))
    props = dict(event.get("ResourceProperties") or {})
    if request_type == "Delete":
        return _delete(event, props)
    spec = parse_properties(props)
    if request_type == "Create":
        return _start(event, spec, previous=None)
    if request_type != "Update":
        raise common.PropertyError(
            common.fit(f"RequestType {request_type!r} is invalid: must be Create, Update or Delete")
        )
    current = PhysicalId.parse("BATCH", event.get("PhysicalResourceId"))
    if current is None or current.inputs is None:
        return _start(event, spec, previous=None)
    decision = common.decide_update(event, batch_identity(props), current)
    if decision.start:
        return _start(event, spec, previous=decision.physical)
    common.log(logging.INFO, decision.why, execution=decision.physical.name)
    return {"PhysicalResourceId": str(decision.physical), "Data": _data(spec, decision.physical, event)}


def _start(event: BatchEvent, spec: BatchSpec, previous: PhysicalId | None) -> common.OnEventResponse:
    # Nothing is called yet: choosing the assets may have to wait for a data source's run, which
    # is isComplete's job (the first isComplete comes at once).
    name = execution_name(event)
    inputs = batch_identity(dict(event["ResourceProperties"]))
    physical = PhysicalId.batch(name, inputs, previous=None if previous is None else previous.alone())
    common.log(logging.INFO, "batch accepted", execution=name)
    return {
        "PhysicalResourceId": str(physical),
        "Data": {
            BatchAttr.EXECUTION_ARN: execution_arn(spec.state_machine_arn, name),
            "StartedAt": f"{time.time():.3f}",
        },
    }


# ---------------------------------------------------------------------------------------------
# isComplete


def is_complete(event: BatchPollEvent, context: Any) -> common.IsCompleteResponse:
    if event.get("RequestType") == "Delete":
        return _wait_for_cancellers(event)
    spec = parse_properties(dict(event["ResourceProperties"]))
    current = PhysicalId.parse("BATCH", event.get("PhysicalResourceId"))
    data = event.get("Data") or {}
    if current is None:
        raise common.RunError(
            common.fit(f"physical id {event.get('PhysicalResourceId')!r} is not a batch of this resource")
        )
    if "StartedAt" not in data:
        return {"IsComplete": True, "Data": _data(spec, current, event)}
    started_at = float(data["StartedAt"])
    arn = execution_arn(spec.state_machine_arn, current.name)
    try:
        execution = _describe_execution(arn)
        if execution is None:
            return _prepare_and_start(event, spec, current, started_at)
        return _follow(event, spec, current, execution, started_at)
    except (ClientError, BotoCoreError) as error:
        if not common.is_transient(error):
            raise common.RunError(
                common.fit(f"Metadata-generation batch {current.name}: {common.describe(error)}")
            ) from error
        common.log(
            logging.WARNING, "batch poll failed; trying again", execution=current.name, error=common.describe(error)
        )
        _check_deadline(spec, current, started_at, f"last poll failed: {common.describe(error)}", running=False)
        return {"IsComplete": False}


def _describe_execution(arn: str) -> dict[str, Any] | None:
    try:
        response: dict[str, Any] = common.stepfunctions().describe_execution(executionArn=arn)
    except ClientError as error:
        if common.error_code(error) == "ExecutionDoesNotExist":
            return None
        raise
    return response


def _check_deadline(spec: BatchSpec, current: PhysicalId, started_at: float, last: str, *, running: bool) -> None:
    elapsed = time.time() - started_at
    if elapsed < spec.timeout_seconds:
        return
    stopped = ""
    if running:
        # Failing the resource does not stop the execution: stop it, and the runs it left. The
        # timeout stays the reason whatever happens here (the Delete that follows tries again).
        try:
            stop_execution(spec, current.name, "timeout")
            stopped = "; the execution was stopped and its runs are being cancelled"
        except (ClientError, BotoCoreError) as error:
            common.log(logging.WARNING, "could not stop the batch at its timeout", error=common.describe(error))
            stopped = f"; stopping it failed ({common.describe(error)}): the stack's Delete tries again"
    # Running means fail_on_timeout=True asked for this; otherwise the execution could not be read.
    hint = (
        "(fail_on_timeout=True; without it the batch goes on after the deploy)"
        if running
        else "(use wait_for_completion=False for batches longer than the deploy may wait)"
    )
    head = f"Metadata-generation batch {current.name} did not finish within {spec.timeout_seconds} s{stopped} {hint}; "
    raise common.RunError(head + common.fit(last, common.REASON_LIMIT - common.json_size(head)))


def _prepare_and_start(
    event: BatchPollEvent, spec: BatchSpec, current: PhysicalId, started_at: float
) -> common.IsCompleteResponse:
    # Bounded work only: the workflow chooses the assets (a data source's import or a search may
    # be a million assets), this call just starts it.
    selection = spec.selection
    status = common.read_stack_status(event, execution=current.name)
    if isinstance(status, Exception):
        last = f"the stack's status could not be read: {common.describe(status)}"
        _check_deadline(spec, current, started_at, last, running=False)
        return {"IsComplete": False}
    if status not in common.APPLY_STACK_STATES:
        # CloudFormation is undoing this request (a rollback, or deleting a Create it gave up on):
        # nothing may start, and predictions must not land.
        raise common.RunError(
            common.fit(f"Metadata-generation batch {current.name} not started: the stack is {status}")
        )
    execution_input: contract.BatchInput = {
        "mode": "RUN",
        "domainId": spec.domain_id,
        "projectId": spec.project_id,
        "types": list(spec.types),
        "selection": selection.prop,
        "resultsBucket": spec.results_bucket,
        "prefix": results_prefix(event, current.name),
        "executionArn": execution_arn(spec.state_machine_arn, current.name),
        "failureTolerance": spec.failure_tolerance,
        "selectionWaitSeconds": spec.timeout_seconds,
        "allowEmptySelection": spec.allow_empty_selection,
        "maxConcurrency": spec.max_concurrency,
        "pollSeconds": spec.poll_seconds,
        "runTimeoutSeconds": spec.run_timeout_seconds,
        "tokenSeed": current.name,
        "predictions": predictions_input(spec.predictions),
        "resource": {"stackId": event["StackId"], "logicalResourceId": event["LogicalResourceId"]},
    }
    if selection.kind == "IDS":
        assert selection.bucket is not None
        assert selection.key is not None
        execution_input["items"] = {"bucket": selection.bucket, "key": selection.key}
    if common.flag(dict(event["ResourceProperties"]), BatchProp.CONTINUOUS, False):
        # Where the selection claims the data-source run it chooses (continuous.py): the event of
        # that run's end then starts no second execution over the same assets.
        execution_input["continuousPrefix"] = contract.continuous_folder(event["LogicalResourceId"])
    try:
        common.stepfunctions().start_execution(
            stateMachineArn=spec.state_machine_arn, name=current.name, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if common.error_code(error) != "ExecutionAlreadyExists":
            raise
    common.log(logging.INFO, "batch execution started", execution=current.name, selection=selection.kind)
    if not spec.wait_for_completion:
        return _finish(event, spec, current, EXECUTION_RUNNING, None)
    return {"IsComplete": False}


def predictions_input(predictions: common.Predictions | None) -> contract.BatchPredictions:
    if predictions is None:
        return {"mode": "NONE", "rule": {}, "choices": []}
    verb = "accept" if predictions.action == "ACCEPT" else "reject"
    choices = predictions.body.get(f"{verb}Choices")
    # Choices come with rule NONE (only the listed targets); a policy with neither leaves the rule
    # to DataZone's default, as the single run does.
    rule = predictions.body.get(f"{verb}Rule") or ({"rule": "NONE"} if choices else {})
    mode: Any = f"{predictions.action}_{'CHOICES' if choices else 'RULE'}"
    return {"mode": mode, "rule": _pascal(rule), "choices": _pascal(choices or [])}


def _pascal(value: Any) -> Any:
    """Step Functions' SDK integrations name every parameter in PascalCase."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    return value


def _follow(
    event: BatchPollEvent,
    spec: BatchSpec,
    current: PhysicalId,
    execution: dict[str, Any],
    started_at: float,
) -> common.IsCompleteResponse:
    status = str(execution.get("status"))
    if status == EXECUTION_RUNNING:
        if not spec.wait_for_completion:
            return _finish(event, spec, current, status, None)
        if not spec.fail_on_timeout and time.time() - started_at >= spec.timeout_seconds:
            # A catalog takes hours and CloudFormation waits one: the deploy goes on, the workflow
            # carries the batch to its end, writes its summary and ends FAILED past the tolerance.
            common.log(logging.INFO, "batch still running at its timeout; the deploy goes on", execution=current.name)
            return _finish(event, spec, current, status, None)
        _check_deadline(spec, current, started_at, "the execution is still running", running=True)
        return {"IsComplete": False}
    if status != "SUCCEEDED":
        error = str(execution.get("error", ""))
        cause = _cause_text(execution.get("cause"), error)
        if error == contract.FAILURE_TOLERANCE_EXCEEDED:
            # The workflow's own verdict, worded by its worker with the first failures.
            raise common.RunError(common.fit(f"Metadata-generation batch {current.name}: {cause}"))
        detail = f"{error or 'no error'}: {cause or 'no cause'}"
        raise common.RunError(
            common.fit(f"Metadata-generation batch {current.name}: execution ended {status}: {detail}")
        )
    summary = _output_summary(execution)
    return _finish(event, spec, current, status, (int(summary["succeeded"]), int(summary["failed"])))


def _cause_text(cause: Any, error: str) -> str:
    """A Lambda error's cause is its JSON payload: its message is what a person reads (with its
    type, unless the error already names it)."""
    text = str(cause or "")
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if isinstance(payload, dict) and payload.get("errorMessage"):
        kind = str(payload.get("errorType", "Error"))
        return str(payload["errorMessage"]) if kind == error else f"{kind}: {payload['errorMessage']}"
    return text


def _output_summary(execution: dict[str, Any]) -> dict[str, Any]:
    """The counts the workflow's summary step left in the execution's output."""
    try:
        output = json.loads(execution.get("output") or "{}")
    except ValueError:
        output = None
    summary = output.get("summary") if isinstance(output, dict) else None
    if not isinstance(summary, dict) or not {"succeeded", "failed"} <= summary.keys():
        raise common.RunError(common.fit(f"the execution's output has no summary counts: {execution.get('output')!r}"))
    return summary


def _finish(
    event: BatchEvent,
    spec: BatchSpec,
    current: PhysicalId,
    status: str,
    counts: tuple[int, int] | None,
) -> common.IsCompleteResponse:
    finished = current.finished(status, counts=counts)
    return {"IsComplete": True, "PhysicalResourceId": str(finished), "Data": _data(spec, finished, event)}


# ---------------------------------------------------------------------------------------------
# Delete


def _delete(event: BatchEvent, props: dict[str, Any]) -> common.OnEventResponse:
    physical_id = event.get("PhysicalResourceId", "")
    response: common.OnEventResponse = {"PhysicalResourceId": physical_id}
    # As for runs: a Delete never fails, every problem is logged.
    try:
        spec = parse_properties(props)
    except common.PropertyError as error:
        common.log(logging.WARNING, "batch properties are not valid; nothing to stop", error=str(error))
        return response
    if not spec.cancel_on_delete:
        common.log(logging.INFO, "cancel_on_delete is off; execution left alone", physicalResourceId=physical_id)
        return response
    # A short invented id (`<stack>-<logical>-<random>`, up to 36 characters) would pass for a
    # run id: only the handler's own execution names parse as a batch's (contract.EXECUTION_NAME_RE).
    current = PhysicalId.parse("BATCH", physical_id)
    if current is not None and current.status == "SUCCEEDED":
        common.log(logging.INFO, "batch finished; nothing to stop", execution=current.name)
        return response
    why = "delete" if current is not None else "delete of a create CloudFormation stopped waiting for"
    names = iter([current.name]) if current is not None else _executions_of(event, spec)
    cancellers: list[str] = []
    try:
        for name in names:  # stopped as found: the search may take a while
            try:
                canceller = stop_execution(spec, name, why)
                if canceller is not None:
                    cancellers.append(canceller)
            except (ClientError, BotoCoreError) as error:
                common.log(
                    logging.WARNING,
                    "could not stop the batch; delete succeeds anyway",
                    execution=name,
                    error=common.describe(error),
                )
    except (ClientError, BotoCoreError) as error:
        common.log(
            logging.WARNING, "could not list the executions; delete succeeds anyway", error=common.describe(error)
        )
    if cancellers:
        # isComplete waits for them: CloudFormation deletes what they need (the project
        # membership, the role, the worker, the workflow) only once this Delete is complete.
        response["Data"] = {CANCELLERS: " ".join(cancellers), "StartedAt": f"{time.time():.3f}"}
    return response


#: Data key, Delete only: the cancel executions isComplete waits for (space-separated ARNs).
CANCELLERS = "Cancellers"
#: How long a Delete waits for its cancel executions: two passes a minute apart over at most
#: max_concurrency (1,000) marks, at DataZone's 20 cancels per second, take about 3 minutes.
DELETE_WAIT_SECONDS = 900


def _wait_for_cancellers(event: BatchPollEvent) -> common.IsCompleteResponse:
    """Complete once the Delete's cancel executions ended; a Delete never fails: past
    DELETE_WAIT_SECONDS, or when they cannot be read, it completes and says so."""
    data = event.get("Data") or {}
    arns = str(data.get(CANCELLERS) or "").split()
    started_at = float(data.get("StartedAt") or 0)
    waited = time.time() - started_at
    for arn in arns:
        try:
            status = common.stepfunctions().describe_execution(executionArn=arn).get("status")
        except (ClientError, BotoCoreError) as error:
            if common.is_transient(error) and waited < DELETE_WAIT_SECONDS:
                return {"IsComplete": False}
            common.log(
                logging.WARNING,
                "could not read a cancel execution; delete completes",
                canceller=arn,
                error=common.describe(error),
            )
            continue
        if status == EXECUTION_RUNNING:
            if waited < DELETE_WAIT_SECONDS:
                return {"IsComplete": False}
            common.log(
                logging.WARNING,
                "cancel execution still running; delete completes",
                canceller=arn,
                waitedSeconds=round(waited),
            )
        elif status != "SUCCEEDED":
            common.log(logging.WARNING, "cancel execution did not succeed", canceller=arn, status=status)
    return {"IsComplete": True}


def _executions_of(event: BatchEvent, spec: BatchSpec) -> Iterator[str]:
    """Running executions this resource started (found by the input the handler wrote)."""
    client = common.stepfunctions()
    listing = common.pages(
        client, "list_executions", stateMachineArn=spec.state_machine_arn, statusFilter=EXECUTION_RUNNING
    )
    for page in islice(listing, LIST_EXECUTIONS_PAGES_MAX):
        for execution in page.get("executions") or []:
            described = client.describe_execution(executionArn=execution["executionArn"])
            # Anyone may start this state machine by hand, with any input.
            if input_of(described).get("resource") == {
                "stackId": event["StackId"],
                "logicalResourceId": event["LogicalResourceId"],
            }:
                yield str(execution["name"])


def input_of(execution: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(execution.get("input") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def stop_execution(spec: BatchSpec, name: str, why: str) -> str | None:
    """Stop the execution (if it runs), then start the workflow's cancel of the runs it left in
    flight: bounded work here (three calls), whatever the number of assets. The cancel
    execution's ARN, when one was started."""
    arn = execution_arn(spec.state_machine_arn, name)
    execution = _describe_execution(arn)
    if execution is None:
        common.log(logging.INFO, "no execution to stop", execution=name, why=why)
        return None
    status = execution.get("status")
    if status == "SUCCEEDED" or execution.get("error") == contract.FAILURE_TOLERANCE_EXCEEDED:
        # The map ended: every child waited for (or cancelled) its run. Any run of these assets
        # now is someone else's (e.g. the batch that replaces this one).
        common.log(logging.INFO, "execution finished; nothing to stop", execution=name, why=why)
        return None
    if status == EXECUTION_RUNNING:
        try:
            common.stepfunctions().stop_execution(executionArn=arn, cause=f"CloudFormation: {why}")
            common.log(logging.INFO, "batch execution stopped", execution=name, why=why)
        except (ClientError, BotoCoreError) as error:
            common.log(logging.WARNING, "could not stop the execution", execution=name, error=common.describe(error))
    given = input_of(execution)
    if given.get("mode") != "RUN" or not given.get("prefix") or not given.get("resultsBucket"):
        # Started by hand, or by a handler before in-flight markers: nothing exact to cancel.
        common.log(logging.WARNING, "the execution marks no runs in flight; runs left alone", execution=name)
        return None
    cancel_input: contract.CancelInput = {
        "mode": "CANCEL",
        "target": arn,
        "domainId": str(given.get("domainId")),
        "projectId": str(given.get("projectId")),
        "types": list(given.get("types") or []),
        "tokenSeed": str(given.get("tokenSeed")),
        "resultsBucket": str(given["resultsBucket"]),
        "prefix": str(given["prefix"]),
    }
    canceller = f"{name}-cancel"
    try:
        common.stepfunctions().start_execution(
            stateMachineArn=spec.state_machine_arn, name=canceller, input=json.dumps(cancel_input)
        )
    except ClientError as error:
        if common.error_code(error) != "ExecutionAlreadyExists":
            raise
    common.log(logging.INFO, "cancelling the runs the execution left in flight", execution=name, canceller=canceller)
    return execution_arn(spec.state_machine_arn, canceller)
