"""Each gap of moto's Step Functions interpreter that ``constructs_local.stepfunctions.interpreter`` bridges,
pinned: run without its fix, the gap is still there. When one of these fails after a moto upgrade,
moto closed the gap: drop the fix (and this test) instead of patching twice."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from constructs_local import Knobs, LocalDataZone, RealClock, default_seed
from constructs_local.stepfunctions.interpreter import FIXES, MOTO_VERSION, MotoAdapter, access_key_for, moto_only

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/gap-test"
SDK_MODULE = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk"
SDK = "arn:aws:states:::aws-sdk:datazone:"
WAIT_MODULE = "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function"


@pytest.fixture
def dz() -> Iterator[LocalDataZone]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalDataZone(seed=default_seed(), clock=RealClock(), knobs=Knobs()) as endpoint:
        endpoint.backend.register_principal(access_key_for(ROLE), ROLE)
        endpoint.backend.add_membership("dzd_example123", "exampleproject1", ROLE, "PROJECT_CONTRIBUTOR")
        yield endpoint


def _run(definition: dict[str, Any], execution_input: dict[str, Any] | None = None) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    arn = sfn.create_state_machine(name="gap", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input or {}))["executionArn"]
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    result: dict[str, Any] = described
    return result


def _task(action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": SDK + action, "Parameters": parameters, "End": True}},
    }


def _without(fix: str, dz: LocalDataZone) -> MotoAdapter:
    return MotoAdapter(datazone_url=dz.url, fixes=FIXES - {fix})


START = {
    "DomainIdentifier": "dzd_example123",
    "OwningProjectIdentifier": "exampleproject1",
    "Target": {"Type": "ASSET", "Identifier": "exampleasset1"},
    "Types": ["BUSINESS_DESCRIPTIONS"],
}


def test_the_adapter_is_written_for_the_installed_moto() -> None:
    assert moto.__version__ == MOTO_VERSION


def test_gap_parameters_are_passed_to_boto3_in_pascal_case(dz: LocalDataZone) -> None:
    with moto_only(), _without("parameters", dz):
        described = _run(_task("startMetadataGenerationRun", START))
    assert described["status"] == "FAILED"
    assert not dz.calls, "moto mapped DomainIdentifier -> domainIdentifier itself"


def test_gap_responses_keep_boto3_member_names(dz: LocalDataZone) -> None:
    # Only the result's keys: its datetimes (objects, not ISO strings) would break moto's own
    # DescribeExecution (TypeError: datetime is not JSON serializable), the other half of the gap.
    keys_only = _task("startMetadataGenerationRun", START)
    keys_only["States"]["T"]["OutputPath"] = "$.id"
    with moto_only(), _without("responses", dz):
        described = _run(keys_only)
    assert described["status"] == "SUCCEEDED", "moto now answers in PascalCase ($.id is gone)"
    assert described["output"].strip('"'), "the run id, found under boto3's member name id"


MISSING_RUN = {"DomainIdentifier": "dzd_example123", "Identifier": "nosuchrun1234"}


@pytest.mark.parametrize(
    ("knob", "moto_says", "step_functions_says"),
    [
        (None, "datazone.ResourceNotFoundException", "DataZone.ResourceNotFoundException"),  # modeled 404
        ("unavailable_calls", "datazone.datazoneException", "DataZone.DataZoneException"),  # 503, no type
        ("disconnect_calls", "States.Runtime", "DataZone.SdkClientException"),  # no answer at all
    ],
)
def test_gap_error_names_are_not_step_functions_names(
    dz: LocalDataZone, knob: str | None, moto_says: str, step_functions_says: str
) -> None:
    # A dropped connection is worst: States.Runtime is no error of the task (Step Functions never
    # retries it), so no Retry of the definition could match it.
    if knob:
        setattr(dz.knobs, knob, 1)
    with moto_only(), _without("errors", dz):
        described = _run(_task("getMetadataGenerationRun", MISSING_RUN))
    assert described["status"] == "FAILED"
    assert described["error"] == moto_says
    if knob:
        setattr(dz.knobs, knob, 1)
    with moto_only(), MotoAdapter(datazone_url=dz.url):
        assert _run(_task("getMetadataGenerationRun", MISSING_RUN))["error"] == step_functions_says


def test_gap_result_writer_writes_no_result_files(dz: LocalDataZone) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "gap-items", "Key": "items.json"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "gap-results", "Prefix": "out"},
                },
                "End": True,
            }
        },
    }
    with moto_only(), _without("result-writer", dz):
        s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
        for bucket in ("gap-items", "gap-results"):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket="gap-items", Key="items.json", Body=b'["a", "b"]')
        described = _run(definition)
        assert described["status"] == "SUCCEEDED"
        where = json.loads(described["output"])["ResultWriterDetails"]
        manifest = json.loads(s3.get_object(Bucket=where["Bucket"], Key=where["Key"])["Body"].read())
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="gap-results")["Contents"]]
    assert manifest["ResultFiles"]["SUCCEEDED"] == []
    assert all(key.endswith("manifest.json") for key in keys)


def _map_of(items: int) -> tuple[dict[str, Any], str]:
    """A Distributed Map over ``items`` items with one worker (every child on one thread)."""
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "gap-items", "Key": "items.json"},
                },
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    return definition, json.dumps(list(range(items)))


def _start_map(items: int) -> tuple[Any, str]:
    definition, body = _map_of(items)
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    s3.create_bucket(Bucket="gap-items")
    s3.put_object(Bucket="gap-items", Key="items.json", Body=body.encode())
    sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    arn = sfn.create_state_machine(name="gap", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    return sfn, sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]


@pytest.fixture
def default_recursion_limit() -> Iterator[None]:
    """CPython's default recursion limit, as a Lambda or the CLI has it: cfn-lint's graph checks
    (networkx's isomorphism) raise it for the rest of the process, and earlier tests run cfn-lint,
    after which moto's recursion per child no longer dies at 1,100 children."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(saved)


def test_gap_recursion_a_worker_dies_past_a_thousand_children(
    dz: LocalDataZone, monkeypatch: pytest.MonkeyPatch, default_recursion_limit: None
) -> None:
    # 1,100 children on one worker thread: moto recurses once per child. The worker thread dies
    # of RecursionError and the map waits for it forever: the execution hangs RUNNING.
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    with moto_only(), _without("recursion", dz):
        sfn, execution = _start_map(1_100)
        deadline = (
            time.monotonic() + 240
        )  # a generous bound: 1,100 children take ~20 s alone, minutes on a loaded machine
        while not died:
            assert time.monotonic() < deadline, "no worker died: moto no longer recurses per child"
            time.sleep(0.05)
        assert isinstance(died[0], RecursionError)
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        sfn.stop_execution(executionArn=execution)
    with moto_only(), MotoAdapter(datazone_url=dz.url):
        sfn, execution = _start_map(1_100)
        deadline = (
            time.monotonic() + 240
        )  # a generous bound: 1,100 children take ~20 s alone, minutes on a loaded machine
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert len(json.loads(described["output"])) == 1_100
    assert died == [died[0]]


def test_gap_endpoints_datazone_goes_to_aws_with_a_fixed_key(dz: LocalDataZone) -> None:
    with moto_only(), _without("endpoints", dz):
        client = importlib.import_module(SDK_MODULE).boto_client_for(region=REGION, service="datazone")
    assert dz.url not in client.meta.endpoint_url
    assert client._request_signer._credentials.access_key == "ak"  # one identity for every role


class _SpiedEvent:
    """Stands in for an execution's ``program_state_event``: records each real-seconds wait."""

    def __init__(self, event: threading.Event, waits: list[float]) -> None:
        self.event, self.waits = event, waits

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float("inf") if timeout is None else timeout)
        return self.event.wait(timeout)


