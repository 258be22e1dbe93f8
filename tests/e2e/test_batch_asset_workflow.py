"""The batch workflow's per-asset child execution, executed: the definition that ships (the map's
``ItemProcessor``) runs in moto's interpreter, with the adapter, against the local DataZone endpoint.

Time is simulated: ``Wait`` states and ``Retry`` back-offs advance the endpoint's
:class:`SimulatedClock` instead of sleeping, so a child is exact and instant — one child at a time
(concurrent children would add their waits up on one clock). The recorded calls carry the
simulated time each was made at, so schedules are asserted to the second, not to the wall clock.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from constructs_local import Knobs, LocalDataZone, SimulatedClock, default_seed
from constructs_local.datazone.models import Call
from constructs_local.stepfunctions.interpreter import MotoAdapter, access_key_for, moto_only

from constructs_lib import _batch_definition
from constructs_lib._handler import contract
from tests.e2e.cases import FAST_RUNS

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/batch-workflow-test"
DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
#: Step Functions' hard quota of history events per Standard execution (developer guide, "Quotas").
HISTORY_EVENTS_QUOTA = 25_000
DAY = 24 * 3600  # contract.MAX_RUN_TIMEOUT_SECONDS: the longest run_timeout a batch may set
RESULTS, PREFIX = "batch-results-test", "batches/Batch/mgb-test"


@dataclass
class Child:
    """One finished child execution: its status, its record, its history and the calls it made."""

    status: str
    record: dict[str, Any]
    events: list[dict[str, Any]]
    calls: list[Call]
    started_at: float

    def at(self, operation: str) -> list[float]:
        """Simulated seconds after the child's Start call at which ``operation`` was called."""
        return [c.at - self.started_at for c in self.calls if c.operation == operation]

    def failures(self) -> list[str]:
        return [e["taskFailedEventDetails"]["error"] for e in self.events if e["type"] == "TaskFailed"]


def _execution_input(**changes: Any) -> contract.BatchInput:
    """An execution input as the handler writes it (``contract.BatchInput``)."""
    execution_input: contract.BatchInput = {
        "mode": "RUN",
        "domainId": DOMAIN,
        "projectId": PROJECT,
        "types": ["BUSINESS_DESCRIPTIONS"],
        "selection": {"Kind": "IDS", "Bucket": RESULTS, "Key": "items.json"},
        "items": {"bucket": RESULTS, "key": "items.json"},
        "resultsBucket": RESULTS,
        "prefix": PREFIX,
        "executionArn": "arn:aws:states:us-east-1:000000000000:execution:batch:test",
        "failureTolerance": 0,
        "selectionWaitSeconds": 1800,
        "allowEmptySelection": False,
        "maxConcurrency": 1,
        "pollSeconds": 10,
        "runTimeoutSeconds": 1800,
        "tokenSeed": "batch-workflow-test",
        "predictions": {"mode": "NONE", "rule": {}, "choices": []},
        "resource": {"stackId": "stack", "logicalResourceId": "Batch"},
    }
    execution_input.update(changes)  # type: ignore[typeddict-item]
    return execution_input


def _child_input(execution_input: contract.BatchInput, asset_id: str) -> dict[str, Any]:
    """What the map's ItemSelector hands a child for one item (its paths resolved by hand)."""
    selector = _batch_definition.definition("results", "worker")["States"]["ForEachAsset"]["ItemSelector"]
    found: dict[str, Any] = {}
    for key, path in selector.items():
        name = key.removesuffix(".$")
        found[name] = asset_id if path == "$$.Map.Item.Value" else dict(execution_input)[path.removeprefix("$.")]
    return found


def _child_definition() -> dict[str, Any]:
    processor = _batch_definition.definition("results", "worker")["States"]["ForEachAsset"]["ItemProcessor"]
    return {"StartAt": processor["StartAt"], "States": processor["States"]}


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


