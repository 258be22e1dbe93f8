"""DataZone's rest-json requests and responses: parsing and serializing are moto's
(``moto.core.parse``, ``moto.core.serialize``, driven by botocore's model); validation is botocore's
``ParamValidator``, extended (as localstack extends it) with what the service checks and a client
does not: ``max``, ``pattern`` and ``enum``, in the service's words. What stays ours is what the
service refuses and moto's lenient parser would let through: a body that is not a JSON object or a
member of the wrong JSON type is a ``SerializationException``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from botocore.validate import ParamValidator
from moto.core.parse import RestJSONParser
from moto.core.serialize import RestJSONSerializer
from werkzeug.datastructures import Headers, MultiDict

from constructs_local.datazone.exceptions import ServiceError, validation_error

if TYPE_CHECKING:
    from botocore.model import Shape
    from moto.core.model import OperationModel
    from moto.core.parse import RequestDict


# ---------------------------------------------------------------------------------------------
# Validation: the constraints of the model, reported in the service's words.


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(value, default=str)


def _where(name: str) -> str:
    """botocore's member path (``.target.types[0]``) in the service's words (``target.types.1.member``)."""
    return re.sub(r"\[(\d+)\]", lambda m: f".{int(m.group(1)) + 1}.member", name).lstrip(".")


class _ServiceWording:
    """Collects botocore's reports as the service words them; type errors apart (they are not
    validation errors to the service: its deserializer refuses the request first)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.wrong_types: list[str] = []

    def has_errors(self) -> bool:
        return bool(self.problems or self.wrong_types)

    def report(self, name: str, reason: str, **details: Any) -> None:
        if reason == "missing required field":
            path = f"{_where(name)}.{details['required_name']}".lstrip(".")
            self.problems.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")
        elif reason == "invalid type":
            self.wrong_types.append(f"Value at '{_where(name)}' is not a valid {details.get('kind', 'value')}")
        elif reason == "constraint":
            value, constraint = details["param"], details["constraint"]
            self.problems.append(
                f"Value '{_render(value)}' at '{_where(name)}' failed to satisfy constraint: Member must {constraint}"
            )
        elif reason in ("empty input", "more than one input"):  # a union needs exactly one member
            members = ", ".join(details["members"])
            self.problems.append(
                f"Value at '{_where(name)}' failed to satisfy constraint: Member must set exactly one of {members}"
            )
        # "unknown field" cannot come from a parsed request (the parser keeps modeled members only)
        # and the service ignores unknown JSON members; range/length reports come as "constraint".


def _bounds(metadata: Mapping[str, Any], size: float, what: str) -> list[str]:
    broken = []
    if "min" in metadata and size < metadata["min"]:
        broken.append(f"have {what} greater than or equal to {metadata['min']}")
    if "max" in metadata and size > metadata["max"]:
        broken.append(f"have {what} less than or equal to {metadata['max']}")
    return broken


class _StrictValidator(ParamValidator):
    """botocore's validator (types, required, nesting) plus the service's own checks: botocore's
    ``range_check`` knows ``min`` only, and a client does not check ``pattern`` or ``enum``."""

    def validate(self, params: Any, shape: Shape, name: str = "") -> _ServiceWording:
        errors = _ServiceWording()
        # _validate is the hook botocore's own validate() uses (and localstack's extension).
        self._validate(params, shape, errors, name=name)  # type: ignore[attr-defined]
        return errors

    def _typed(self, param: Any, shape: Shape, errors: _ServiceWording, name: str, kind: tuple[type, ...]) -> bool:
        # JSON's true is not a number here, although Python's bool is an int.
        if isinstance(param, bool) or not isinstance(param, kind):
            errors.report(name, "invalid type", kind=shape.type_name)
            return False
        return True

    def _validate_string(self, param: Any, shape: Shape, errors: _ServiceWording, name: str) -> None:
        if not self._typed(param, shape, errors, name, (str,)):
            return
        metadata = shape.metadata
        broken = _bounds(metadata, len(param), "length")
        # botocore keeps the model's patterns without anchors; the service matches the whole value.
        if "pattern" in metadata and re.fullmatch(metadata["pattern"], param) is None:
            broken.append(f"satisfy regular expression pattern: {metadata['pattern']}")
        if "enum" in metadata and param not in metadata["enum"]:
            broken.append(f"satisfy enum value set: [{', '.join(metadata['enum'])}]")
        for constraint in broken:
            errors.report(name, "constraint", param=param, constraint=constraint)

    def _validate_list(self, param: Any, shape: Shape, errors: _ServiceWording, name: str) -> None:
        if not self._typed(param, shape, errors, name, (list, tuple)):
            return
        for constraint in _bounds(shape.metadata, len(param), "length"):
            errors.report(name, "constraint", param=list(param), constraint=constraint)
        for i, item in enumerate(param):
            self._validate(item, shape.member, errors, f"{name}[{i}]")  # type: ignore[attr-defined]

    def _validate_map(self, param: Any, shape: Shape, errors: _ServiceWording, name: str) -> None:
        if not self._typed(param, shape, errors, name, (dict,)):
            return
        for constraint in _bounds(shape.metadata, len(param), "length"):
            errors.report(name, "constraint", param=param, constraint=constraint)
        for key, value in param.items():
            self._validate(value, shape.value, errors, f"{name}.{key}")  # type: ignore[attr-defined]

    def _validate_integer(self, param: Any, shape: Shape, errors: _ServiceWording, name: str) -> None:
        self._validate_number(param, shape, errors, name, (int,))

    _validate_long = _validate_integer

    def _validate_double(self, param: Any, shape: Shape, errors: _ServiceWording, name: str) -> None:
        self._validate_number(param, shape, errors, name, (int, float))

    _validate_float = _validate_double

    def _validate_number(
        self, param: Any, shape: Shape, errors: _ServiceWording, name: str, kind: tuple[type, ...]
    ) -> None:
        if self._typed(param, shape, errors, name, kind):
            for constraint in _bounds(shape.metadata, param, "value"):
                errors.report(name, "constraint", param=param, constraint=constraint)


