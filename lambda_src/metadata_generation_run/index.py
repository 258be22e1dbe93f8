"""Custom-resource handler for ``Custom::DataZoneMetadataGenerationRun``.

Runs inside AWS Lambda behind ``aws_cdk.custom_resources.Provider``: ``on_event`` starts (or keeps,
or adopts, or cancels) a DataZone metadata-generation run and ``is_complete`` polls it until it
reaches a terminal status. The provider framework sends the CloudFormation response; raising here
fails the request and the exception message becomes the reason CloudFormation shows.

The handler keeps no state: what it must know about the run a resource already has travels in the
physical id (see :class:`PhysicalId` and docs/lifecycle.md).

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
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, NoReturn, NotRequired, TypedDict
from urllib.parse import quote, unquote

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

try:
    from . import contract
except ImportError:  # Lambda loads index.py as a top-level module, next to contract.py
    import contract  # type: ignore[no-redef, import-not-found]

Prop = contract.Prop
Attr = contract.Attr
PredictionsProperty = contract.PredictionsProperty
DOMAIN_ID_RE = contract.DOMAIN_ID_RE
PROJECT_ID_RE = contract.PROJECT_ID_RE
RUN_ID_RE = contract.RUN_ID_RE
REVISION_MAX = contract.REVISION_MAX
EDITED_VALUE_MAX = contract.EDITED_VALUE_MAX
TYPES_MAX = contract.TYPES_MAX
KNOWN_TYPES = frozenset(contract.KNOWN_TYPES)
MAX_TIMEOUT_SECONDS = contract.MAX_TIMEOUT_SECONDS

RUNNING = frozenset({"SUBMITTED", "IN_PROGRESS"})
ALWAYS_FAILS = frozenset({"FAILED", "CANCELED"})
PARTIAL = "PARTIALLY_SUCCEEDED"
SUCCEEDS = frozenset({"SUCCEEDED", PARTIAL})
TERMINAL = ALWAYS_FAILS | SUCCEEDS
#: Reported when the status of a kept run cannot be read (only on paths that must not fail).
UNKNOWN = "UNKNOWN"

# The provider framework adds its own text (a log pointer) to the reason, and CloudFormation
# rejects response bodies over 4096 bytes *after JSON encoding*, so our part of the reason stays
# well below that, measured as JSON (see fit()).
REASON_LIMIT = 1000
TYPE_ERROR_LIMIT = 300

ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "UnauthorizedException"})
# Answers that say "try again", whatever botocore's own retries already did.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
NOT_FOUND = "ResourceNotFoundException"
# Only these stack states mean "the request that started this run is still wanted": anything else
# (a rollback, a delete, a cleanup) means CloudFormation is undoing it, so predictions must not land.
APPLY_STACK_STATES = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"})
# An invented-id Delete cancels only runs young enough to belong to the Create it interrupts.
LIST_PAGES_MAX = 4
#: One call at its worst: 5 attempts x (3 s connect + 10 s read), plus botocore's backoff.
CALL_BUDGET_SECONDS = 80

LOGGER = logging.getLogger("metadata_generation_run")
LOGGER.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Throttling and 5xx answers are retried by botocore itself; bounded so that one poll cannot
# outlive the Lambda timeout (contract.HANDLER_TIMEOUT_SECONDS).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="constructs-lib-metadata-generation-run",
)

# Created on first use rather than at import: building a client loads the service model, which
# would double the cold-start import time for requests that never make a call.
_client: Any = None
_cfn_client: Any = None


def datazone() -> Any:
    """The module's DataZone client (tests replace ``_client`` with a stubbed one)."""
    global _client  # noqa: PLW0603 - one lazily built client per Lambda container, by design
    if _client is None:
        _client = boto3.client("datazone", config=CLIENT_CONFIG)
    return _client


def cloudformation() -> Any:
    """The module's CloudFormation client (tests replace ``_cfn_client``)."""
    global _cfn_client  # noqa: PLW0603 - as datazone()
    if _cfn_client is None:
        _cfn_client = boto3.client("cloudformation", config=CLIENT_CONFIG)
    return _cfn_client


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
    #: Overrides onEvent's (the framework spreads isComplete's answer over the event).
    PhysicalResourceId: NotRequired[str]
    Data: NotRequired[dict[str, str]]


