"""The aws-cdk-lib ``custom_resources.Provider`` framework, replayed in Python.

Mirrors the framework's Node code that ``cdk synth`` packages next to the user's functions
(``framework.js`` / ``cfn-response.js`` in the provider's asset):

* ``onEvent`` invokes the user's onEvent with the request, fills a missing PhysicalResourceId
  (Create: the RequestId; Update/Delete: the old one), refuses a changed id on Delete, and with an
  isComplete function hands the event to the waiter;
* the waiter (a Step Functions Retry on ``States.ALL``) calls isComplete at once, then every
  ``IntervalSeconds * BackoffRate**n`` for ``MaxAttempts`` retries, then answers FAILED
  "Operation timed out";
* isComplete: ``IsComplete`` false -> retry (with Data -> error), true -> SUCCESS with the onEvent
  event, the isComplete result and both Data merged;
* every failure answers FAILED with the error's stack as Reason; a failed Create gets the marker
  physical id, and the Delete that follows it is answered SUCCESS without calling the user.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs_local.awslambda.runtime import Invocation, LocalFunction
from constructs_local.clock import Clock
from constructs_local.cloudformation.assembly import WaiterSpec

CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
MISSING_PHYSICAL_ID_MARKER = "AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID"
#: CloudFormation rejects a custom-resource response body longer than this.
MAX_RESPONSE_BYTES = 4096
#: ... and a physical resource id longer than this.
MAX_PHYSICAL_ID_BYTES = 1024

# Node appends the call stack to Error.stack; the framework sends Error.stack as the Reason. The
# frames below stand in for it (same shape and about the same length as the real ones), so the
# response size measured here is the size CloudFormation would get.
_ON_EVENT_FRAMES = (
    "    at invokeUserFunction (/var/task/framework.js:1:2287)",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)",
    "    at async onEvent (/var/task/framework.js:1:1150)",
    "    at async Runtime.handler (/var/task/cfn-response.js:1:1676)",
)
_IS_COMPLETE_FRAMES = (
    "    at invokeUserFunction (/var/task/framework.js:1:2287)",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)",
    "    at async isComplete (/var/task/framework.js:1:1878)",
    "    at async Runtime.handler (/var/task/cfn-response.js:1:1676)",
)


class _FrameworkError(Exception):
    """An Error thrown inside the framework; ``stack`` is what becomes the Reason."""

    def __init__(self, message: str, frames: tuple[str, ...]) -> None:
        super().__init__(message)
        self.stack = "\n".join([f"Error: {message}", *frames])


class _RetryError(Exception):
    """isComplete said "not yet": the waiter retries."""


@dataclass(frozen=True)
class CfnResponse:
    """The body the framework PUTs to the ResponseURL."""

    body: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.body["Status"])

    @property
    def reason(self) -> str:
        return str(self.body.get("Reason", ""))

    @property
    def physical_id(self) -> str:
        return str(self.body["PhysicalResourceId"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.body.get("Data") or {})

    @property
    def text(self) -> str:
        # JSON.stringify: compact, keys in insertion order, non-ASCII kept as is.
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False)

    @property
    def size(self) -> int:
        return len(self.text.encode())


@dataclass
class Step:
    """One line of a request's timeline (``at`` on the shared clock)."""

    at: float
    what: str
    status: str | None = None


@dataclass
class ProviderRun:
    """One request through the framework: the invocations it made and the response it sent."""

    request_type: str
    logical_id: str
    started_at: float
    response: CfnResponse | None = None
    on_event: Invocation | None = None
    is_complete: list[Invocation] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    handler_called: bool = False

    @property
    def invocations(self) -> list[Invocation]:
        return ([self.on_event] if self.on_event else []) + self.is_complete


def _status_from(invocation: Invocation) -> str | None:
    """The run status an invocation reports: its result Data, else its last JSON log line with one."""
    result = invocation.result if isinstance(invocation.result, dict) else {}
    data = result.get("Data") or {}
    if isinstance(data, dict) and data.get("Status"):
        return str(data["Status"])
    for line in reversed(invocation.logs):
        _, _, text = line.partition("] ")
        try:
            fields = json.loads(text)
        except ValueError:
            continue
        if isinstance(fields, dict) and fields.get("status"):
            return str(fields["status"])
    return None


