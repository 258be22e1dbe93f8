"""A small CloudFormation endpoint on 127.0.0.1 whose stacks follow the local replay.

The handler asks CloudFormation what its stack is doing (``DescribeStacks(StackName=<StackId>)``)
to tell a rollback from a user's update and to refuse predictions once the stack rolls back or is
deleted. A replay that did not answer would either send the function to real AWS or make every
such call fail, so the replayed functions get ``AWS_ENDPOINT_URL_CLOUDFORMATION`` pointing here.

botocore's "query" protocol: a form-encoded POST with ``Action`` and its members, answered with
XML; errors are ``<ErrorResponse>`` documents with a 400 status, as CloudFormation sends them.
Only ``DescribeStacks`` and ``DescribeStackResource`` are served; anything else is refused, so a
handler that starts calling more of CloudFormation shows up here rather than passing by luck.

DescribeStackResource names the resource a logical id holds now: while an update's cleanup
deletes a replaced resource, it names the replacement (assumption: CloudFormation keeps one
resource per logical id, and a replaced one only in the stack's events; not documented). A
continuous batch's Delete tells a replaced batch from a removed one by it.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from constructs_local.clock import Clock

_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


@dataclass
class StackResourceState:
    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str
    updated_at: float


@dataclass
class StackState:
    name: str
    stack_id: str
    status: str
    created_at: float
    resources: dict[str, StackResourceState] = field(default_factory=dict)


@dataclass(frozen=True)
class CfnCall:
    """One call the endpoint answered (``status`` is the stack status it reported, or the error code)."""

    operation: str
    stack: str
    answer: str
    at: float


class _CfnError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _element(name: str, value: str | None) -> str:
    return "" if value is None else f"<{name}>{escape(value)}</{name}>"


class LocalCloudFormationEndpoint:
    """Stacks by name and id, their status and resources; an HTTP server that reports them.

    :param call_seconds: simulated time each call costs (CloudFormation is not instantaneous).
    """

    def __init__(self, clock: Clock, *, call_seconds: float = 0.0) -> None:
        self.clock = clock
        self.call_seconds = call_seconds
        self.stacks: dict[str, StackState] = {}  # by stack id
        self.calls: list[CfnCall] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what the replay tells it ---------------------------------------------------------------

    def set_status(self, stack_id: str, name: str, status: str) -> None:
        with self._lock:
            stack = self.stacks.get(stack_id)
            if stack is None:
                stack = self.stacks[stack_id] = StackState(name, stack_id, status, self.clock.now())
            stack.status = status

    def set_resource(
        self, stack_id: str, logical_id: str, resource_type: str, status: str, physical_id: str | None
    ) -> None:
        with self._lock:
            stack = self.stacks.get(stack_id)
            if stack is None:
                return
            known = stack.resources.get(logical_id)
            replaced = known is not None and known.physical_id not in (None, physical_id)
            if replaced and physical_id is not None and status.startswith("DELETE"):
                # The cleanup of a replaced resource (or of a failed update's new one): the logical
                # id goes on naming the resource that replaced it, as DescribeStackResource says.
                return
            physical = physical_id if physical_id is not None else (known.physical_id if known else None)
            stack.resources[logical_id] = StackResourceState(
                logical_id, resource_type, physical, status, self.clock.now()
            )

    def status(self, stack_id: str) -> str | None:
        with self._lock:
            stack = self.stacks.get(stack_id)
            return stack.status if stack else None

    # -- the service ----------------------------------------------------------------------------

    def _find(self, name_or_id: str) -> StackState:
        stack = self.stacks.get(name_or_id)
        if stack is None:
            # By name CloudFormation only finds a live stack; a deleted one only by its id.
            live = [s for s in self.stacks.values() if s.name == name_or_id and s.status != "DELETE_COMPLETE"]
            stack = live[-1] if live else None
        if stack is None:
            raise _CfnError("ValidationError", f"Stack with id {name_or_id} does not exist")
        return stack

    def handle(self, form: dict[str, str]) -> str:
        """Answer one query-protocol request with its XML body (raises _CfnError)."""
        if self.call_seconds:
            self.clock.sleep(self.call_seconds)
        action = form.get("Action", "")
        name = form.get("StackName", "")
        with self._lock:
            try:
                if action == "DescribeStacks":
                    body = self._describe_stacks(name)
                elif action == "DescribeStackResource":
                    body = self._describe_stack_resource(name, form.get("LogicalResourceId", ""))
                else:
                    raise _CfnError(
                        "InvalidAction",
                        f"{action or 'no action'}: the local CloudFormation endpoint answers only DescribeStacks "
                        "and DescribeStackResource",
                    )
            except _CfnError as error:
                self.calls.append(CfnCall(action, name, error.code, self.clock.now()))
                raise
            stack = self._find(name)
            self.calls.append(CfnCall(action, name, stack.status, self.clock.now()))
            return body

    def _describe_stacks(self, name: str) -> str:
        if not name:
            raise _CfnError("ValidationError", "the local endpoint needs StackName (it never lists every stack)")
        stack = self._find(name)
        member = "".join(
            [
                _element("StackId", stack.stack_id),
                _element("StackName", stack.name),
                _element("CreationTime", _time(stack.created_at)),
                _element("StackStatus", stack.status),
                "<DisableRollback>false</DisableRollback>",
            ]
        )
        return _envelope("DescribeStacks", f"<Stacks><member>{member}</member></Stacks>")

    def _describe_stack_resource(self, name: str, logical_id: str) -> str:
        stack = self._find(name)
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise _CfnError("ValidationError", f"Resource {logical_id} does not exist for stack {stack.name}")
        detail = "".join(
            [
                _element("StackName", stack.name),
                _element("StackId", stack.stack_id),
                _element("LogicalResourceId", resource.logical_id),
                _element("PhysicalResourceId", resource.physical_id),
                _element("ResourceType", resource.resource_type),
                _element("LastUpdatedTimestamp", _time(resource.updated_at)),
                _element("ResourceStatus", resource.status),
            ]
        )
        return _envelope("DescribeStackResource", f"<StackResourceDetail>{detail}</StackResourceDetail>")

    # -- HTTP -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the local CloudFormation endpoint is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalCloudFormationEndpoint:
        if self._server is not None:
            return self
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                try:
                    self._send(200, endpoint.handle(form))
                except _CfnError as error:
                    self._send(400, _error(error))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-cloudformation", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


def _envelope(action: str, result: str) -> str:
    return (
        f'<{action}Response xmlns="{_NAMESPACE}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"
    )


def _error(error: _CfnError) -> str:
    return (
        f'<ErrorResponse xmlns="{_NAMESPACE}"><Error><Type>Sender</Type><Code>{escape(error.code)}</Code>'
        f"<Message>{escape(error.message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
