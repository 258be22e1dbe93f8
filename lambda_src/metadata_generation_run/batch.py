"""Custom-resource handler for ``Custom::DataZoneMetadataGenerationBatch``.

A batch is one execution of the stack's batch workflow (a Step Functions state machine; see
``constructs_lib/_batch_definition.py``). This module decides *which* assets (the selection),
starts the execution idempotently, waits for it, turns its results into a summary and enforces
the failure tolerance; on Delete it stops the execution and cancels the runs it left in flight.

It shares the run handler's lifecycle rules (:func:`index.decide_update`: keep, return to the
previous execution on a rollback, or start anew) and its physical-id format: the execution name
stands where a run id stands, and the counts ``<succeeded>.<failed>`` where a run's asset
revision stands.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import contract, index
except ImportError:  # Lambda loads the entry module top-level, next to this one
    import contract  # type: ignore[no-redef, import-not-found]
    import index  # type: ignore[no-redef, import-not-found]

BatchProp = contract.BatchProp
BatchAttr = contract.BatchAttr
Prop = contract.Prop
PhysicalId = index.PhysicalId
RunError = index.RunError
PropertyError = index.PropertyError

EXECUTION_RUNNING = "RUNNING"
#: Statuses of an asset that count as done well; every other one counts as failed.
ASSET_OK = frozenset({"SUCCEEDED", "PARTIALLY_SUCCEEDED"})
DATA_SOURCE_RUN_WAITING = frozenset({"REQUESTED", "RUNNING"})
DATA_SOURCE_RUN_OK = frozenset({"SUCCESS", "PARTIALLY_SUCCEEDED"})
LIST_EXECUTIONS_PAGES_MAX = 10
FAILURES_IN_REASON = 5

_sfn_client: Any = None


def sfn() -> Any:
    """The module's Step Functions client (tests replace ``_sfn_client``)."""
    global _sfn_client  # noqa: PLW0603 - one lazily built client per Lambda container, by design
    if _sfn_client is None:
        _sfn_client = boto3.client("stepfunctions", config=index.CLIENT_CONFIG)
    return _sfn_client


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
    predictions: index.Predictions | None
    state_machine_arn: str
    results_bucket: str