class PropertyError(ValueError):
    """A resource property is missing or invalid."""


class RunError(RuntimeError):
    """The run or a call failed; the message is the CloudFormation reason."""


class _TryAgainError(Exception):
    """A transient failure worth another try at the next poll."""


@dataclass(frozen=True)
class Predictions:
    """What to do with the run's predictions once it finished: the AcceptPredictions or
    RejectPredictions request body, less domain, asset, revision and clientToken."""

    action: Literal["ACCEPT", "REJECT"]
    body: dict[str, Any]


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
    predictions: Predictions | None = None


# ---------------------------------------------------------------------------------------------
# Reasons and logs


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """``text`` with lone surrogates replaced and control characters turned into spaces.

    A lone surrogate cannot be encoded at all (and would lose the whole reason), and a control
    character grows six-fold in JSON, which is what CloudFormation's 4096-byte limit counts.
    """
    text = "".join("\ufffd" if unicodedata.category(c) == "Cs" else c for c in text)
    return _UNPRINTABLE.sub(" ", text)


def json_size(text: str) -> int:
    """Bytes ``text`` takes inside a JSON string, for any encoder: ASCII-escaped JSON is the
    upper bound (``\\uXXXX`` is longer than the UTF-8 of any BMP character, and a surrogate
    pair's 12 longer than 4)."""
    return len(json.dumps(text)) - 2


