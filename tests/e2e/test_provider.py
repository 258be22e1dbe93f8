"""The replayed Provider framework and CloudFormation rules, with a stand-in handler in the asset.

The stand-in replaces ``index.py`` in a copy of the synthesized asset folder, which also proves
the replay runs the packaged asset from the cloud assembly, not the source tree.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from constructs_local import LocalDataZone
from constructs_local.cloudformation.assembly import find_provider, load_assembly
from constructs_local.cloudformation.provider import CREATE_FAILED_MARKER
from constructs_local.cloudformation.replay import LocalCloudFormation, StackResult
from constructs_local.cloudformation.session import SessionCore, _FailureError

from tests.e2e.cases import add_sibling, harness, mutated_assembly, set_run_property

STAND_IN = """
import json
import os

import botocore.endpoint


def on_event(event, context):
    mode = event["ResourceProperties"].get("Mode", "")
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": "another-id"} if mode == "change-id-on-delete" else {}
    if mode == "fail-update" and event["RequestType"] == "Update":
        raise RuntimeError("update refused by the stand-in")
    if mode == "no-physical-id":
        return {"Data": {"RunId": "r", "Status": "S"}}
    if mode == "huge-data":
        return {"PhysicalResourceId": "p1", "Data": {"RunId": "r", "Status": "S", "Big": "x" * 5000}}
    if mode == "slow":
        botocore.endpoint.time.sleep(1000)  # on the simulated clock: longer than any Lambda timeout (900 s)
    if mode == "not-json":
        return {"PhysicalResourceId": "p1", "Data": {"Obj": object()}}
    data = {
        "FromOnEvent": "1",
        "Shared": "onEvent",
        "RunId": "run-" + event["RequestType"],
        "Role": os.environ["HANDLER_ROLE_ARN"],
        "Endpoint": os.environ.get("AWS_ENDPOINT_URL_DATAZONE", ""),
        "TaskRoot": os.environ["LAMBDA_TASK_ROOT"],
        "Remaining": str(context.get_remaining_time_in_millis()),
    }
    return {"PhysicalResourceId": "p1", "Data": data}


def is_complete(event, context):
    mode = event["ResourceProperties"].get("Mode", "")
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    if mode == "data-while-incomplete":
        return {"IsComplete": False, "Data": {"Early": "1"}}
    if mode == "null":
        return None
    if mode == "no-status":
        return {"IsComplete": True}
    seen = json.dumps(sorted(event))
    return {"IsComplete": True, "Data": {"Shared": "isComplete", "Status": "DONE", "EventKeys": seen}}