@pytest.fixture
def dz() -> Iterator[LocalDataZone]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalDataZone(seed=default_seed(), clock=SimulatedClock(), knobs=Knobs(**FAST_RUNS)) as endpoint:
        endpoint.backend.register_principal(access_key_for(ROLE), ROLE)
        endpoint.backend.add_membership(DOMAIN, PROJECT, ROLE, "PROJECT_CONTRIBUTOR")
        yield endpoint


def run_child(dz: LocalDataZone, asset_id: str = "exampleasset1", **changes: Any) -> Child:
    clock = dz.backend.clock
    assert isinstance(clock, SimulatedClock)
    first_call = len(dz.calls)
    # Wait and Retry sleep on the endpoint's SimulatedClock (the adapter's time fix with a clock).
    with moto_only(), MotoAdapter(datazone_url=dz.url, clock=clock):
        sfn = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
        # The child's in-flight marker goes to the results bucket.
        boto3.client("s3", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s").create_bucket(
            Bucket=RESULTS
        )
        machine = sfn.create_state_machine(name="child", definition=json.dumps(_child_definition()), roleArn=ROLE)
        child_input = _child_input(_execution_input(**changes), asset_id)
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(child_input))
        deadline = time.monotonic() + 120  # a hang guard only: simulated time makes a child take ~1 s
        while (described := sfn.describe_execution(executionArn=arn["executionArn"]))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the child execution never ended"
            time.sleep(0.01)
        events = _history(sfn, arn["executionArn"])
    calls = dz.calls[first_call:]
    starts = [c.at for c in calls if c.operation == "StartMetadataGenerationRun"]
    record = json.loads(described["output"]) if described.get("output") else {}
    return Child(described["status"], record, events, calls, starts[0] if starts else 0.0)


def _schedule(poll_seconds: int, run_timeout: int) -> list[int]:
    """The poll times the definition promises, written out by hand: the interval starts at the
    poll interval (at least 1 s), doubles up to the cap (an interval above the cap is kept), and
    the loop cancels at the first poll at or after run_timeout."""
    times, now, wait = [], 0, poll_seconds
    cap = _batch_definition.POLL_CAP_SECONDS
    while True:
        now += wait
        times.append(now)
        if now >= run_timeout:
            return times
        wait = max(1, wait) if wait < 1 else (wait if wait >= cap else min(cap, 2 * wait))


# -- issue 15 item 9: every transient answer is retried ------------------------------------------

TRANSIENT = [
    ("throttle_calls", "DataZone.ThrottlingException"),  # 429
    ("server_error_calls", "DataZone.InternalServerException"),  # 500
    ("disconnect_calls", "DataZone.SdkClientException"),  # no answer at all
]


@pytest.mark.parametrize("operation", ["StartMetadataGenerationRun", "GetMetadataGenerationRun", "AcceptPredictions"])
@pytest.mark.parametrize(("knob", "error"), TRANSIENT, ids=[k for k, _ in TRANSIENT])
def test_transient_answers_are_retried_past_the_bounded_budget(
    dz: LocalDataZone, knob: str, error: str, operation: str
) -> None:
    # More failures in a row than the bounded retrier allows: these get the hours-long one.
    failures = _batch_definition.BOUNDED_BACKOFF["MaxAttempts"] + 4
    dz.knobs.update({knob: failures, "fault_operations": [operation]})
    child = run_child(dz, predictions=ACCEPT)
    assert child.record["status"] == "SUCCEEDED", child.record
    assert child.record["revision"] == "2"
    assert child.failures() == [error] * failures
    assert Counter(c.operation for c in child.calls)["StartMetadataGenerationRun"] == (
        failures + 1 if operation == "StartMetadataGenerationRun" else 1
    )


