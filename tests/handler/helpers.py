"""Event builders and constants shared by the handler tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

from lambda_src.metadata_generation_run import index

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
) -> index.IsCompleteEvent:
    """A CloudFormation custom-resource event (plus the provider framework's Data for is_complete)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": request_id,
        "StackId": stack_id,
        "LogicalResourceId": logical_id,
        "ResourceType": RESOURCE_TYPE,
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
