"""The control side of a local DataZone endpoint the replay talks to: principals and memberships."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from constructs_local.datazone.exceptions import ServiceError
from constructs_local.datazone.server import LOOPBACK_HOSTS, LocalDataZone


class EndpointControl(Protocol):
    url: str

    def register_principal(self, access_key_id: str, arn: str) -> None: ...

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None: ...

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None: ...


class _InProcessControl:
    def __init__(self, endpoint: LocalDataZone) -> None:
        self.url = endpoint.url
        self._backend = endpoint.backend

    def register_principal(self, access_key_id: str, arn: str) -> None:
        self._backend.register_principal(access_key_id, arn)

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None:
        self._backend.add_membership(domain_id, project_id, principal, designation)

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None:
        self._backend.remove_membership(domain_id, project_id, principal)


class _HttpControl:
    """The ``/_local/`` routes of a ``serve`` process (loopback only)."""

    def __init__(self, url: str) -> None:
        host = urlsplit(url).hostname
        if host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"--endpoint-url must be a local endpoint on {', '.join(LOOPBACK_HOSTS)}, not {url!r}; "
                "use --aws to run against AWS"
            )
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, body: Mapping[str, Any]) -> None:
        request = Request(f"{self.url}{path}", data=json.dumps(body).encode(), method=method)  # noqa: S310 - loopback only
        request.add_header("Content-Type", "application/json")
        try:
            with urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
                response.read()
        except OSError as error:
            status = getattr(error, "code", None)
            if status == 404 and path == "/_local/memberships":
                text = error.read().decode() if hasattr(error, "read") else str(error)
                raise ServiceError("ResourceNotFoundException", json.loads(text).get("message", text)) from error
            raise

    def register_principal(self, access_key_id: str, arn: str) -> None:
        self._call("POST", "/_local/principals", {"accessKeyId": access_key_id, "arn": arn})

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None:
        body = {"domainId": domain_id, "projectId": project_id, "principal": principal, "designation": designation}
        self._call("POST", "/_local/memberships", body)

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None:
        self._call(
            "DELETE", "/_local/memberships", {"domainId": domain_id, "projectId": project_id, "principal": principal}
        )
