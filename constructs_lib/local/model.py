"""DataZone's rest-json wire protocol, driven by the botocore service model.

Routing (HTTP method + ``requestUri``), where each input member lives (uri label, query string,
header, JSON body), validation constraints (required, pattern, enum, min/max) and the error
shapes' HTTP status codes all come from botocore's model of the service; nothing here is a copy of
it. Only the operations the backend implements answer; every other route answers the way AWS
services answer a route they do not know (404 ``UnknownOperationException``).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from constructs_lib.local._deps import botocore_module

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

SERVICE_NAME = "datazone"


class ServiceError(Exception):
    """An error the endpoint answers with: the service's error shape, status and message."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else error_status(code)


def validation_error(problems: Sequence[str]) -> ServiceError:
    """The service's ValidationException wording (``N validation error(s) detected: ...``)."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return ServiceError("ValidationException", f"{count} validation {noun} detected: {'; '.join(problems)}")


@functools.cache
def service_model() -> ServiceModel:
    """botocore's DataZone model (loaded once per process)."""
    session = botocore_module("botocore.session").get_session()
    model: ServiceModel = session.get_service_model(SERVICE_NAME)
    return model


@functools.cache
def error_status(code: str) -> int:
    """HTTP status of an error shape from the model (``error.httpStatusCode``)."""
    fixed = {
        "UnknownOperationException": 404,
        "SerializationException": 400,
        "MissingAuthenticationTokenException": 403,
    }
    if code in fixed:
        return fixed[code]
    shape = service_model().shape_for(code)
    status = shape.metadata.get("error", {}).get("httpStatusCode")
    if not isinstance(status, int):
        raise KeyError(f"{code} is not an error shape of the {SERVICE_NAME} model")
    return status


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    regex: re.Pattern[str]
    labels: tuple[str, ...]
    literal_length: int


def _compile(method: str, request_uri: str, operation: str) -> Route:
    path = request_uri.split("?", 1)[0]
    labels: list[str] = []
    pattern = ""
    literal = 0
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            greedy = name.endswith("+")
            labels.append(name.rstrip("+"))
            pattern += f"(?P<l{len(labels) - 1}>{'.+' if greedy else '[^/]+'})"
        else:
            literal += len(piece)
            pattern += re.escape(piece)
    return Route(operation, method, re.compile(pattern), tuple(labels), literal)


@functools.cache
def routes() -> tuple[Route, ...]:
    """Every operation of the model as a route, most specific (longest literal) first."""
    model = service_model()
    compiled = [
        _compile(op.http["method"], op.http["requestUri"], op.name)
        for op in (model.operation_model(name) for name in model.operation_names)
    ]
    return tuple(sorted(compiled, key=lambda r: (-r.literal_length, r.operation)))


def match_route(method: str, path: str) -> tuple[OperationModel, dict[str, str]] | None:
    """The operation a request addresses and its raw uri labels, or None for an unknown route."""
    for route in routes():
        if route.method != method:
            continue
        found = route.regex.fullmatch(path)
        if found is not None:
            labels = {name: unquote(found.group(f"l{i}")) for i, name in enumerate(route.labels)}
            return service_model().operation_model(route.operation), labels
    return None


# ---------------------------------------------------------------------------------------------
# Request parsing: wire -> the same parameter dict a boto3 caller passed.


