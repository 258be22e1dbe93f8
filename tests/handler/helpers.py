"""Event builders and constants shared by the handler tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

import time_machine
from botocore.response import StreamingBody

from lambda_src.metadata_generation_run import batch, index

DOMAIN_ID = "dzd_abc123"
PROJECT_ID = "prj_456def"
ASSET_ID = "asset-789ghi"
RUN_ID = "run_0123456789abcdef"
NEW_RUN_ID = "run_fedcba9876543210"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/Demo/11111111-2222-3333-4444-555555555555"
LOGICAL_ID = "MetadataRunA1B2C3D4"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:Demo-ProviderframeworkonEvent"
RESOURCE_TYPE = "Custom::DataZoneMetadataGenerationRun"
# What the provider framework answers after a failed Create; never a DataZone run id.
FAILED_CREATE_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
# A fake presigned URL: the secret part must never reach a log record.
RESPONSE_URL_SECRET = "X-Amz-Signature=5eCr3tS1gnatur3DoNotLog0123456789abcdef"
RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
    "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/Demo/1111%7CMetadataRun%7Creq-1"
    f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&{RESPONSE_URL_SECRET}"
)
CREATED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# What onEvent puts in Data when it started the run (the Start response's createdAt, epoch seconds).
STARTED_AT = f"{CREATED_AT.timestamp():.3f}"

DESCRIPTIONS = "BUSINESS_DESCRIPTIONS"
NAMES = "BUSINESS_NAMES"
GLOSSARY = "BUSINESS_GLOSSARY_ASSOCIATIONS"

# Pass as a property override to leave the property out entirely.
ABSENT: Any = object()


@dataclass
class FakeContext:
    """The part of the Lambda context object a handler might touch."""

    function_name: str = "Demo-MetadataGenerationRunOnEvent"
    aws_request_id: str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    remaining_ms: int = 840_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class WorkerContext:
    """A Lambda context for the batch worker: remaining time read from ``left_ms``, one value per
    call (the last one repeats); ``calls`` counts the reads."""

    left_ms: list[int] = field(default_factory=lambda: [170_000])
    calls: int = 0

    def get_remaining_time_in_millis(self) -> int:
        value = self.left_ms[min(self.calls, len(self.left_ms) - 1)]
        self.calls += 1
        return value


def make_props(**overrides: Any) -> dict[str, Any]:
    """ResourceProperties as CloudFormation sends them: booleans and numbers as strings."""
    props: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "DomainId": DOMAIN_ID,
        "ProjectId": PROJECT_ID,
        "AssetId": ASSET_ID,
        "Types": [DESCRIPTIONS],
        "WaitForCompletion": "true",
        "TimeoutSeconds": "1800",
        "FailOnPartialSuccess": "false",
        "CancelOnDelete": "true",
    }
    for key, value in overrides.items():
        if value is ABSENT:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def make_event(
    request_type: str = "Create",
    props: dict[str, Any] | None = None,
    *,
    old_props: dict[str, Any] | None = None,
    physical_id: str | None = None,
    data: dict[str, str] | None = None,
    request_id: str = "11111111-aaaa-bbbb-cccc-000000000001",
    stack_id: str = STACK_ID,
    logical_id: str = LOGICAL_ID,
    resource_type: str = RESOURCE_TYPE,
) -> index.IsCompleteEvent:
    """A CloudFormation custom-resource event (plus the provider framework's Data for is_complete)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": request_id,
        "StackId": stack_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResponseURL": RESPONSE_URL,
        "ResourceProperties": make_props() if props is None else props,
    }
    if old_props is not None:
        event["OldResourceProperties"] = old_props
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if data is not None:
        event["Data"] = data
    return cast(index.IsCompleteEvent, event)


def inputs_of(props: dict[str, Any] | None = None) -> str:
    """The `inputs` field of a physical id for these properties (16 hex digits)."""
    return index.inputs_hash(make_props() if props is None else props)


def pid(
    props: dict[str, Any] | None = None,
    run_id: str = RUN_ID,
    *,
    status: str | None = None,
    revision: str | None = None,
    previous: str | None = None,
) -> str:
    """A physical id written out by hand: ``<runId>:<inputs>[:<status>[:<revision>]][!<previous>]``."""
    fields = [run_id, inputs_of(props)]
    if status is not None:
        fields.append(status)
        if revision is not None:
            fields.append(revision)
    text = ":".join(quote(field, safe="") for field in fields)
    return text if previous is None else f"{text}!{previous}"


