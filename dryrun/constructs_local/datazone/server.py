"""A real HTTP server on 127.0.0.1 that speaks DataZone's rest-json protocol.

An unmodified boto3 client works against it::

    with LocalDataZone() as dz:
        client = boto3.client("datazone", endpoint_url=dz.url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        run = client.start_metadata_generation_run(...)
        dz.knobs.throttle_calls = 3        # fault injection, at any time
        assert dz.calls[-1].operation == "StartMetadataGenerationRun"

SigV4-signed requests are accepted with any (dummy) credentials: the signature is not checked,
but a request must carry one scoped to the ``datazone`` service, and its access key id decides
who the caller is (``register_principal``). Besides the service's routes the server answers a few
local-only control routes under ``/_local/`` (knobs, call log, principals, memberships, world, data
source runs, state) so
a separate process (``python -m constructs_local serve``) can be steered too.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from constructs_local._deps import botocore_module
from constructs_local.clock import Clock
from constructs_local.datazone.exceptions import ServiceError
from constructs_local.datazone.models import Call, DataZoneBackend
from constructs_local.datazone.responses import parse_request, serialize_error, serialize_output, validate_input
from constructs_local.datazone.urls import match_route
from constructs_local.knobs import Knobs

LOGGER = logging.getLogger("constructs_local.datazone.server")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each keep-alive response
    # waits for the client's delayed ACK (~40 ms a call).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        LOGGER.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/_local/"):
            self._control(parts.path, parts.query, body)
            return
        backend = self.server.backend
        operation_name = f"{self.command} {parts.path}"
        params: dict[str, Any] = {}
        principal = backend.default_principal
        recorded = False
        try:
            principal = backend.principal_for(self._access_key())
            found = match_route(self.command, parts.path)
            if found is None:
                raise ServiceError("UnknownOperationException", f"Unknown operation: {self.command} {parts.path}")
            operation, labels = found
            operation_name = operation.name
            if not backend.implements(operation.name):
                raise ServiceError(
                    "UnknownOperationException",
                    f"Unknown operation {operation.name}: the local DataZone endpoint (constructs_local) "
                    "implements only the metadata-generation run, prediction, data source run and search operations.",
                )
            params = parse_request(operation, labels, parts.query, dict(self.headers.items()), body)
            validate_input(operation, params)
            if backend.take_disconnect(operation.name):
                # No answer at all: the client sees a connection error, which botocore retries.
                backend.record(operation.name, params, 0, "ConnectionClosed", principal)
                self.close_connection = True
                return
            recorded = True  # from here on the backend records the call, success or error
            result = backend.handle(operation.name, params, principal)
            status, payload = serialize_output(operation, result, unknown_enums=bool(backend.knobs.reported_status))
            self._send(status, payload)
        except ServiceError as error:
            if not recorded:
                backend.record(operation_name, params, error.status, error.code, principal)
            self._send_error(error)
        except Exception as error:  # a bug here must answer like the service, not drop the connection
            LOGGER.error("local DataZone endpoint failed: %s", traceback.format_exc())
            if not recorded:
                backend.record(operation_name, params, 500, "InternalServerException", principal)
            self._send_error(ServiceError("InternalServerException", f"local endpoint error: {error}"))

    def _send_error(self, error: ServiceError) -> None:
        status, headers, payload = serialize_error(error)
        self._send(status, payload, headers)

    def _access_key(self) -> str:
        authorization = self.headers.get("Authorization")
        if not authorization or not authorization.startswith("AWS4-HMAC-SHA256 "):
            raise ServiceError("MissingAuthenticationTokenException", "Missing Authentication Token")
        found = _CREDENTIAL.search(authorization)
        if found is None:
            raise ServiceError(
                "IncompleteSignatureException", "Authorization header requires a Credential parameter.", 403
            )
        access_key, _region, service = found.groups()
        if service != "datazone":
            raise ServiceError(
                "InvalidSignatureException", "Credential should be scoped to correct service: 'datazone'.", 403
            )
        return access_key

    # -- local-only control routes ------------------------------------------------------------------

    def _control(self, path: str, query: str, body: bytes) -> None:
        route = _CONTROL_ROUTES.get((self.command, path))
        if route is None:
            self._send(404, json.dumps({"message": f"no local control route {self.command} {path}"}).encode())
            return
        try:
            data: dict[str, Any] = json.loads(body) if body.strip() else {}
            answer = route(self.server, data, {k: v[-1] for k, v in parse_qs(query).items()})
            self._send(200, json.dumps(answer, default=str).encode())
        except ServiceError as error:
            self._send_error(error)
        except (ValueError, KeyError, TypeError) as error:
            self._send(400, json.dumps({"message": f"bad control request: {error}"}).encode())


def _set_knobs(server: _Server, data: dict[str, Any], _args: dict[str, str]) -> Any:
    server.backend.knobs.update(data)
    return server.backend.knobs.to_dict()


def _clear_calls(server: _Server, _data: dict[str, Any], _args: dict[str, str]) -> Any:
    server.backend.calls.clear()
    return {}


def _add_member(server: _Server, data: dict[str, Any], _args: dict[str, str]) -> Any:
    server.backend.add_membership(data["domainId"], data["projectId"], data["principal"], data["designation"])
    return {}


def _remove_member(server: _Server, data: dict[str, Any], _args: dict[str, str]) -> Any:
    server.backend.remove_membership(data["domainId"], data["projectId"], data["principal"])
    return {}


def _register(server: _Server, data: dict[str, Any], _args: dict[str, str]) -> Any:
    server.backend.register_principal(str(data["accessKeyId"]), str(data["arn"]))
    return {}


def _merge_world(server: _Server, data: dict[str, Any], _args: dict[str, str]) -> Any:
    server.backend.merge_world(data["domains"])
    return {}


def _start_data_source_run(server: _Server, data: dict[str, Any], _args: dict[str, str]) -> Any:
    return {"id": server.backend.start_data_source_run(str(data["domainId"]), str(data["dataSourceId"]))}


_ControlRoute = Callable[["_Server", dict[str, Any], dict[str, str]], Any]
#: (method, path) -> what it does; each gets the server, the JSON body and the query arguments.
_CONTROL_ROUTES: dict[tuple[str, str], _ControlRoute] = {
    ("GET", "/_local/health"): lambda server, _d, _a: {"ok": True, "url": server.url},
    ("GET", "/_local/calls"): lambda server, _d, _a: [asdict(call) for call in server.backend.calls],
    ("DELETE", "/_local/calls"): _clear_calls,
    ("GET", "/_local/knobs"): lambda server, _d, _a: server.backend.knobs.to_dict(),
    ("POST", "/_local/knobs"): _set_knobs,
    ("POST", "/_local/principals"): _register,
    ("POST", "/_local/memberships"): _add_member,
    ("DELETE", "/_local/memberships"): _remove_member,
    ("GET", "/_local/predictions"): lambda server, _d, args: [
        asdict(d) for d in server.backend.prediction_decisions(args.get("domainId"), args.get("assetId"))
    ],
    ("POST", "/_local/world"): _merge_world,
    ("POST", "/_local/data-source-runs"): _start_data_source_run,
    ("GET", "/_local/state"): lambda server, _d, _a: server.backend.export_state(),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a batch's children (up to 1,000 in flight, each
    # with its own connection) overflowed it and saw connections reset, a failure AWS never gives.
    request_queue_size = 4096
    backend: DataZoneBackend
    url: str


class LocalDataZone:
    """The local DataZone endpoint: start it, point boto3 at ``.url``, read ``.calls``, set ``.knobs``.

    :param seed: domains, projects and assets (see :mod:`constructs_local.seed`). Default: the
        built-in seed that matches the example app.
    :param clock: the clock runs progress on. Default: a fresh simulated clock (only moves when
        something sleeps on it) — pass a ``RealClock`` when other processes poll the endpoint.
    :param knobs: fault injection and pacing. Default: no faults, 0.1 s a call, runs take 34 s + 262 s.
    :param backend: an existing backend to serve (then seed/clock/knobs are ignored).
    :param host: a loopback address; the endpoint never listens on anything else.
    :param port: 0 (default) picks a free ephemeral port.
    """

    def __init__(
        self,
        *,
        seed: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        knobs: Knobs | None = None,
        backend: DataZoneBackend | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"the local DataZone endpoint listens on loopback only ({', '.join(LOOPBACK_HOSTS)}), not {host!r}"
            )
        self.backend = backend or DataZoneBackend(seed=seed, clock=clock, knobs=knobs)
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> LocalDataZone:
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _Handler)
        server.backend = self.backend
        host, port = server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host_text}]" if ":" in host_text else host_text
        server.url = f"http://{shown}:{port}"
        self._server = server
        # A short poll interval: stop() (shutdown) waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="local-datazone", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (for the ``serve`` command)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> LocalDataZone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests read and steer ------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(
                "the local DataZone endpoint is not running; call start() or use it as a context manager"
            )
        return self._server.url

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def calls(self) -> list[Call]:
        return self.backend.calls

    @property
    def knobs(self) -> Knobs:
        return self.backend.knobs

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    def calls_to(self, operation: str) -> list[Call]:
        return [call for call in self.backend.calls if call.operation == operation]

    def client(self, *, access_key_id: str = "testing", region: str = "us-east-1", **config: Any) -> Any:
        """A boto3 DataZone client pointed at this endpoint with dummy credentials."""
        boto3 = botocore_module("boto3")
        botocore_config = botocore_module("botocore.config")
        return boto3.client(
            "datazone",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key="local-dummy-secret",  # noqa: S106 - a dummy; the endpoint checks no signatures
            config=botocore_config.Config(**config) if config else None,
        )