def test_quota_refusals_are_retried_until_a_run_ends(dz: LocalDataZone) -> None:
    # One run in flight (another asset's, 26 s) against a quota of one: Start answers 402 until it ends.
    client = boto3.client(
        "datazone", endpoint_url=dz.url, region_name=REGION, aws_access_key_id="dev", aws_secret_access_key="dev"
    )
    client.start_metadata_generation_run(
        domainIdentifier=DOMAIN,
        owningProjectIdentifier=PROJECT,
        target={"type": "ASSET", "identifier": "exampleasset2"},
        types=["BUSINESS_DESCRIPTIONS"],
    )
    dz.knobs.max_active_runs = 1
    child = run_child(dz)
    assert child.record["status"] == "SUCCEEDED"
    refused = [c.status for c in child.calls if c.operation == "StartMetadataGenerationRun"]
    assert refused[0] == 402
    assert refused[-1] == 200
    assert set(child.failures()) == {"DataZone.ServiceQuotaExceededException"}


@pytest.mark.parametrize("operation", ["StartMetadataGenerationRun", "GetMetadataGenerationRun"])
def test_unmodeled_answers_are_retried_for_minutes_only(dz: LocalDataZone, operation: str) -> None:
    # A 503 without an error type: DataZone.DataZoneException, which may as well be a 4xx no wait
    # cures; 8 retries with a 1-minute cap (242 s at most), then the asset is recorded.
    dz.knobs.update({"unavailable_calls": 1000, "fault_operations": [operation]})
    dz.knobs.final_status = {"exampleasset1": "IN_PROGRESS"}  # still going when polling gives up
    child = run_child(dz)
    attempts = 1 + _batch_definition.BOUNDED_BACKOFF["MaxAttempts"]
    assert child.failures() == ["DataZone.DataZoneException"] * attempts
    answered = child.at(operation) if operation != "StartMetadataGenerationRun" else []
    if answered:
        assert answered[-1] - answered[0] <= 2 + 4 + 8 + 16 + 32 + 60 + 60 + 60
    expected = "START_FAILED" if operation == "StartMetadataGenerationRun" else "POLL_FAILED"
    assert child.record["status"] == expected
    assert child.record["error"] == "DataZone.DataZoneException"
    assert "Status Code: 503" in child.record["cause"]


def test_a_run_whose_polling_fails_for_good_is_cancelled_before_it_is_recorded(dz: LocalDataZone) -> None:
    dz.knobs.update({"unavailable_calls": 1000, "fault_operations": ["GetMetadataGenerationRun"]})
    dz.knobs.final_status = {"exampleasset1": "IN_PROGRESS"}
    child = run_child(dz)
    (run,) = dz.backend.runs.values()
    assert child.record["status"] == "POLL_FAILED"
    assert child.record["runId"] == run.id
    cancels = [c for c in child.calls if c.operation == "CancelMetadataGenerationRun"]
    assert [(c.params["identifier"], c.status) for c in cancels] == [(run.id, 200)]
    assert [c.operation for c in child.calls][-1] == "CancelMetadataGenerationRun"
    assert dz.backend.run_status(DOMAIN, run.id) == "CANCELED"


def test_a_failed_cancel_still_records_the_poll_failure(dz: LocalDataZone) -> None:
    # Best effort: the Cancel's own failure (here the same unmodeled 503) does not hide the record.
    dz.knobs.update(
        {"unavailable_calls": 1000, "fault_operations": ["GetMetadataGenerationRun", "CancelMetadataGenerationRun"]}
    )
    child = run_child(dz)
    assert child.record["status"] == "POLL_FAILED"
    assert child.record["error"] == "DataZone.DataZoneException"


# -- issue 15 item 8: the poll loop --------------------------------------------------------------


def test_run_timeout_cancels_at_the_first_poll_past_it_with_a_backed_off_interval(dz: LocalDataZone) -> None:
    dz.knobs.final_status = {"exampleasset1": "IN_PROGRESS"}  # never ends
    child = run_child(dz, pollSeconds=10, runTimeoutSeconds=1800)
    # 10, 20, 40, 80, then the 120 s cap: polls at 10, 30, 70, 150, 270, ..., 1830.
    expected = [10, 30, 70, 150, *range(270, 1831, 120)]
    assert _schedule(10, 1800) == expected
    assert child.at("GetMetadataGenerationRun") == expected  # the first poll comes after a Wait
    assert child.at("CancelMetadataGenerationRun") == [1830]
    assert child.status == "SUCCEEDED"
    (run,) = dz.backend.runs.values()
    assert child.record == {
        "assetId": "exampleasset1",
        "status": "TIMED_OUT",
        "runId": run.id,
        "lastStatus": "IN_PROGRESS",
    }
    assert dz.backend.run_status(DOMAIN, run.id) == "CANCELED"


