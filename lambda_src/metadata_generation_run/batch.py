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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
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
SELECTION_PAGES_MAX = 1000  # 50,000 assets at 50 a page
LIST_EXECUTIONS_PAGES_MAX = 10
FAILURES_IN_REASON = 5

_sfn_client: Any = None
_s3_client: Any = None


def sfn() -> Any:
    """The module's Step Functions client (tests replace ``_sfn_client``)."""
    global _sfn_client  # noqa: PLW0603 - one lazily built client per Lambda container, by design
    if _sfn_client is None:
        _sfn_client = boto3.client("stepfunctions", config=index.CLIENT_CONFIG)
    return _sfn_client


def s3() -> Any:
    """The module's S3 client (tests replace ``_s3_client``)."""
    global _s3_client  # noqa: PLW0603 - as sfn()
    if _s3_client is None:
        _s3_client = boto3.client("s3", config=index.CLIENT_CONFIG)
    return _s3_client


@dataclass(frozen=True)
class Selection:
    kind: str
    bucket: str | None = None
    key: str | None = None
    data_source_id: str | None = None
    text: str | None = None
    asset_types: tuple[str, ...] = ()


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


def _data(spec: BatchSpec, current: PhysicalId, summary: str = "") -> dict[str, str]:
    succeeded, failed = _counts(current)
    return {
        BatchAttr.EXECUTION_ARN: execution_arn(spec.state_machine_arn, current.run_id),
        BatchAttr.STATUS: current.status or index.UNKNOWN,
        BatchAttr.SUCCEEDED_COUNT: succeeded,
        BatchAttr.FAILED_COUNT: failed,
        BatchAttr.SUMMARY: summary,
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
    # Summary "" on a kept batch: its file stays where the request that made it wrote it.
    return {"PhysicalResourceId": str(decision.physical), "Data": _data(spec, decision.physical)}


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
        return {"IsComplete": True}
    spec = parse_properties(dict(event["ResourceProperties"]))
    current = PhysicalId.parse(event.get("PhysicalResourceId"))
    data = event.get("Data") or {}
    if current is None:
        raise RunError(index.fit(f"physical id {event.get('PhysicalResourceId')!r} is not a batch of this resource"))
    if "StartedAt" not in data:
        return {"IsComplete": True, "Data": _data(spec, current)}
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
        # Failing the resource does not stop the execution: stop it, and the runs it left.
        _stop(spec, current.run_id, "timeout")
        stopped = "; the execution was stopped and its runs cancelled"
    head = (
        f"Metadata-generation batch {current.run_id} did not finish within {spec.timeout_seconds} s{stopped} "
        "(use wait_for_completion=False for batches longer than the deploy may wait); "
    )
    raise RunError(head + index.fit(last, index.REASON_LIMIT - index.json_size(head)))


def _prepare_and_start(
    event: index.IsCompleteEvent, spec: BatchSpec, current: PhysicalId, started_at: float
) -> index.IsCompleteResponse:
    prefix = results_prefix(event, current.run_id)
    items = _items(spec, prefix)
    if items is None:  # the data source's run is still going
        _check_deadline(spec, current, started_at, "the data source's latest run has not finished", running=False)
        return {"IsComplete": False}
    execution_input: contract.BatchInput = {
        "domainId": spec.domain_id,
        "projectId": spec.project_id,
        "types": list(spec.types),
        "items": items,
        "maxConcurrency": spec.max_concurrency,
        "pollSeconds": spec.poll_seconds,
        "maxPolls": max(1, -(-spec.run_timeout_seconds // max(spec.poll_seconds, 1))),
        "runTimeoutSeconds": spec.run_timeout_seconds,
        "tokenSeed": current.run_id,
        "predictions": _predictions(spec.predictions),
        "resource": {"stackId": event["StackId"], "logicalResourceId": event["LogicalResourceId"]},
    }
    try:
        sfn().start_execution(
            stateMachineArn=spec.state_machine_arn, name=current.run_id, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if index._error_code(error) != "ExecutionAlreadyExists":
            raise
    index._log(logging.INFO, "batch execution started", execution=current.run_id, items=items)
    if not spec.wait_for_completion:
        return _finish(spec, current, EXECUTION_RUNNING, None, "")
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


def _items(spec: BatchSpec, prefix: str) -> contract.S3Location | None:
    """Where the workflow reads the asset ids, or None while a data source's run is still going."""
    selection = spec.selection
    if selection.kind == "IDS":
        assert selection.bucket is not None
        assert selection.key is not None
        return {"bucket": selection.bucket, "key": selection.key}
    ids = list(_data_source_assets(spec)) if selection.kind == "DATA_SOURCE" else list(_search_assets(spec))
    if ids and ids[0] is None:
        return None
    unique = list(dict.fromkeys(str(i) for i in ids))
    key = f"{prefix}/items.json"
    s3().put_object(
        Bucket=spec.results_bucket, Key=key, Body=json.dumps(unique).encode(), ContentType="application/json"
    )
    index._log(logging.INFO, "batch assets selected", kind=selection.kind, assets=len(unique), key=key)
    return {"bucket": spec.results_bucket, "key": key}


def _pages(call: Any, params: dict[str, Any], pages: int = SELECTION_PAGES_MAX) -> Iterator[dict[str, Any]]:
    for _ in range(pages):
        page: dict[str, Any] = call(**params)
        yield page
        if not page.get("nextToken"):
            return
        params = {**params, "nextToken": page["nextToken"]}


def _data_source_assets(spec: BatchSpec) -> Iterator[str | None]:
    """The assets the data source's latest run imported; a single None while that run is going."""
    client = index.datazone()
    runs = [
        run
        for page in _pages(
            client.list_data_source_runs,
            {
                "domainIdentifier": spec.domain_id,
                "dataSourceIdentifier": spec.selection.data_source_id,
                "maxResults": 50,
            },
        )
        for run in page.get("items") or []
    ]
    if not runs:
        yield None  # a data source created with the stack may not have run yet
        return
    latest = max(runs, key=lambda run: run.get("createdAt") or 0)
    status = str(latest.get("status"))
    if status in DATA_SOURCE_RUN_WAITING:
        yield None
        return
    if status not in DATA_SOURCE_RUN_OK:
        error = latest.get("errorMessage") or {}
        message = f"{error.get('errorType', 'no error type')}: {error.get('errorDetail', 'no detail')}"
        raise RunError(
            index.fit(
                f"data source {spec.selection.data_source_id}: its latest run {latest.get('id')} "
                f"ended {status}: {message}"
            )
        )
    for page in _pages(
        client.list_data_source_run_activities,
        {"domainIdentifier": spec.domain_id, "identifier": latest["id"], "maxResults": 50},
    ):
        for activity in page.get("items") or []:
            if activity.get("dataAssetId") and activity.get("dataAssetStatus") in contract.IMPORTED_ASSET_STATES:
                yield str(activity["dataAssetId"])


def _search_assets(spec: BatchSpec) -> Iterator[str]:
    params: dict[str, Any] = {
        "domainIdentifier": spec.domain_id,
        "owningProjectIdentifier": spec.project_id,
        "searchScope": "ASSET",
        "maxResults": 50,
    }
    if spec.selection.text:
        params["searchText"] = spec.selection.text
    wanted = set(spec.selection.asset_types)
    for page in _pages(index.datazone().search, params):
        for item in page.get("items") or []:
            asset = item.get("assetItem") or {}
            if asset.get("identifier") and (not wanted or asset.get("typeIdentifier") in wanted):
                yield str(asset["identifier"])


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
            return _finish(spec, current, status, None, "")
        _check_deadline(spec, current, started_at, "the execution is still running", running=True)
        return {"IsComplete": False}
    if status != "SUCCEEDED":
        detail = f"{execution.get('error', 'no error')}: {execution.get('cause', 'no cause')}"
        raise RunError(index.fit(f"Metadata-generation batch {current.run_id}: execution ended {status}: {detail}"))
    summary, location = _summarize(spec, execution, results_prefix(event, current.run_id))
    failed = summary["failed"]
    total = summary["total"]
    if total and failed * 100 / total > spec.failure_tolerance:
        head = (
            f"Metadata-generation batch {current.run_id}: {failed} of {total} assets failed "
            f"(failure_tolerance {spec.failure_tolerance:g} %; summary {location}): "
        )
        shown = "; ".join(
            f"{f.get('assetId')} {f.get('status')}: {f.get('reason', '')}"
            for f in summary["failures"][:FAILURES_IN_REASON]
        )
        raise RunError(index.clean(head) + index.fit(shown, index.REASON_LIMIT - index.json_size(index.clean(head))))
    return _finish(spec, current, status, (summary["succeeded"], failed), location)


def _finish(
    spec: BatchSpec, current: PhysicalId, status: str, counts: tuple[int, int] | None, summary: str
) -> index.IsCompleteResponse:
    revision = None if counts is None else f"{counts[0]}.{counts[1]}"
    finished = current.finished(status, revision)
    return {"IsComplete": True, "PhysicalResourceId": str(finished), "Data": _data(spec, finished, summary)}


def _summarize(spec: BatchSpec, execution: dict[str, Any], prefix: str) -> tuple[dict[str, Any], str]:
    """Counts per final status and the failures, from the workflow's ResultWriter files; written
    next to them as summary.json (the execution's own output only says where they are)."""
    output = json.loads(execution.get("output") or "{}")
    where = output.get("results") if isinstance(output, dict) else None
    if not isinstance(where, dict) or not where.get("Key"):
        raise RunError(index.fit(f"the execution's output names no results manifest: {execution.get('output')!r}"))
    bucket = str(where.get("Bucket") or spec.results_bucket)
    manifest = _read_json(bucket, str(where["Key"]))
    records: list[dict[str, Any]] = []
    for kind, files in (manifest.get("ResultFiles") or {}).items():
        for file in files:
            for child in _read_json(bucket, str(file["Key"])):
                records.append(_asset_record(kind, child))
    counts = Counter(str(record.get("status")) for record in records)
    failures = [record for record in records if record.get("status") not in ASSET_OK]
    succeeded = sum(counts[status] for status in ASSET_OK)
    summary = {
        "executionArn": execution.get("executionArn"),
        "total": len(records),
        "succeeded": succeeded,
        "failed": len(records) - succeeded,
        "counts": dict(sorted(counts.items())),
        "failures": failures,
    }
    key = f"{prefix}/summary.json"
    s3().put_object(Bucket=bucket, Key=key, Body=json.dumps(summary, indent=1).encode(), ContentType="application/json")
    index._log(logging.INFO, "batch summary", counts=summary["counts"], total=summary["total"], key=key)
    return summary, f"s3://{bucket}/{key}"


def _read_json(bucket: str, key: str) -> Any:
    return json.loads(s3().get_object(Bucket=bucket, Key=key)["Body"].read())


def _asset_record(kind: str, child: dict[str, Any]) -> dict[str, Any]:
    """One asset's outcome from a ResultWriter entry (a child execution of the map)."""
    try:
        record = json.loads(child.get("Output") or "null")
    except ValueError:
        record = None
    if kind == "SUCCEEDED" and isinstance(record, dict):
        record.setdefault("reason", _reason(record))
        return record
    # A child execution that failed itself (not an asset: those succeed with a record).
    try:
        asset = json.loads(child.get("Input") or "{}").get("assetId")
    except (ValueError, AttributeError):
        asset = None
    return {
        "assetId": asset,
        "status": f"EXECUTION_{child.get('Status', kind)}",
        "reason": f"{child.get('Error', '')}: {child.get('Cause', '')}",
    }


def _reason(record: dict[str, Any]) -> str:
    if record.get("status") in ASSET_OK:
        return ""
    run = record.get("run") or {}
    messages = [
        f"{s.get('Type')}: {s.get('ErrorMessage')}" for s in run.get("TypeStats") or [] if s.get("ErrorMessage")
    ]
    if messages:
        return "; ".join(messages)
    if record.get("error"):
        return f"{record.get('error')}: {record.get('cause', '')}"
    if record.get("lastStatus"):
        return f"last status {record['lastStatus']}"
    return "the service gave no error message"


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
    if current is not None and current.status == "SUCCEEDED":
        index._log(logging.INFO, "batch finished; nothing to stop", execution=current.run_id)
        return response
    why = "delete" if current is not None else "delete of a create CloudFormation stopped waiting for"
    names = iter([current.run_id]) if current is not None else _executions_of(event, spec)
    try:
        for name in names:  # stopped as found: the search may take a while
            try:
                _stop(spec, name, why)
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
    return response


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


def _stop(spec: BatchSpec, name: str, why: str) -> None:
    """Stop the execution (if it runs), then cancel the runs its assets left in flight."""
    arn = execution_arn(spec.state_machine_arn, name)
    execution = _describe_execution(arn)
    if execution is None:
        index._log(logging.INFO, "no execution to stop", execution=name, why=why)
        return
    status = execution.get("status")
    if status == "SUCCEEDED":
        # The workflow waits for (or cancels) every run it starts: none is left, and any run of
        # these assets now is someone else's (e.g. the batch that replaces this one).
        index._log(logging.INFO, "execution finished; nothing to stop", execution=name, why=why)
        return
    if status == EXECUTION_RUNNING:
        try:
            sfn().stop_execution(executionArn=arn, cause=f"CloudFormation: {why}")
            index._log(logging.INFO, "batch execution stopped", execution=name, why=why)
        except (ClientError, BotoCoreError) as error:
            index._log(logging.WARNING, "could not stop the execution", execution=name, error=index._describe(error))
    items = _input_of(execution).get("items")
    try:
        assert isinstance(items, dict)
        assets = set(_read_json(str(items["bucket"]), str(items["key"])))
    except (AssertionError, KeyError, TypeError, ClientError, BotoCoreError, ValueError) as error:
        index._log(logging.WARNING, "could not read the batch's assets; runs left alone", error=str(error))
        return
    window = (_timestamp(execution.get("startDate"), 0.0), _timestamp(execution.get("stopDate"), float("inf")))
    for run_id in _active_runs(spec, assets, window):
        index.cancel_quietly(spec.domain_id, run_id, why)


def _timestamp(value: Any, default: float) -> float:
    return value.timestamp() if isinstance(value, datetime) else default


def _active_runs(spec: BatchSpec, assets: set[str], window: tuple[float, float]) -> Iterator[str]:
    """SUBMITTED/IN_PROGRESS runs of the project's batch assets started while the execution ran."""
    for status in sorted(index.RUNNING):
        params = {"domainIdentifier": spec.domain_id, "status": status, "maxResults": 50}
        for page in _pages(index.datazone().list_metadata_generation_runs, params, pages=20):
            for run in page.get("items") or []:
                created = run.get("createdAt")
                if (
                    run.get("owningProjectId", spec.project_id) == spec.project_id
                    and (run.get("target") or {}).get("identifier") in assets
                    and (not isinstance(created, datetime) or window[0] <= created.timestamp() <= window[1])
                ):
                    yield str(run["id"])