def fit(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` cleaned and cut (with "...") to at most ``limit`` bytes of JSON."""
    text = clean(text)
    if json_size(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits together with the ellipsis
        middle = (low + high + 1) // 2
        if json_size(text[:middle]) + 3 <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "..."


def _log(level: int, message: str, **fields: Any) -> None:
    LOGGER.log(level, json.dumps({"message": message, **fields}, default=str, sort_keys=True))


def _bad(name: str, value: Any, allowed: str) -> NoReturn:
    raise PropertyError(fit(f"ResourceProperties.{name} {value!r} is invalid: {allowed}"))


# ---------------------------------------------------------------------------------------------
# Properties


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
    value = props.get(Prop.TYPES)
    allowed = f"must be a list of 1-{TYPES_MAX} distinct values from {sorted(KNOWN_TYPES)}"
    # Membership is checked before set(): a list item (unhashable) must be a PropertyError, not a TypeError.
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= TYPES_MAX
        or not all(isinstance(item, str) and item in KNOWN_TYPES for item in value)
        or len(set(value)) != len(value)
    ):
        _bad(Prop.TYPES, value, allowed)
    return tuple(value)


def _timeout(props: dict[str, Any]) -> int:
    value = props.get(Prop.TIMEOUT_SECONDS, contract.DEFAULT_TIMEOUT_SECONDS)
    allowed = f"must be a whole number of seconds, 1-{MAX_TIMEOUT_SECONDS}"
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        _bad(Prop.TIMEOUT_SECONDS, value, allowed)
    # 0.1 templates allowed up to an hour: a rollback to one must not fail, so it is capped.
    if not 1 <= seconds <= contract.LEGACY_MAX_TIMEOUT_SECONDS:
        _bad(Prop.TIMEOUT_SECONDS, value, allowed)
    return min(seconds, MAX_TIMEOUT_SECONDS)


def parse_properties(props: dict[str, Any]) -> RunSpec:
    """Validate ResourceProperties; raise PropertyError naming the property and the fix."""
    revision = _optional_str(props, Prop.ASSET_REVISION)
    if revision is not None and len(revision) > REVISION_MAX:
        _bad(Prop.ASSET_REVISION, revision, f"must be 1-{REVISION_MAX} characters")
    return RunSpec(
        domain_id=_required_str(props, Prop.DOMAIN_ID, DOMAIN_ID_RE, f"must match {DOMAIN_ID_RE.pattern}"),
        project_id=_required_str(props, Prop.PROJECT_ID, PROJECT_ID_RE, f"must match {PROJECT_ID_RE.pattern}"),
        asset_id=_required_str(props, Prop.ASSET_ID, None, "must be a non-empty asset id"),
        asset_revision=revision,
        types=_types(props),
        wait_for_completion=_bool(props, Prop.WAIT_FOR_COMPLETION, True),
        timeout_seconds=_timeout(props),
        fail_on_partial_success=_bool(props, Prop.FAIL_ON_PARTIAL_SUCCESS, False),
        cancel_on_delete=_bool(props, Prop.CANCEL_ON_DELETE, True),
        rerun_token=_optional_str(props, Prop.RERUN_TOKEN),
        predictions=_predictions(props.get(Prop.PREDICTIONS)),
    )


def _number(name: str, value: Any, convert: type[int] | type[float], low: float, high: float) -> Any:
    # CloudFormation sends numbers inside objects as strings.
    allowed = f"must be a number from {low:.10g} to {high:.10g}"  # .10g: the index limit in full, 2147483647
    try:
        number = convert(value)
    except (TypeError, ValueError):
        _bad(name, value, allowed)
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails the comparison too
        _bad(name, value, allowed)
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
    big = contract.PREDICTION_INDEX_MAX
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
    """16 hex digits that stand for :func:`run_identity` inside a physical id."""
    return hashlib.sha256(json.dumps(run_identity(props), default=str).encode()).hexdigest()[:16]


_HASH_RE = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class PhysicalId:
    """A resource's physical id: ``<runId>:<inputs>[:<status>[:<revision>]][!<previous>]``.

    CloudFormation hands it back on every Update and Delete, so it is where the handler keeps
    what it must know about the run the resource has: the inputs it was started for, the status
    the resource finished with (absent while in flight, and in what a FAILED response names),
    the asset revision its predictions produced, and, for a run started by an Update, the
    physical id of the run it replaced (so a rollback can return to it without asking anyone).
    A bare run id is a 0.1 physical id (``inputs`` is None).
    """

    run_id: str
    inputs: str | None
    status: str | None = None
    revision: str | None = None
    previous: PhysicalId | None = None

    @classmethod
    def parse(cls, text: str | None) -> PhysicalId | None:
        """The physical id in ``text``, or None for anything this handler did not write (an id
        CloudFormation invented for a Delete, the framework's failed-create marker, ...)."""
        if not text:
            return None
        head, _, rest = text.partition("!")
        fields = [unquote(part) for part in head.split(":")]
        if not RUN_ID_RE.fullmatch(fields[0]) or len(fields) > 4:
            return None
        if len(fields) == 1:
            return cls(run_id=fields[0], inputs=None) if not rest else None
        if not _HASH_RE.fullmatch(fields[1]) or (len(fields) >= 3 and not fields[2]):
            return None
        previous = cls.parse(rest) if rest else None
        if rest and previous is None:
            return None
        return cls(
            run_id=fields[0],
            inputs=fields[1],
            status=fields[2] if len(fields) >= 3 else None,
            revision=fields[3] if len(fields) == 4 else None,
            previous=previous,
        )

    def __str__(self) -> str:
        if self.inputs is None:
            return self.run_id
        fields = [self.run_id, self.inputs]
        if self.status is not None:
            fields.append(self.status)
            if self.revision is not None:
                fields.append(self.revision)
        text = ":".join(quote(field, safe="", errors="replace") for field in fields)
        return text if self.previous is None else f"{text}!{self.previous}"

    def finished(self, status: str, revision: str | None = None) -> PhysicalId:
        return replace(self, status=status, revision=revision)

    def data(self, spec: RunSpec) -> dict[str, str]:
        """Response Data for a resource that keeps this (finished) run: no call needed."""
        data = {Attr.RUN_ID: self.run_id, Attr.STATUS: self.status or UNKNOWN}
        if spec.predictions is not None:
            data[Attr.ASSET_REVISION] = self.revision or UNKNOWN
        return data


def derive_client_token(event: CloudFormationEvent) -> str:
    """Same request (CloudFormation or Lambda retry) -> same token -> DataZone returns the same run.

    Only the request decides it: any other request (an update that needs a new run, a stack
    created again after a delete) gets a token no earlier run was started with.
    """
    seed = "\n".join((event["StackId"], event["LogicalResourceId"], event["RequestId"]))
    return "cfn-" + hashlib.sha256(seed.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Calls


def _supports_types(client: Any) -> bool:
    members = client.meta.service_model.operation_model("StartMetadataGenerationRun").input_shape.members
    return "types" in members


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def is_transient(error: Exception) -> bool:
    """Whether a failed call is worth asking again at the next poll."""
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return True
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _error_code(error) in TRANSIENT_CODES or (isinstance(status, int) and (status >= 500 or status == 429))


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{_error_code(error)}: {error.response.get('Error', {}).get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"


def _client_error(operation: str, error: ClientError, spec: RunSpec | None, prefix: str = "") -> RunError:
    code = _error_code(error)
    message = str(error.response.get("Error", {}).get("Message", str(error)))
    head = f"{prefix}{operation} failed: {code}: "
    hint = ""
    if code in ACCESS_DENIED_CODES and spec is not None:
        role = os.environ.get("HANDLER_ROLE_ARN", "the handler role")
        hint = (
            f" (fix: {role} must be a member of DataZone project {spec.project_id} in domain "
            f"{spec.domain_id}; keep grant_project_access=True or add the role to the project)"
        )
    # The service message gives way first, so a long one cannot cut the fix off the reason.
    room = max(REASON_LIMIT - json_size(clean(head + hint)), 100)
    return RunError(fit(clean(head) + fit(message, room) + clean(hint)))


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
    """GetMetadataGenerationRun; raises ClientError/BotoCoreError for the caller to classify."""
    response: dict[str, Any] = datazone().get_metadata_generation_run(
        domainIdentifier=spec.domain_id, identifier=run_id
    )
    return response


def stack_status(event: CloudFormationEvent) -> str:
    """The stack's status, from CloudFormation (raises ClientError/BotoCoreError)."""
    stacks = cloudformation().describe_stacks(StackName=event["StackId"]).get("Stacks") or [{}]
    return str(stacks[0].get("StackStatus", UNKNOWN))


def read_stack_status(event: CloudFormationEvent, **fields: Any) -> str | Exception:
    """The stack's status before work CloudFormation may no longer want (a rollback, or the delete
    of a Create it stopped waiting for, must not start or apply anything). The error when it
    cannot be read for now (logged with ``fields``: ask again at the next poll); raises when it
    cannot be read at all."""
    try:
        return stack_status(event)
    except (ClientError, BotoCoreError) as error:
        if not is_transient(error):
            if isinstance(error, ClientError):
                raise _client_error("DescribeStacks", error, None) from error
            raise RunError(fit(f"DescribeStacks failed: {_describe(error)}")) from error
        _log(logging.WARNING, "could not read the stack's status; trying again", error=_describe(error), **fields)
        return error


def cancel_quietly(domain_id: str, run_id: str, why: str) -> bool:
    """Cancel a run, best effort: whatever happens is logged, nothing is raised. Returns False
    when DataZone says there is no such run (not found, or not a valid run id)."""
    try:
        datazone().cancel_metadata_generation_run(domainIdentifier=domain_id, identifier=run_id)
    except ClientError as error:
        code = _error_code(error)
        outcome = {
            "ConflictException": "run already finished; nothing to cancel",
            NOT_FOUND: "run no longer exists; nothing to cancel",
            "ValidationException": "not a valid run; nothing to cancel",
        }.get(code)
        if outcome is not None:
            _log(logging.INFO, outcome, runId=run_id, errorCode=code, why=why)
        else:
            _log(logging.WARNING, "could not cancel run", runId=run_id, errorCode=code, error=str(error), why=why)
        return code not in (NOT_FOUND, "ValidationException")
    except BotoCoreError as error:
        _log(logging.WARNING, "could not reach DataZone to cancel run", runId=run_id, error=str(error), why=why)
        return True
    _log(logging.INFO, "run cancelled", runId=run_id, status="CANCELED", why=why)
    return True


def _request_fields(event: CloudFormationEvent) -> dict[str, Any]:
    # Never the ResponseURL: it is a presigned URL that lets anyone answer for this resource.
    return {
        "requestType": event.get("RequestType"),
        "requestId": event.get("RequestId"),
        "logicalResourceId": event.get("LogicalResourceId"),
        "physicalResourceId": event.get("PhysicalResourceId"),
    }


# ---------------------------------------------------------------------------------------------
# onEvent


def on_event(event: CloudFormationEvent, context: Any) -> OnEventResponse:
    """Provider framework entry point for Create, Update and Delete."""
    request_type = event.get("RequestType")
    _log(logging.INFO, "request received", **_request_fields(event))
    if request_type == "Create":
        return _start(event, parse_properties(dict(event["ResourceProperties"])), previous=None)
    if request_type == "Update":
        return _update(event)
    if request_type == "Delete":
        return _delete(event)
    raise PropertyError(fit(f"RequestType {request_type!r} is invalid: must be Create, Update or Delete"))


def _start(event: CloudFormationEvent, spec: RunSpec, previous: PhysicalId | None) -> OnEventResponse:
    response = start_run(spec, derive_client_token(event))
    run_id = str(response["id"])
    status = str(response.get("status", "SUBMITTED"))
    _log(logging.INFO, "run started", runId=run_id, status=status, assetId=spec.asset_id, types=list(spec.types))
    if previous is not None:
        previous = replace(previous, previous=None)  # one step back is all a rollback needs
    physical = PhysicalId(run_id, inputs_hash(dict(event["ResourceProperties"])), previous=previous)
    created = response.get("createdAt")
    started = created.timestamp() if isinstance(created, datetime) else now()
    # StartedAt tells isComplete that this request started the run (so it waits for it, and
    # applies its predictions), and bounds the wait while Get answers nothing useful.
    return {
        "PhysicalResourceId": str(physical),
        "Data": {Attr.RUN_ID: run_id, Attr.STATUS: status, "StartedAt": f"{started:.3f}"},
    }


def _keep(current: PhysicalId, spec: RunSpec, why: str) -> OnEventResponse:
    _log(logging.INFO, why, runId=current.run_id, status=current.status)
    if current.status is None:
        # Only a 0.1 id, or what a FAILED response named: isComplete reads the status once.
        return {"PhysicalResourceId": str(current), "Data": {Attr.RUN_ID: current.run_id}}
    return {"PhysicalResourceId": str(current), "Data": current.data(spec)}


def _update(event: CloudFormationEvent) -> OnEventResponse:
    props = dict(event["ResourceProperties"])
    spec = parse_properties(props)
    carried = event.get("PhysicalResourceId")
    current = PhysicalId.parse(carried)
    if current is None:
        _log(logging.INFO, "physical id is not a run of this resource; starting a run", physicalResourceId=carried)
        return _start(event, spec, previous=None)
    if current.inputs is None:
        return _update_legacy(event, spec, current)
    decision = decide_update(event, inputs_hash(props), current)
    if decision.start:
        # The new physical id makes CloudFormation send Delete for this one in the cleanup phase,
        # which cancels the run if it is somehow still running.
        return _start(event, spec, previous=decision.physical)
    return _keep(decision.physical, spec, decision.why)


@dataclass(frozen=True)
class UpdateDecision:
    """What an Update does: keep ``physical`` (start False), or start a new run that records
    ``physical`` as the one it replaces."""

    start: bool
    physical: PhysicalId
    why: str


def decide_update(event: CloudFormationEvent, wanted: str, current: PhysicalId) -> UpdateDecision:
    """Keep, return to the previous, or start anew: the one rule for every resource of ours.

    CloudFormation has no "rollback" request: it rolls a failed Update back by sending another
    Update whose ResourceProperties are the *previous* ones (and OldResourceProperties the failed
    ones). Which physical id that Update carries is undocumented: the id the resource had before
    (then its inputs match the properties: keep it, with no call at all), or the id the failed
    response named (work for the failed inputs whose `previous` is what to go back to). A rollback
    must never start anything: Start may be what failed (402 quota, one active run per asset), and
    a failed rollback leaves the stack UPDATE_ROLLBACK_FAILED.
    """
    if current.inputs == wanted:
        return UpdateDecision(False, current, "inputs unchanged; keeping what the resource has")
    previous = current.previous
    if previous is not None and previous.inputs == wanted and current.status is None:
        # Only a FAILED response leaves a status-less id with the resource, and only a rollback
        # asks for the previous inputs right after it.
        return UpdateDecision(False, previous, "rollback of a failed update; returning to the previous one")
    try:
        status = stack_status(event)
    except (ClientError, BotoCoreError) as error:
        if previous is not None and previous.inputs == wanted:
            # Either a rollback (must not fail) or a user going back to the previous inputs.
            return UpdateDecision(False, previous, f"DescribeStacks failed ({_describe(error)}); returning to previous")
        if isinstance(error, ClientError):
            raise _client_error("DescribeStacks", error, None) from error
        raise RunError(fit(f"DescribeStacks failed: {_describe(error)}")) from error
    if "ROLLBACK" in status:
        if previous is not None and previous.inputs == wanted:
            return UpdateDecision(False, previous, f"stack is {status}; returning to the previous one")
        return UpdateDecision(False, current, f"stack is {status} but nothing earlier matches; starting nothing")
    _log(logging.INFO, "inputs changed; starting anew", replacedPhysicalId=str(current), stackStatus=status)
    return UpdateDecision(True, current, "inputs changed")


def _update_legacy(event: CloudFormationEvent, spec: RunSpec, current: PhysicalId) -> OnEventResponse:
    """An Update of a resource created by 0.1, whose physical id is the bare run id."""
    old_props = dict(event.get("OldResourceProperties") or {})
    props = dict(event["ResourceProperties"])
    if run_identity(props) == run_identity(old_props):
        return _keep(current, spec, "run inputs unchanged; keeping the run")
    try:
        status = stack_status(event)
    except (ClientError, BotoCoreError) as error:
        # This may be the rollback that carries the old bare id: failing it would wedge the stack.
        return _keep(current, spec, f"DescribeStacks failed ({_describe(error)}); keeping the run, starting none")
    if "ROLLBACK" in status:
        # Runs started by this version have `inputs` in their ids: a bare id is the one from before.
        return _keep(current, spec, f"stack is {status}; keeping the run, starting none")
    return _start(event, spec, previous=PhysicalId(current.run_id, inputs_hash(old_props)))


def _delete(event: CloudFormationEvent) -> OnEventResponse:
    physical_id = event.get("PhysicalResourceId", "")
    response: OnEventResponse = {"PhysicalResourceId": physical_id}
    props = dict(event.get("ResourceProperties") or {})
    # A Delete must never fail the stack: nothing is left behind by not cancelling, while a
    # failed Delete leaves the stack in DELETE_FAILED. So every problem below is logged, not raised.
    try:
        cancel = _bool(props, Prop.CANCEL_ON_DELETE, True)
    except PropertyError:
        cancel = True
    if not cancel:
        _log(logging.INFO, "cancel_on_delete is off; run left alone", physicalResourceId=physical_id)
        return response
    domain_id = props.get(Prop.DOMAIN_ID)
    if not isinstance(domain_id, str) or not DOMAIN_ID_RE.fullmatch(domain_id):
        _log(logging.WARNING, "DomainId is not valid; nothing to cancel", physicalResourceId=physical_id)
        return response
    current = PhysicalId.parse(physical_id)
    if current is None:
        _cancel_in_flight_create(event, props)
    elif current.status in TERMINAL:
        _log(logging.INFO, "run finished; nothing to cancel", runId=current.run_id, status=current.status)
    elif not cancel_quietly(domain_id, current.run_id, "delete") and current.inputs is None:
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
    except PropertyError as error:
        _log(logging.WARNING, "properties are not valid; nothing to cancel", error=str(error))
        return
    try:
        runs = list(_recent_active_runs(spec))
    except (ClientError, BotoCoreError) as error:
        _log(logging.WARNING, "could not list runs to cancel; delete succeeds anyway", error=_describe(error))
        return
    if not runs:
        _log(
            logging.INFO,
            "no running run of this resource; nothing to cancel",
            physicalResourceId=event.get("PhysicalResourceId"),
        )
    for run_id in runs:
        cancel_quietly(spec.domain_id, run_id, "delete of a create CloudFormation stopped waiting for")


def _recent_active_runs(spec: RunSpec) -> Iterator[str]:
    params: dict[str, Any] = {"domainIdentifier": spec.domain_id, "targetIdentifier": spec.asset_id, "maxResults": 50}
    oldest = now() - contract.SERVICE_TIMEOUT_SECONDS
    for _ in range(LIST_PAGES_MAX):
        page = datazone().list_metadata_generation_runs(**params)
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
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]


# ---------------------------------------------------------------------------------------------
# isComplete


def _failure_reason(run_id: str, status: str, run: dict[str, Any]) -> str:
    head = f"Metadata-generation run {run_id} ended {status}: "
    messages = [
        f"{stat.get('type')}: {fit(str(stat['errorMessage']), TYPE_ERROR_LIMIT)}"
        for stat in run.get("typeStats") or []
        if stat.get("errorMessage")
    ]
    detail = "; ".join(messages) if messages else "the service gave no error message"
    # The head (run and status) always survives; the service's text gives way.
    return head + fit(detail, REASON_LIMIT - json_size(head))


def _elapsed_seconds(run: dict[str, Any] | None, started_at: float) -> float:
    created = (run or {}).get("createdAt")
    start = created.timestamp() if isinstance(created, datetime) else started_at
    return now() - start


def now() -> float:
    """Wall clock in epoch seconds (a seam for tests)."""
    return time.time()


def is_complete(event: IsCompleteEvent, context: Any) -> IsCompleteResponse:
    """Provider framework poll: is the run in a terminal status yet?"""
    if event.get("RequestType") == "Delete":
        return {"IsComplete": True}
    spec = parse_properties(dict(event["ResourceProperties"]))
    current = PhysicalId.parse(event.get("PhysicalResourceId"))
    data = event.get("Data") or {}
    if current is None:
        raise RunError(fit(f"physical id {event.get('PhysicalResourceId')!r} is not a run of this resource"))
    if "StartedAt" not in data:
        # A kept or adopted run: this request started nothing, so it waits for nothing, applies
        # no predictions and cannot fail.
        if current.status is not None:
            return {"IsComplete": True, "Data": current.data(spec)}
        return {"IsComplete": True, "Data": _read_status(spec, current)}
    return _wait(event, spec, current, float(data["StartedAt"]), data.get(Attr.STATUS, "SUBMITTED"), context=context)


def _read_status(spec: RunSpec, current: PhysicalId) -> dict[str, str]:
    try:
        status = str(get_run(spec, current.run_id).get("status", UNKNOWN))
    except (ClientError, BotoCoreError) as error:
        _log(logging.WARNING, "could not read the kept run's status", runId=current.run_id, error=_describe(error))
        status = UNKNOWN
    return current.finished(status, current.revision).data(spec)


def _time_left(context: Any) -> float:
    """Seconds this invocation has left (Lambda's context; unbounded without one)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return float("inf") if remaining is None else remaining() / 1000


def _wait(
    event: IsCompleteEvent,
    spec: RunSpec,
    current: PhysicalId,
    started_at: float,
    start_status: str,
    *,
    context: Any = None,
) -> IsCompleteResponse:
    run_id = current.run_id
    if not spec.wait_for_completion:
        return _finish(current, spec, start_status, None)
    try:
        run = get_run(spec, run_id)
    except (ClientError, BotoCoreError) as error:
        # A 404 right after Start is read-after-write, not a lost run; throttles beyond botocore's
        # retries, 5xx and dropped connections pass too. The framework gives up on the first
        # isComplete that raises, so only the timeout may end the wait on these.
        code = _error_code(error) if isinstance(error, ClientError) else None
        if not is_transient(error) and code != NOT_FOUND:
            cancel_quietly(spec.domain_id, run_id, "the run could not be read")
            if isinstance(error, ClientError):
                raise _client_error("GetMetadataGenerationRun", error, spec) from error
            raise RunError(fit(f"GetMetadataGenerationRun failed: {_describe(error)}")) from error
        _log(logging.WARNING, "poll failed; trying again at the next poll", runId=run_id, error=_describe(error))
        _check_timeout(spec, run_id, _elapsed_seconds(None, started_at), f"last poll failed: {_describe(error)}")
        return {"IsComplete": False}
    status = str(run.get("status"))
    elapsed = _elapsed_seconds(run, started_at)
    _log(logging.INFO, "run status", runId=run_id, status=status, elapsedSeconds=round(elapsed))
    if status in ALWAYS_FAILS or (status == PARTIAL and spec.fail_on_partial_success):
        raise RunError(_failure_reason(run_id, status, run))
    if status not in SUCCEEDS:
        if status not in RUNNING:
            # A status this handler does not know may be anything but success: wait on, and
            # name it if the wait ends.
            _log(logging.WARNING, "unknown run status; still waiting", runId=run_id, status=status)
            status = f"{status} (not a status this handler knows)"
        _check_timeout(spec, run_id, elapsed, f"last status {status}")
        return {"IsComplete": False}
    if spec.predictions is None:
        return _finish(current, spec, status, None)
    return _apply_then_finish(event, spec, current, run, elapsed, context=context)


def _apply_then_finish(
    event: IsCompleteEvent, spec: RunSpec, current: PhysicalId, run: dict[str, Any], elapsed: float, *, context: Any
) -> IsCompleteResponse:
    """The run ended well: apply its predictions (if CloudFormation still wants them), then finish."""
    run_id = current.run_id
    # Get, DescribeStacks and Accept at their worst (botocore's retries) outlast the Lambda
    # timeout, and a killed invocation fails the request: leave the rest to the next poll,
    # which repeats them (Accept with the same clientToken).
    if _time_left(context) < CALL_BUDGET_SECONDS * 2:
        _log(logging.INFO, "too little time left to apply predictions; next poll", runId=run_id)
        return {"IsComplete": False}
    if not _may_apply(event, spec, run_id, elapsed):
        return {"IsComplete": False}
    if _time_left(context) < CALL_BUDGET_SECONDS:
        _log(logging.INFO, "too little time left to apply predictions; next poll", runId=run_id)
        return {"IsComplete": False}
    try:
        revision = apply_predictions(spec, run_id, run, event)
    except _TryAgainError as error:
        # The same clientToken at the next poll: DataZone applies them once.
        _log(logging.WARNING, "applying predictions failed; trying again", runId=run_id, error=str(error))
        _check_timeout(spec, run_id, elapsed, f"applying predictions failed: {error}")
        return {"IsComplete": False}
    return _finish(current, spec, str(run.get("status")), revision)


def _finish(current: PhysicalId, spec: RunSpec, status: str, revision: str | None) -> IsCompleteResponse:
    finished = current.finished(status, revision)
    return {"IsComplete": True, "PhysicalResourceId": str(finished), "Data": finished.data(spec)}


def _check_timeout(spec: RunSpec, run_id: str, elapsed: float, last: str) -> None:
    if elapsed < spec.timeout_seconds:
        return
    # Cancel first: failing the resource does not stop the run, and nothing will wait for it.
    cancel_quietly(spec.domain_id, run_id, "timeout")
    head = f"Metadata-generation run {run_id} timed out after {round(elapsed)} s (timeout {spec.timeout_seconds} s); "
    raise RunError(head + fit(last, REASON_LIMIT - json_size(head)))


def _may_apply(event: IsCompleteEvent, spec: RunSpec, run_id: str, elapsed: float) -> bool:
    """Whether CloudFormation still wants this request done: predictions rewrite the asset, and
    must not land once the stack rolls back or is deleted (an in-flight Create is deleted with an
    invented physical id while its waiter still polls)."""
    status = read_stack_status(event, runId=run_id)
    if isinstance(status, Exception):
        _check_timeout(spec, run_id, elapsed, f"the stack's status could not be read: {_describe(status)}")
        return False
    if status not in APPLY_STACK_STATES:
        raise RunError(
            fit(f"Metadata-generation run {run_id} finished, but the stack is {status}: predictions not applied")
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
    except (ClientError, BotoCoreError) as error:
        if is_transient(error):
            raise _TryAgainError(_describe(error)) from error
        if isinstance(error, ClientError):
            prefix = f"Metadata-generation run {run_id} {run.get('status')}: "
            raise _client_error(operation, error, spec, prefix=prefix) from error
        raise RunError(fit(f"{operation} failed: {_describe(error)}")) from error
    _log(logging.INFO, f"{operation} applied", runId=run_id, assetId=params["identifier"], assetRevision=new_revision)
    # It goes into the physical id: nothing the service sends may break that.
    return clean(str(new_revision or ""))