def started_data(run_id: str = RUN_ID, status: str = "SUBMITTED") -> dict[str, str]:
    """onEvent's Data when it started ``run_id`` (and what is_complete receives back)."""
    return {"RunId": run_id, "Status": status, "StartedAt": STARTED_AT}


def poll_event(
    props: dict[str, Any] | None = None,
    *,
    data: dict[str, str] | None = None,
    request_type: str = "Create",
    physical_id: str | None = None,
) -> index.IsCompleteEvent:
    """What is_complete receives after on_event started RUN_ID for ``props``."""
    return make_event(
        request_type,
        props,
        physical_id=pid(props) if physical_id is None else physical_id,
        data=started_data() if data is None else data,
    )


def start_params(*, types: list[str] | None = None, revision: str | None = None, token: Any) -> dict[str, Any]:
    """The exact StartMetadataGenerationRun parameters the handler should send."""
    target: dict[str, str] = {"type": "ASSET", "identifier": ASSET_ID}
    if revision is not None:
        target["revision"] = revision
    return {
        "domainIdentifier": DOMAIN_ID,
        "owningProjectIdentifier": PROJECT_ID,
        "target": target,
        "types": [DESCRIPTIONS] if types is None else types,
        "clientToken": token,
    }


def start_response(run_id: str = RUN_ID, status: str = "SUBMITTED") -> dict[str, Any]:
    return {
        "domainId": DOMAIN_ID,
        "id": run_id,
        "status": status,
        "types": [DESCRIPTIONS],
        "createdAt": CREATED_AT,
        "createdBy": "AROAEXAMPLE:handler",
        "owningProjectId": PROJECT_ID,
    }


def get_params(run_id: str = RUN_ID) -> dict[str, Any]:
    return {"domainIdentifier": DOMAIN_ID, "identifier": run_id}


def get_response(
    status: str,
    *,
    type_stats: list[dict[str, str]] | None = None,
    created_at: datetime | None = CREATED_AT,
    run_id: str = RUN_ID,
    revision: str | None = None,
) -> dict[str, Any]:
    target: dict[str, str] = {"type": "ASSET", "identifier": ASSET_ID}
    if revision is not None:
        target["revision"] = revision
    response: dict[str, Any] = {
        "domainId": DOMAIN_ID,
        "id": run_id,
        "status": status,
        "types": [DESCRIPTIONS],
        "owningProjectId": PROJECT_ID,
        "target": target,
    }
    if created_at is not None:
        response["createdAt"] = created_at
    if type_stats is not None:
        response["typeStats"] = type_stats
    return response


def stack_params() -> dict[str, Any]:
    """The exact DescribeStacks parameters: the request's StackId."""
    return {"StackName": STACK_ID}


def stack_response(status: str) -> dict[str, Any]:
    return {"Stacks": [{"StackName": "Demo", "StackId": STACK_ID, "CreationTime": CREATED_AT, "StackStatus": status}]}


def cancel_params(run_id: str = RUN_ID) -> dict[str, Any]:
    return {"domainIdentifier": DOMAIN_ID, "identifier": run_id}


def list_params(next_token: str | None = None) -> dict[str, Any]:
    """The exact ListMetadataGenerationRuns parameters of an invented-id Delete."""
    params: dict[str, Any] = {"domainIdentifier": DOMAIN_ID, "targetIdentifier": ASSET_ID, "maxResults": 50}
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def run_item(
    run_id: str,
    status: str = "IN_PROGRESS",
    *,
    types: list[str] | None = None,
    project_id: str = PROJECT_ID,
    asset_id: str = ASSET_ID,
    revision: str | None = None,
    created_at: datetime = CREATED_AT,
) -> dict[str, Any]:
    """One item of a ListMetadataGenerationRuns page."""
    target: dict[str, str] = {"type": "ASSET", "identifier": asset_id}
    if revision is not None:
        target["revision"] = revision
    return {
        "domainId": DOMAIN_ID,
        "id": run_id,
        "status": status,
        "types": [DESCRIPTIONS] if types is None else types,
        "owningProjectId": project_id,
        "target": target,
        "createdAt": created_at,
        "createdBy": "AROAEXAMPLE:handler",
    }


