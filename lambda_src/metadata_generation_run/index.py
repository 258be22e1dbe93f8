"""Custom-resource handler for ``Custom::DataZoneMetadataGenerationRun``.

Runs inside AWS Lambda behind ``aws_cdk.custom_resources.Provider``: ``on_event`` starts (or keeps,
or cancels) a DataZone metadata-generation run and ``is_complete`` polls it until it reaches a
terminal status. The provider framework sends the CloudFormation response; raising here fails the
request and the exception message becomes the reason CloudFormation shows.

This module must stay importable with nothing but the Lambda runtime's boto3: it imports nothing
from the construct library or aws-cdk-lib.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NoReturn, NotRequired, TypedDict

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Patterns and bounds from the botocore DataZone model (StartMetadataGenerationRunInput).
DOMAIN_ID_RE = re.compile(r"dzd[-_][a-zA-Z0-9_-]{1,36}")
PROJECT_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,36}")
RUN_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,36}")
CLIENT_TOKEN_RE = re.compile(r"[\x21-\x7E]{1,128}")
REVISION_MAX = 64
EDITED_VALUE_MAX = 5000
TYPES_MAX = 2
KNOWN_TYPES = frozenset({"BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS"})
MAX_TIMEOUT_SECONDS = 3600

RUNNING = frozenset({"SUBMITTED", "IN_PROGRESS"})
ALWAYS_FAILS = frozenset({"FAILED", "CANCELED"})
PARTIAL = "PARTIALLY_SUCCEEDED"

# The provider framework adds its own text (a log pointer) to the reason, and CloudFormation
# rejects response bodies over 4096 bytes, so our part of the reason stays well below that
# (limits in UTF-8 bytes, not characters).
REASON_LIMIT = 1000
TYPE_ERROR_LIMIT = 300

ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "UnauthorizedException"})

LOGGER = logging.getLogger("metadata_generation_run")
LOGGER.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Throttling and 5xx answers are retried by botocore itself; bounded so that one poll cannot
# outlive the Lambda timeout.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="constructs-lib-metadata-generation-run",
)

# Created on first use rather than at import: building a client loads the service model, which
# would double the cold-start import time for requests that never reach DataZone.
_client: Any = None


def datazone() -> Any:
    """The module's DataZone client (tests replace ``_client`` with a stubbed one)."""
    global _client  # noqa: PLW0603 - one lazily built client per Lambda container, by design
    if _client is None:
        _client = boto3.client("datazone", config=CLIENT_CONFIG)
    return _client


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
    ClientToken: NotRequired[str]


class CloudFormationEvent(TypedDict):
    RequestType: Literal["Create", "Update", "Delete"]
    RequestId: str
    StackId: str
    LogicalResourceId: str
    ResourceType: str
    ResourceProperties: ResourceProperties
    ResponseURL: NotRequired[str]
    OldResourceProperties: NotRequired[ResourceProperties]
    PhysicalResourceId: NotRequired[str]


class IsCompleteEvent(CloudFormationEvent):
    """The onEvent event plus what onEvent returned (added by the provider framework)."""

    Data: NotRequired[dict[str, str]]


class OnEventResponse(TypedDict):
    PhysicalResourceId: str
    Data: NotRequired[dict[str, str]]


class IsCompleteResponse(TypedDict):
    IsComplete: bool
    Data: NotRequired[dict[str, str]]


class PropertyError(ValueError):
    """A resource property is missing or invalid."""


class RunError(RuntimeError):
    """The run or a DataZone call failed; the message is the CloudFormation reason."""


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
    client_token: str | None
    predictions: Predictions | None = None


@dataclass(frozen=True)
class Predictions:
    """What to do with the run's predictions once it finished: the AcceptPredictions or
    RejectPredictions request body, less domain, asset, revision and clientToken."""

    action: Literal["ACCEPT", "REJECT"]
    body: dict[str, Any]


def _log(level: int, message: str, **fields: Any) -> None:
    LOGGER.log(level, json.dumps({"message": message, **fields}, default=str, sort_keys=True))


def _short(text: str, limit: int = REASON_LIMIT) -> str:
    # CloudFormation's 4096 limit counts bytes, and one character can take four in UTF-8.
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "..."


