"""Lambda's limits hold for every function the local dry run invokes, the batch workflow's worker
(invoked from moto's ``lambda:invoke`` tasks) included (issue 15, must hold 6): the timeout, on the
shared clock, and the memory size, from the invocation's peak Python allocation plus the
runtime's baseline. Both fail as Lambda reports them, so the workflow's Retry/Catch see the same
error names as on AWS."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from constructs_local import SimulatedClock
from constructs_local.awslambda.runtime import RUNTIME_BASELINE_MB, LocalFunction
from constructs_local.clock import Clock, ThreadStates
from constructs_local.cloudformation.assembly import FunctionSpec
from constructs_local.stepfunctions.interpreter import MotoAdapter, moto_only

REGION = "us-east-1"
HANDLER = """
def handler(event, context):
    block = bytearray(event["allocateMb"] * 1024 * 1024)
    return {"allocated": len(block), "memory": context.memory_limit_in_mb}
"""


def _function(
    tmp_path: Path,
    *,
    memory_mb: int = 128,
    timeout: float = 30,
    invoke_seconds: float = 0,
    clock: Clock | None = None,
    handler: str = HANDLER,
) -> LocalFunction:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "index.py").write_text(handler)
    spec = FunctionSpec("Worker", "index.handler", code, timeout, memory_mb, "python3.13", {})
    return LocalFunction(
        spec,
        function_name="worker",
        function_arn=f"arn:aws:lambda:{REGION}:000000000000:function:worker",
        environment={},
        clock=clock if clock is not None else SimulatedClock(),
        region=REGION,
        local=None,
        simulate_time=True,
        invoke_seconds=invoke_seconds,
        enforce_memory=True,  # the suite leaves it off elsewhere (tests/e2e/conftest.py)
    )


def test_an_invocation_within_its_memory_succeeds_and_reports_its_peak(tmp_path: Path) -> None:
    invocation = _function(tmp_path).invoke({"allocateMb": 10})
    assert invocation.error is None
    assert invocation.result == {"allocated": 10 * 1024 * 1024, "memory": 128}
    assert 9 <= invocation.peak_mb < 128 - RUNTIME_BASELINE_MB


def test_an_invocation_past_its_memory_size_fails_out_of_memory(tmp_path: Path) -> None:
    # 60 MB + the runtime's 80 MB does not fit 128 MB. Before: it succeeded.
    invocation = _function(tmp_path).invoke({"allocateMb": 60})
    assert invocation.result is None
    assert invocation.error is not None
    assert invocation.error["errorType"] == "Runtime.OutOfMemory"
    assert "MemorySize 128 MB" in invocation.error["errorMessage"]
    assert invocation.peak_mb >= 60


def _invoke_from_moto(function: LocalFunction) -> list[dict[str, Any]]:
    """One ``lambda:invoke`` task of a workflow, run by moto through the adapter; its history."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function.function_arn, "Payload": {"allocateMb": 60}},
                "End": True,
            }
        },
    }
    adapter = MotoAdapter(datazone_url="http://127.0.0.1:9")
    adapter.functions[function.function_arn] = function
    with moto_only(), adapter:
        sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
        role = "arn:aws:iam::000000000000:role/r"
        arn = sfn.create_state_machine(name="w", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        deadline = time.monotonic() + 30  # a hang guard only
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution)["events"]
    return events


def _task_errors(events: list[dict[str, Any]]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        # The worker's own timeout, on the shared clock: the definition retries Sandbox.Timedout
        # (before: the payload had no errorType and moto named it "Exception", never retried).
        ({"memory_mb": 512, "timeout": 3, "invoke_seconds": 5}, "Sandbox.Timedout"),
        ({"memory_mb": 128}, "Runtime.OutOfMemory"),
    ],
    ids=["timeout", "memory"],
)
def test_the_worker_invoked_from_moto_meets_lambda_limits(tmp_path: Path, settings: dict[str, Any], error: str) -> None:
    events = _invoke_from_moto(_function(tmp_path, **settings))
    assert _task_errors(events) == [error]
    assert events[-1]["type"] == "ExecutionFailed"


TRACING_HANDLER = """
import tracemalloc

def handler(event, context):
    block = bytearray(event["allocateMb"] * 1024 * 1024)
    return {"tracing": tracemalloc.is_tracing(), "allocated": len(block)}
"""

#: Run in a fresh process: tracemalloc is process-wide, and an earlier test may have left it on.
TRACING_SCRIPT = """
import json, sys, time, tracemalloc
from pathlib import Path
from constructs_local import EventClock
from tests.e2e.test_harness_lambda import TRACING_HANDLER, _function

function = _function(Path(sys.argv[1]), clock=EventClock(), handler=TRACING_HANDLER)
before = tracemalloc.is_tracing()
ok = function.invoke({"allocateMb": 10})
deadline = time.monotonic() + 10  # stopped at the next quiet moment, not waited for
while tracemalloc.is_tracing() and time.monotonic() < deadline:
    time.sleep(0.01)
after = tracemalloc.is_tracing()
too_much = function.invoke({"allocateMb": 60})
print(json.dumps({"before": before, "result": ok.result, "peak": ok.peak_mb, "after": after,
                  "error": (too_much.error or {}).get("errorType")}))
"""


def test_on_an_event_clock_memory_is_traced_only_while_an_invocation_runs(tmp_path: Path) -> None:
    # Tracing every allocation of the process costs every thread (a batch's workflow ran 4 times
    # slower): on an EventClock it is started and stopped around each invocation, at quiet moments.
    if not ThreadStates.available():
        pytest.skip("needs /proc/self/task (Linux)")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", TRACING_SCRIPT, str(tmp_path)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "dryrun")])},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] is False
    assert seen["result"] == {"tracing": True, "allocated": 10 * 1024 * 1024}
    assert 9 <= seen["peak"] < 128 - RUNTIME_BASELINE_MB
    assert seen["after"] is False, "tracemalloc was left on after the invocation"
    assert seen["error"] == "Runtime.OutOfMemory"
