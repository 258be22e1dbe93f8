"""Step Functions and S3 for a local batch: moto's ASL interpreter runs the definition that ships.

A ``MetadataGenerationBatch`` deploys a Standard state machine (``_batch_definition``) that the
batch handler starts and follows. Locally the replay creates that state machine, from the
template's own synthesized ``DefinitionString``, in moto (PyPI ``moto[stepfunctions,s3]``, pinned
to :data:`MOTO_VERSION`) running in this process under ``mock_aws`` with state-machine execution
on; the handler's boto3 ``stepfunctions``/``s3`` clients are intercepted by the same mock, and the
interpreter's ``aws-sdk:datazone:*`` tasks reach the local DataZone endpoint. Nothing reaches AWS.

moto 5.2.5 executes a definition differently from Step Functions in a few places. Each is bridged
here by a patch of moto's internals (:class:`MotoAdapter`, one named fix each, installed for the
session and removed after); ``tests/e2e/test_batch_moto_gaps.py`` runs each *without* its fix and
asserts the gap is still there, so an upgrade that closes one is noticed:

``parameters``
    ``aws-sdk:*`` tasks hand the state's PascalCase ``Parameters`` (``DomainIdentifier``) to
    boto3 unchanged; Step Functions maps them to the API's member names. The fix runs them
    through moto's own ``_to_boto_request`` with the operation's input shape.
``responses``
    ...and return boto3's snake/camel-case answer (``id``, datetimes as objects); Step Functions
    answers in PascalCase with ISO-8601 strings (``$.Id``). Fix: moto's ``_from_boto_response``
    with the output shape, datetimes as ISO strings.
``errors``
    Service errors are named ``datazone.ThrottlingException``, an answer the service model does
    not name (a 503 without an error type) ``datazone.datazoneException``, and a client-side
    failure (a dropped connection, a read timeout) is not an error of the task at all but
    ``States.Runtime`` with botocore's message. Step Functions (which calls services with the
    AWS SDK for Java 2.x; see ``_batch_definition.TRANSIENT``) says
    ``DataZone.ThrottlingException``, ``DataZone.DataZoneException`` (the client's base
    exception) and ``DataZone.SdkClientException``, which the definition's Retry/Catch name.
    Fix: the service's name as Step Functions spells it, plus the error *code* when the model
    names it, else the service's base exception; botocore's own errors are SdkClientException.
``result-writer``
    A Distributed Map's ``ResultWriter`` writes only ``manifest.json``, with no result files
    (moto: ``env.stack.pop()  # TODO: results``); the handler's summary reads them. Fix: the
    child executions' outputs written as ``SUCCEEDED_0.json`` in AWS's format (a list of
    ``{ExecutionArn, Name, Output (a JSON string), Status, ...}``) and listed in the manifest.
    moto does not keep a child's input there, so ``Input`` is ``"{}"``: every record the workflow
    writes carries its ``assetId`` in its output.
``endpoints``
    The interpreter's clients go to moto for every service (in-process) or to
    ``localhost:$MOTO_PORT`` (server mode), with a fixed dummy key. Fix: ``datazone`` goes to
    the local endpoint, signed with the key the replay registered for the state machine's role
    (the endpoint checks project membership per principal, as DataZone does).
``lambda``
    ``arn:aws:states:::lambda:invoke`` tasks call moto's Lambda, which runs functions in Docker.
    Fix: the template's own function (the batch workflow's worker), run in this process like the
    provider's handlers (:class:`~constructs_local.awslambda.runtime.LocalFunction`: its packaged
    asset, its timeout, Lambda's error payload), answered as Lambda's Invoke would.
``time``
    ``Wait`` states and ``Retry`` back-offs sleep in real seconds, while the local DataZone
    endpoint runs on the replay's clock. Fix: both sleep on that clock. On the replay's
    :class:`~constructs_local.clock.EventClock` (simulated time shared by every thread) a
    10 s ``Wait`` is 10 simulated seconds exactly and costs no real time; StopExecution (and any
    other end of the execution) still ends it at once. Without a clock (``speed``) they sleep
    ``seconds / speed`` real seconds, keeping their proportions to a sped-up endpoint.

``recursion``
    A map's worker thread runs its children one after another by calling itself once per child
    (``_eval_pool`` ends with ``self._eval_pool(next_job)``): a worker past about 990 children
    dies of ``RecursionError`` and the map run fails (a data-source batch of 10,000 assets at
    MaxConcurrency 10 gives each worker 1,000). Step Functions has no such limit. Fix: the tail
    call is deferred and run in a loop, one frame deep.

``history``
    moto keeps every history event an execution writes; Step Functions fails a Standard
    execution at its 25,000th (:data:`HISTORY_EVENTS_QUOTA`, a hard quota), with
    ``States.Runtime``. Fix: events are counted per execution (the parent and each Distributed
    Map child have their own history), the one past the quota fails the execution the same way
    (a ``Catch`` cannot keep it alive: every further event fails again), and
    :attr:`MotoAdapter.max_history_events` keeps the largest count seen, for the report.

Not a gap, a cost: moto parses every JSONPath (``$.run.id``, each ``Parameters`` and
``ResultPath``) with a parser it builds anew each time (jsonpath_ng rebuilds its lexer and LALR
tables per parse): over a third of the interpreter's time in a batch. The adapter memoizes the
parsed paths (an expression is an immutable tree that ``find`` only reads).

Not a gap but a rule of the grammar, kept in the definition itself: moto refuses an integer
``ToleratedFailurePercentage`` (AWS takes either), so the definition writes ``100.0``.

The moto world lives as long as one replay command: a later command re-creates the buckets and
state machines its stacks hold, but not executions (a ``destroy`` in another command finds no
execution to stop, as after an execution ended).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import logging
import os
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from constructs_lib._batch_definition import definition as batch_definition  # plain data, no CDK
from constructs_lib._handler import contract  # the wire contract: stdlib only
from constructs_local import _deps
from constructs_local._deps import MOTO_INTERPRETER, botocore_module, check_local
from constructs_local.awslambda.runtime import INVOKE_LOCK
from constructs_local.clock import Clock, EventClock, Interrupt
from constructs_local.cloudformation.assembly import file_asset_path

#: The moto release the adapter's patches were written against (they reach into its internals).
MOTO_VERSION = _deps.MOTO_VERSION
BATCH_RESOURCE_TYPE = contract.BATCH_RESOURCE_TYPE
STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"
BUCKET_TYPE = "AWS::S3::Bucket"
FIXES = frozenset(
    {"parameters", "responses", "errors", "result-writer", "endpoints", "lambda", "time", "history", "recursion"}
)
#: Step Functions' hard quota of history events per Standard execution (developer guide, "Quotas").
HISTORY_EVENTS_QUOTA = 25_000
#: What an execution past the quota fails with (error States.Runtime).
HISTORY_QUOTA_CAUSE = "The execution reached the maximum number of history events ({quota})."
#: Step Functions' spelling of a service in error names, where it is not the boto name capitalized.
_ERROR_SERVICE_NAMES = {"datazone": "DataZone", "sfn": "Sfn", "stepfunctions": "Sfn", "dynamodb": "DynamoDb"}
_INHERITED = object()
_MOTO_KEY = "local"
_MOTO_ACCOUNT_VARIABLE = "MOTO_ACCOUNT_ID"
_MOTO_LOGGER = logging.getLogger("moto")
#: The replay's account when a stack names none (constructs_local.cloudformation.session, the seed).
LOCAL_ACCOUNT = "000000000000"
_MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}
_SDK = MOTO_INTERPRETER
_RESULT_WRITER = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3"
)
_WAIT = "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function"
_ENVIRONMENT = "moto.stepfunctions.parser.asl.eval.environment"
_INTERRUPT = "_local_wait_interrupt"
_RETRIER = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"
_LAMBDA = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
_EVENTS = "moto.stepfunctions.parser.asl.eval.event.event_manager"
_DISTRIBUTED = "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component"
_ITERATION = "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration"
#: moto's map workers that run their children by recursion (module, class).
_POOL_WORKERS = (
    (f"{_ITERATION}.iteration_worker", "IterationWorker"),
    (f"{_ITERATION}.itemprocessor.distributed_item_processor_worker", "DistributedItemProcessorWorker"),
    (f"{_ITERATION}.iterator.distributed_iterator_worker", "DistributedIteratorWorker"),
)
#: Where moto's interpreter parses JSONPaths (module, the parser's name there).
_JSONPATH_PARSERS = (
    ("moto.stepfunctions.parser.asl.utils.json_path", "parse"),
    ("moto.stepfunctions.parser.asl.component.common.path.result_path", "parse"),
)
#: Events an execution past the quota still writes: how it ended.
_CLOSING_EVENTS = frozenset({"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut", "ExecutionSucceeded"})


def access_key_for(role_arn: str) -> str:
    """The dummy access key the replay signs a role's calls with (the local endpoint maps it back)."""
    return "ASIA" + hashlib.sha256(role_arn.encode()).hexdigest()[:16].upper()


