"""The batch workflow's Amazon States Language definition, as ``_batch_definition`` builds it and as
the template ships it: the same document; per asset, a structure in which throttling and quota
answers are retried with jitter, every other error becomes a record, and every path ends in a
record; around the map, the worker's bounded steps (selection, summary) and the tolerance's end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from constructs_lib import _batch_definition
from constructs_lib._handler import contract
from tests.construct.conftest import BATCHES_STACK, Synthesized

#: Stand in for the results bucket's ``Ref`` and the worker's ARN when the shipped definition is compared.
BUCKET = "RESULTS-BUCKET-REF"
WORKER = "WORKER-FUNCTION-ARN"
THROTTLED = {"DataZone.ThrottlingException", "DataZone.ServiceQuotaExceededException"}
#: The per-asset record every path ends in must say which asset it is about.
ASSET_FIELD = ("assetId.$", "$.assetId")


def _shipped(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The template's batch DefinitionString with the bucket's Ref replaced by BUCKET and the
    worker's ARN by WORKER, and the logical ids those tokens name."""
    machines = [
        v
        for v in template["Resources"].values()
        if v["Type"] == "AWS::StepFunctions::StateMachine"
        and "ForEachAsset" in json.dumps(v["Properties"]["DefinitionString"])
    ]
    (machine,) = machines
    separator, parts = machine["Properties"]["DefinitionString"]["Fn::Join"]

    def stand_in(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return BUCKET
        assert part["Fn::GetAtt"][1] == "Arn", part
        return WORKER

    named = {p["Ref"] if "Ref" in p else p["Fn::GetAtt"][0] for p in parts if not isinstance(p, str)}
    return json.loads(separator.join(stand_in(p) for p in parts)), named


@pytest.fixture(scope="module")
def shipped_definition(batches: Synthesized) -> dict[str, Any]:
    return _shipped(batches.templates[BATCHES_STACK])[0]


@pytest.fixture(scope="module")
def module_definition() -> dict[str, Any]:
    # The Batches stack has a continuous batch: its workflow has the turn states too.
    return _batch_definition.definition(BUCKET, WORKER, continuous=True)


@pytest.fixture(params=["module", "shipped"])
def definition(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each check runs on the Python dict (what a local dry run executes) and on the template's."""
    found: dict[str, Any] = request.getfixturevalue(f"{request.param}_definition")
    return found


def test_the_only_tokens_are_the_results_bucket_and_the_worker(batches: Synthesized) -> None:
    for name, template in batches.templates.items():
        _, named = _shipped(template)
        resources = template["Resources"]
        types = {resources[logical]["Type"] for logical in named}
        assert types == {"AWS::S3::Bucket", "AWS::Lambda::Function"}, name
        (worker,) = [logical for logical in named if resources[logical]["Type"] == "AWS::Lambda::Function"]
        assert resources[worker]["Properties"]["Handler"] == "entry.batch_worker", name


def test_every_stack_ships_the_module_definition_for_its_batches_types(batches: Synthesized) -> None:
    kinds = set()
    for name, template in batches.templates.items():
        batches_of = [
            r["Properties"] for r in template["Resources"].values() if r["Type"] == contract.BATCH_RESOURCE_TYPE
        ]
        single = all(len(b["Types"]) == 1 for b in batches_of)
        continuous = any(b.get(contract.BatchProp.CONTINUOUS) for b in batches_of)
        kinds.add((single, continuous))
        expected = _batch_definition.definition(BUCKET, WORKER, single_type=single, continuous=continuous)
        assert _shipped(template)[0] == expected, name
    # Both type kinds, and continuous or not, are shipped by the fixtures.
    assert {single for single, _ in kinds} == {True, False}
    assert {continuous for _, continuous in kinds} == {True, False}


def test_only_a_workflow_with_a_continuous_batch_has_the_turn_states() -> None:
    plain = _batch_definition.definition(BUCKET, WORKER)
    turns = _batch_definition.definition(BUCKET, WORKER, continuous=True)
    added = set(turns["States"]) - set(plain["States"])
    assert added == {"StartTurn", "Turn", "Turn?", "WaitForTurn"}
    assert plain["States"]["Mode?"]["Choices"] == turns["States"]["Mode?"]["Choices"]
    assert (plain["States"]["Mode?"]["Default"], turns["States"]["Mode?"]["Default"]) == ("Selection?", "StartTurn")
    # Every other state is the same: a stack without a continuous batch keeps its workflow.
    assert {k: v for k, v in turns["States"].items() if k not in added | {"Mode?"}} == {
        k: v for k, v in plain["States"].items() if k != "Mode?"
    }


def test_a_workflow_whose_batches_ask_for_one_type_sends_no_field_newer_than_the_integration() -> None:
    # Step Functions' SDK integrations may lag DataZone's model: Types came after the DataZone
    # integration, the deprecated Type did not.
    single = _map(_batch_definition.definition(BUCKET, WORKER, single_type=True))["ItemProcessor"]["States"]
    several = _map(_batch_definition.definition(BUCKET, WORKER))["ItemProcessor"]["States"]
    start, start_several = single["Start"]["Parameters"], several["Start"]["Parameters"]
    assert start["Type.$"] == "States.ArrayGetItem($.types, 0)"
    assert "Types.$" not in start
    assert start_several["Types.$"] == "$.types"
    assert "Type.$" not in start_several
    assert {k: v for k, v in start.items() if k != "Type.$"} == {
        k: v for k, v in start_several.items() if k != "Types.$"
    }


def test_shipped_definition_is_the_module_definition(
    shipped_definition: dict[str, Any], module_definition: dict[str, Any]
) -> None:
    assert shipped_definition == module_definition


def test_shipped_definition_keeps_nulls_and_the_decimal_tolerance(batches: Synthesized) -> None:
    # Stack.to_json_string would drop the nulls (a Task's input would be replaced by its answer)
    # and write 100 (which moto's ASL grammar refuses).
    raw = json.dumps(next(iter(batches.templates.values()))["Resources"])
    assert '\\"ResultPath\\":null' in raw
    assert '\\"ToleratedFailurePercentage\\":100.0' in raw


def _map(definition: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = definition["States"]["ForEachAsset"]
    return state


def test_map_reads_items_from_s3_and_takes_concurrency_from_the_input(definition: dict[str, Any]) -> None:
    each = _map(definition)
    assert each["Type"] == "Map"
    assert each["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.items.bucket", "Key.$": "$.items.key"},
    }
    assert each["MaxConcurrencyPath"] == "$.maxConcurrency"
    assert "MaxConcurrency" not in each
    assert each["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert each["ItemSelector"]["assetId.$"] == "$$.Map.Item.Value"
    assert each["ResultWriter"]["Parameters"]["Bucket"] == BUCKET
    # Every per-batch value comes from the execution input, never from the template.
    for key, value in each["ItemSelector"].items():
        assert key.endswith(".$"), key
        assert value.startswith("$"), key


def test_map_tolerates_every_failure(definition: dict[str, Any], module_definition: dict[str, Any]) -> None:
    assert _map(definition)["ToleratedFailurePercentage"] == 100
    # The module keeps a float: moto's ASL grammar refuses an integer (AWS takes either; the
    # template's JSON writes 100).
    value = _map(module_definition)["ToleratedFailurePercentage"]
    assert value == 100.0
    assert isinstance(value, float)


def _all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"])
        for branch in state.get("Branches", []):
            yield from _all_states(branch)


def _asset_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every per-asset task (inside the map)."""
    processor = _map(definition)["ItemProcessor"]
    return {name: state for name, state in _all_states(processor) if state["Type"] == "Task"}


def _tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-asset DataZone tasks."""
    return {n: t for n, t in _asset_tasks(definition).items() if t["Resource"].startswith(_batch_definition.SDK)}


def _marker_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: t for n, t in _asset_tasks(definition).items() if ":aws-sdk:s3:" in t["Resource"]}


def test_no_asset_can_fail_the_map_and_only_the_tolerance_fails_the_workflow(definition: dict[str, Any]) -> None:
    types = {state["Type"] for _, state in _all_states(_map(definition)["ItemProcessor"])}
    assert types <= {"Task", "Wait", "Pass", "Choice"}
    # start, poll, cancel (timed out, polling failed), accept/reject by rule/choices
    assert len(_tasks(definition)) == 8
    assert set(_marker_tasks(definition)) == {"Mark", "MarkRun", "Unmark"}
    assert set(_asset_tasks(definition)) == set(_tasks(definition)) | set(_marker_tasks(definition))
    top = definition["States"]
    assert [name for name, state in top.items() if state["Type"] in ("Fail", "Succeed")] == ["ToleranceExceeded"]
    assert top["ToleranceExceeded"] == {
        "Type": "Fail",
        "Error": contract.FAILURE_TOLERANCE_EXCEEDED,
        "CausePath": "$.summarize.state.message",
    }
    exceeded = top["Summarized?"]["Choices"][0]
    assert exceeded["Next"] == "ToleranceExceeded"
    assert {"Variable": "$.summarize.state.exceeded", "BooleanEquals": True} in exceeded["And"]


def _worker_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s for name, s in definition["States"].items() if s.get("Resource") == "arn:aws:states:::lambda:invoke"
    }


def test_worker_steps_hand_their_state_to_the_next_and_retry_transient_answers(definition: dict[str, Any]) -> None:
    steps = _worker_tasks(definition)
    assert set(steps) == {"Select", "Summarize", "CancelRuns", "Turn"}
    for name, step in steps.items():
        path = step["ResultPath"]
        assert path in ("$.select", "$.summarize", "$.cancel", "$.queue"), name
        assert step["Parameters"]["FunctionName"] == WORKER, name
        payload = step["Parameters"]["Payload"]
        assert payload["batch.$"] == "$$.Execution.Input", name
        assert payload["state.$"] == f"{path}.state", name
        assert step["ResultSelector"] == {"state.$": "$.Payload"}, name
        # The state starts empty, from a Pass that sets it.
        starts = [s for s in definition["States"].values() if s.get("Next") == name and s["Type"] == "Pass"]
        assert starts == [{"Type": "Pass", "Result": {"state": {}}, "ResultPath": path, "Next": name}], name
        transient = step["Retry"][0]
        assert set(transient["ErrorEquals"]) == {
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "TransientError",
        }, name
        assert _retry_budget_seconds(transient) >= 3600, name
        # A real error of the worker (a failed data source run) fails the workflow, not retried.
        assert not any({"States.ALL", "States.TaskFailed"} & set(r["ErrorEquals"]) for r in step["Retry"]), name
    assert steps["Summarize"]["Parameters"]["Payload"]["results.$"] == "$.map.ResultWriterDetails"


def test_ids_go_straight_to_the_map_and_other_selections_through_the_worker(definition: dict[str, Any]) -> None:
    top = definition["States"]
    assert definition["StartAt"] == "Mode?"
    assert top["Mode?"]["Default"] == "StartTurn"  # the continuous workflow; then Turn? -> Selection?
    choice = top["Selection?"]
    assert choice["Choices"] == [{"Variable": "$.selection.Kind", "StringEquals": "IDS", "Next": "ForEachAsset"}]
    assert choice["Default"] == "StartSelection"
    selected = top["Selected?"]
    assert [c["Next"] for c in selected["Choices"]] == ["UseSelection", "WaitForDataSource"]
    assert selected["Default"] == "Select"  # more pages: another bounded step
    assert top["WaitForDataSource"] == {"Type": "Wait", "SecondsPath": "$.select.state.waitSeconds", "Next": "Select"}
    assert top["UseSelection"]["ResultPath"] == "$.items"
    assert top["UseSelection"]["Next"] == "ForEachAsset"
    assert _map(definition)["Next"] == "StartSummary"


def test_every_task_retries_throttling_and_quota_with_full_jitter(definition: dict[str, Any]) -> None:
    for name, task in _tasks(definition).items():
        retries = task.get("Retry", [])
        covering = [r for r in retries if set(r["ErrorEquals"]) >= THROTTLED]
        assert covering, name
        for retry in covering:
            assert retry["JitterStrategy"] == "FULL", name
            assert retry["BackoffRate"] > 1, name
            assert retry["MaxDelaySeconds"] >= 60, name
            # Retried for hours, so a throttled asset is delayed, not failed.
            assert _retry_budget_seconds(retry) >= 3600, name
        for retry in retries:
            # A real error is caught and recorded, not retried as if it were throttling.
            assert not {"States.ALL", "States.TaskFailed"} & set(retry["ErrorEquals"]), name


def _retry_budget_seconds(retry: dict[str, Any]) -> float:
    delay, total = float(retry["IntervalSeconds"]), 0.0
    for _ in range(retry["MaxAttempts"]):
        total += min(delay, retry["MaxDelaySeconds"])
        delay *= retry["BackoffRate"]
    return total


def _record_after(states: dict[str, Any], name: str) -> dict[str, Any]:
    """The record a Catch's target leads to: itself, or after a best-effort cancel (a Task whose
    success and failure both go to the same record)."""
    target = states[name]
    if target["Type"] == "Task":
        assert target["Resource"].endswith(":cancelMetadataGenerationRun"), name
        assert [c["Next"] for c in target["Catch"]] == [target["Next"]], name
        target = states[target["Next"]]
    return dict(target)


def test_every_task_catches_everything_into_a_record(definition: dict[str, Any]) -> None:
    states = _map(definition)["ItemProcessor"]["States"]
    for name, task in {**_tasks(definition), "Mark": states["Mark"]}.items():
        catches = task.get("Catch", [])
        assert [c["ErrorEquals"] for c in catches] == [["States.ALL"]], name
        target = _record_after(states, catches[0]["Next"])
        assert target["Type"] == "Pass", name
        assert target["ResultPath"] == "$.record", name
        assert target["Next"] == "Unmark", name
    # The marker's own writes never fail the asset: without the run id a cancel finds the run by
    # its client token, and a marker left behind only costs a cancel a Conflict.
    assert states["MarkRun"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Schedule"}]
    assert states["Unmark"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Emit"}]


def test_each_asset_marks_its_run_in_flight_from_before_start_until_its_record(definition: dict[str, Any]) -> None:
    processor = _map(definition)["ItemProcessor"]
    states = processor["States"]
    assert processor["StartAt"] == "Mark"
    assert states["Mark"]["Next"] == "Start"
    assert states["Start"]["Next"] == "MarkRun"
    assert states["MarkRun"]["Next"] == "Schedule"
    key = f"States.Format('{{}}/{contract.INFLIGHT_FOLDER}/{{}}', $.prefix, $.assetId)"
    for name in ("Mark", "MarkRun", "Unmark"):
        assert states[name]["Parameters"]["Bucket.$"] == "$.resultsBucket", name
        assert states[name]["Parameters"]["Key.$"] == key, name
        assert states[name]["ResultPath"] is None, name
        # S3's transient answers, retried for minutes (S3.S3Exception may be a 4xx too).
        (retry,) = states[name]["Retry"]
        assert {"S3.S3Exception", "S3.SdkClientException"} <= set(retry["ErrorEquals"]), name
        assert 60 <= _retry_budget_seconds(retry) <= 900, name
    assert states["Mark"]["Resource"] == "arn:aws:states:::aws-sdk:s3:putObject"
    assert states["Mark"]["Parameters"]["Body"] == ""
    assert states["MarkRun"]["Parameters"]["Body.$"] == "$.run.id"
    assert states["Unmark"]["Resource"] == "arn:aws:states:::aws-sdk:s3:deleteObject"
    assert states["Emit"] == {"Type": "Pass", "InputPath": "$.record", "End": True}
    selector = _map(definition)["ItemSelector"]
    assert selector["resultsBucket.$"] == "$.resultsBucket"
    assert selector["prefix.$"] == "$.prefix"


def test_cancel_mode_runs_the_workers_cancel_until_done(definition: dict[str, Any]) -> None:
    top = definition["States"]
    assert top["Mode?"]["Choices"][0] == {"Variable": "$.mode", "StringEquals": "CANCEL", "Next": "StartCancel"}
    done, wait = top["Cancelled?"]["Choices"]
    assert done == {"Variable": "$.cancel.state.done", "BooleanEquals": True, "Next": "CancelDone"}
    assert wait == {"Variable": "$.cancel.state.waitSeconds", "NumericGreaterThan": 0, "Next": "CancelWait"}
    assert top["Cancelled?"]["Default"] == "CancelRuns"
    assert top["CancelWait"] == {"Type": "Wait", "SecondsPath": "$.cancel.state.waitSeconds", "Next": "CancelRuns"}
    assert top["CancelDone"]["End"] is True


def test_a_run_whose_polling_fails_is_cancelled_before_it_is_recorded(definition: dict[str, Any]) -> None:
    states = _map(definition)["ItemProcessor"]["States"]
    cancel = states[states["Poll"]["Catch"][0]["Next"]]
    assert cancel["Resource"].endswith(":cancelMetadataGenerationRun")
    assert cancel["Parameters"]["Identifier.$"] == "$.run.id"
    assert states[cancel["Next"]]["Parameters"]["status"] == "POLL_FAILED"


def test_an_execution_takes_its_turn_then_selects(definition: dict[str, Any]) -> None:
    # In a workflow with a continuous batch every RUN execution (deploy-time or continuous) waits
    # in the worker's turn step first; a CANCEL execution cancels at once.
    top = definition["States"]
    assert top["Mode?"]["Choices"] == [{"Variable": "$.mode", "StringEquals": "CANCEL", "Next": "StartCancel"}]
    assert top["Mode?"]["Default"] == "StartTurn"
    assert top["Turn"]["Parameters"]["Payload"]["action"] == "turn"
    done, wait = top["Turn?"]["Choices"]
    assert done == {"Variable": "$.queue.state.done", "BooleanEquals": True, "Next": "Selection?"}
    assert wait == {"Variable": "$.queue.state.waitSeconds", "NumericGreaterThan": 0, "Next": "WaitForTurn"}
    assert top["WaitForTurn"] == {"Type": "Wait", "SecondsPath": "$.queue.state.waitSeconds", "Next": "Turn"}


def _record_paths(state: dict[str, Any]) -> set[str]:
    return {v for k, v in state.get("Parameters", {}).items() if k.endswith(".$")}


def test_what_a_catch_keeps_is_what_its_record_reads(definition: dict[str, Any]) -> None:
    # A Catch without ResultPath replaces the state's input with the error, and the record then
    # cannot read $.assetId (a States.Runtime failure of the child execution: the asset is lost
    # from the results). So every Catch must say where the error goes: "$.error" or null.
    # A best-effort cancel between a Catch and its record keeps its input (and so the error).
    states = _map(definition)["ItemProcessor"]["States"]
    for name, task in _tasks(definition).items():
        for catch in task.get("Catch", []):
            assert "ResultPath" in catch, f"{name}: Catch without ResultPath discards the asset id"
            if states[catch["Next"]]["Type"] == "Task":
                assert states[catch["Next"]]["ResultPath"] is None, name
            reads_error = any(p.startswith("$.error") for p in _record_paths(_record_after(states, catch["Next"])))
            allowed: list[str | None] = ["$.error"] if reads_error else ["$.error", None]
            if task["Resource"].endswith(":cancelMetadataGenerationRun"):
                allowed = [None]  # best effort: the record reports the error that led here, not the Cancel's
            assert catch["ResultPath"] in allowed, name


def test_no_task_replaces_its_input(definition: dict[str, Any]) -> None:
    # A Task without ResultPath (default "$") replaces the asset's state with DataZone's answer.
    for name, task in _tasks(definition).items():
        assert "ResultPath" in task, f"{name}: a Task without ResultPath discards the asset id"
        assert task["ResultPath"] is None or task["ResultPath"].startswith("$."), name


def _successors(state: dict[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    found += [catch["Next"] for catch in state.get("Catch", [])]
    return found


def test_every_path_ends_in_a_record_of_the_asset_after_its_marker_is_removed(definition: dict[str, Any]) -> None:
    processor = _map(definition)["ItemProcessor"]
    states: dict[str, dict[str, Any]] = processor["States"]
    graph = {name: _successors(state) for name, state in states.items()}
    for name, targets in graph.items():
        assert set(targets) <= set(states), name
        ends = states[name].get("End") is True
        assert ends != bool(targets), f"{name}: a state either ends or goes on"
    # Every state is reachable from the start ...
    reachable, frontier = {processor["StartAt"]}, [processor["StartAt"]]
    while frontier:
        for target in graph[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(states)
    # ... and can reach the end: no loop without a way out.
    ending = {name for name, state in states.items() if state.get("End") is True}
    assert ending == {"Emit"}
    changed = True
    while changed:
        before = len(ending)
        ending |= {name for name, targets in graph.items() if set(targets) & ending}
        changed = len(ending) != before
    assert ending == set(states)
    # Every way to Emit passes a record and then Unmark: the records are the Passes that keep
    # their result at $.record, naming the asset and a status.
    records = {n: s for n, s in states.items() if s.get("ResultPath") == "$.record"}
    assert records
    assert {n for n, targets in graph.items() if "Unmark" in targets} == set(records)
    assert {n for n, targets in graph.items() if "Emit" in targets} == {"Unmark"}
    for name, record in records.items():
        assert record["Type"] == "Pass", name
        parameters = record["Parameters"]
        assert parameters[ASSET_FIELD[0]] == ASSET_FIELD[1], name
        assert "status" in parameters or "status.$" in parameters, name
    # And the workflow's own paths end in a Pass.
    top = definition["States"]
    assert [s["Type"] for s in top.values() if s.get("End") is True] == ["Pass", "Pass"]


def test_poll_loop_backs_off_and_gives_up_after_run_timeout_seconds_waited(definition: dict[str, Any]) -> None:
    # Executed in tests/e2e/test_batch_workflow.py; here, the shape that makes it work.
    states = _map(definition)["ItemProcessor"]["States"]
    waits = [s for s in states.values() if s["Type"] == "Wait"]
    assert waits == [{"Type": "Wait", "SecondsPath": "$.run.wait", "Next": "Poll"}]
    assert _map(definition)["ItemSelector"]["runTimeoutSeconds.$"] == "$.runTimeoutSeconds"
    ended = states["Ended?"]
    timeout = [c for c in ended["Choices"] if c.get("NumericGreaterThanEqualsPath") == "$.runTimeoutSeconds"]
    assert [(c["Variable"], c["Next"]) for c in timeout] == [("$.run.waited", "Cancel")]
    # Every way back to the Wait sets the next interval and adds it to the seconds waited.
    into_wait = [name for name, state in states.items() if state.get("Next") == "Wait"]
    assert set(into_wait) == {"Schedule", "Keep", "Cap", "Floor", "Double"}
    for name in into_wait:
        parameters = states[name]["Parameters"]
        assert {k.removesuffix(".$") for k in parameters} == {"id", "wait", "waited"}, name
    # A status the workflow does not know keeps polling (never counted as success).
    assert states[ended["Default"]]["Next"] == "Wait"
    assert states["Cap"]["Parameters"]["wait"] == _batch_definition.POLL_CAP_SECONDS


def test_unmodeled_errors_and_a_404_are_retried_for_minutes_not_hours(definition: dict[str, Any]) -> None:
    for name, task in _tasks(definition).items():
        retries = task["Retry"]
        bounded = [r for r in retries if "DataZone.DataZoneException" in r["ErrorEquals"]]
        assert len(bounded) == 1, name
        assert 60 <= _retry_budget_seconds(bounded[0]) <= 600, name
        not_found = "DataZone.ResourceNotFoundException" in bounded[0]["ErrorEquals"]
        assert not_found == (name == "Poll"), name
        # Connection failures and 503s by name get the hours-long retrier.
        (long,) = [r for r in retries if "DataZone.SdkClientException" in r["ErrorEquals"]]
        assert _retry_budget_seconds(long) >= 3600, name
        assert "DataZone.ServiceUnavailableException" in long["ErrorEquals"]


def test_client_tokens_are_derived_per_batch_request_and_asset(definition: dict[str, Any]) -> None:
    tasks = _tasks(definition)
    for name in ("Start", "AcceptRule", "AcceptChoices", "RejectRule", "RejectChoices"):
        token = tasks[name]["Parameters"]["ClientToken.$"]
        assert token.startswith("States.Hash(States.Format("), name
        assert "$.tokenSeed, $.assetId" in token, name
