"""The errors the local DataZone answers with, their HTTP status from the service model."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from constructs_local.datazone.urls import SERVICE_NAME, service_model


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