def is_batch_definition(definition: Any) -> bool:
    """True for the batch workflow's definition (a JSON string or its parsed form)."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError:
            return False
    return isinstance(definition, dict) and definition.get("Comment") == batch_definition("", "")["Comment"]


def _module(name: str) -> Any:
    return botocore_module(name)


@functools.cache
def _service_model(service: str) -> Any:
    return _module("botocore.session").get_session().get_service_model(service)


def _operation(task: Any, boto_service_name: str | None, service_action_name: str | None) -> Any:
    action = service_action_name or task.resource.api_action
    model = _service_model(task._get_boto_service_name(boto_service_name))
    return model.operation_model(action[:1].upper() + action[1:])


def _iso(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _iso(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_iso(item) for item in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


class MotoAdapter:
    """moto's Step Functions interpreter made to behave as Step Functions does (see the module doc).

    :param datazone_url: the local DataZone endpoint the ``aws-sdk:datazone:*`` tasks call.
    :param speed: simulated seconds per real second of the endpoint's clock (``Wait``/``Retry``),
        when there is no ``clock``.
    :param fixes: which fixes to install (all by default; the gap tests leave one out).
    :param clock: the clock ``Wait`` and ``Retry`` sleep on (the endpoint's); see :meth:`use_clock`.
    """

    def __init__(
        self,
        *,
        datazone_url: str,
        speed: float = 1.0,
        fixes: frozenset[str] = FIXES,
        clock: Clock | None = None,
    ) -> None:
        unknown = set(fixes) - FIXES
        if unknown:
            raise ValueError(f"unknown fix(es) {sorted(unknown)}; known: {sorted(FIXES)}")
        if speed <= 0:
            raise ValueError(f"speed must be > 0, not {speed}")
        self.datazone_url = datazone_url
        self.speed = speed
        self.fixes = fixes
        #: What Wait and Retry sleep on (not ``clock``: subclasses in the tests keep one of their own).
        self.wait_clock = clock
        self._saved: list[tuple[Any, str, Any]] = []
        #: Interrupts of the back-offs sleeping now (fired when the session ends, see uninstall).
        self._backoffs: set[Interrupt] = set()
        #: Lambda functions the workflows may invoke, by ARN and by name (the replay registers them).
        self.functions: dict[str, Any] = {}
        #: Step Functions' per-execution history quota (tests lower it to reach it cheaply).
        self.history_quota = HISTORY_EVENTS_QUOTA
        #: The most history events any one execution wrote (parent or child), and how many ended
        #: past the quota.
        self.max_history_events = 0
        self.executions_over_quota = 0

    def __enter__(self) -> MotoAdapter:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        # A class's own attribute (or its absence: the method may be inherited), a module's global.
        self._saved.append((owner, name, vars(owner).get(name, _INHERITED)))
        setattr(owner, name, value)

    def install(self) -> None:
        if self._saved:
            return
        self._install_tasks()
        if "history" in self.fixes:
            manager = _module(_EVENTS).EventManager
            self._patch(manager, "add_event", self._counted(vars(manager)["add_event"]))
            # moto gives a Distributed Map run one event list for all its children, where Step
            # Functions gives each child execution a history of its own: count those per child.
            per_child = type("MapRunEventManager", (manager,), {"_local_per_child": True})
            self._patch(_module(_DISTRIBUTED), "EventManager", per_child)
        if "time" in self.fixes:
            self._install_time()
        if "recursion" in self.fixes:
            for name, owner in _POOL_WORKERS:
                worker = getattr(_module(name), owner)
                self._patch(worker, "_eval_pool", _looping(vars(worker)["_eval_pool"]))
        for name, attribute in _JSONPATH_PARSERS:
            module = _module(name)
            self._patch(module, attribute, _memoized(getattr(module, attribute)))

    def _install_tasks(self) -> None:
        sdk = _module(_SDK)
        task = sdk.StateTaskServiceAwsSdk
        if "parameters" in self.fixes:
            self._patch(task, "_normalise_parameters", _normalise_parameters)
        if "responses" in self.fixes:
            self._patch(task, "_normalise_response", _normalise_response)
        if "errors" in self.fixes:
            self._patch(task, "_normalise_service_error_name", staticmethod(_service_error_name))
            self._patch(task, "_normalise_exception_name", staticmethod(_exception_name))
            self._patch(task, "_from_error", _client_side_errors(vars(task)["_from_error"]))
        if "result-writer" in self.fixes:
            writer = _module(_RESULT_WRITER).ResourceEvalS3
            self._patch(writer, "_handle_put_object", staticmethod(_write_results))
        if "endpoints" in self.fixes:
            self._patch(sdk, "boto_client_for", self._client_for(sdk.boto_client_for))
        if "lambda" in self.fixes:
            self._patch(_module(_LAMBDA), "_invoke_lambda_function", self._invoke_local)

    def _install_time(self) -> None:
        self._patch(_module(_WAIT).WaitFunction, "_wait_interval", self._clocked_wait())
        self._patch(_module(_RETRIER), "time", types.SimpleNamespace(sleep=self._backoff))
        environment = _module(_ENVIRONMENT).Environment
        for name in ("set_ended", "set_error", "set_timed_out", "set_stop"):
            self._patch(environment, name, self._interrupting(vars(environment)[name]))

    def use_clock(self, clock: Clock | None) -> None:
        """Sleep ``Wait`` and ``Retry`` on ``clock`` from now on (None: ``seconds / speed`` real)."""
        self.wait_clock = clock

    def uninstall(self) -> None:
        # A back-off still sleeping on a simulated clock would wake after the mock is gone.
        clock = self.wait_clock
        if isinstance(clock, EventClock):
            for interrupt in list(self._backoffs):
                clock.interrupt(interrupt)
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, value)

    def _client_for(self, original: Callable[..., Any]) -> Callable[..., Any]:
        # One client per (region, role), shared by the interpreter's threads (botocore clients are
        # thread-safe): building one per task, as moto does, costs more than the call itself.
        clients: dict[tuple[str, str, str], Any] = {}
        lock = threading.Lock()

        def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            role = getattr(state_credentials, "role_arn", None) or ""
            # The URL may be pointed elsewhere between batches.
            key = (self.datazone_url if service == "datazone" else service, region, role)
            # Built while no local Lambda invocation runs: one swaps os.environ (its own
            # variables, then back), and botocore reads the environment while it builds a client
            # (a variable removed mid-read raised KeyError in a child's task: States.Runtime).
            with lock:
                if key not in clients:
                    with INVOKE_LOCK:
                        if service == "datazone":
                            clients[key] = self._datazone_client(region, role)
                        else:
                            clients[key] = original(region=region, service=service, state_credentials=state_credentials)
                return clients[key]

        return client_for

    def _datazone_client(self, region: str, role: str) -> Any:
        config = _module("botocore.config").Config(
            parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}, max_pool_connections=50
        )
        return (
            _module("boto3")
            .session.Session()
            .client(
                "datazone",
                region_name=region,
                endpoint_url=self.datazone_url,
                aws_access_key_id=access_key_for(role),
                aws_secret_access_key="local-dummy-secret",  # noqa: S106 - a dummy for a loopback endpoint
                aws_session_token="local-dummy-session-token",  # noqa: S106 - as above
                config=config,
            )
        )

    def _invoke_local(self, parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        """Lambda's Invoke (RequestResponse) answer, from the registered local function."""
        name = str(parameters.get("FunctionName", ""))
        function = self.functions.get(name)
        if function is None:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {name}"}}
            metadata = {"HTTPStatusCode": 404, "RequestId": "local"}
            raise _module("botocore.exceptions").ClientError({**error, "ResponseMetadata": metadata}, "Invoke")
        raw = parameters.get("Payload") or b"{}"
        event = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        invocation = function.invoke(event)
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        if invocation.error is not None:
            response.update(FunctionError="Unhandled", Payload=invocation.error)
        else:
            response["Payload"] = invocation.result
        return response

    def _counted(self, original: Callable[..., int]) -> Callable[..., int]:
        """moto's ``EventManager.add_event``, counting each execution's events against the quota."""
        lock = threading.Lock()

        def add_event(manager: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
            # A map run's children each write through their own context (one per child frame).
            per_child = getattr(manager, "_local_per_child", False)
            owner = context if per_child else manager
            name = str(getattr(event_type, "value", event_type))
            with lock:
                if per_child and name == "MapIterationStarted":
                    # A worker thread runs one child after another in the same frame: a new
                    # child starts a history of its own.
                    owner._local_event_count, owner._local_over_quota = 0, False
                count = getattr(owner, "_local_event_count", 0) + 1
                closing = name in _CLOSING_EVENTS
                over = count > self.history_quota and not closing
                if over and not getattr(owner, "_local_over_quota", False):
                    owner._local_over_quota = True
                    self.executions_over_quota += 1
                if not over:  # an event refused is not written
                    owner._local_event_count = count
                    self.max_history_events = max(self.max_history_events, count)
            if over:
                raise HistoryQuotaExceededError(HISTORY_QUOTA_CAUSE.format(quota=self.history_quota))
            return original(manager, context, event_type, *args, **kwargs)

        return add_event

    def _clocked_wait(self) -> Callable[..., None]:
        def wait_interval(function: Any, env: Any, wait_seconds: int) -> None:
            if wait_seconds <= 0 or not env.is_running():
                return
            clock = self.wait_clock
            if isinstance(clock, EventClock):
                # Interruptible: the execution ending (StopExecution above all) fires it.
                clock.sleep_interruptibly(wait_seconds, _interrupt_of(env))
            elif clock is not None:
                clock.sleep(wait_seconds)
            else:
                # One interruptible wait: StopExecution sets the event and ends it at once.
                env.program_state_event.wait(wait_seconds / self.speed)

        return wait_interval

    def _backoff(self, seconds: float) -> None:
        """A ``Retry`` back-off (moto calls ``time.sleep`` with no execution at hand)."""
        seconds = max(0.0, seconds)
        clock = self.wait_clock
        if isinstance(clock, EventClock):
            interrupt = Interrupt()
            self._backoffs.add(interrupt)
            try:
                clock.sleep_interruptibly(seconds, interrupt)
            finally:
                self._backoffs.discard(interrupt)
        elif clock is not None:
            clock.sleep(seconds)
        else:
            time.sleep(seconds / self.speed)

    def _interrupting(self, original: Callable[..., None]) -> Callable[..., None]:
        """An ``Environment`` method that ends the program (and its frames), then wakes its ``Wait``."""

        def ended(env: Any, *args: Any, **kwargs: Any) -> None:
            original(env, *args, **kwargs)
            interrupt = env.__dict__.get(_INTERRUPT)
            clock = self.wait_clock
            if interrupt is not None and isinstance(clock, EventClock) and not env.is_running():
                clock.interrupt(interrupt)

        return ended


def _looping(original: Callable[..., None]) -> Callable[..., None]:
    """A worker's ``_eval_pool`` whose closing self-call (the next child) is queued, not nested."""

    def eval_pool(worker: Any, job: Any, worker_frame: Any) -> None:
        pending = [(job, worker_frame)]

        def defer(job: Any, worker_frame: Any) -> None:
            pending.append((job, worker_frame))

        # The instance attribute shadows the class's method for the self-call only.
        worker._eval_pool = defer
        try:
            while pending:
                original(worker, *pending.pop())
        finally:
            del worker._eval_pool

    return eval_pool


def _memoized(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return functools.lru_cache(maxsize=4096)(parse)


def _interrupt_of(env: Any) -> Interrupt:
    """The interrupt of one execution frame's ``Wait`` states (made on first use; moto's frames
    each end on their own, so each has its own)."""
    interrupt: Interrupt | None = env.__dict__.get(_INTERRUPT)
    if interrupt is None:
        interrupt = env.__dict__.setdefault(_INTERRUPT, Interrupt())
    return interrupt


class HistoryQuotaExceededError(Exception):
    """An execution wrote more history events than Step Functions allows (moto: States.Runtime)."""


def _normalise_parameters(
    self: Any, parameters: dict[str, Any], boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    self._to_boto_request(parameters, _operation(self, boto_service_name, service_action_name).input_shape)


def _normalise_response(
    self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    shape = _operation(self, boto_service_name, service_action_name).output_shape
    if not isinstance(response, dict) or shape is None:
        return
    self._from_boto_response(response, shape)
    fixed = _iso(response)
    response.clear()
    response.update(fixed)


def _service_error_name(service_name: str) -> str:
    return _ERROR_SERVICE_NAMES.get(service_name.lower(), service_name[:1].upper() + service_name[1:])


@functools.cache
def _modeled_errors(service: str) -> frozenset[str]:
    """The error shapes of a service's model (``service`` as Step Functions spells it); empty if unknown."""
    boto_names = {spelled: boto for boto, spelled in _ERROR_SERVICE_NAMES.items()}
    try:
        model = _service_model(boto_names.get(service, service.lower()))
    except _module("botocore.exceptions").UnknownServiceError:
        return frozenset()
    return frozenset(shape.name for shape in model.error_shapes)


def _exception_name(service: str, error: Exception) -> str:
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code") or "")
    modeled = _modeled_errors(service)
    if code not in modeled and f"{code}Exception" not in modeled:
        # The SDK for Java 2.x throws the client's base exception for an answer it cannot map.
        return f"{service}.{service}Exception"
    name = f"{service}.{code}"
    return name if name.endswith("Exception") else name + "Exception"


def _client_side_errors(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``_from_error``, with botocore's own errors (no answer from the service) named as
    Step Functions names them: ``<Service>.SdkClientException``, a task failure Retry can match."""

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, _module("botocore.exceptions").BotoCoreError):
            service = self._normalise_service_error_name(self.resource.api_name)
            cause = f"Unable to execute HTTP request: {ex}"
            return self._get_task_failure_event(env=env, error=f"{service}.SdkClientException", cause=cause)
        return original(self, env, ex)

    return from_error


def _write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """moto's ResultWriter, with the result files AWS writes next to the manifest."""
    parameters = env.stack.pop()
    outputs: list[Any] = env.stack.pop()
    writer = _module(_RESULT_WRITER).ResourceEvalS3
    s3 = writer._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    prefix = str(parameters.get("Prefix") or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{map_run_arn.split(':')[-1]}/"
    now = _dt.datetime.now(_dt.UTC).isoformat()
    execution = map_run_arn.replace(":mapRun:", ":execution:", 1)
    records = [
        {
            "ExecutionArn": f"{execution}:{index}",
            "Name": str(index),
            "Input": "{}",
            "InputDetails": {"Included": True},
            "Output": json.dumps(output),
            "OutputDetails": {"Included": True},
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "StartDate": now,
            "StopDate": now,
            "Status": "SUCCEEDED",
        }
        for index, output in enumerate(outputs)
    ]
    bucket = parameters["Bucket"]
    results_key = f"{folder}SUCCEEDED_0.json"
    s3.put_object(Bucket=bucket, Key=results_key, Body=json.dumps(records).encode())
    manifest = {
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": results_key, "Size": len(json.dumps(records))}] if records else [],
        },
    }
    key = f"{folder}manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}})


class LocalStepFunctions:
    """moto's Step Functions and S3, in this process, for the replay's batch workflows.

    Use as a context manager (or :meth:`start`/:meth:`stop`): while it runs, every boto3 client
    in the process that addresses AWS's own Step Functions or S3 endpoints reaches moto instead
    (explicit endpoint URLs, such as the local DataZone and CloudFormation endpoints, pass through).

    :param clock: the clock the workflows' ``Wait`` states and back-offs sleep on: the endpoint's
        (the replay binds it when it is an :class:`~constructs_local.clock.EventClock`).
        Without one they sleep ``seconds / speed`` real seconds.
    """

    def __init__(
        self, *, datazone_url: str, speed: float = 1.0, account: str = LOCAL_ACCOUNT, clock: Clock | None = None
    ) -> None:
        self.adapter = MotoAdapter(datazone_url=datazone_url, speed=speed, clock=clock)
        self.account = account
        self._mock: Any = None
        self._saved_account: str | None = None
        self._saved_log_level = logging.NOTSET

    def __enter__(self) -> LocalStepFunctions:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStepFunctions:
        check_local(batches=True)
        moto = _module("moto")
        # moto names its own account (123456789012) in every ARN unless told: executions and
        # state machines then sat in another account than the stack that holds them.
        self._saved_account = os.environ.get(_MOTO_ACCOUNT_VARIABLE)
        os.environ[_MOTO_ACCOUNT_VARIABLE] = self.account
        # moto warns about what its interpreter ignores (each ToleratedFailurePercentage, on every
        # definition it parses): Python's last-resort handler printed that on every batch dry run.
        # The replay reports what happened itself; moto's errors still pass.
        self._saved_log_level = _MOTO_LOGGER.level
        _MOTO_LOGGER.setLevel(max(_MOTO_LOGGER.getEffectiveLevel(), logging.ERROR))
        self._mock = moto.mock_aws(config=_MOTO_CONFIG)
        self._mock.start()
        self.adapter.install()
        return self

    def stop(self) -> None:
        if self._mock is None:
            return
        try:
            self.stop_executions()
        finally:
            self.adapter.uninstall()
            self._mock.stop()
            self._mock = None
            _MOTO_LOGGER.setLevel(self._saved_log_level)
            if self._saved_account is None:
                os.environ.pop(_MOTO_ACCOUNT_VARIABLE, None)
            else:
                os.environ[_MOTO_ACCOUNT_VARIABLE] = self._saved_account

    def client(self, service: str, region: str) -> Any:
        if self._mock is None:
            raise RuntimeError("LocalStepFunctions is not started")
        session = _module("boto3").session.Session()
        return session.client(service, region_name=region, aws_access_key_id="local", aws_secret_access_key=_MOTO_KEY)

    def ensure_bucket(self, name: str, region: str) -> str:
        s3 = self.client("s3", region)
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            if region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        return name

    def upload(self, bucket: str, key: str, path: Path, region: str) -> None:
        self.ensure_bucket(bucket, region)
        self.client("s3", region).put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def put_state_machine(self, name: str, definition: str, role_arn: str, region: str) -> str:
        """Create (or update) a Standard state machine; its ARN."""
        sfn = self.client("stepfunctions", region)
        try:
            arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, type="STANDARD")[
                "stateMachineArn"
            ]
        except sfn.exceptions.StateMachineAlreadyExists:
            arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name)
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        return arn

    def running_executions(self) -> int:
        """How many executions are RUNNING."""
        if self._mock is None:
            return 0
        running = 0
        for region in self._regions():
            sfn = self.client("stepfunctions", region)
            for machine in sfn.list_state_machines()["stateMachines"]:
                listed = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
                running += len(listed["executions"])
        return running

    def stop_executions(self, cause: str = "the local replay command ended") -> list[str]:
        """Stop every running execution (their threads would outlive the mock); their ARNs."""
        stopped: list[str] = []
        for region in self._regions():
            sfn = self.client("stepfunctions", region)
            for machine in sfn.list_state_machines()["stateMachines"]:
                running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
                for execution in running["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause=cause)
                    stopped.append(execution["executionArn"])
        return stopped

    def _regions(self) -> list[str]:
        backends = _module("moto.stepfunctions.models").stepfunctions_backends
        return sorted({region for account in backends.values() for region in account})


def stage_selection(
    steps: LocalStepFunctions, selection: Mapping[str, Any], assembly_dir: Path, region: str
) -> str | None:
    """Upload the ids file an ``AssetSelection.ids`` batch reads, from the cloud assembly, to
    where ``cdk deploy`` would have put it; a notice when the assembly does not have it."""
    if selection.get("Kind") != "IDS":
        return None
    bucket, key = str(selection.get("Bucket", "")), str(selection.get("Key", ""))
    path = file_asset_path(assembly_dir, key)
    if path is None or not path.is_file():
        return f"the ids file s3://{bucket}/{key} of a batch is not a file asset of {assembly_dir}"
    steps.upload(bucket, key, path, region)
    return None


@contextlib.contextmanager
def moto_only() -> Iterator[None]:
    """moto's mock with state-machine execution on, and no adapter (for the gap tests)."""
    mock = _module("moto").mock_aws(config=_MOTO_CONFIG)
    mock.start()
    try:
        yield
    finally:
        mock.stop()