class ProviderFramework:
    """One provider: its user functions (warm across requests) and its waiter settings."""

    def __init__(
        self,
        on_event: LocalFunction,
        is_complete: LocalFunction | None,
        waiter: WaiterSpec | None,
        clock: Clock,
    ) -> None:
        if is_complete is not None and waiter is None:
            raise ValueError("an isComplete function needs the waiter's settings")
        self.on_event = on_event
        self.is_complete = is_complete
        self.waiter = waiter
        self.clock = clock

    # -- cfn-response.js ------------------------------------------------------------------------

    @staticmethod
    def _submit(status: str, event: Mapping[str, Any], reason: str | None = None) -> CfnResponse:
        body: dict[str, Any] = {
            "Status": status,
            "Reason": reason or status,
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "PhysicalResourceId": event.get("PhysicalResourceId") or MISSING_PHYSICAL_ID_MARKER,
            "LogicalResourceId": event.get("LogicalResourceId"),
        }
        if event.get("NoEcho") is not None:
            body["NoEcho"] = event["NoEcho"]
        if event.get("Data") is not None:
            body["Data"] = event["Data"]
        return CfnResponse(body)

    def _failed(self, run: ProviderRun, event: dict[str, Any], error: Exception) -> CfnResponse:
        if not event.get("PhysicalResourceId") and event.get("RequestType") == "Create":
            event["PhysicalResourceId"] = CREATE_FAILED_MARKER
        reason = error.stack if isinstance(error, _FrameworkError) else f"Error: {error}"
        run.steps.append(Step(self.clock.now(), f"failed: {str(error).splitlines()[0] if str(error) else error}"))
        return self._submit("FAILED", event, reason)

    # -- framework.js ---------------------------------------------------------------------------

    def _invoke_user(
        self, function: LocalFunction, event: Mapping[str, Any], frames: tuple[str, ...]
    ) -> tuple[Invocation, Any]:
        invocation = function.invoke(event)
        if invocation.error is not None:
            message = "\n".join(
                [
                    str(invocation.error.get("errorMessage") or "error"),
                    "",
                    f"Logs: /aws/lambda/{function.function_name}",
                    "",
                ]
            )
            raise _InvocationFailedError(invocation, _FrameworkError(message, frames))
        return invocation, invocation.result

    def handle(self, request: Mapping[str, Any]) -> ProviderRun:
        """Process one CloudFormation request to the end (the waiter included); return what happened."""
        run = self.new_run(request)
        steps = self.handle_steps(request, run)
        try:
            while True:
                self.clock.sleep(next(steps))
        except StopIteration:
            return run

    def new_run(self, request: Mapping[str, Any]) -> ProviderRun:
        return ProviderRun(str(request.get("RequestType")), str(request.get("LogicalResourceId")), self.clock.now())

    def handle_steps(self, request: Mapping[str, Any], run: ProviderRun) -> Generator[float, None, None]:
        """:meth:`handle` as a generator that yields the seconds it waits (the waiter's sleeps), so a
        scheduler can interleave several requests on one clock, as CloudFormation runs resources in
        parallel. ``run`` is filled in as the request goes; its response is set at the end."""
        event = json.loads(json.dumps(dict(request)))
        run.steps.append(Step(run.started_at, f"{run.request_type} request"))
        if event.get("RequestType") == "Delete" and event.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
            run.steps.append(Step(self.clock.now(), "Delete after a failed Create: answered by the framework"))
            run.response = self._submit("SUCCESS", event)
            return
        event.setdefault("ResourceProperties", {})
        try:
            run.handler_called = True
            try:
                run.on_event, result = self._invoke_user(self.on_event, event, _ON_EVENT_FRAMES)
            except _InvocationFailedError as failed:
                run.on_event = failed.invocation
                raise failed.error from None
            resource_event = self._response_event(event, result if isinstance(result, dict) else {})
            data = resource_event.get("Data") or {}
            run.steps.append(
                Step(
                    self.clock.now(),
                    f"onEvent -> PhysicalResourceId {resource_event['PhysicalResourceId']}"
                    + (f", Data {json.dumps(data, sort_keys=True)}" if data else ""),
                    _status_from(run.on_event),
                )
            )
        except Exception as error:
            run.response = self._failed(run, event, error)
            return
        if self.is_complete is None:
            run.response = self._submit("SUCCESS", resource_event)
        else:
            run.response = yield from self._wait(run, resource_event)

    @staticmethod
    def _response_event(request: dict[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        request_type = request.get("RequestType")
        physical = result.get("PhysicalResourceId") or (
            request.get("RequestId") if request_type == "Create" else request.get("PhysicalResourceId")
        )
        if request_type == "Delete" and physical != request.get("PhysicalResourceId"):
            raise _FrameworkError(
                f'DELETE: cannot change the physical resource ID from "{request.get("PhysicalResourceId")}" '
                f'to "{result.get("PhysicalResourceId")}" during deletion',
                ("    at createResponseEvent (/var/task/framework.js:1:3391)", *_ON_EVENT_FRAMES[1:]),
            )
        return {**request, **result, "PhysicalResourceId": physical}

    def _wait(self, run: ProviderRun, event: dict[str, Any]) -> Generator[float, None, CfnResponse]:
        assert self.waiter is not None
        retries = 0
        while True:
            try:
                return self._is_complete(run, event)
            except _RetryError:
                if retries >= self.waiter.max_attempts:
                    run.steps.append(Step(self.clock.now(), "waiter gave up: Operation timed out"))
                    return self._submit("FAILED", event, "Operation timed out")
                yield self.waiter.interval_seconds * self.waiter.backoff_rate**retries
                retries += 1

    def _is_complete(self, run: ProviderRun, event: dict[str, Any]) -> CfnResponse:
        assert self.is_complete is not None
        try:
            try:
                invocation, result = self._invoke_user(self.is_complete, event, _IS_COMPLETE_FRAMES)
            except _InvocationFailedError as failed:
                run.is_complete.append(failed.invocation)
                raise failed.error from None
            run.is_complete.append(invocation)
            status = _status_from(invocation)
            if not isinstance(result, dict):
                raise _FrameworkError("Cannot read properties of null (reading 'IsComplete')", _IS_COMPLETE_FRAMES)
            if not result.get("IsComplete"):
                run.steps.append(Step(self.clock.now(), "isComplete: not yet", status))
                if result.get("Data"):
                    raise _FrameworkError('"Data" is not allowed if "IsComplete" is "False"', _IS_COMPLETE_FRAMES)
                raise _RetryError
            run.steps.append(Step(self.clock.now(), "isComplete: complete", status))
            merged = {**event, **result, "Data": {**(event.get("Data") or {}), **(result.get("Data") or {})}}
            return self._submit("SUCCESS", merged)
        except _RetryError:
            raise
        except Exception as error:
            return self._failed(run, event, error)


class _InvocationFailedError(Exception):
    def __init__(self, invocation: Invocation, error: _FrameworkError) -> None:
        super().__init__(str(error))
        self.invocation = invocation
        self.error = error