def _int(props: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = props.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        index._bad(name, value, f"must be a whole number from {low} to {high}")
    if isinstance(value, bool) or not low <= number <= high:
        index._bad(name, value, f"must be a whole number from {low} to {high}")
    return number


def _selection(value: Any) -> Selection:
    if not isinstance(value, dict):
        index._bad(BatchProp.SELECTION, value, "must be an object with Kind IDS, DATA_SOURCE or SEARCH")
    kind = value.get("Kind")
    if kind == "IDS":
        bucket, key = value.get("Bucket"), value.get("Key")
        if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
            index._bad(f"{BatchProp.SELECTION}.Bucket/Key", [bucket, key], "must name the S3 object of the asset ids")
        return Selection(kind, bucket=bucket, key=key)
    if kind == "DATA_SOURCE":
        source = value.get("DataSourceId")
        if not isinstance(source, str) or not contract.DATA_SOURCE_ID_RE.fullmatch(source):
            index._bad(
                f"{BatchProp.SELECTION}.DataSourceId", source, f"must match {contract.DATA_SOURCE_ID_RE.pattern}"
            )
        return Selection(kind, data_source_id=source)
    if kind == "SEARCH":
        text = value.get("Text") or None
        if text is not None and (not isinstance(text, str) or len(text) > contract.SEARCH_TEXT_MAX):
            index._bad(f"{BatchProp.SELECTION}.Text", text, f"must be 1-{contract.SEARCH_TEXT_MAX} characters")
        types = value.get("AssetTypes") or []
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            index._bad(f"{BatchProp.SELECTION}.AssetTypes", types, "must be a list of asset type identifiers")
        return Selection(kind, text=text, asset_types=tuple(types))
    return index._bad(f"{BatchProp.SELECTION}.Kind", kind, "must be IDS, DATA_SOURCE or SEARCH")


def parse_properties(props: dict[str, Any]) -> BatchSpec:
    """Validate the batch's ResourceProperties; raise PropertyError naming the property and the fix."""
    tolerance = props.get(BatchProp.FAILURE_TOLERANCE, 0)
    try:
        tolerance_value = float(tolerance)
    except (TypeError, ValueError):
        index._bad(BatchProp.FAILURE_TOLERANCE, tolerance, "must be a percentage from 0 to 100")
    if not 0 <= tolerance_value <= 100:  # NaN fails the comparison too
        index._bad(BatchProp.FAILURE_TOLERANCE, tolerance, "must be a percentage from 0 to 100")
    for name in (BatchProp.STATE_MACHINE_ARN, BatchProp.RESULTS_BUCKET):
        if not isinstance(props.get(name), str) or not props[name]:
            index._bad(name, props.get(name), "must be set (the construct sets it)")
    return BatchSpec(
        domain_id=index._required_str(
            props, Prop.DOMAIN_ID, index.DOMAIN_ID_RE, f"must match {index.DOMAIN_ID_RE.pattern}"
        ),
        project_id=index._required_str(
            props, Prop.PROJECT_ID, index.PROJECT_ID_RE, f"must match {index.PROJECT_ID_RE.pattern}"
        ),
        types=index._types(props),
        selection=_selection(props.get(BatchProp.SELECTION)),
        max_concurrency=_int(props, BatchProp.MAX_CONCURRENCY, 10, 1, contract.MAX_CONCURRENCY_MAX),
        failure_tolerance=tolerance_value,
        wait_for_completion=index._bool(props, Prop.WAIT_FOR_COMPLETION, True),
        fail_on_timeout=index._bool(props, BatchProp.FAIL_ON_TIMEOUT, False),
        allow_empty_selection=index._bool(props, BatchProp.ALLOW_EMPTY_SELECTION, False),
        timeout_seconds=index._timeout(props),
        run_timeout_seconds=_int(
            props,
            BatchProp.RUN_TIMEOUT_SECONDS,
            contract.DEFAULT_RUN_TIMEOUT_SECONDS,
            1,
            contract.MAX_RUN_TIMEOUT_SECONDS,
        ),
        poll_seconds=_int(props, BatchProp.POLL_SECONDS, contract.POLL_INTERVAL_SECONDS, 0, 3600),
        cancel_on_delete=index._bool(props, Prop.CANCEL_ON_DELETE, True),
        predictions=index._predictions(props.get(Prop.PREDICTIONS)),
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
    return hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:16]


#: The names :func:`execution_name` makes (a cancel execution adds ``-cancel``).
EXECUTION_NAME_RE = re.compile(r"mgb-[0-9a-f]{32}")


def execution_name(event: index.CloudFormationEvent) -> str:
    """Same request -> same name: Step Functions refuses a second execution of that name, so a
    redelivered request never starts two."""
    seed = "\n".join((event["StackId"], event["LogicalResourceId"], event["RequestId"]))
    return "mgb-" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def results_prefix(event: index.CloudFormationEvent, name: str) -> str:
    return f"batches/{event['LogicalResourceId']}/{name}"


def _counts(current: PhysicalId) -> tuple[str, str]:
    succeeded, _, failed = (current.revision or "").partition(".")
    return succeeded or index.UNKNOWN, failed or index.UNKNOWN


def summary_location(spec: BatchSpec, event: index.CloudFormationEvent, name: str) -> str:
    """Where the workflow writes the execution's summary: known before it starts, so the
    attribute is set whether or not the deploy waits, and kept by settings-only updates."""
    return f"s3://{spec.results_bucket}/{results_prefix(event, name)}/summary.json"


def _data(spec: BatchSpec, current: PhysicalId, event: index.CloudFormationEvent) -> dict[str, str]:
    succeeded, failed = _counts(current)
    return {
        BatchAttr.EXECUTION_ARN: execution_arn(spec.state_machine_arn, current.run_id),
        BatchAttr.STATUS: current.status or index.UNKNOWN,
        BatchAttr.SUCCEEDED_COUNT: succeeded,
        BatchAttr.FAILED_COUNT: failed,
        BatchAttr.SUMMARY: summary_location(spec, event, current.run_id),
    }


# ---------------------------------------------------------------------------------------------
# onEvent


def on_event(event: index.CloudFormationEvent, context: Any) -> index.OnEventResponse:
    request_type = event.get("RequestType")
    index._log(logging.INFO, "batch request received", **index._request_fields(event))
    props = dict(event.get("ResourceProperties") or {})
    if request_type == "Delete":
        return _delete(event, props)
    spec = parse_properties(props)
    if request_type == "Create":
        return _start(event, spec, previous=None)
    if request_type != "Update":
        raise PropertyError(index.fit(f"RequestType {request_type!r} is invalid: must be Create, Update or Delete"))
    current = PhysicalId.parse(event.get("PhysicalResourceId"))
    if current is None or current.inputs is None:
        return _start(event, spec, previous=None)
    decision = index.decide_update(event, batch_identity(props), current)
    if decision.start:
        return _start(event, spec, previous=decision.physical)
    index._log(logging.INFO, decision.why, execution=decision.physical.run_id)
    return {"PhysicalResourceId": str(decision.physical), "Data": _data(spec, decision.physical, event)}


def _start(event: index.CloudFormationEvent, spec: BatchSpec, previous: PhysicalId | None) -> index.OnEventResponse:
    # Nothing is called yet: choosing the assets may have to wait for a data source's run, which
    # is isComplete's job (the first isComplete comes at once).
    name = execution_name(event)
    if previous is not None:
        previous = PhysicalId(previous.run_id, previous.inputs, previous.status, previous.revision)
    physical = PhysicalId(name, batch_identity(dict(event["ResourceProperties"])), previous=previous)
    index._log(logging.INFO, "batch accepted", execution=name)
    return {
        "PhysicalResourceId": str(physical),
        "Data": {
            BatchAttr.EXECUTION_ARN: execution_arn(spec.state_machine_arn, name),
            "StartedAt": f"{index.now():.3f}",
        },
    }


# ---------------------------------------------------------------------------------------------
# isComplete


def is_complete(event: index.IsCompleteEvent, context: Any) -> index.IsCompleteResponse:
    if event.get("RequestType") == "Delete":
        return _wait_for_cancellers(event)
    spec = parse_properties(dict(event["ResourceProperties"]))
    current = PhysicalId.parse(event.get("PhysicalResourceId"))
    data = event.get("Data") or {}
    if current is None:
        raise RunError(index.fit(f"physical id {event.get('PhysicalResourceId')!r} is not a batch of this resource"))
    if "StartedAt" not in data:
        return {"IsComplete": True, "Data": _data(spec, current, event)}
    started_at = float(data["StartedAt"])
    arn = execution_arn(spec.state_machine_arn, current.run_id)
    try:
        execution = _describe_execution(arn)
        if execution is None:
            return _prepare_and_start(event, spec, current, started_at)
        return _follow(event, spec, current, execution, started_at)
    except (ClientError, BotoCoreError) as error:
        if not index.is_transient(error):
            raise RunError(
                index.fit(f"Metadata-generation batch {current.run_id}: {index._describe(error)}")
            ) from error
        index._log(
            logging.WARNING, "batch poll failed; trying again", execution=current.run_id, error=index._describe(error)
        )
        _check_deadline(spec, current, started_at, f"last poll failed: {index._describe(error)}", running=False)
        return {"IsComplete": False}


def _describe_execution(arn: str) -> dict[str, Any] | None:
    try:
        response: dict[str, Any] = sfn().describe_execution(executionArn=arn)
    except ClientError as error:
        if index._error_code(error) == "ExecutionDoesNotExist":
            return None
        raise
    return response


def _check_deadline(spec: BatchSpec, current: PhysicalId, started_at: float, last: str, *, running: bool) -> None:
    elapsed = index.now() - started_at
    if elapsed < spec.timeout_seconds:
        return
    stopped = ""
    if running:
        # Failing the resource does not stop the execution: stop it, and the runs it left. The
        # timeout stays the reason whatever happens here (the Delete that follows tries again).
        try:
            _stop(spec, current.run_id, "timeout")
            stopped = "; the execution was stopped and its runs are being cancelled"
        except (ClientError, BotoCoreError) as error:
            index._log(logging.WARNING, "could not stop the batch at its timeout", error=index._describe(error))
            stopped = f"; stopping it failed ({index._describe(error)}): the stack's Delete tries again"
    # Running means fail_on_timeout=True asked for this; otherwise the execution could not be read.
    hint = (
        "(fail_on_timeout=True; without it the batch goes on after the deploy)"
        if running
        else "(use wait_for_completion=False for batches longer than the deploy may wait)"
    )
    head = (
        f"Metadata-generation batch {current.run_id} did not finish within {spec.timeout_seconds} s{stopped} {hint}; "
    )
    raise RunError(head + index.fit(last, index.REASON_LIMIT - index.json_size(head)))


def _prepare_and_start(
    event: index.IsCompleteEvent, spec: BatchSpec, current: PhysicalId, started_at: float
) -> index.IsCompleteResponse:
    # Bounded work only: the workflow chooses the assets (a data source's import or a search may
    # be a million assets), this call just starts it.
    selection = spec.selection
    status = index.read_stack_status(event, execution=current.run_id)
    if isinstance(status, Exception):
        last = f"the stack's status could not be read: {index._describe(status)}"
        _check_deadline(spec, current, started_at, last, running=False)
        return {"IsComplete": False}
    if status not in index.APPLY_STACK_STATES:
        # CloudFormation is undoing this request (a rollback, or deleting a Create it gave up on):
        # nothing may start, and predictions must not land.
        raise RunError(index.fit(f"Metadata-generation batch {current.run_id} not started: the stack is {status}"))
    execution_input: contract.BatchInput = {
        "mode": "RUN",
        "domainId": spec.domain_id,
        "projectId": spec.project_id,
        "types": list(spec.types),
        "selection": selection.prop,
        "resultsBucket": spec.results_bucket,
        "prefix": results_prefix(event, current.run_id),
        "executionArn": execution_arn(spec.state_machine_arn, current.run_id),
        "failureTolerance": spec.failure_tolerance,
        "selectionWaitSeconds": spec.timeout_seconds,
        "allowEmptySelection": spec.allow_empty_selection,
        "maxConcurrency": spec.max_concurrency,
        "pollSeconds": spec.poll_seconds,
        "runTimeoutSeconds": spec.run_timeout_seconds,
        "tokenSeed": current.run_id,
        "predictions": _predictions(spec.predictions),
        "resource": {"stackId": event["StackId"], "logicalResourceId": event["LogicalResourceId"]},
    }
    if selection.kind == "IDS":
        assert selection.bucket is not None
        assert selection.key is not None
        execution_input["items"] = {"bucket": selection.bucket, "key": selection.key}
    if index._bool(dict(event["ResourceProperties"]), BatchProp.CONTINUOUS, False):
        # Where the selection claims the data-source run it chooses (continuous.py): the event of
        # that run's end then starts no second execution over the same assets.
        execution_input["continuousPrefix"] = contract.continuous_folder(event["LogicalResourceId"])
    try:
        sfn().start_execution(
            stateMachineArn=spec.state_machine_arn, name=current.run_id, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if index._error_code(error) != "ExecutionAlreadyExists":
            raise
    index._log(logging.INFO, "batch execution started", execution=current.run_id, selection=selection.kind)
    if not spec.wait_for_completion:
        return _finish(event, spec, current, EXECUTION_RUNNING, None)
    return {"IsComplete": False}


def _predictions(predictions: index.Predictions | None) -> contract.BatchPredictions:
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
    event: index.IsCompleteEvent,
    spec: BatchSpec,
    current: PhysicalId,
    execution: dict[str, Any],
    started_at: float,
) -> index.IsCompleteResponse:
    status = str(execution.get("status"))
    if status == EXECUTION_RUNNING:
        if not spec.wait_for_completion:
            return _finish(event, spec, current, status, None)
        if not spec.fail_on_timeout and index.now() - started_at >= spec.timeout_seconds:
            # A catalog takes hours and CloudFormation waits one: the deploy goes on, the workflow
            # carries the batch to its end, writes its summary and ends FAILED past the tolerance.
            index._log(logging.INFO, "batch still running at its timeout; the deploy goes on", execution=current.run_id)
            return _finish(event, spec, current, status, None)
        _check_deadline(spec, current, started_at, "the execution is still running", running=True)
        return {"IsComplete": False}
    if status != "SUCCEEDED":
        error = str(execution.get("error", ""))
        cause = _cause_text(execution.get("cause"), error)
        if error == contract.FAILURE_TOLERANCE_EXCEEDED:
            # The workflow's own verdict, worded by its worker with the first failures.
            raise RunError(index.fit(f"Metadata-generation batch {current.run_id}: {cause}"))
        detail = f"{error or 'no error'}: {cause or 'no cause'}"
        raise RunError(index.fit(f"Metadata-generation batch {current.run_id}: execution ended {status}: {detail}"))
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
        raise RunError(index.fit(f"the execution's output has no summary counts: {execution.get('output')!r}"))
    return summary


def _finish(
    event: index.CloudFormationEvent,
    spec: BatchSpec,
    current: PhysicalId,
    status: str,
    counts: tuple[int, int] | None,
) -> index.IsCompleteResponse:
    revision = None if counts is None else f"{counts[0]}.{counts[1]}"
    finished = current.finished(status, revision)
    return {"IsComplete": True, "PhysicalResourceId": str(finished), "Data": _data(spec, finished, event)}


# ---------------------------------------------------------------------------------------------
# Delete


def _delete(event: index.CloudFormationEvent, props: dict[str, Any]) -> index.OnEventResponse:
    physical_id = event.get("PhysicalResourceId", "")
    response: index.OnEventResponse = {"PhysicalResourceId": physical_id}
    # As for runs: a Delete never fails, every problem is logged.
    try:
        spec = parse_properties(props)
    except PropertyError as error:
        index._log(logging.WARNING, "batch properties are not valid; nothing to stop", error=str(error))
        return response
    if not spec.cancel_on_delete:
        index._log(logging.INFO, "cancel_on_delete is off; execution left alone", physicalResourceId=physical_id)
        return response
    current = PhysicalId.parse(physical_id)
    if current is not None and not EXECUTION_NAME_RE.fullmatch(current.run_id):
        # A short invented id (`<stack>-<logical>-<random>`, up to 36 characters) parses as a
        # bare name: only the handler's own names are executions of this resource.
        current = None
    if current is not None and current.status == "SUCCEEDED":
        index._log(logging.INFO, "batch finished; nothing to stop", execution=current.run_id)
        return response
    why = "delete" if current is not None else "delete of a create CloudFormation stopped waiting for"
    names = iter([current.run_id]) if current is not None else _executions_of(event, spec)
    cancellers: list[str] = []
    try:
        for name in names:  # stopped as found: the search may take a while
            try:
                canceller = _stop(spec, name, why)
                if canceller is not None:
                    cancellers.append(canceller)
            except (ClientError, BotoCoreError) as error:
                index._log(
                    logging.WARNING,
                    "could not stop the batch; delete succeeds anyway",
                    execution=name,
                    error=index._describe(error),
                )
    except (ClientError, BotoCoreError) as error:
        index._log(
            logging.WARNING, "could not list the executions; delete succeeds anyway", error=index._describe(error)
        )
    if cancellers:
        # isComplete waits for them: CloudFormation deletes what they need (the project
        # membership, the role, the worker, the workflow) only once this Delete is complete.
        response["Data"] = {CANCELLERS: " ".join(cancellers), "StartedAt": f"{index.now():.3f}"}
    return response


#: Data key, Delete only: the cancel executions isComplete waits for (space-separated ARNs).
CANCELLERS = "Cancellers"
#: How long a Delete waits for its cancel executions: two passes a minute apart over at most
#: max_concurrency (1,000) marks, at DataZone's 20 cancels per second, take about 3 minutes.
DELETE_WAIT_SECONDS = 900


def _wait_for_cancellers(event: index.IsCompleteEvent) -> index.IsCompleteResponse:
    """Complete once the Delete's cancel executions ended; a Delete never fails: past
    DELETE_WAIT_SECONDS, or when they cannot be read, it completes and says so."""
    data = event.get("Data") or {}
    arns = str(data.get(CANCELLERS) or "").split()
    started_at = float(data.get("StartedAt") or 0)
    waited = index.now() - started_at
    for arn in arns:
        try:
            status = sfn().describe_execution(executionArn=arn).get("status")
        except (ClientError, BotoCoreError) as error:
            if index.is_transient(error) and waited < DELETE_WAIT_SECONDS:
                return {"IsComplete": False}
            index._log(
                logging.WARNING,
                "could not read a cancel execution; delete completes",
                canceller=arn,
                error=index._describe(error),
            )
            continue
        if status == EXECUTION_RUNNING:
            if waited < DELETE_WAIT_SECONDS:
                return {"IsComplete": False}
            index._log(
                logging.WARNING,
                "cancel execution still running; delete completes",
                canceller=arn,
                waitedSeconds=round(waited),
            )
        elif status != "SUCCEEDED":
            index._log(logging.WARNING, "cancel execution did not succeed", canceller=arn, status=status)
    return {"IsComplete": True}


def _executions_of(event: index.CloudFormationEvent, spec: BatchSpec) -> Iterator[str]:
    """Running executions this resource started (found by the input the handler wrote)."""
    client = sfn()
    params: dict[str, Any] = {"stateMachineArn": spec.state_machine_arn, "statusFilter": EXECUTION_RUNNING}
    for _ in range(LIST_EXECUTIONS_PAGES_MAX):
        page = client.list_executions(**params)
        for execution in page.get("executions") or []:
            described = client.describe_execution(executionArn=execution["executionArn"])
            # Anyone may start this state machine by hand, with any input.
            if _input_of(described).get("resource") == {
                "stackId": event["StackId"],
                "logicalResourceId": event["LogicalResourceId"],
            }:
                yield str(execution["name"])
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]