# ---------------------------------------------------------------------------------------------
# Custom::DataZoneMetadataGenerationBatch

BATCH_RESOURCE_TYPE = "Custom::DataZoneMetadataGenerationBatch"
BATCH_LOGICAL_ID = "CatalogBatchA1B2C3D4"
BATCH_REQUEST_ID = "22222222-aaaa-bbbb-cccc-000000000002"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:DemoMetadataGenerationBatch"
RESULTS_BUCKET = "demo-batchresults-0123456789ab"
ITEMS_BUCKET = "cdk-hnb659fds-assets-123456789012-us-east-1"
ITEMS_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0.json"
DATA_SOURCE_ID = "ds_0123456789"
IDS_SELECTION: dict[str, Any] = {"Kind": "IDS", "Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY, "Count": "3"}


def batch_props(**overrides: Any) -> dict[str, Any]:
    """The batch's ResourceProperties as CloudFormation sends them (numbers and booleans as strings)."""
    props: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "DomainId": DOMAIN_ID,
        "ProjectId": PROJECT_ID,
        "Types": [DESCRIPTIONS],
        "Selection": IDS_SELECTION,
        "MaxConcurrency": "10",
        "FailureTolerancePercent": "0",
        "TimeoutSeconds": "1800",
        "RunTimeoutSeconds": "1800",
        "PollSeconds": "10",
        "WaitForCompletion": "true",
        "CancelOnDelete": "true",
        "StateMachineArn": STATE_MACHINE_ARN,
        "ResultsBucket": RESULTS_BUCKET,
    }
    for key, value in overrides.items():
        if value is ABSENT:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def batch_event(
    request_type: str = "Create",
    props: dict[str, Any] | None = None,
    *,
    old_props: dict[str, Any] | None = None,
    physical_id: str | None = None,
    data: dict[str, str] | None = None,
    request_id: str = BATCH_REQUEST_ID,
) -> batch.BatchPollEvent:
    """A CloudFormation event for the batch resource (plus the framework's Data for is_complete)."""
    event = make_event(
        request_type,
        batch_props() if props is None else props,
        old_props=old_props,
        physical_id=physical_id,
        data=data,
        request_id=request_id,
        logical_id=BATCH_LOGICAL_ID,
        resource_type=BATCH_RESOURCE_TYPE,
    )
    return cast(batch.BatchPollEvent, event)


def execution_name_for(request_id: str = BATCH_REQUEST_ID) -> str:
    """The execution name a request gets, computed here independently of the handler."""
    seed = "\n".join((STACK_ID, BATCH_LOGICAL_ID, request_id))
    return "mgb-" + hashlib.sha256(seed.encode()).hexdigest()[:32]


EXECUTION_NAME = execution_name_for()


def execution_arn_of(name: str = EXECUTION_NAME) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:DemoMetadataGenerationBatch:{name}"


def batch_inputs(props: dict[str, Any] | None = None) -> str:
    """The `inputs` field of a batch's physical id (16 hex digits)."""
    return batch.batch_identity(batch_props() if props is None else props)


def batch_pid(
    props: dict[str, Any] | None = None,
    name: str = EXECUTION_NAME,
    *,
    status: str | None = None,
    counts: str | None = None,
    previous: str | None = None,
) -> str:
    """``<execution name>:<inputs>[:<status>[:<succeeded>.<failed>]][!<previous>]``, by hand."""
    fields = [name, batch_inputs(props)]
    if status is not None:
        fields.append(status)
        if counts is not None:
            fields.append(counts)
    text = ":".join(fields)
    return text if previous is None else f"{text}!{previous}"


def batch_started_data(name: str = EXECUTION_NAME) -> dict[str, str]:
    """onEvent's Data for a batch whose request starts ``name`` (what is_complete receives back)."""
    return {"ExecutionArn": execution_arn_of(name), "StartedAt": STARTED_AT}


def batch_poll_event(
    props: dict[str, Any] | None = None,
    *,
    physical_id: str | None = None,
    request_type: str = "Create",
) -> batch.BatchPollEvent:
    """What is_complete receives after on_event accepted EXECUTION_NAME for ``props``."""
    return batch_event(
        request_type,
        props,
        physical_id=batch_pid(props) if physical_id is None else physical_id,
        data=batch_started_data(),
    )


