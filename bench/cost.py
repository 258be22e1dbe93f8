"""Deploy-time cost of one run that takes T minutes, read from the synthesized templates.

Counts (invocations, state transitions, DataZone calls) come from the template's settings and,
for ours, from running the synthesized handler itself against a fake DataZone client on a
simulated clock. Durations (hence GB-seconds) need assumptions about AWS; they are the
``Assumptions`` below, printed next to the results.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

LAMBDA_DEFAULT_MEMORY_MB = 128
LAMBDA_DEFAULT_TIMEOUT_S = 3
#: AWS Lambda: "at 1,769 MB, a function has the equivalent of one vCPU".
MB_PER_VCPU = 1769
PLACEHOLDER = "arn:aws:lambda:us-east-1:123456789012:function:placeholder"


@dataclass(frozen=True)
class Assumptions:
    """Durations that cannot be read from a template. Edit here; the report prints them."""

    datazone_call_ms: float = 150.0  # one DataZone API round trip from Lambda, same region
    lambda_invoke_overhead_ms: float = 40.0  # a synchronous Invoke, beyond the callee's own duration
    start_execution_ms: float = 60.0  # states:StartExecution from the framework's onEvent
    cfn_response_ms: float = 100.0  # PUT of the response to CloudFormation's presigned S3 URL
    node_cold_init_ms: float = 250.0  # Node.js runtime + small handler bundle, first invocation
    node_sdk_client_ms: float = 150.0  # loading an AWS SDK v3 client in the peer's handler
    npm_install_ms: float = 10_000.0  # peer cold start with InstallLatestAwsSdk=true (npm install)

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("DataZone API round trip", f"{self.datazone_call_ms:g} ms"),
            ("synchronous Lambda Invoke overhead (framework → our function)", f"{self.lambda_invoke_overhead_ms:g} ms"),
            ("states:StartExecution", f"{self.start_execution_ms:g} ms"),
            ("response PUT to CloudFormation", f"{self.cfn_response_ms:g} ms"),
            ("Node.js cold init (framework functions, peer)", f"{self.node_cold_init_ms:g} ms"),
            ("peer: loading the SDK v3 DataZone client", f"{self.node_sdk_client_ms:g} ms"),
            (
                "peer: `npm install` of the latest SDK at cold start (InstallLatestAwsSdk=true)",
                f"{self.npm_install_ms:g} ms",
            ),
            (
                "Python CPU work on Lambda",
                f"measured locally, scaled by {MB_PER_VCPU} MB / memory (Lambda's CPU share)",
            ),
        ]


@dataclass(frozen=True)
class FunctionSettings:
    logical_id: str
    memory_mb: int
    timeout_s: int
    runtime: str
    architecture: str


@dataclass
class CostLine:
    """One function's share: invocations and the billed seconds they add up to."""

    function: FunctionSettings
    role: str
    invocations: int = 0
    billed_ms: float = 0.0

    @property
    def gb_seconds(self) -> float:
        return self.billed_ms / 1000 * self.function.memory_mb / 1024


@dataclass
class CostResult:
    side: str
    minutes: float
    lines: list[CostLine] = field(default_factory=list)
    state_transitions: int = 0
    datazone_calls: Counter[str] = field(default_factory=Counter)
    settings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def invocations(self) -> int:
        return sum(line.invocations for line in self.lines)

    @property
    def gb_seconds(self) -> float:
        return sum(line.gb_seconds for line in self.lines)


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


