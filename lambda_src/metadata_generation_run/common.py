"""What the provider's two handlers and the batch workflow's worker share.

:mod:`index` (``Custom::DataZoneMetadataGenerationRun``), :mod:`batch`
(``Custom::DataZoneMetadataGenerationBatch``) and :mod:`worker` (the batch workflow's Lambda) use
one copy of: the clients and the logger, the clock, the CloudFormation event types, the error
types and their wording (reasons cut to fit CloudFormation's response limit), the properties both
resources have (types, timeout, flags, the predictions policy), transient-error detection, the
stack-status read, paging, the identity hash and request digests behind physical ids and client
tokens, and the Update rule (keep, return to the previous, or start anew).

Like the handlers it must stay importable with nothing but the Lambda runtime's boto3.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NoReturn, NotRequired, Protocol, TypedDict, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.paginate import TokenEncoder

try:
    from . import contract
except ImportError:  # Lambda loads the entry module top-level, next to this one
    import contract  # type: ignore[no-redef, import-not-found]

Prop = contract.Prop
KNOWN_TYPES = frozenset(contract.KNOWN_TYPES)
TYPES_MAX = contract.TYPES_MAX
MAX_TIMEOUT_SECONDS = contract.MAX_TIMEOUT_SECONDS

#: Reported when a status cannot be read or was never recorded (only on paths that must not fail).
UNKNOWN = "UNKNOWN"

# ---------------------------------------------------------------------------------------------
# Clients, logger, clock

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
#: One call at its worst: 5 attempts x (3 s connect + 10 s read), plus botocore's backoff.
CALL_BUDGET_SECONDS = 80

#: One client per service and Lambda container, built on first use rather than at import:
#: building one loads the service model, which would double the cold-start import time for
#: requests that never make a call. Tests put stubbed clients here.
_clients: dict[str, Any] = {}
Service = Literal["datazone", "cloudformation", "stepfunctions", "s3"]


def _client(service: Service) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service, config=CLIENT_CONFIG)
    return _clients[service]


def datazone() -> Any:
    return _client("datazone")


def cloudformation() -> Any:
    return _client("cloudformation")


def stepfunctions() -> Any:
    return _client("stepfunctions")


def s3() -> Any:
    return _client("s3")


def time_left(context: Any) -> float:
    """Seconds this invocation has left (Lambda's context; unbounded without one)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return float("inf") if remaining is None else remaining() / 1000


def log(level: int, message: str, **fields: Any) -> None:
    """One JSON object per line: what operators search CloudWatch Logs for."""
    LOGGER.log(level, json.dumps({"message": message, **fields}, default=str, sort_keys=True))


# ---------------------------------------------------------------------------------------------
# CloudFormation events (what the provider framework passes on), generic in the properties

Properties = TypeVar("Properties")


class CloudFormationEvent(TypedDict, Generic[Properties]):
    RequestType: Literal["Create", "Update", "Delete"]
    RequestId: str
    StackId: str
    LogicalResourceId: str
    ResourceType: str
    ResourceProperties: Properties
    ResponseURL: NotRequired[str]
    OldResourceProperties: NotRequired[Properties]
    PhysicalResourceId: NotRequired[str]


class IsCompleteEvent(CloudFormationEvent[Properties]):
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


def request_fields(event: CloudFormationEvent[Any]) -> dict[str, Any]:
    """What a request's log line names. Never the ResponseURL: it is a presigned URL that lets
    anyone answer for this resource."""
    return {
        "requestType": event.get("RequestType"),
        "requestId": event.get("RequestId"),
        "logicalResourceId": event.get("LogicalResourceId"),
        "physicalResourceId": event.get("PhysicalResourceId"),
    }


# ---------------------------------------------------------------------------------------------
# Errors and their wording


class PropertyError(ValueError):
    """A resource property is missing or invalid."""


class RunError(RuntimeError):
    """The run, the batch or a call failed; the message is the CloudFormation reason."""


# The provider framework adds its own text (a log pointer) to the reason, and CloudFormation
# rejects response bodies over 4096 bytes *after JSON encoding*, so our part of the reason stays
# well below that, measured as JSON (see fit()).
REASON_LIMIT = 1000

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


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def is_transient(error: Exception) -> bool:
    """Whether a failed call is worth asking again (at the next poll, or the workflow's retry)."""
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return True
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(error) in TRANSIENT_CODES or (isinstance(status, int) and (status >= 500 or status == 429))


def describe(error: Exception) -> str:
    """``<code>: <message>`` of a service's answer, ``<type>: <text>`` of anything else."""
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error.response.get('Error', {}).get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"


class InProject(Protocol):
    """A validated resource (a run's or a batch's) in a DataZone project."""

    @property
    def domain_id(self) -> str: ...

    @property
    def project_id(self) -> str: ...


def client_error(operation: str, error: ClientError, spec: InProject | None, prefix: str = "") -> RunError:
    """The reason for a service's refusal; access denied in ``spec``'s project says how to fix it."""
    code = error_code(error)
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


def call_failed(
    operation: str, error: ClientError | BotoCoreError, spec: InProject | None, prefix: str = ""
) -> RunError:
    """The reason for a call that failed for good: the service's refusal (after ``prefix``), or
    what kept the call from an answer (a connection, credentials), named as it is."""
    if isinstance(error, ClientError):
        return client_error(operation, error, spec, prefix)
    return RunError(fit(f"{operation} failed: {describe(error)}"))


def invalid(name: str, value: Any, allowed: str) -> NoReturn:
    raise PropertyError(fit(f"ResourceProperties.{name} {value!r} is invalid: {allowed}"))


# ---------------------------------------------------------------------------------------------
# Properties both resources have


def required_str(props: Mapping[str, Any], name: str, pattern: re.Pattern[str] | None, allowed: str) -> str:
    value = props.get(name)
    if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
        invalid(name, value, allowed)
    return value


def flag(props: Mapping[str, Any], name: str, default: bool) -> bool:
    # CloudFormation turns booleans into the strings "true"/"false".
    value = props.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    invalid(name, value, "must be true or false")


def types(props: Mapping[str, Any]) -> tuple[str, ...]:
    value = props.get(Prop.TYPES)
    allowed = f"must be a list of 1-{TYPES_MAX} distinct values from {sorted(KNOWN_TYPES)}"
    # Membership is checked before set(): a list item (unhashable) must be a PropertyError, not a TypeError.
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= TYPES_MAX
        or not all(isinstance(item, str) and item in KNOWN_TYPES for item in value)
        or len(set(value)) != len(value)
    ):
        invalid(Prop.TYPES, value, allowed)
    return tuple(value)