def _scalar(shape: Shape, raw: str, where: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind in ("float", "double"):
            return float(raw)
        if kind == "boolean":
            if raw not in ("true", "false"):
                raise ValueError(raw)
            return raw == "true"
        if kind == "timestamp":
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise ServiceError("SerializationException", f"Value '{raw}' at '{where}' is not a valid {kind}") from error
    return raw


def _from_json(shape: Shape, value: Any, where: str) -> Any:
    """Body JSON -> Python, with the type checks the service's deserializer makes."""
    if value is None:
        return None
    convert = _FROM_JSON.get(shape.type_name)
    if convert is None:
        return value
    result = convert(shape, value, where)
    if result is _WRONG:
        raise ServiceError("SerializationException", f"Value at '{where}' is not a valid {shape.type_name}")
    return result


_WRONG: Any = object()


def _structure_from_json(shape: Shape, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        return _WRONG
    members = shape.members  # type: ignore[attr-defined]
    result: dict[str, Any] = {}
    for name, member in members.items():
        key = member.serialization.get("name", name)
        if key in value:
            result[name] = _from_json(member, value[key], f"{where}.{name}" if where else name)
    return result


def _list_from_json(shape: Shape, value: Any, where: str) -> Any:
    if not isinstance(value, list):
        return _WRONG
    member = shape.member  # type: ignore[attr-defined]
    return [_from_json(member, item, f"{where}.{i + 1}.member") for i, item in enumerate(value)]


def _map_from_json(shape: Shape, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        return _WRONG
    return {k: _from_json(shape.value, v, f"{where}.{k}") for k, v in value.items()}  # type: ignore[attr-defined]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _timestamp_from_json(shape: Shape, value: Any, where: str) -> Any:
    if _number(value):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return _scalar(shape, value, where)
    return _WRONG


_FROM_JSON: dict[str, Callable[[Shape, Any, str], Any]] = {
    "structure": _structure_from_json,
    "list": _list_from_json,
    "map": _map_from_json,
    "string": lambda _s, v, _w: v if isinstance(v, str) else _WRONG,
    "integer": lambda _s, v, _w: v if isinstance(v, int) and not isinstance(v, bool) else _WRONG,
    "long": lambda _s, v, _w: v if isinstance(v, int) and not isinstance(v, bool) else _WRONG,
    "float": lambda _s, v, _w: float(v) if _number(v) else _WRONG,
    "double": lambda _s, v, _w: float(v) if _number(v) else _WRONG,
    "boolean": lambda _s, v, _w: v if isinstance(v, bool) else _WRONG,
    "timestamp": _timestamp_from_json,
    "blob": lambda _s, v, _w: base64.b64decode(v) if isinstance(v, str) else _WRONG,
}


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise ServiceError("SerializationException", f"Request body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise ServiceError("SerializationException", "Request body must be a JSON object")
    return parsed


@dataclass(frozen=True)
class _Wire:
    """One request as it arrived, split the way rest-json places members."""

    labels: Mapping[str, str]
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: Mapping[str, Any]


_MISSING: Any = object()


def _member_value(name: str, member: Shape, wire: _Wire) -> Any:
    """A member's value from where the model puts it (``_MISSING`` when the request has none)."""
    location = member.serialization.get("location")
    key = member.serialization.get("name", name)
    if location == "uri":
        return _scalar(member, wire.labels[key], name) if key in wire.labels else _MISSING
    if location == "querystring":
        if member.type_name == "map":
            return {k: v[-1] for k, v in wire.query.items()}
        if key not in wire.query:
            return _MISSING
        if member.type_name == "list":
            inner = member.member  # type: ignore[attr-defined]
            return [_scalar(inner, v, name) for v in wire.query[key]]
        return _scalar(member, wire.query[key][-1], name)
    if location == "header":
        header = wire.headers.get(key.lower())
        return _MISSING if header is None else _scalar(member, header, name)
    if location is None and key in wire.body:
        return _from_json(member, wire.body[key], name)
    return _MISSING


def parse_request(
    operation: OperationModel,
    labels: Mapping[str, str],
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The operation's input parameters, located as the model says (uri, querystring, header, body)."""
    shape = operation.input_shape
    if shape is None:
        return {}
    wire = _Wire(
        labels=labels,
        query=parse_qs(query, keep_blank_values=True),
        headers={k.lower(): v for k, v in headers.items()},
        body=_json_body(body),
    )
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = _member_value(name, member, wire)
        if value is not _MISSING:
            params[name] = value
    return params


# ---------------------------------------------------------------------------------------------
# Validation: the constraints of the model, reported in the service's words.


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(value, default=str)


def validate(shape: Shape, value: Any, where: str = "") -> list[str]:
    """Every constraint ``value`` breaks: required, pattern, enum, min/max (length, size, range)."""
    if shape.type_name == "structure":
        return _validate_structure(shape, value, where)  # type: ignore[arg-type]
    problems: list[str] = []
    for constraint in _constraints(shape, value):
        problems.append(f"Value '{_render(value)}' at '{where}' failed to satisfy constraint: Member must {constraint}")
    if shape.type_name == "list" and isinstance(value, list):
        member = shape.member  # type: ignore[attr-defined]
        for i, item in enumerate(value):
            problems.extend(validate(member, item, f"{where}.{i + 1}.member"))
    elif shape.type_name == "map" and isinstance(value, dict):
        value_shape = shape.value  # type: ignore[attr-defined]
        for key, item in value.items():
            problems.extend(validate(value_shape, item, f"{where}.{key}"))
    return problems


def _validate_structure(shape: StructureShape, value: Any, where: str) -> list[str]:
    problems: list[str] = []
    for name in shape.required_members:
        if not isinstance(value, dict) or value.get(name) is None:
            path = f"{where}.{name}" if where else name
            problems.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")
    if isinstance(value, dict):
        for name, member in shape.members.items():
            if value.get(name) is not None:
                problems.extend(validate(member, value[name], f"{where}.{name}" if where else name))
    return problems


def _bounds(metadata: Mapping[str, Any], size: float, what: str) -> list[str]:
    broken = []
    if "min" in metadata and size < metadata["min"]:
        broken.append(f"have {what} greater than or equal to {metadata['min']}")
    if "max" in metadata and size > metadata["max"]:
        broken.append(f"have {what} less than or equal to {metadata['max']}")
    return broken


def _constraints(shape: Shape, value: Any) -> list[str]:
    """The constraints of a scalar, list or map shape that ``value`` breaks, in the service's words."""
    metadata = shape.metadata
    kind = shape.type_name
    if kind == "string" and isinstance(value, str):
        broken = _bounds(metadata, len(value), "length")
        # botocore keeps the model's patterns without anchors; the service matches the whole value.
        if "pattern" in metadata and re.fullmatch(metadata["pattern"], value) is None:
            broken.append(f"satisfy regular expression pattern: {metadata['pattern']}")
        if "enum" in metadata and value not in metadata["enum"]:
            broken.append(f"satisfy enum value set: [{', '.join(metadata['enum'])}]")
        return broken
    if kind in ("list", "map") and isinstance(value, (list, dict)):
        return _bounds(metadata, len(value), "length")
    if kind in ("integer", "long", "float", "double") and _number(value):
        return _bounds(metadata, value, "value")
    return []


def validate_input(operation: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise the service's ValidationException when ``params`` break the input shape's constraints."""
    if operation.input_shape is None:
        return
    problems = validate(operation.input_shape, dict(params))
    if problems:
        raise validation_error(problems)


# ---------------------------------------------------------------------------------------------
# Response serialization.


def _to_json(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        return {
            member.serialization.get("name", name): _to_json(member, value[name])
            for name, member in members.items()
            if isinstance(value, Mapping) and value.get(name) is not None
        }
    if kind == "list":
        return [_to_json(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if kind == "map":
        return {k: _to_json(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp":
        return _timestamp_to_json(shape, value)
    if kind == "blob":
        return base64.b64encode(value).decode()
    return value


def _timestamp_to_json(shape: Shape, value: Any) -> Any:
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    if shape.serialization.get("timestampFormat") == "iso8601":
        # Members the model marks iso8601 (the data source run shapes) travel as strings.
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # rest-json's default timestamp format in a body: epoch seconds.
    seconds = moment.timestamp()
    return int(seconds) if math.isclose(seconds, round(seconds)) else round(seconds, 3)


def serialize_output(
    operation: OperationModel, result: Mapping[str, Any], *, unknown_enums: bool = False
) -> tuple[int, bytes]:
    """HTTP status and JSON body of a successful response.

    ``unknown_enums``: let enum values outside the model through, as a service that added a value
    after the client's model was published sends them (clients must cope).
    """
    status = int(operation.http.get("responseCode", 200))
    shape = operation.output_shape
    if shape is None:
        return status, b"{}"
    problems = validate(shape, dict(result))
    if unknown_enums:
        problems = [problem for problem in problems if "enum value set" not in problem]
    if problems:  # a bug in the backend, never the caller's fault
        raise ServiceError("InternalServerException", f"local endpoint produced an invalid response: {problems}")
    return status, json.dumps(_to_json(shape, result), separators=(",", ":")).encode()


def serialize_error(error: ServiceError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error: ``x-amzn-errortype`` names the shape, body has ``message``.
    An error without a code (an unmodeled answer, e.g. a front end's 503) sends no error type."""
    headers = {"x-amzn-errortype": error.code} if error.code else {}
    return error.status, headers, json.dumps({"message": error.message}).encode()
