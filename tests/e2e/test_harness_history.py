"""Step Functions' hard quota of 25,000 history events per Standard execution holds locally
(issue 15, must hold 6): moto keeps any number; the adapter counts each execution's events and
fails the one past the quota with ``States.Runtime``, as Step Functions does. The quota is
lowered here so that reaching it is cheap; the count is the same code path at 25,000."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
from constructs_local.stepfunctions.interpreter import HISTORY_EVENTS_QUOTA, MotoAdapter, moto_only

REGION = "us-east-1"
#: A loop of one Pass state, forever: 2 events per turn (PassStateEntered, PassStateExited).
FOREVER = {"StartAt": "Again", "States": {"Again": {"Type": "Pass", "Next": "Again"}}}


def _run(definition: dict[str, Any], adapter: MotoAdapter) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with moto_only(), adapter:
        sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
        role = "arn:aws:iam::000000000000:role/r"
        arn = sfn.create_state_machine(name="h", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        deadline = time.monotonic() + 30  # a hang guard: without the quota the loop never ends
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                sfn.stop_execution(executionArn=execution)
                raise AssertionError("the execution never hit the history quota")
            time.sleep(0.02)
        events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return described, events


def test_the_quota_is_step_functions_hard_limit() -> None:
    assert MotoAdapter(datazone_url="http://127.0.0.1:9").history_quota == HISTORY_EVENTS_QUOTA == 25_000


def test_an_execution_past_the_history_quota_fails_with_states_runtime() -> None:
    adapter = MotoAdapter(datazone_url="http://127.0.0.1:9")
    adapter.history_quota = 200
    described, events = _run(FOREVER, adapter)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "maximum number of history events (200)" in described["cause"]
    assert len(events) == 201  # the 200 the quota allows, then ExecutionFailed
    assert events[-1]["type"] == "ExecutionFailed"
    assert adapter.max_history_events == 201
    assert adapter.executions_over_quota == 1


def test_an_execution_within_the_quota_is_counted_and_untouched() -> None:
    adapter = MotoAdapter(datazone_url="http://127.0.0.1:9")
    adapter.history_quota = 200
    done = {"StartAt": "Once", "States": {"Once": {"Type": "Pass", "End": True}}}
    described, events = _run(done, adapter)
    assert described["status"] == "SUCCEEDED"
    assert adapter.max_history_events == len(events)
    assert adapter.executions_over_quota == 0


def _map_of(children: int, turns: int) -> dict[str, Any]:
    """A Distributed Map over ``children`` items, one worker, each child ``turns`` Pass states."""
    states: dict[str, dict[str, Any]] = {f"P{n}": {"Type": "Pass", "Next": f"P{n + 1}"} for n in range(turns - 1)}
    states[f"P{turns - 1}"] = {"Type": "Pass", "End": True}
    return {
        "StartAt": "Items",
        "States": {
            "Items": {"Type": "Pass", "Result": list(range(children)), "Next": "Each"},
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P0",
                    "States": states,
                },
                "End": True,
            },
        },
    }


def test_the_children_of_a_map_run_each_have_a_history_of_their_own() -> None:
    # 30 children of ~20 events each, one after another on one worker: together 600 events,
    # each far below a quota of 200. moto writes them to one list per map run; counted per
    # child, none is over (counted together, the map would have failed).
    adapter = MotoAdapter(datazone_url="http://127.0.0.1:9")
    adapter.history_quota = 200
    described, _ = _run(_map_of(30, 8), adapter)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert adapter.executions_over_quota == 0
    assert 16 <= adapter.max_history_events < 60


def test_each_child_past_the_quota_is_stopped_there() -> None:
    # Two children of ~80 events against a quota of 60: each is stopped at 60 (moto then
    # tolerates a failed child whatever the map says; the batch's map tolerates them all too).
    adapter = MotoAdapter(datazone_url="http://127.0.0.1:9")
    adapter.history_quota = 60
    _run(_map_of(2, 40), adapter)
    assert adapter.executions_over_quota == 2
    assert adapter.max_history_events == 60
