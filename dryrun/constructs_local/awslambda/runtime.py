"""Runs a template's Lambda function in this process, the way the Lambda service would.

The code is the *packaged asset* in the cloud assembly, imported under an isolated module name
(each function gets its own module: one warm container per function). During an invocation the
process environment is what Lambda would give the function — the template's variables (resolved),
``AWS_LAMBDA_*``/``AWS_REGION`` — plus, in local mode, dummy credentials and
``AWS_ENDPOINT_URL_DATAZONE`` pointing at the local endpoint; it is restored afterwards.

Errors come back as Lambda's error payload (``errorMessage``, ``errorType``, ``stackTrace``), an
invocation longer than the function's timeout (on the shared clock) as Lambda's
"Task timed out after N seconds", a result that is not JSON as ``Runtime.MarshalError``.

In local mode the handler runs on the shared simulated clock without knowing it: botocore's
retry back-off sleeps on it, and the wall clock the handler reads (``time.time()``,
``datetime.now()``) is moved there by time-machine for the invocation, and moved again after each
AWS call and each back-off, as the clock advances while the handler waits on them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import time_machine

from constructs_local._deps import botocore_module
from constructs_local.clock import Clock
from constructs_local.cloudformation.assembly import FunctionSpec

#: Variables a local invocation removes, so nothing of the user's own AWS set-up leaks in.
_LOCAL_UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
)


#: What Lambda's Python runtime holds before the handler allocates anything: the interpreter,
#: the runtime interface client and boto3/botocore imported (a trivial boto3 handler reports a
#: "Max Memory Used" of about 75-90 MB on python3.12/3.13 arm64; 80 is the middle). tracemalloc sees
#: only what Python allocates, not the allocator's own overhead, so the check is a lower bound:
#: a function that fails it locally would fail on AWS too, not necessarily the other way round.
RUNTIME_BASELINE_MB = 80
_MB = 1024 * 1024

#: Whether functions enforce their MemorySize unless told otherwise. On for every dry run; the
#: test suite turns it off outside the tests of it (tests/e2e/conftest.py): tracemalloc, once on,
#: slows every allocation of the process (the batch e2e tests took 2.5 times as long).
ENFORCE_MEMORY = True

#: Invocations run one at a time, whichever thread asks (the replay's, or a workflow's in moto):
#: each swaps process-wide state (the environment, sys.modules, boto3's default session, stdout).
INVOKE_LOCK = threading.RLock()


class _Tracing:
    """Whether an invocation needs tracemalloc now, and whether it was started here (at a quiet
    moment, so it may be stopped at one). Changed under INVOKE_LOCK, read by the clock's hooks
    while no other thread runs."""

    users = 0
    ours = False


def _start_tracing() -> None:
    if not tracemalloc.is_tracing():
        tracemalloc.start(1)
        _Tracing.ours = True


def _stop_unused_tracing() -> None:
    if _Tracing.users == 0 and _Tracing.ours:
        tracemalloc.stop()
        _Tracing.ours = False


@dataclass
class Invocation:
    """One Lambda invocation: what went in, what came out, what it logged."""

    function: str
    request_id: str
    event: dict[str, Any]
    result: Any  # the JSON the function returned (None for null)
    error: dict[str, Any] | None
    logs: list[str] = field(default_factory=list)
    started_at: float = 0.0
    duration_seconds: float = 0.0
    #: Peak Python allocation during the invocation (MB), without the runtime's baseline.
    peak_mb: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


class LambdaContext:
    """The ``context`` argument of a Python Lambda handler."""

    def __init__(
        self, function_name: str, arn: str, *, memory_mb: int, request_id: str, deadline: float, clock: Clock
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = deadline
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.now()) * 1000))


class _ClockedTime:
    """Stands in for the ``time`` module inside botocore's endpoint: its sleeps use the shared
    clock, and the handler's wall clock follows it afterwards."""

    def __init__(self, clock: Clock, after: Callable[[], None]) -> None:
        self._clock = clock
        self._after = after

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)
        self._after()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@functools.cache
