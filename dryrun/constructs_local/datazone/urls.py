"""Routing: which DataZone operation a request addresses, from the HTTP method and path.

moto's router (``moto.core.routing``) builds the routes from botocore's model of the service, as
moto's own services are routed; nothing here is a copy of the model.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder

if TYPE_CHECKING:
    from moto.core.model import OperationModel, ServiceModel

SERVICE_NAME = "datazone"


@functools.cache
def service_model() -> ServiceModel:
    """botocore's DataZone model, as moto loads it (loaded once per process)."""
    model: ServiceModel = get_service_model(SERVICE_NAME)
    return model


def _request(method: str, path: str) -> Request:
    # The router matches on the method and path (DataZone has no operations that differ by
    # query string or header only).
    return Request(EnvironBuilder(path=path, method=method).get_environ())


def match_route(method: str, path: str) -> tuple[OperationModel, dict[str, str]] | None:
    """The operation a request addresses and its uri labels, or None for an unknown route."""
    try:
        operation, labels = get_service_router(SERVICE_NAME).match(_request(method, path))
    except NotFound:
        return None
    return operation, labels