"""


@pytest.fixture(scope="module")
def stand_in(assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = mutated_assembly(assembly, tmp_path_factory.mktemp("stand-in") / "cdk.out", [])
    (stack,) = load_assembly(copy)
    custom = next(
        r for r in stack.template["Resources"].values() if r["Type"] == "Custom::DataZoneMetadataGenerationRun"
    )
    provider = find_provider(stack, custom["Properties"]["ServiceToken"])
    (provider.on_event.code_dir / "entry.py").write_text(STAND_IN)
    return copy


def deploy(source: Path, tmp_path: Path, mode: str, endpoint: LocalDataZone) -> tuple[StackResult, LocalCloudFormation]:
    variant = mutated_assembly(source, tmp_path / f"mode-{mode or 'default'}", [set_run_property("Mode", mode)])
    replay = LocalCloudFormation(variant, state_file=tmp_path / "state.json", endpoint=endpoint)
    return replay.deploy()[0], replay


def test_data_is_merged_and_the_lambda_environment_is_set_then_restored(
    stand_in: Path, tmp_path: Path, endpoint: LocalDataZone
) -> None:
    before = dict(os.environ)
    result, _ = deploy(stand_in, tmp_path, "", endpoint)
    assert result.status == "CREATE_COMPLETE", result.reason
    (record,) = result.requests
    data = record.response.data
    assert data["FromOnEvent"] == "1"
    assert data["Shared"] == "isComplete"  # isComplete's Data wins over onEvent's
    assert data["Status"] == "DONE"
    assert data["Role"].startswith("arn:aws:iam::000000000000:role/")  # the GetAtt of the handler role
    assert data["Endpoint"] == endpoint.url
    assert Path(data["TaskRoot"]).name.startswith("asset.")
    assert Path(data["TaskRoot"]).is_relative_to(tmp_path)
    assert 0 < int(data["Remaining"]) <= 900_000
    # isComplete gets the onEvent event plus PhysicalResourceId and Data.
    assert {"PhysicalResourceId", "Data", "RequestType", "ResourceProperties"} <= set(eval(data["EventKeys"]))
    assert dict(os.environ) == before


def test_physical_id_defaults_to_the_request_id_on_create(
    stand_in: Path, tmp_path: Path, endpoint: LocalDataZone
) -> None:
    result, _ = deploy(stand_in, tmp_path, "no-physical-id", endpoint)
    (record,) = result.requests
    assert record.response.physical_id == record.request["RequestId"]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("data-while-incomplete", '"Data" is not allowed if "IsComplete" is "False"'),
        ("null", "Cannot read properties of null (reading 'IsComplete')"),
        ("huge-data", "Response object is too long"),
        ("slow", "Task timed out after "),
        ("not-json", "Unable to marshal response"),
        ("no-status", "Vendor response doesn't contain Status attribute"),
    ],
)
def test_framework_and_cloudformation_failures(
    stand_in: Path, tmp_path: Path, endpoint: LocalDataZone, mode: str, reason: str
) -> None:
    result, _ = deploy(stand_in, tmp_path, mode, endpoint)
    assert result.status == "ROLLBACK_COMPLETE"
    assert reason in (result.reason or ""), result.reason


def test_onevent_failure_reason_carries_the_log_pointer(
    stand_in: Path, tmp_path: Path, endpoint: LocalDataZone
) -> None:
    result, replay = deploy(stand_in, tmp_path, "", endpoint)
    failing = mutated_assembly(stand_in, tmp_path / "fail-update", [set_run_property("Mode", "fail-update")])
    replay = LocalCloudFormation(failing, state_file=tmp_path / "state.json", endpoint=endpoint)
    (update,) = replay.deploy()
    assert update.status == "UPDATE_ROLLBACK_COMPLETE"
    failed, rollback = update.requests
    assert failed.response.status == "FAILED"
    assert failed.response.reason.startswith("Error: update refused by the stand-in\n\nLogs: /aws/lambda/")
    assert failed.response.physical_id == "p1"  # an Update keeps its id: no CREATE_FAILED marker
    assert (rollback.phase, rollback.request["RequestType"]) == ("rollback", "Update")
    assert rollback.request["ResourceProperties"]["Mode"] == ""
    assert rollback.request["OldResourceProperties"]["Mode"] == "fail-update"
    assert update.outputs == result.outputs


def test_delete_may_not_change_the_physical_id(stand_in: Path, tmp_path: Path, endpoint: LocalDataZone) -> None:
    result, replay = deploy(stand_in, tmp_path, "change-id-on-delete", endpoint)
    assert result.ok
    (destroyed,) = replay.destroy()
    assert destroyed.status == "DELETE_FAILED"
    assert "DELETE: cannot change the physical resource ID" in (destroyed.reason or "")
    # The stack stays, so a second destroy tries again.
    assert replay.state()["stacks"]["DataZoneMetadataGenerationExample"]["status"] == "DELETE_FAILED"


def test_create_failed_marker_skips_the_handler_on_delete(
    stand_in: Path, tmp_path: Path, endpoint: LocalDataZone
) -> None:
    result, _ = deploy(stand_in, tmp_path, "not-json", endpoint)
    create, delete = result.requests
    assert create.response.physical_id == CREATE_FAILED_MARKER
    assert not delete.run.handler_called
    assert delete.run.invocations == []


def test_a_failed_delete_of_a_create_in_flight_fails_the_rollback(
    assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sibling fails 15 s into stack creation while the run's Create waits: CloudFormation
    # deletes the run with an invented id. When that Delete fails, the resource stays and the
    # stack ends ROLLBACK_FAILED (the harness said ROLLBACK_COMPLETE and forgot the resource).
    send = SessionCore.send_steps

    def delete_fails(
        self: SessionCore, ctx: Any, logical_id: str, request_type: str, phase: str, *args: Any, **kwargs: Any
    ) -> Any:
        if request_type == "Delete" and phase == "rollback":
            raise _FailureError("injected: the handler's Delete failed")
        return (yield from send(self, ctx, logical_id, request_type, phase, *args, **kwargs))

    monkeypatch.setattr(SessionCore, "send_steps", delete_fails)
    with harness(assembly) as box:
        variant = box.variant(add_sibling())
        result = box.deploy(variant, fail_resources={"Sibling": 15})
        state = json.loads(box.state_file.read_text())
    assert result.status == "ROLLBACK_FAILED"
    [stack] = state["stacks"].values()
    assert stack["status"] == "ROLLBACK_FAILED"
    kept = [r for r in stack["resources"].values() if r["type"] == "Custom::DataZoneMetadataGenerationRun"]
    assert len(kept) == 1
    assert kept[0]["physicalId"].startswith(f"{stack['stackName']}-")  # the id CloudFormation invented