def _shared_loader() -> Any:
    """One botocore data loader for every replayed function: model files are parsed once per process."""
    return botocore_module("botocore.loaders").create_loader()


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (str) or remove (None) environment variables for the duration, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"[{record.levelname}] {record.getMessage()}")


@dataclass(frozen=True)
class LocalMode:
    """How invocations reach DataZone locally: endpoint URL, dummy credentials, region."""

    endpoint_url: str
    access_key_id: str
    region: str
    #: The replay's own CloudFormation endpoint: without it the function would ask real AWS.
    cloudformation_url: str | None = None
    #: Step Functions and S3 are moto's (in-process mock) for this session: their AWS URLs are
    #: intercepted. Otherwise they point at a dead loopback port, so no call leaves the machine.
    aws_mocked: bool = False


class LocalFunction:
    """One function of the template, ready to invoke (imported on first use: the cold start)."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        function_name: str,
        function_arn: str,
        environment: Mapping[str, str],
        clock: Clock,
        region: str,
        local: LocalMode | None,
        simulate_time: bool,
        invoke_seconds: float = 0.0,
        enforce_memory: bool | None = None,
    ) -> None:
        self.spec = spec
        self.function_name = function_name
        self.function_arn = function_arn
        self.clock = clock
        self.region = region
        self.local = local
        self.simulate_time = simulate_time
        self._follow: Callable[..., None] | None = None
        #: Simulated time an invocation costs besides what the handler waits for (Lambda's own
        #: overhead; an instant invocation would let timeouts look farther away than they are).
        self.invoke_seconds = invoke_seconds
        #: Fail an invocation whose peak allocation + RUNTIME_BASELINE_MB exceeds MemorySize.
        self.enforce_memory = ENFORCE_MEMORY if enforce_memory is None else enforce_memory
        self._template_environment = dict(environment)
        self._module: ModuleType | None = None
        self._siblings: dict[str, ModuleType] = {}
        self._boto3_session: Any = None  # this function's boto3.DEFAULT_SESSION (its "container")
        self.invocations: list[Invocation] = []

    # -- environment ----------------------------------------------------------------------------

    def lambda_environment(self) -> dict[str, str | None]:
        values: dict[str, str | None] = {
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.spec.runtime}",
            "LAMBDA_TASK_ROOT": str(self.spec.code_dir),
            "_HANDLER": self.spec.handler,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.local is not None:
            values.update(dict.fromkeys(_LOCAL_UNSET))
            values.update(
                {
                    "AWS_ACCESS_KEY_ID": self.local.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": "local-dummy-secret",
                    "AWS_SESSION_TOKEN": "local-dummy-session-token",
                    "AWS_CONFIG_FILE": os.devnull,
                    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_ENDPOINT_URL_DATAZONE": self.local.endpoint_url,
                    # Unset when there is no local CloudFormation: dummy credentials then fail the
                    # call instead of reaching AWS with the user's identity.
                    "AWS_ENDPOINT_URL_CLOUDFORMATION": self.local.cloudformation_url or "http://127.0.0.1:9",
                }
            )
            unreachable = None if self.local.aws_mocked else "http://127.0.0.1:9"
            values.update({"AWS_ENDPOINT_URL_SFN": unreachable, "AWS_ENDPOINT_URL_S3": unreachable})
        values.update(self._template_environment)
        return values

    # -- code -----------------------------------------------------------------------------------

    def _load(self) -> ModuleType:
        if self._module is not None:
            return self._module
        module_path, _, _ = self.spec.handler.rpartition(".")
        relative = Path(*module_path.split("."))
        candidates = [self.spec.code_dir / relative.with_suffix(".py"), self.spec.code_dir / relative / "__init__.py"]
        source = next((c for c in candidates if c.is_file()), None)
        if source is None:
            raise FileNotFoundError(
                f"handler {self.spec.handler}: no {candidates[0].name} in asset {self.spec.code_dir}"
            )
        name = f"_local_lambda_{self.spec.logical_id}_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(name, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {source}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, str(self.spec.code_dir))  # like LAMBDA_TASK_ROOT on the path
        # Sibling modules the handler imports by top-level name (``import index``) belong to this
        # function's container alone: shared through sys.modules, one function's cached clients
        # (pointing at another case's endpoint) and clock seams would leak into the next.
        before = set(sys.modules)
        try:
            with self._own_modules():
                spec.loader.exec_module(module)
                self._siblings = {k: sys.modules[k] for k in set(sys.modules) - before if self._inside(sys.modules[k])}
        except BaseException:
            sys.modules.pop(name, None)
            raise
        finally:
            sys.path.remove(str(self.spec.code_dir))
        self._module = module
        return module

    def _inside(self, module: ModuleType) -> bool:
        location = getattr(module, "__file__", None)
        return bool(location) and Path(str(location)).resolve().is_relative_to(self.spec.code_dir.resolve())

    @contextlib.contextmanager
    def _own_modules(self) -> Iterator[None]:
        """sys.modules holds this function's siblings (and no one else's) for the duration."""
        shadowed = {k: sys.modules.pop(k) for k in self._sibling_names() if k in sys.modules}
        sys.modules.update(self._siblings)
        try:
            yield
        finally:
            for key in list(self._siblings) + self._sibling_names():
                sys.modules.pop(key, None)
            sys.modules.update(shadowed)

    def _sibling_names(self) -> list[str]:
        return [path.stem for path in self.spec.code_dir.glob("*.py")] + [
            path.parent.name for path in self.spec.code_dir.glob("*/__init__.py")
        ]

    def close(self) -> None:
        if self._module is not None:
            sys.modules.pop(self._module.__name__, None)
            self._module = None

    @contextlib.contextmanager
    def _own_boto3_session(self) -> Iterator[None]:
        """boto3's default session (and the credentials it caches) as a fresh Lambda container has it.

        ``boto3.client()`` goes through a process-wide session that resolves credentials once; in
        this process someone else may have made it already, with other credentials.
        """
        boto3 = botocore_module("boto3")
        saved = boto3.DEFAULT_SESSION
        if self._boto3_session is None:
            core = botocore_module("botocore.session").Session()
            core.register_component("data_loader", _shared_loader())  # parsed models are cached there
            core.register("after-call", self._after_call)
            self._boto3_session = boto3.Session(botocore_session=core)
        boto3.DEFAULT_SESSION = self._boto3_session  # type: ignore[attr-defined]
        try:
            yield
        finally:
            self._boto3_session = boto3.DEFAULT_SESSION
            boto3.DEFAULT_SESSION = saved  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def _simulated_time(self) -> Iterator[None]:
        """The invocation's wall clock is the shared clock's: time-machine travels there (time
        standing still, as on the simulated clock) and follows it after every wait the handler
        makes (an AWS call, while the endpoint's latency advanced the clock; a botocore back-off)."""
        if not self.simulate_time:
            yield
            return
        endpoint = botocore_module("botocore.endpoint")
        saved_time = endpoint.time
        traveller = time_machine.travel(self.clock.now(), tick=False)
        coordinates = traveller.start()

        def follow(**_: Any) -> None:
            coordinates.move_to(self.clock.now(), tick=False)

        self._follow = follow
        endpoint.time = _ClockedTime(self.clock, follow)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            self._follow = None
            endpoint.time = saved_time  # type: ignore[attr-defined]
            traveller.stop()

    def _after_call(self, **_: Any) -> None:
        # Registered on this function's boto3 session: every client it makes calls it after each
        # AWS call (the handler's clients are cached across invocations, so it looks up the
        # invocation's time traveller rather than capturing one).
        if self._follow is not None:
            self._follow()

    # -- invoke ---------------------------------------------------------------------------------

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        """Invoke synchronously (RequestResponse), as the provider framework does."""
        with INVOKE_LOCK:
            return self._invoke(event)

    def _invoke(self, event: Mapping[str, Any]) -> Invocation:
        request_id = str(uuid.uuid4())
        payload: dict[str, Any] = json.loads(json.dumps(event))  # what crosses the wire is JSON
        started = self.clock.now()
        if self.simulate_time and self.invoke_seconds:
            self.clock.sleep(self.invoke_seconds)
        invocation = Invocation(self.spec.logical_id, request_id, payload, None, None, started_at=started)
        capture = _Capture()
        root = logging.getLogger()
        stdout = io.StringIO()
        root.addHandler(capture)
        try:
            with (
                self._measured_memory(invocation),
                environment(self.lambda_environment()),
                self._own_boto3_session(),
                contextlib.redirect_stdout(stdout),
            ):
                try:
                    module = self._load()
                    function = getattr(module, self.spec.handler.rpartition(".")[2])
                    context = LambdaContext(
                        self.function_name,
                        self.function_arn,
                        memory_mb=self.spec.memory_mb,
                        request_id=request_id,
                        deadline=started + self.spec.timeout_seconds,
                        clock=self.clock,
                    )
                    with self._own_modules(), self._simulated_time():
                        result = function(payload, context)
                    try:
                        invocation.result = json.loads(json.dumps(result))
                    except (TypeError, ValueError) as error:
                        invocation.error = {
                            "errorMessage": f"Unable to marshal response: {error}",
                            "errorType": "Runtime.MarshalError",
                            "requestId": request_id,
                        }
                except Exception as error:  # the function's failure is Lambda's error payload
                    invocation.error = {
                        "errorMessage": str(error),
                        "errorType": type(error).__name__,
                        "requestId": request_id,
                        "stackTrace": traceback.format_tb(error.__traceback__),
                    }
        finally:
            root.removeHandler(capture)
        invocation.duration_seconds = self.clock.now() - started
        self._enforce_limits(invocation, started)
        invocation.logs = capture.lines + [line for line in stdout.getvalue().splitlines() if line]
        self.invocations.append(invocation)
        return invocation

    @contextlib.contextmanager
    def _measured_memory(self, invocation: Invocation) -> Iterator[None]:
        """tracemalloc's peak during the invocation (``invocation.peak_mb``), when enforced.

        Tracing every allocation of the process costs every thread (moto's workflow took 4 times
        as long with it on), so on an :class:`~constructs_local.clock.EventClock` it is on
        only from an invocation's start to its end: started, and stopped after, at a moment when
        no other thread runs (``at_quiescence``): swapping tracemalloc's allocator hooks while
        another thread allocates can crash CPython 3.11 (seen as SIGSEGV). Where no such moment
        can be promised it is started once and left on.
        """
        if not self.enforce_memory:
            yield
            return
        quiet: Callable[..., bool] | None = getattr(self.clock, "at_quiescence", None)
        _Tracing.users += 1
        try:
            if not tracemalloc.is_tracing() and not (quiet is not None and quiet(_start_tracing)):
                tracemalloc.start(1)
            tracemalloc.reset_peak()
            floor = tracemalloc.get_traced_memory()[0]
            try:
                yield
            finally:
                invocation.peak_mb = max(0, tracemalloc.get_traced_memory()[1] - floor) / _MB
        finally:
            _Tracing.users -= 1
            if _Tracing.ours and quiet is not None:
                # Not waited for: the next invocation's start meets it at the same quiet moment.
                quiet(_stop_unused_tracing, wait=False)

    def _enforce_limits(self, invocation: Invocation, started: float) -> None:
        """Lambda's timeout and memory size, as Lambda reports them (the result is then lost)."""
        request_id = invocation.request_id
        if invocation.duration_seconds > self.spec.timeout_seconds:
            stamp = datetime.fromtimestamp(started + self.spec.timeout_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[
                :-3
            ]
            invocation.result = None
            # Step Functions names this error after errorType: the workflow retries Sandbox.Timedout.
            invocation.error = {
                "errorMessage": f"{stamp}Z {request_id} Task timed out after {self.spec.timeout_seconds:.2f} seconds",
                "errorType": "Sandbox.Timedout",
            }
        # Lambda kills a function the moment it runs out of memory: that is what it reports.
        if self.enforce_memory and invocation.peak_mb + RUNTIME_BASELINE_MB > self.spec.memory_mb:
            invocation.result = None
            invocation.error = {
                "errorMessage": (
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed (the local dry run "
                    f"measured {invocation.peak_mb:.0f} MB allocated in Python + {RUNTIME_BASELINE_MB} MB for the "
                    f"runtime > MemorySize {self.spec.memory_mb} MB)"
                ),
                "errorType": "Runtime.OutOfMemory",
            }