def timeout(props: Mapping[str, Any]) -> int:
    value = props.get(Prop.TIMEOUT_SECONDS, contract.DEFAULT_TIMEOUT_SECONDS)
    allowed = f"must be a whole number of seconds, 1-{MAX_TIMEOUT_SECONDS}"
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        invalid(Prop.TIMEOUT_SECONDS, value, allowed)
    # 0.1 templates allowed up to an hour: a rollback to one must not fail, so it is capped.
    if not 1 <= seconds <= contract.LEGACY_MAX_TIMEOUT_SECONDS:
        invalid(Prop.TIMEOUT_SECONDS, value, allowed)
    return min(seconds, MAX_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class Predictions:
    """What to do with a run's predictions once it finished: the AcceptPredictions or
    RejectPredictions request body, less domain, asset, revision and clientToken."""

    action: Literal["ACCEPT", "REJECT"]
    body: dict[str, Any]


def _number(name: str, value: Any, convert: type[int] | type[float], low: float, high: float) -> Any:
    # CloudFormation sends numbers inside objects as strings.
    allowed = f"must be a number from {low:.10g} to {high:.10g}"  # .10g: the index limit in full, 2147483647
    try:
        number = convert(value)
    except (TypeError, ValueError):
        invalid(name, value, allowed)
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails the comparison too
        invalid(name, value, allowed)
    return number


def predictions(value: Any) -> Predictions | None:
    """The ``Predictions`` property (contract.PredictionsProperty) as a request body."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        invalid("Predictions", value, "must be an object with Action ACCEPT or REJECT")
    action = value.get("Action")
    if action not in ("ACCEPT", "REJECT"):
        invalid("Predictions.Action", action, "must be ACCEPT or REJECT")
    verb = "accept" if action == "ACCEPT" else "reject"
    rule: dict[str, Any] = {}
    if value.get("Rule") is not None:
        if value["Rule"] not in ("ALL", "NONE"):
            invalid("Predictions.Rule", value["Rule"], "must be ALL or NONE")
        rule["rule"] = value["Rule"]
    if value.get("Threshold") is not None:
        rule["threshold"] = _number("Predictions.Threshold", value["Threshold"], float, 0, 1)
    body: dict[str, Any] = {f"{verb}Rule": rule} if rule else {}
    choices = value.get("Choices")
    if choices is not None:
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            invalid("Predictions.Choices", choices, "must be a list of objects with PredictionTarget")
        body[f"{verb}Choices"] = [_choice(action, c) for c in choices]
    return Predictions(action=action, body=body)


def _choice(action: str, choice: dict[str, Any]) -> dict[str, Any]:
    target = choice.get("PredictionTarget")
    if not isinstance(target, str) or not target:
        invalid("Predictions.Choices.PredictionTarget", target, "must be a non-empty string")
    out: dict[str, Any] = {"predictionTarget": target}
    big = contract.PREDICTION_INDEX_MAX
    if action == "ACCEPT":
        if choice.get("PredictionChoice") is not None:
            out["predictionChoice"] = _number(
                "Predictions.Choices.PredictionChoice", choice["PredictionChoice"], int, 0, big
            )
        edited = choice.get("EditedValue")
        if edited is not None:
            if not isinstance(edited, str) or not 1 <= len(edited) <= contract.EDITED_VALUE_MAX:
                invalid("Predictions.Choices.EditedValue", edited, f"must be 1-{contract.EDITED_VALUE_MAX} characters")
            out["editedValue"] = edited
        return out
    indexes = choice.get("PredictionChoices")
    if indexes is not None:
        if not isinstance(indexes, list):
            invalid("Predictions.Choices.PredictionChoices", indexes, "must be a list of prediction indexes")
        out["predictionChoices"] = [_number("Predictions.Choices.PredictionChoices", i, int, 0, big) for i in indexes]
    return out


# ---------------------------------------------------------------------------------------------
# Identities, digests, paging


def identity_hash(identity: tuple[Any, ...]) -> str:
    """16 hex digits that stand for what decides a resource's run or execution (the ``inputs``
    of its physical id). Deployed physical ids carry these: the encoding must never change, or
    every Update of an existing resource would start anew."""
    return hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:16]


def digest(*parts: str) -> str:
    """SHA-256 (hex) of ``parts``, one a line: the same parts always give the same client token."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def request_digest(event: CloudFormationEvent[Any]) -> str:
    """Same request (redelivered by CloudFormation or the provider framework) -> same digest; any
    other request (an Update that needs new work, a stack created again after a delete) gets one
    no earlier request had."""
    return digest(event["StackId"], event["LogicalResourceId"], event["RequestId"])