def describe_execution_params(name: str = EXECUTION_NAME) -> dict[str, Any]:
    return {"executionArn": execution_arn_of(name)}


def describe_execution_response(
    status: str = "RUNNING",
    *,
    name: str = EXECUTION_NAME,
    execution_input: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    start: datetime = CREATED_AT,
    stop: datetime | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "executionArn": execution_arn_of(name),
        "stateMachineArn": STATE_MACHINE_ARN,
        "name": name,
        "status": status,
        "startDate": start,
    }
    if execution_input is not None:
        response["input"] = json.dumps(execution_input)
    if output is not None:
        response["output"] = json.dumps(output)
    if stop is not None:
        response["stopDate"] = stop
    if error is not None:
        response["error"] = error
    if cause is not None:
        response["cause"] = cause
    return response


def s3_body(value: Any) -> dict[str, Any]:
    """A GetObject response whose body is ``value`` as JSON."""
    data = json.dumps(value).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


class JsonOf:
    """Matches a JSON document (a string parameter such as StartExecution's ``input``) whose
    decoded value equals ``value``: exact content, any key order. Put it in ``expected_params``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (str, bytes)):
            return NotImplemented
        try:
            return bool(json.loads(other) == self.value)
        except ValueError:
            return False

    def __hash__(self) -> int:
        return hash(json.dumps(self.value, sort_keys=True))

    def __repr__(self) -> str:
        return f"JsonOf({self.value!r})"


def data_source_run(
    run_id: str, status: str, *, created_at: datetime = CREATED_AT, error: dict[str, str] | None = None
) -> dict[str, Any]:
    """One item of a ListDataSourceRuns page."""
    item: dict[str, Any] = {
        "id": run_id,
        "dataSourceId": DATA_SOURCE_ID,
        "type": "PRIORITIZED",
        "status": status,
        "projectId": PROJECT_ID,
        "createdAt": created_at,
        "updatedAt": created_at,
    }
    if error is not None:
        item["errorMessage"] = error
    return item


def activity(asset_id: str | None, status: str = "SUCCEEDED_CREATED", *, run_id: str = "dsr_1") -> dict[str, Any]:
    """One item of a ListDataSourceRunActivities page."""
    item: dict[str, Any] = {
        "database": "sales",
        "dataSourceRunId": run_id,
        "technicalName": f"table_{asset_id}",
        "dataAssetStatus": status,
        "projectId": PROJECT_ID,
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
    }
    if asset_id is not None:
        item["dataAssetId"] = asset_id
    return item


def search_asset(asset_id: str, type_id: str = "amazon.datazone.GlueTableAssetType") -> dict[str, Any]:
    """One asset item of a Search page."""
    return {
        "assetItem": {
            "domainId": DOMAIN_ID,
            "identifier": asset_id,
            "name": f"table {asset_id}",
            "typeIdentifier": type_id,
            "typeRevision": "1",
            "owningProjectId": PROJECT_ID,
        }
    }


#: The Selection property's IDS form as the handler passes it on (contract.SelectionProperty:
#: Count is the construct's, the workflow does not read it).
IDS_SELECTION_PROP: dict[str, Any] = {"Kind": "IDS", "Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY}


def batch_prefix(name: str = EXECUTION_NAME) -> str:
    """Where an execution's own files go in the results bucket (items.json, summary.json, ...)."""
    return f"batches/{BATCH_LOGICAL_ID}/{name}"


def summary_url(name: str = EXECUTION_NAME) -> str:
    """The batch's Summary attribute: the workflow's summary.json for the execution ``name``."""
    return f"s3://{RESULTS_BUCKET}/{batch_prefix(name)}/summary.json"