def _getatt_target(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def function_settings(template: dict[str, Any], logical_id: str) -> FunctionSettings:
    props = _resources(template)[logical_id]["Properties"]
    return FunctionSettings(
        logical_id=logical_id,
        memory_mb=int(props.get("MemorySize", LAMBDA_DEFAULT_MEMORY_MB)),
        timeout_s=int(props.get("Timeout", LAMBDA_DEFAULT_TIMEOUT_S)),
        runtime=str(props.get("Runtime", "?")),
        architecture=str((props.get("Architectures") or ["x86_64"])[0]),
    )


def _join_to_text(value: Any) -> str:
    """A ``Fn::Join`` of strings and intrinsics as text, intrinsics replaced by a placeholder ARN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_join_to_text(part) for part in parts)
    return PLACEHOLDER


@dataclass(frozen=True)
class Waiter:
    interval_s: float
    max_attempts: int
    backoff_rate: float
    is_complete_function: str
    on_timeout_function: str | None


def waiter_settings(template: dict[str, Any], state_machine: str) -> Waiter:
    """The provider framework's waiter: a Task that the Retry policy repeats until isComplete says so."""
    props = _resources(template)[state_machine]["Properties"]
    raw = props.get("DefinitionString") or props.get("Definition")
    definition: dict[str, Any] = raw if isinstance(raw, dict) and "States" in raw else json.loads(_join_to_text(raw))
    # Recover which function each Task calls from the intrinsics in the Join, in order.
    targets = (
        [_getatt_target(part) for part in raw["Fn::Join"][1] if not isinstance(part, str)]
        if isinstance(raw, dict) and "Fn::Join" in raw
        else []
    )
    task_names = [name for name, state in definition["States"].items() if state.get("Type") == "Task"]
    functions = dict(zip(task_names, targets, strict=False))
    start = definition["States"][definition["StartAt"]]
    retry = start["Retry"][0]
    catch_next = (start.get("Catch") or [{}])[0].get("Next")
    return Waiter(
        interval_s=float(retry.get("IntervalSeconds", 1)),
        max_attempts=int(retry.get("MaxAttempts", 3)),
        backoff_rate=float(retry.get("BackoffRate", 2.0)),
        is_complete_function=str(functions.get(definition["StartAt"])),
        on_timeout_function=functions.get(catch_next) if catch_next else None,
    )


def poll_times(waiter: Waiter, minutes: float) -> list[float]:
    """Seconds after the execution starts at which isComplete runs, up to the first that sees the end.

    The first attempt runs at once; retry i waits interval * backoff**i (Step Functions' Retry).
    """
    done = minutes * 60
    times, at, wait = [0.0], 0.0, waiter.interval_s
    while at < done and len(times) <= waiter.max_attempts:
        at += wait
        times.append(at)
        wait *= waiter.backoff_rate
    return times


# --- our handler, run for real on a simulated clock -----------------------------------------


class FakeDataZone:
    """Stands in for the boto3 DataZone client: answers like DataZone, counts every call."""

    def __init__(self, meta: Any, clock: list[float], done_at: float) -> None:
        self.meta = meta
        self.calls: Counter[str] = Counter()
        self._clock = clock
        self._done_at = done_at
        self._created = datetime.fromtimestamp(clock[0], tz=UTC)

    def _run(self, status: str) -> dict[str, Any]:
        return {
            "id": "benchrun0001",
            "domainId": "dzd_bench12345",
            "owningProjectId": "benchproject12",
            "status": status,
            "types": ["BUSINESS_DESCRIPTIONS"],
            "createdAt": self._created,
            "target": {"type": "ASSET", "identifier": "asset0", "revision": "1"},
        }

    def start_metadata_generation_run(self, **_: Any) -> dict[str, Any]:
        self.calls["StartMetadataGenerationRun"] += 1
        return self._run("SUBMITTED")

    def get_metadata_generation_run(self, **_: Any) -> dict[str, Any]:
        self.calls["GetMetadataGenerationRun"] += 1
        return self._run("SUCCEEDED" if self._clock[0] >= self._done_at else "IN_PROGRESS")

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> dict[str, Any]:
            self.calls["".join(part.title() for part in name.split("_"))] += 1
            return {}

        return call


def load_handler(asset_dir: Path) -> tuple[ModuleType, ModuleType]:
    """The asset's entry module, imported as Lambda does (the asset directory first on the path,
    modules by their file names), and the run handler module it dispatches to (whose ``_client``
    and ``now``, in its shared ``common`` module, are the seams the simulation replaces)."""
    names = [path.stem for path in asset_dir.glob("*.py")]
    if "entry" not in names or "index" not in names:
        raise RuntimeError(f"no entry.py and index.py in {asset_dir}")
    for name in names:  # a fresh import of this asset, whatever an earlier call loaded
        sys.modules.pop(name, None)
    sys.path.insert(0, str(asset_dir))
    try:
        entry = importlib.import_module("entry")
    finally:
        sys.path.remove(str(asset_dir))
    return entry, sys.modules["index"]


def _as_cloudformation_sends(value: Any) -> Any:
    """CloudFormation passes property values to custom resources as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_as_cloudformation_sends(item) for item in value]
    if isinstance(value, dict):
        if any(key.startswith("Fn::") or key == "Ref" for key in value):
            return PLACEHOLDER
        return {key: _as_cloudformation_sends(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class HandlerTrace:
    polls: int
    calls: Counter[str]
    on_event_cpu_ms: float
    is_complete_cpu_ms: float  # median over polls


def simulate_handler(
    asset_dir: Path, handlers: tuple[str, str], properties: dict[str, Any], times: list[float], minutes: float
) -> HandlerTrace:
    """Run onEvent once and isComplete at each poll time until it reports completion."""
    import boto3  # noqa: PLC0415 - only this simulation needs boto3

    entry, _ = load_handler(asset_dir)
    meta = boto3.client(
        "datazone",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - a dummy: the fake client never signs a request
    ).meta
    start = 1_800_000_000.0
    clock = [start]
    fake = FakeDataZone(meta, clock, start + minutes * 60)
    # The handlers' shared module holds the client cache and the clock both handlers read.
    common = sys.modules["common"]
    common.__dict__["_clients"]["datazone"] = fake
    common.__dict__["now"] = lambda: clock[0]
    on_event, is_complete = (getattr(entry, name.split(".", 1)[1]) for name in handlers)
    event: dict[str, Any] = {
        "RequestType": "Create",
        "RequestId": "bench-request-1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/Bench/1",
        "LogicalResourceId": "Run0",
        "ResourceType": "Custom::DataZoneMetadataGenerationRun",
        "ResponseURL": "https://example.invalid/response",
        "ResourceProperties": _as_cloudformation_sends(properties),
    }
    began = time.process_time()
    response = on_event(event, None)
    on_event_cpu = (time.process_time() - began) * 1000
    poll_event = {**event, "PhysicalResourceId": response["PhysicalResourceId"], "Data": response.get("Data", {})}
    cpu: list[float] = []
    polls = 0
    for at in times:
        clock[0] = start + at
        began = time.process_time()
        result = is_complete(poll_event, None)
        cpu.append((time.process_time() - began) * 1000)
        polls += 1
        if result.get("IsComplete"):
            break
    cpu.sort()
    return HandlerTrace(polls, fake.calls, on_event_cpu, cpu[len(cpu) // 2])


# --- the two sides ------------------------------------------------------------------------


def _cpu_share(memory_mb: int) -> float:
    return min(1.0, memory_mb / MB_PER_VCPU)


@dataclass(frozen=True)
class _Provider:
    """The provider framework as one run's template wires it."""

    run: dict[str, Any]
    waiter: Waiter
    framework_on_event: FunctionSettings
    framework_is_complete: FunctionSettings
    on_event: FunctionSettings
    is_complete: FunctionSettings
    handlers: tuple[str, str]


def _provider(template: dict[str, Any]) -> _Provider:
    resources = _resources(template)
    run = next(
        props for res in resources.values() if res["Type"].startswith("Custom::") for props in [res["Properties"]]
    )
    framework_on_event = _getatt_target(run["ServiceToken"])
    assert framework_on_event is not None
    env = resources[framework_on_event]["Properties"]["Environment"]["Variables"]
    user_on_event = _getatt_target(env["USER_ON_EVENT_FUNCTION_ARN"])
    user_is_complete = _getatt_target(env["USER_IS_COMPLETE_FUNCTION_ARN"])
    state_machine = _getatt_target(env["WAITER_STATE_MACHINE_ARN"])
    if not (user_on_event and user_is_complete and state_machine):
        raise ValueError(f"{framework_on_event} does not look like the provider framework's onEvent")
    waiter = waiter_settings(template, state_machine)
    return _Provider(
        run=run,
        waiter=waiter,
        framework_on_event=function_settings(template, framework_on_event),
        framework_is_complete=function_settings(template, waiter.is_complete_function),
        on_event=function_settings(template, user_on_event),
        is_complete=function_settings(template, user_is_complete),
        handlers=(
            str(resources[user_on_event]["Properties"]["Handler"]),
            str(resources[user_is_complete]["Properties"]["Handler"]),
        ),
    )


def _settings(provider: _Provider) -> dict[str, str]:
    waiter = provider.waiter
    functions = (
        ("framework onEvent", provider.framework_on_event),
        ("framework isComplete", provider.framework_is_complete),
        ("our onEvent", provider.on_event),
        ("our isComplete", provider.is_complete),
    )
    return {
        "waiter": f"Retry every {waiter.interval_s:g} s (backoff {waiter.backoff_rate:g}), "
        f"at most {waiter.max_attempts} retries = {waiter.interval_s * waiter.max_attempts / 60:g} min",
        "run timeout (TimeoutSeconds)": str(provider.run.get("TimeoutSeconds", "default")),
        **{
            f"{label} memory / timeout": f"{fn.memory_mb} MB / {fn.timeout_s} s ({fn.runtime}, {fn.architecture})"
            for label, fn in functions
        },
    }


def _billed_lines(
    provider: _Provider, trace: HandlerTrace, python_cold_init_ms: float, assume: Assumptions
) -> list[CostLine]:
    calls_per_poll = (trace.calls["GetMetadataGenerationRun"] / trace.polls) if trace.polls else 0
    scale_on, scale_is = (1 / _cpu_share(provider.on_event.memory_mb)), (1 / _cpu_share(provider.is_complete.memory_mb))
    py_init_on, py_init_is = python_cold_init_ms * scale_on, python_cold_init_ms * scale_is
    user_on_ms = (
        py_init_on
        + trace.on_event_cpu_ms * scale_on
        + assume.datazone_call_ms * trace.calls["StartMetadataGenerationRun"]
    )
    user_poll_ms = trace.is_complete_cpu_ms * scale_is + assume.datazone_call_ms * calls_per_poll

    line_fw_on = CostLine(provider.framework_on_event, "framework onEvent (Node)", 1)
    line_fw_on.billed_ms = (
        assume.node_cold_init_ms + assume.lambda_invoke_overhead_ms + user_on_ms + assume.start_execution_ms
    )
    line_on = CostLine(provider.on_event, "our onEvent (Python)", 1, user_on_ms)
    line_fw_is = CostLine(provider.framework_is_complete, "framework isComplete (Node)", trace.polls)
    line_is = CostLine(provider.is_complete, "our isComplete (Python)", trace.polls)
    for index in range(trace.polls):
        cold = index == 0
        own = user_poll_ms + (py_init_is if cold else 0.0)
        line_is.billed_ms += own
        line_fw_is.billed_ms += (
            (assume.node_cold_init_ms if cold else 0.0)
            + assume.lambda_invoke_overhead_ms
            + own
            + (assume.cfn_response_ms if index == trace.polls - 1 else 0.0)
        )
    return [line_fw_on, line_on, line_fw_is, line_is]


def ours(
    template: dict[str, Any],
    asset_dir: Path,
    minutes: float,
    python_cold_init_ms: float,
    assume: Assumptions,
) -> CostResult:
    provider = _provider(template)
    waiter, run = provider.waiter, provider.run
    run_props = {key: value for key, value in run.items() if key != "ServiceToken"}
    times = poll_times(waiter, minutes)
    trace = simulate_handler(asset_dir, provider.handlers, run_props, times, minutes)

    result = CostResult(side="ours", minutes=minutes)
    result.settings = _settings(provider)
    result.lines = _billed_lines(provider, trace, python_cold_init_ms, assume)
    result.state_transitions = trace.polls
    result.datazone_calls = trace.calls
    expected = len(times)
    if trace.polls != expected:
        result.notes.append(f"the handler completed after {trace.polls} polls, the waiter allows {expected}")
    result.notes.append(
        f"{trace.polls} isComplete polls: the first at once, then every {waiter.interval_s:g} s until the run "
        f"ends at {minutes:g} min; each poll is one Task attempt (AWS bills retries as state transitions)"
    )
    timeout = int(run.get("TimeoutSeconds", 0) or 0)
    if timeout and minutes * 60 > timeout:
        result.notes.append(f"T exceeds this run's TimeoutSeconds={timeout}: the deploy would fail at the timeout")
    return result


def peer(template: dict[str, Any], minutes: float, assume: Assumptions) -> CostResult:
    resources = _resources(template)
    run = next(res["Properties"] for res in resources.values() if res["Type"] == "Custom::AWS")
    function = _getatt_target(run["ServiceToken"])
    assert function is not None
    settings = function_settings(template, function)
    install = str(run.get("InstallLatestAwsSdk", "false")).lower() == "true"
    call = json.loads(run["Create"])
    billed = assume.node_cold_init_ms + assume.node_sdk_client_ms + assume.datazone_call_ms + assume.cfn_response_ms
    result = CostResult(side="peer", minutes=minutes)
    result.settings = {
        "function memory / timeout": (
            f"{settings.memory_mb} MB / {settings.timeout_s} s ({settings.runtime}, {settings.architecture})"
        ),
        "InstallLatestAwsSdk": str(install).lower(),
    }
    line = CostLine(
        settings, "AwsCustomResource handler (Node)", 1, billed + (assume.npm_install_ms if install else 0.0)
    )
    result.lines = [line]
    result.datazone_calls = Counter({call["action"][0].upper() + call["action"][1:]: 1})
    result.notes.append(
        "one invocation that starts the run and returns: the deploy does not wait, so the run's "
        f"{minutes:g} minutes cost nothing here, and its outcome (FAILED, PARTIALLY_SUCCEEDED) never reaches the deploy"
    )
    if install:
        result.notes.append(
            "InstallLatestAwsSdk=true (the default without the feature flag): npm install at cold start"
        )
    return result


def summary_row(result: CostResult) -> dict[str, str]:
    return {
        "invocations": str(result.invocations),
        "gb_s": f"{result.gb_seconds:.2f}",
        "transitions": str(result.state_transitions),
        "datazone": ", ".join(f"{count} {name}" for name, count in sorted(result.datazone_calls.items())),
    }


def poll_count(minutes: float, interval_s: float) -> int:
    """Closed form of :func:`poll_times` for backoff 1 (used by the smoke test)."""
    return math.ceil(minutes * 60 / interval_s) + 1