def pages(
    client: Any,
    operation: str,
    *,
    page_size: int | None = None,
    resume: Mapping[str, str | None] | None = None,
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """The pages of a listing, as botocore's paginator asks for them: one call per page taken,
    none ahead (stop iterating and no further call is made). ``resume``: where a listing that an
    earlier invocation stopped goes on, as the service's own next-page token (e.g.
    ``{"nextToken": token}``); one that is None or empty starts from the beginning."""
    config: dict[str, Any] = {}
    if page_size is not None:
        config["PageSize"] = page_size
    tokens = {key: token for key, token in (resume or {}).items() if token}
    if tokens:
        # A StartingToken is botocore's own encoding of the tokens to send next: a service's raw
        # token given as one is misread whenever it happens to be base64 JSON itself.
        config["StartingToken"] = TokenEncoder().encode(tokens)
    yield from client.get_paginator(operation).paginate(PaginationConfig=config, **params)


# ---------------------------------------------------------------------------------------------
# The stack, and the Update rule

# Only these stack states mean "the request that started this run is still wanted": anything else
# (a rollback, a delete, a cleanup) means CloudFormation is undoing it, so predictions must not land.
APPLY_STACK_STATES = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"})


def stack_status(event: CloudFormationEvent[Any]) -> str:
    """The stack's status, from CloudFormation (raises ClientError/BotoCoreError)."""
    stacks = cloudformation().describe_stacks(StackName=event["StackId"]).get("Stacks") or [{}]
    return str(stacks[0].get("StackStatus", UNKNOWN))


def read_stack_status(event: CloudFormationEvent[Any], **fields: Any) -> str | Exception:
    """The stack's status before work CloudFormation may no longer want (a rollback, or the delete
    of a Create it stopped waiting for, must not start or apply anything). The error when it
    cannot be read for now (logged with ``fields``: ask again at the next poll); raises when it
    cannot be read at all."""
    try:
        return stack_status(event)
    except (ClientError, BotoCoreError) as error:
        if not is_transient(error):
            raise call_failed("DescribeStacks", error, None) from error
        log(logging.WARNING, "could not read the stack's status; trying again", error=describe(error), **fields)
        return error


@dataclass(frozen=True)
class UpdateDecision:
    """What an Update does: keep ``physical`` (start False), or start anew recording ``physical``
    as what the new work replaces."""

    start: bool
    physical: contract.PhysicalId
    why: str


def decide_update(event: CloudFormationEvent[Any], wanted: str, current: contract.PhysicalId) -> UpdateDecision:
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
            return UpdateDecision(False, previous, f"DescribeStacks failed ({describe(error)}); returning to previous")
        raise call_failed("DescribeStacks", error, None) from error
    if "ROLLBACK" in status:
        if previous is not None and previous.inputs == wanted:
            return UpdateDecision(False, previous, f"stack is {status}; returning to the previous one")
        return UpdateDecision(False, current, f"stack is {status} but nothing earlier matches; starting nothing")
    log(logging.INFO, "inputs changed; starting anew", replacedPhysicalId=str(current), stackStatus=status)
    return UpdateDecision(True, current, "inputs changed")