def batch_input(
    *,
    name: str = EXECUTION_NAME,
    selection: dict[str, Any] | None = None,
    types: list[str] | None = None,
    failure_tolerance: float = 0.0,
    selection_wait_seconds: int = 1800,
    max_concurrency: int = 10,
    poll_seconds: int = 10,
    run_timeout_seconds: int = 1800,
    allow_empty_selection: bool = False,
    predictions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """contract.BatchInput, written out by hand: what the handler starts the execution with
    (``items`` only for an IDS selection: the workflow writes any other selection's ids)."""
    chosen = IDS_SELECTION_PROP if selection is None else selection
    value: dict[str, Any] = {
        "mode": "RUN",
        "domainId": DOMAIN_ID,
        "projectId": PROJECT_ID,
        "types": [DESCRIPTIONS] if types is None else types,
        "selection": chosen,
        "resultsBucket": RESULTS_BUCKET,
        "prefix": batch_prefix(name),
        "executionArn": execution_arn_of(name),
        "failureTolerance": failure_tolerance,
        "selectionWaitSeconds": selection_wait_seconds,
        "allowEmptySelection": allow_empty_selection,
        "maxConcurrency": max_concurrency,
        "pollSeconds": poll_seconds,
        "runTimeoutSeconds": run_timeout_seconds,
        "tokenSeed": name,
        "predictions": {"mode": "NONE", "rule": {}, "choices": []} if predictions is None else predictions,
        "resource": {"stackId": STACK_ID, "logicalResourceId": BATCH_LOGICAL_ID},
    }
    if chosen["Kind"] == "IDS":
        value["items"] = {"bucket": chosen["Bucket"], "key": chosen["Key"]}
    return value


#: What the handler started an IDS batch's execution with (what a Delete reads: mode, the results
#: location, the run parameters and resource).
BATCH_INPUT: dict[str, Any] = batch_input()


def cancel_input(name: str = EXECUTION_NAME, *, types: list[str] | None = None) -> dict[str, Any]:
    """contract.CancelInput, written out by hand: what stopping the execution ``name`` starts its
    ``<name>-cancel`` execution with."""
    return {
        "mode": "CANCEL",
        "target": execution_arn_of(name),
        "domainId": DOMAIN_ID,
        "projectId": PROJECT_ID,
        "types": [DESCRIPTIONS] if types is None else types,
        "tokenSeed": name,
        "resultsBucket": RESULTS_BUCKET,
        "prefix": batch_prefix(name),
    }


def start_cancel_params(name: str = EXECUTION_NAME, execution_input: dict[str, Any] | None = None) -> dict[str, Any]:
    """StartExecution of the cancel execution for ``name``: same state machine, ``<name>-cancel``."""
    return {
        "stateMachineArn": STATE_MACHINE_ARN,
        "name": f"{name}-cancel",
        "input": JsonOf(cancel_input(name) if execution_input is None else execution_input),
    }


def expect_stop(
    sfn: Any,
    *,
    why: str,
    name: str = EXECUTION_NAME,
    status: str = "RUNNING",
    execution_input: dict[str, Any] | None = None,
    cancel: dict[str, Any] | None = None,
) -> None:
    """Queue, in order, what stopping a batch asks Step Functions: DescribeExecution,
    StopExecution (when it runs) and StartExecution of ``<name>-cancel`` with ``cancel``
    (contract.CancelInput; by default the one for ``name``'s BATCH_INPUT). ``sfn`` is the stubber."""
    given = batch_input(name=name) if execution_input is None else execution_input
    execution = describe_execution_response(status, name=name, execution_input=given)
    sfn.add_response("describe_execution", execution, describe_execution_params(name))
    if status == "RUNNING":
        sfn.add_response(
            "stop_execution",
            {"stopDate": CREATED_AT},
            {"executionArn": execution_arn_of(name), "cause": f"CloudFormation: {why}"},
        )
    sfn.add_response(
        "start_execution",
        {"executionArn": execution_arn_of(f"{name}-cancel"), "startDate": CREATED_AT},
        start_cancel_params(name, cancel),
    )


class Clock:
    """The handlers' wall clock: they read ``time.time()``, which time-machine moves.
    ``clock[0]`` reads it; ``clock[0] = t`` (or ``+= s``) travels there, with time standing still
    in between, so a test says exactly what the handler sees."""

    def __init__(self, traveller: time_machine.TimeMachineFixture, start: float) -> None:
        self._traveller = traveller
        self[0] = start

    def __getitem__(self, _index: int) -> float:
        return time.time()

    def __setitem__(self, _index: int, when: float) -> None:
        self._traveller.move_to(when, tick=False)