def _real_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The real seconds each Wait state blocks for, as passed to the event it waits on."""
    waits: list[float] = []
    cls = importlib.import_module(WAIT_MODULE).WaitFunction
    installed = cls._wait_interval  # moto's, or the adapter's

    def spied(function: Any, env: Any, wait_seconds: int) -> None:
        event = env.program_state_event
        env.program_state_event = _SpiedEvent(event, waits)
        try:
            installed(function, env, wait_seconds)
        finally:
            env.program_state_event = event

    monkeypatch.setattr(cls, "_wait_interval", spied)
    return waits


def test_gap_wait_sleeps_in_real_seconds(dz: LocalDataZone, monkeypatch: pytest.MonkeyPatch) -> None:
    # What each Wait blocks for, not how long the test took: a loaded machine cannot flake it.
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    with moto_only(), MotoAdapter(datazone_url=dz.url, speed=50, fixes=FIXES - {"time"}):
        waits = _real_waits(monkeypatch)
        assert _run(wait)["status"] == "SUCCEEDED"
        assert waits[:1] == [1]  # moto: one real second (and more if woken early)
        monkeypatch.undo()
    with moto_only(), MotoAdapter(datazone_url=dz.url, speed=50):
        waits = _real_waits(monkeypatch)
        assert _run(wait)["status"] == "SUCCEEDED"
        assert waits == [1 / 50]  # the adapter: one simulated second at 50 per real second
        monkeypatch.undo()


def test_rule_tolerated_failure_percentage_must_be_a_decimal() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailurePercentage": 100,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    with moto_only(), pytest.raises(ClientError, match="ToleratedFailurePercentage"):
        _run(definition, {})


def test_history_gap_moto_writes_any_number_of_events() -> None:
    # Without the "history" fix, an execution runs on past any quota (here a lowered one).
    adapter = MotoAdapter(datazone_url="http://127.0.0.1:9", fixes=FIXES - {"history"})
    adapter.history_quota = 50
    forever = {"StartAt": "Again", "States": {"Again": {"Type": "Pass", "Next": "Again"}}}
    with moto_only(), adapter:
        sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
        arn = sfn.create_state_machine(name="h", definition=json.dumps(forever), roleArn=ROLE)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        deadline = time.monotonic() + 20
        while len(sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]) < 300:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        sfn.stop_execution(executionArn=execution)