@pytest.mark.parametrize(("poll_seconds", "run_timeout"), [(0, 60), (7, 7), (300, 1000)])
def test_poll_schedule_holds_for_odd_intervals(dz: LocalDataZone, poll_seconds: int, run_timeout: int) -> None:
    # 0 s (a local dry run may ask for it) must still back off, or run_timeout would never come;
    # an interval above the cap is kept.
    dz.knobs.final_status = {"exampleasset1": "IN_PROGRESS"}
    child = run_child(dz, pollSeconds=poll_seconds, runTimeoutSeconds=run_timeout)
    assert child.at("GetMetadataGenerationRun") == _schedule(poll_seconds, run_timeout)
    assert child.record["status"] == "TIMED_OUT"


def _events_per_state() -> dict[str, int]:
    """History events a state writes when it succeeds the first time (Step Functions developer
    guide, "HistoryEvent": a Task is TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded,
    TaskStateExited; a Wait, Pass or Choice is Entered and Exited). A retried attempt adds three
    (TaskScheduled, TaskStarted, TaskFailed)."""
    return {"Task": 5, "Wait": 2, "Pass": 2, "Choice": 2}


def worst_case_events(poll_seconds: int, run_timeout: int) -> int:
    """A child whose run never ends, computed from the definition: the states it passes through
    (the Choice's rules read from the definition) times the events each writes."""
    states = _child_definition()["States"]
    per = _events_per_state()
    ended = states["Ended?"]
    rules = {rule["Next"]: rule for rule in ended["Choices"]}
    events = 2  # ExecutionStarted, ExecutionSucceeded
    # The in-flight marker: written before Start, given the run id after it, removed with the
    # record (which the child's output, Emit, then reads).
    events += per[states["Mark"]["Type"]] + per[states["Start"]["Type"]] + per[states["MarkRun"]["Type"]]
    events += per[states["Schedule"]["Type"]]
    wait, waited = poll_seconds, poll_seconds
    while True:
        events += per[states["Wait"]["Type"]] + per[states["Poll"]["Type"]] + per[ended["Type"]]
        if waited >= run_timeout:
            assert rules["Cancel"]["NumericGreaterThanEqualsPath"] == "$.runTimeoutSeconds"
            ending = ("Cancel", "TimedOut", "Unmark", "Emit")
            return events + sum(per[states[name]["Type"]] for name in ending)
        if wait >= rules["Keep"]["NumericGreaterThanEquals"]:
            nxt = wait
        elif wait >= rules["Cap"]["NumericGreaterThanEquals"]:
            nxt = states["Cap"]["Parameters"]["wait"]
        elif wait < rules["Floor"]["NumericLessThan"]:
            nxt = states["Floor"]["Parameters"]["wait"]
        else:
            assert states["Double"]["Parameters"]["wait.$"] == "States.MathAdd($.run.wait, $.run.wait)"
            nxt = wait + wait
        events += per["Pass"]  # one of Keep, Cap, Floor, Double
        wait, waited = nxt, waited + nxt


def test_a_24_hour_run_timeout_is_reachable_far_below_the_history_quota() -> None:
    # Every poll interval a batch may set (PollSeconds 0-3600): the worst is the smallest.
    worst = max(range(0, 3601), key=lambda p: worst_case_events(p, DAY))
    events = worst_case_events(worst, DAY)
    assert worst == 0
    polls = len(_schedule(worst, DAY))
    assert polls == 727
    # 11 a poll; start, schedule, cancel, record: 14; the in-flight marker (write, id, removal)
    # and the output: 17.
    assert events == 11 * polls + 14 + 17 == 8_028
    assert events <= HISTORY_EVENTS_QUOTA // 3  # two thirds left for retried calls (3 events each)
    assert worst_case_events(contract.POLL_INTERVAL_SECONDS, DAY) < events
    # A fixed 10 s interval (the workflow before this change) would not have made it to 24 h.
    assert DAY // contract.POLL_INTERVAL_SECONDS * 11 > HISTORY_EVENTS_QUOTA