def validate(shape: Shape, value: Any, name: str = "") -> _ServiceWording:
    """Every constraint ``value`` (the member ``name``) breaks: required, type, pattern, enum, min/max."""
    result: _ServiceWording = _StrictValidator().validate(value, shape, name)
    return result


def validate_input(operation: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise the service's ValidationException when ``params`` break the input shape's constraints."""
    if operation.input_shape is None:
        return
    found = validate(operation.input_shape, dict(params))
    if found.wrong_types:
        raise ServiceError("SerializationException", found.wrong_types[0])
    if found.problems:
        raise validation_error(found.problems)


# ---------------------------------------------------------------------------------------------
# Request parsing: wire -> the same parameter dict a boto3 caller passed.


def _json_body(body: bytes) -> dict[str, Any]:
    # moto's parser takes a body that is not JSON as {"message": <body>}; the service refuses it.
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise ServiceError("SerializationException", f"Request body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise ServiceError("SerializationException", "Request body must be a JSON object")
    return parsed


def _body_types(operation: OperationModel, body: Mapping[str, Any]) -> None:
    """A body member of the wrong JSON type (``"maxResults": "5"``) is refused by the service's
    deserializer; moto's parser would convert it, so the raw body's types are checked first."""
    shape = operation.input_shape
    if shape is None:
        return
    members = shape.members
    in_body = {
        name: body[member.serialization.get("name", name)]
        for name, member in members.items()
        if member.serialization.get("location") is None and member.serialization.get("name", name) in body
    }
    for name, value in in_body.items():
        member = members[name]
        if member.type_name == "timestamp":
            wrong = isinstance(value, bool) or not isinstance(value, (int, float, str))
            if wrong:
                raise ServiceError("SerializationException", f"Value at '{name}' is not a valid timestamp")
            continue
        found = validate(member, value, name)
        if found.wrong_types:
            raise ServiceError("SerializationException", found.wrong_types[0])


def parse_request(
    operation: OperationModel,
    labels: Mapping[str, str],
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The operation's input parameters, located as the model says (uri, querystring, header, body)."""
    _body_types(operation, _json_body(body))
    parser = RestJSONParser(operation)
    request: RequestDict = {
        "body": body,
        "headers": Headers(dict(headers)),
        "method": operation.http["method"],
        "url_params": dict(labels),
        "url_path": operation.http["requestUri"],
        "values": MultiDict(parse_qsl(query, keep_blank_values=True)),
    }
    try:
        params: dict[str, Any] = parser.parse(request)
    except (ValueError, TypeError, AttributeError) as error:  # a querystring "abc" for an integer
        raise ServiceError("SerializationException", f"Request could not be read: {error}") from error
    return params


# ---------------------------------------------------------------------------------------------
# Response serialization.


def serialize_output(
    operation: OperationModel, result: Mapping[str, Any], *, unknown_enums: bool = False
) -> tuple[int, bytes]:
    """HTTP status and JSON body of a successful response.

    ``unknown_enums``: let enum values outside the model through, as a service that added a value
    after the client's model was published sends them (clients must cope).
    """
    shape = operation.output_shape
    if shape is not None:
        problems = validate(shape, dict(result)).problems
        if unknown_enums:
            problems = [problem for problem in problems if "enum value set" not in problem]
        if problems:  # a bug in the backend, never the caller's fault
            raise ServiceError("InternalServerException", f"local endpoint produced an invalid response: {problems}")
    response = RestJSONSerializer(operation).serialize(dict(result))
    body = response["body"]
    return int(response["status_code"]), body.encode() if isinstance(body, str) else bytes(body or b"{}")


def serialize_error(error: ServiceError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error: ``x-amzn-errortype`` names the shape, body has ``message``.
    An error without a code (an unmodeled answer, e.g. a front end's 503) sends no error type."""
    headers = {"x-amzn-errortype": error.code} if error.code else {}
    return error.status, headers, json.dumps({"message": error.message}).encode()