def _bad(name: str, value: Any, allowed: str) -> NoReturn:
    raise PropertyError(_short(f"ResourceProperties.{name} {value!r} is invalid: {allowed}"))


def _required_str(props: dict[str, Any], name: str, pattern: re.Pattern[str] | None, allowed: str) -> str:
    value = props.get(name)
    if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
        _bad(name, value, allowed)
    return value


def _optional_str(props: dict[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        _bad(name, value, "must be a string")
    return value


def _bool(props: dict[str, Any], name: str, default: bool) -> bool:
    # CloudFormation turns booleans into the strings "true"/"false".
    value = props.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    _bad(name, value, "must be true or false")


def _types(props: dict[str, Any]) -> tuple[str, ...]:
    value = props.get("Types")
    allowed = f"must be a list of 1-{TYPES_MAX} distinct values from {sorted(KNOWN_TYPES)}"
    # Membership is checked before set(): a list item (unhashable) must be a PropertyError, not a TypeError.
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= TYPES_MAX
        or not all(isinstance(item, str) and item in KNOWN_TYPES for item in value)
        or len(set(value)) != len(value)
    ):
        _bad("Types", value, allowed)
    return tuple(value)


def _timeout(props: dict[str, Any]) -> int:
    value = props.get("TimeoutSeconds", 1800)
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        _bad("TimeoutSeconds", value, f"must be a whole number of seconds, 1-{MAX_TIMEOUT_SECONDS}")
    if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
        _bad("TimeoutSeconds", value, f"must be a whole number of seconds, 1-{MAX_TIMEOUT_SECONDS}")
    return seconds


def parse_properties(props: dict[str, Any]) -> RunSpec:
    """Validate ResourceProperties; raise PropertyError naming the property and the fix."""
    revision = _optional_str(props, "AssetRevision")
    if revision is not None and len(revision) > REVISION_MAX:
        _bad("AssetRevision", revision, f"must be 1-{REVISION_MAX} characters")
    client_token = _optional_str(props, "ClientToken")
    if client_token is not None and not CLIENT_TOKEN_RE.fullmatch(client_token):
        _bad("ClientToken", client_token, "must be 1-128 printable ASCII characters without spaces")
    return RunSpec(
        domain_id=_required_str(props, "DomainId", DOMAIN_ID_RE, f"must match {DOMAIN_ID_RE.pattern}"),
        project_id=_required_str(props, "ProjectId", PROJECT_ID_RE, f"must match {PROJECT_ID_RE.pattern}"),
        asset_id=_required_str(props, "AssetId", None, "must be a non-empty asset id"),
        asset_revision=revision,
        types=_types(props),
        wait_for_completion=_bool(props, "WaitForCompletion", True),
        timeout_seconds=_timeout(props),
        fail_on_partial_success=_bool(props, "FailOnPartialSuccess", False),
        cancel_on_delete=_bool(props, "CancelOnDelete", True),
        rerun_token=_optional_str(props, "RerunToken"),
        client_token=client_token,
        predictions=_predictions(props.get("Predictions")),
    )


def _number(name: str, value: Any, convert: type[int] | type[float], low: float, high: float) -> Any:
    # CloudFormation sends numbers inside objects as strings.
    try:
        number = convert(value)
    except (TypeError, ValueError):
        _bad(name, value, f"must be a number from {low:g} to {high:g}")
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails the comparison too
        _bad(name, value, f"must be a number from {low:g} to {high:g}")
    return number


def _predictions(value: Any) -> Predictions | None:
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        _bad("Predictions", value, "must be an object with Action ACCEPT or REJECT")
    action = value.get("Action")
    if action not in ("ACCEPT", "REJECT"):
        _bad("Predictions.Action", action, "must be ACCEPT or REJECT")
    verb = "accept" if action == "ACCEPT" else "reject"
    rule: dict[str, Any] = {}
    if value.get("Rule") is not None:
        if value["Rule"] not in ("ALL", "NONE"):
            _bad("Predictions.Rule", value["Rule"], "must be ALL or NONE")
        rule["rule"] = value["Rule"]
    if value.get("Threshold") is not None:
        rule["threshold"] = _number("Predictions.Threshold", value["Threshold"], float, 0, 1)
    body: dict[str, Any] = {f"{verb}Rule": rule} if rule else {}
    choices = value.get("Choices")
    if choices is not None:
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            _bad("Predictions.Choices", choices, "must be a list of objects with PredictionTarget")
        body[f"{verb}Choices"] = [_choice(action, c) for c in choices]
    return Predictions(action=action, body=body)


def _choice(action: str, choice: dict[str, Any]) -> dict[str, Any]:
    target = choice.get("PredictionTarget")
    if not isinstance(target, str) or not target:
        _bad("Predictions.Choices.PredictionTarget", target, "must be a non-empty string")
    out: dict[str, Any] = {"predictionTarget": target}
    big = 2**31 - 1
    if action == "ACCEPT":
        if choice.get("PredictionChoice") is not None:
            out["predictionChoice"] = _number(
                "Predictions.Choices.PredictionChoice", choice["PredictionChoice"], int, 0, big
            )
        edited = choice.get("EditedValue")
        if edited is not None:
            if not isinstance(edited, str) or not 1 <= len(edited) <= EDITED_VALUE_MAX:
                _bad("Predictions.Choices.EditedValue", edited, f"must be 1-{EDITED_VALUE_MAX} characters")
            out["editedValue"] = edited
        return out
    indexes = choice.get("PredictionChoices")
    if indexes is not None:
        if not isinstance(indexes, list):
            _bad("Predictions.Choices.PredictionChoices", indexes, "must be a list of prediction indexes")
        out["predictionChoices"] = [_number("Predictions.Choices.PredictionChoices", i, int, 0, big) for i in indexes]
    return out


def run_identity(props: dict[str, Any]) -> tuple[Any, ...]:
    """What decides whether an Update needs a new run; type order does not matter to DataZone."""
    types = props.get("Types")
    return (
        props.get("DomainId"),
        props.get("ProjectId"),
        props.get("AssetId"),
        props.get("AssetRevision") or None,
        tuple(sorted(types)) if isinstance(types, list) else types,
        props.get("RerunToken") or None,
        # A new policy applies to a new run: predictions are applied once, right after their run.
        json.dumps(props.get("Predictions"), sort_keys=True),
    )


def derive_client_token(event: CloudFormationEvent) -> str:
    """Same request (CloudFormation or Lambda retry) -> same token -> DataZone returns the same run."""
    seed = "\n".join((event["StackId"], event["LogicalResourceId"], event["RequestId"]))
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()


def _supports_types(client: Any) -> bool:
    members = client.meta.service_model.operation_model("StartMetadataGenerationRun").input_shape.members
    return "types" in members


def _client_error(operation: str, error: ClientError, spec: RunSpec) -> RunError:
    err = error.response.get("Error", {})
    code = err.get("Code", "Unknown")
    message = str(err.get("Message", str(error)))
    head = f"{operation} failed: {code}: "
    hint = ""
    if code in ACCESS_DENIED_CODES:
        role = os.environ.get("HANDLER_ROLE_ARN", "the handler role")
        hint = (
            f" (fix: {role} must be a member of DataZone project {spec.project_id} in domain "
            f"{spec.domain_id}; keep grant_project_access=True or add the role to the project)"
        )
    # The service message gives way first, so a long one cannot cut the fix off the reason.
    room = max(REASON_LIMIT - len(head.encode()) - len(hint.encode()), 100)
    return RunError(_short(head + _short(message, room) + hint))


def start_run(spec: RunSpec, client_token: str) -> dict[str, Any]:
    client = datazone()
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
        raise RunError(
            f"this Lambda runtime's botocore {_botocore_version()} does not know the `types` "
            f"parameter, so it can ask for one type only, not {list(spec.types)}: use one type"
        )
    try:
        response: dict[str, Any] = client.start_metadata_generation_run(**params)
    except ClientError as error:
        raise _client_error("StartMetadataGenerationRun", error, spec) from error
    return response


def _botocore_version() -> str:
    return str(botocore.__version__)


def get_run(spec: RunSpec, run_id: str) -> dict[str, Any]:
    try:
        response: dict[str, Any] = datazone().get_metadata_generation_run(
            domainIdentifier=spec.domain_id, identifier=run_id
        )
    except ClientError as error:
        raise _client_error("GetMetadataGenerationRun", error, spec) from error
    return response


def _request_fields(event: CloudFormationEvent) -> dict[str, Any]:
    # Never the ResponseURL: it is a presigned URL that lets anyone answer for this resource.
    return {
        "requestType": event.get("RequestType"),
        "requestId": event.get("RequestId"),
        "logicalResourceId": event.get("LogicalResourceId"),
        "physicalResourceId": event.get("PhysicalResourceId"),
    }


def on_event(event: CloudFormationEvent, context: Any) -> OnEventResponse:
    """Provider framework entry point for Create, Update and Delete."""
    request_type = event.get("RequestType")
    _log(logging.INFO, "request received", **_request_fields(event))
    if request_type == "Create":
        return _create(event)
    if request_type == "Update":
        return _update(event)
    if request_type == "Delete":
        return _delete(event)
    raise PropertyError(f"RequestType {request_type!r} is invalid: must be Create, Update or Delete")


def _start(event: CloudFormationEvent, spec: RunSpec) -> OnEventResponse:
    token = spec.client_token or derive_client_token(event)
    response = start_run(spec, token)
    run_id = str(response["id"])
    status = str(response.get("status", "SUBMITTED"))
    _log(logging.INFO, "run started", runId=run_id, status=status, assetId=spec.asset_id, types=list(spec.types))
    return {"PhysicalResourceId": run_id, "Data": {"RunId": run_id, "Status": status}}


def _create(event: CloudFormationEvent) -> OnEventResponse:
    spec = parse_properties(dict(event["ResourceProperties"]))
    return _start(event, spec)


def _update(event: CloudFormationEvent) -> OnEventResponse:
    props = dict(event["ResourceProperties"])
    spec = parse_properties(props)
    old_props = dict(event.get("OldResourceProperties") or {})
    old_id = event.get("PhysicalResourceId", "")
    if run_identity(props) == run_identity(old_props) and RUN_ID_RE.fullmatch(old_id):
        _log(logging.INFO, "run unchanged, no new run", runId=old_id)
        return {"PhysicalResourceId": old_id, "Data": {"RunId": old_id}}
    # A new physical id makes CloudFormation send Delete for the old run during cleanup,
    # which cancels it if it is somehow still running.
    _log(logging.INFO, "run inputs changed, starting a new run", replacedRunId=old_id)
    return _start(event, spec)


def _delete(event: CloudFormationEvent) -> OnEventResponse:
    physical_id = event.get("PhysicalResourceId", "")
    response: OnEventResponse = {"PhysicalResourceId": physical_id}
    props = dict(event.get("ResourceProperties") or {})
    # A Delete must never fail the stack: nothing is left behind by not cancelling, while a
    # failed Delete leaves the stack in DELETE_FAILED. So every problem below is logged, not raised.
    try:
        cancel = _bool(props, "CancelOnDelete", True)
    except PropertyError:
        cancel = True
    domain_id = props.get("DomainId")
    if not cancel:
        _log(logging.INFO, "cancel_on_delete is off; run left alone", runId=physical_id)
        return response
    if not RUN_ID_RE.fullmatch(physical_id) or not isinstance(domain_id, str) or not DOMAIN_ID_RE.fullmatch(domain_id):
        _log(logging.INFO, "physical id is not a run id; nothing to cancel", runId=physical_id)
        return response
    try:
        datazone().cancel_metadata_generation_run(domainIdentifier=domain_id, identifier=physical_id)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        outcome = {
            "ConflictException": "run already finished; nothing to cancel",
            "ResourceNotFoundException": "run no longer exists; nothing to cancel",
            "ValidationException": "not a valid run; nothing to cancel",
        }.get(code)
        if outcome is not None:
            _log(logging.INFO, outcome, runId=physical_id, errorCode=code)
        else:
            _log(
                logging.WARNING,
                "could not cancel run; delete succeeds anyway",
                runId=physical_id,
                errorCode=code,
                error=str(error),
            )
        return response
    except BotoCoreError as error:
        _log(
            logging.WARNING,
            "could not reach DataZone to cancel run; delete succeeds anyway",
            runId=physical_id,
            error=str(error),
        )
        return response
    _log(logging.INFO, "run cancelled", runId=physical_id, status="CANCELED")
    return response


def _failure_reason(run_id: str, status: str, run: dict[str, Any]) -> str:
    messages = [
        f"{stat.get('type')}: {_short(str(stat['errorMessage']), TYPE_ERROR_LIMIT)}"
        for stat in run.get("typeStats") or []
        if stat.get("errorMessage")
    ]
    detail = "; ".join(messages) if messages else "the service gave no error message"
    return _short(f"Metadata-generation run {run_id} ended {status}: {detail}")


def _elapsed_seconds(run: dict[str, Any]) -> float | None:
    created = run.get("createdAt")
    if not isinstance(created, datetime):
        return None
    return now() - created.timestamp()


def now() -> float:
    """Wall clock in epoch seconds (a seam for tests)."""
    return time.time()


def is_complete(event: IsCompleteEvent, context: Any) -> IsCompleteResponse:
    """Provider framework poll: is the run in a terminal status yet?"""
    if event.get("RequestType") == "Delete":
        return {"IsComplete": True}
    spec = parse_properties(dict(event["ResourceProperties"]))
    run_id = event.get("PhysicalResourceId", "")
    data = event.get("Data") or {}
    if not spec.wait_for_completion and data.get("Status"):
        return {"IsComplete": True, "Data": {"RunId": run_id, "Status": data["Status"]}}
    run = get_run(spec, run_id)
    status = str(run.get("status"))
    elapsed = _elapsed_seconds(run)
    _log(
        logging.INFO,
        "run status",
        runId=run_id,
        status=status,
        elapsedSeconds=None if elapsed is None else round(elapsed),
    )
    if not spec.wait_for_completion:
        return {"IsComplete": True, "Data": {"RunId": run_id, "Status": status}}
    if status in RUNNING:
        if elapsed is not None and elapsed > spec.timeout_seconds:
            raise RunError(
                f"Metadata-generation run {run_id} timed out after {round(elapsed)} s "
                f"(timeout {spec.timeout_seconds} s); last status {status}"
            )
        return {"IsComplete": False}
    if status in ALWAYS_FAILS or (status == PARTIAL and spec.fail_on_partial_success):
        raise RunError(_failure_reason(run_id, status, run))
    result: dict[str, str] = {"RunId": run_id, "Status": status}
    if spec.predictions is not None:
        result["AssetRevision"] = apply_predictions(event, spec, run_id, run)
    return {"IsComplete": True, "Data": result}


def apply_predictions(event: IsCompleteEvent, spec: RunSpec, run_id: str, run: dict[str, Any]) -> str:
    """Accept or reject the finished run's predictions; return the asset revision DataZone made."""
    assert spec.predictions is not None
    action = spec.predictions.action
    operation = "AcceptPredictions" if action == "ACCEPT" else "RejectPredictions"
    target = run.get("target") or {}
    revision = target.get("revision") or spec.asset_revision
    # Same run and policy -> same token: a re-polled or retried isComplete (or an Update that
    # keeps the run) gets DataZone's first answer back instead of applying twice.
    seed = "\n".join(
        (
            event["StackId"],
            event["LogicalResourceId"],
            run_id,
            action,
            json.dumps(spec.predictions.body, sort_keys=True),
        )
    )
    params: dict[str, Any] = {
        "domainIdentifier": spec.domain_id,
        "identifier": target.get("identifier") or spec.asset_id,
        "clientToken": "cfn-" + hashlib.sha256(seed.encode()).hexdigest(),
        **spec.predictions.body,
    }
    if revision:
        params["revision"] = revision
    client = datazone()
    try:
        if action == "ACCEPT":
            response = client.accept_predictions(**params)
            new_revision = response.get("revision")
        else:
            response = client.reject_predictions(**params)
            new_revision = response.get("assetRevision")
    except ClientError as error:
        raise _client_error(operation, error, spec) from error
    _log(logging.INFO, f"{operation} applied", runId=run_id, assetId=params["identifier"], assetRevision=new_revision)
    return str(new_revision)