def test_a_24_hour_run_timeout_executed_writes_the_computed_history(dz: LocalDataZone) -> None:
    dz.knobs.final_status = {"exampleasset1": "IN_PROGRESS"}
    child = run_child(dz, pollSeconds=0, runTimeoutSeconds=DAY)
    assert child.record["status"] == "TIMED_OUT"
    polls = child.at("GetMetadataGenerationRun")
    assert polls == _schedule(0, DAY)
    assert len(polls) == 727
    assert child.at("CancelMetadataGenerationRun") == [polls[-1]]
    assert polls[-1] - DAY < _batch_definition.POLL_CAP_SECONDS
    assert len(child.events) == worst_case_events(0, DAY)
    kinds = Counter(e["type"] for e in child.events)
    assert kinds["WaitStateEntered"] == len(polls)


@pytest.mark.parametrize("final", ["PARTIALLY_SUCCEEDED", "CANCELED", "FAILED", "SUCCEEDED"])
def test_every_final_status_ends_the_loop(dz: LocalDataZone, final: str) -> None:
    # A run ends after 4 + 22 s (the endpoint's defaults): polls at 10 and 30, then no more.
    dz.knobs.final_status = {"exampleasset1": final}
    child = run_child(dz)
    assert child.at("GetMetadataGenerationRun") == [10, 30]
    assert child.record["status"] == final
    assert not child.at("CancelMetadataGenerationRun")


def test_poll_retries_a_404_right_after_start(dz: LocalDataZone) -> None:
    dz.knobs.not_found_after_start_seconds = 15  # the first poll (at 10 s) is answered 404
    child = run_child(dz)
    answers = [c.status for c in child.calls if c.operation == "GetMetadataGenerationRun"]
    assert answers[0] == 404
    assert answers[-1] == 200
    assert child.record["status"] == "SUCCEEDED"
    assert set(child.failures()) == {"DataZone.ResourceNotFoundException"}


# -- predictions and client tokens ---------------------------------------------------------------

ACCEPT = {"mode": "ACCEPT_RULE", "rule": {}, "choices": []}
REJECT = {"mode": "REJECT_RULE", "rule": {}, "choices": []}


def test_reject_records_the_asset_revision_it_answers(dz: LocalDataZone) -> None:
    child = run_child(dz, "exampleasset2", predictions=REJECT)  # seeded at revision 3
    assert [c.operation for c in child.calls][-1] == "RejectPredictions"
    assert child.record == {
        "assetId": "exampleasset2",
        "runId": child.record["runId"],
        "status": "SUCCEEDED",
        "revision": "4",
    }


def test_start_accept_and_reject_use_different_client_tokens(dz: LocalDataZone) -> None:
    accepted = run_child(dz, predictions=ACCEPT)
    assert accepted.record["revision"] == "2"
    # The same batch request and asset again, rejecting: Start's token is the same (DataZone
    # answers with the same run), Reject's is its own (a Reject with Accept's token would be
    # taken for the Accept already done).
    rejected = run_child(dz, predictions=REJECT)
    tokens: dict[str, set[str]] = {}
    for call in accepted.calls + rejected.calls:
        if "clientToken" in call.params:
            tokens.setdefault(call.operation, set()).add(call.params["clientToken"])
    assert set(tokens) == {"StartMetadataGenerationRun", "AcceptPredictions", "RejectPredictions"}
    assert all(len(found) == 1 for found in tokens.values()), tokens
    assert len(set.union(*tokens.values())) == 3
    assert rejected.record["runId"] == accepted.record["runId"]