def _input_of(execution: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(execution.get("input") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _stop(spec: BatchSpec, name: str, why: str) -> str | None:
    """Stop the execution (if it runs), then start the workflow's cancel of the runs it left in
    flight: bounded work here (three calls), whatever the number of assets. The cancel
    execution's ARN, when one was started."""
    arn = execution_arn(spec.state_machine_arn, name)
    execution = _describe_execution(arn)
    if execution is None:
        index._log(logging.INFO, "no execution to stop", execution=name, why=why)
        return None
    status = execution.get("status")
    if status == "SUCCEEDED" or execution.get("error") == contract.FAILURE_TOLERANCE_EXCEEDED:
        # The map ended: every child waited for (or cancelled) its run. Any run of these assets
        # now is someone else's (e.g. the batch that replaces this one).
        index._log(logging.INFO, "execution finished; nothing to stop", execution=name, why=why)
        return None
    if status == EXECUTION_RUNNING:
        try:
            sfn().stop_execution(executionArn=arn, cause=f"CloudFormation: {why}")
            index._log(logging.INFO, "batch execution stopped", execution=name, why=why)
        except (ClientError, BotoCoreError) as error:
            index._log(logging.WARNING, "could not stop the execution", execution=name, error=index._describe(error))
    given = _input_of(execution)
    if given.get("mode") != "RUN" or not given.get("prefix") or not given.get("resultsBucket"):
        # Started by hand, or by a handler before in-flight markers: nothing exact to cancel.
        index._log(logging.WARNING, "the execution marks no runs in flight; runs left alone", execution=name)
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
        sfn().start_execution(stateMachineArn=spec.state_machine_arn, name=canceller, input=json.dumps(cancel_input))
    except ClientError as error:
        if index._error_code(error) != "ExecutionAlreadyExists":
            raise
    index._log(logging.INFO, "cancelling the runs the execution left in flight", execution=name, canceller=canceller)
    return execution_arn(spec.state_machine_arn, canceller)
