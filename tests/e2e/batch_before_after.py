"""Issue 15's items against the library at 20c2370 and the current one, side by side.

``python -m tests.e2e.batch_before_after [--write docs/e2e-batch-cases.md]``

"Before" is the whole library at :data:`REV` (construct, workflow definition and handler asset,
taken with ``git archive``); "now" is this tree. One batch app (:data:`APP`, only props both
versions know) is synthesized by each in a subprocess (``PYTHONPATH`` at the library's root), and
both cloud assemblies are deployed with the CURRENT local harness (LocalCloudFormation +
LocalStepFunctions + LocalDataZone): it runs any template, so only the library differs. What a dry
run cannot show in seconds is shown where it can be: the synthesized template (item 10), the
functions that do the work with moto S3 (items 1 and 2: 100,000 assets), one child execution on a
simulated clock (item 8: a 24-hour run_timeout), the local harness at both revisions (item 11).
Each item's row says which. The doc runs items 1, 2 and 8 at those sizes; the test
(:attr:`Sides.full` False) at smaller ones with the same verdict logic.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore import xform_name
from botocore.paginate import Paginator
from constructs_local import Knobs, LocalCloudFormation, LocalDataZone, RealClock, SimulatedClock, default_seed
from constructs_local.awslambda import runtime as lambda_runtime
from constructs_local.awslambda.runtime import RUNTIME_BASELINE_MB, LambdaContext
from constructs_local.clock import Clock
from constructs_local.datazone.models import DataZoneBackend
from constructs_local.seed import with_generated_assets
from constructs_local.stepfunctions.interpreter import (
    _RETRIER,
    _WAIT,
    HISTORY_EVENTS_QUOTA,
    LocalStepFunctions,
    MotoAdapter,
    _module,
    access_key_for,
    moto_only,
)

REV = "20c2370"
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "e2e-batch-cases.md"
DOMAIN, PROJECT = "dzd_example123", "exampleproject1"
SOURCE = "tablessource1"
REGION = "us-east-1"
#: Simulated seconds per real second while a batch's workflow runs on moto's threads.
SPEED = 50.0
#: Enough assets in flight to show a count that grows with them (item 5).
IN_FLIGHT = 12
SMALL_IN_FLIGHT = 3
FLIGHT_ASSETS = SMALL_IN_FLIGHT + IN_FLIGHT  # flight00.. : distinct per batch (DataZone refuses a second run)

#: The batch app, synthesized by both revisions: only props 20c2370's construct knows.
APP = textwrap.dedent(
    f"""
    import sys
    import aws_cdk as cdk
    from constructs_lib import AssetSelection, MetadataGenerationBatch

    app = cdk.App(outdir=sys.argv[1])
    common = dict(domain_id={DOMAIN!r}, project_id={PROJECT!r})
    two = AssetSelection.ids(["exampleasset1", "exampleasset2"])
    MetadataGenerationBatch(cdk.Stack(app, "Waits"), "Pair", assets=two, **common)
    MetadataGenerationBatch(
        cdk.Stack(app, "Later"), "Pair", assets=two, wait_for_completion=False, **common
    )
    for name, ids in (("First", ["exampleasset1", "exampleasset2"]), ("Second", ["exampleasset2"])):
        MetadataGenerationBatch(
            cdk.Stack(app, name), "Same", assets=AssetSelection.ids(ids), max_concurrency=1,
            wait_for_completion=False, **common,
        )
    for name, first, count in (("FewInFlight", 0, {SMALL_IN_FLIGHT}), ("ManyInFlight", {SMALL_IN_FLIGHT}, {IN_FLIGHT})):
        MetadataGenerationBatch(
            cdk.Stack(app, name), "Many",
            assets=AssetSelection.ids([f"flight{{i:02d}}" for i in range(first, first + count)]),
            max_concurrency=count, wait_for_completion=False, **common,
        )
    MetadataGenerationBatch(
        cdk.Stack(app, "Source"), "Imported", assets=AssetSelection.data_source({SOURCE!r}),
        max_concurrency=50, **common,
    )
    for name, minutes in (("Day", 24 * 60), ("DayTenth", 144)):
        MetadataGenerationBatch(
            cdk.Stack(app, name), "Long", assets=AssetSelection.ids(["exampleasset1"]),
            run_timeout=cdk.Duration.minutes(minutes), wait_for_completion=False, **common,
        )
    cat = cdk.Stack(app, "cat")
    MetadataGenerationBatch(cat, "Catalog", assets=AssetSelection.ids(["exampleasset1"]), **common)
    cdk.CfnResource(cat, "Sibling", type="AWS::SQS::Queue")
    app.synth()
    """
)


def before_library(target: Path, rev: str = REV) -> Path:
    """``rev``'s constructs_lib and lambda_src under ``target`` (constructs_lib/_handler stays a symlink)."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", rev, "constructs_lib", "lambda_src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    if not (target / "constructs_lib" / "_handler" / "index.py").is_file():
        raise RuntimeError(f"{rev}'s constructs_lib/_handler did not survive git archive")
    return target


def synthesize(library: Path, outdir: Path) -> Path:
    """:data:`APP` synthesized by the library at ``library`` (its root: constructs_lib, lambda_src)."""
    env = {**os.environ, "PYTHONPATH": str(library)}
    # -P keeps the working directory off sys.path; cwd is the library so nothing else is found first.
    subprocess.run(
        [sys.executable, "-P", "-c", APP, str(outdir)], cwd=library, env=env, check=True, capture_output=True
    )
    _sibling_beside_the_batch(outdir / "cat.template.json")
    return outdir


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "Ref" in value:
            yield str(value["Ref"])
        if "Fn::GetAtt" in value:
            yield str(value["Fn::GetAtt"][0])
        for inner in value.values():
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def _sibling_beside_the_batch(path: Path) -> None:
    """The sibling waits for what the batch's custom resource waits for, so that it starts with
    the batch's Create and its injected failure comes a set number of simulated seconds into it."""
    template = json.loads(path.read_text())
    resources = template["Resources"]
    [batch] = [r for r in resources.values() if r["Type"] == "Custom::DataZoneMetadataGenerationBatch"]
    depends = batch.get("DependsOn", [])
    needs = {depends} if isinstance(depends, str) else set(depends)
    needs |= {name for name in _references(batch.get("Properties", {})) if name in resources}
    resources["Sibling"]["DependsOn"] = sorted(needs)
    path.write_text(json.dumps(template, indent=1))


# -- the local harness ---------------------------------------------------------------------------


def seed() -> dict[str, Any]:
    """The default seed, the in-flight assets of item 5 and a data source of 120 generated assets."""
    result = default_seed()
    domain = result["domains"][DOMAIN]
    for index in range(FLIGHT_ASSETS):
        domain["assets"][f"flight{index:02d}"] = dict(domain["assets"]["exampleasset1"])
    result["generatedAssets"] = GENERATED
    domain["dataSources"] = {SOURCE: {"project": PROJECT, "type": "GLUE", "name": "tables", "firstRun": "finished"}}
    return with_generated_assets(result)


GENERATED = 120  # a data source's import: three pages of 50 activities


@contextlib.contextmanager
def endpoint(**knobs: Any) -> Iterator[Any]:
    fast = Knobs(submitted_seconds=2, in_progress_seconds=6, data_source_running_seconds=20)
    fast.update(knobs)
    with LocalDataZone(seed=seed(), clock=RealClock(speed=SPEED), knobs=fast) as dz:
        yield dz


@contextlib.contextmanager
def world() -> Iterator[Any]:
    """A moto world (Step Functions, S3, the workflow's Lambdas) that outlives each command."""
    logging.getLogger("moto").setLevel(logging.ERROR)
    with endpoint() as placeholder, LocalStepFunctions(datazone_url=placeholder.url, speed=SPEED) as steps:
        yield steps


def replay(assembly: Path, dz: Any, steps: Any, state: Path | None = None, **options: Any) -> Any:
    steps.adapter.datazone_url = dz.url
    if state is not None:
        state.unlink(missing_ok=True)  # every scenario starts with nothing deployed
    return LocalCloudFormation(assembly, endpoint=dz, stepfunctions=steps, state_file=state, **options)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """A hang guard (real seconds), never an assertion on timing."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"never happened: {what}")
        time.sleep(0.02)


def starts(dz: Any) -> list[Any]:
    return [c for c in dz.calls if c.operation == "StartMetadataGenerationRun" and c.status == 200]


def read_s3(steps: Any, location: str) -> Any:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return json.loads(steps.client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read())


def summaries(steps: Any) -> list[str]:
    """Every summary.json in the world's buckets."""
    s3 = steps.client("s3", REGION)
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            found += [
                f"s3://{bucket['Name']}/{o['Key']}"
                for o in page.get("Contents", [])
                if o["Key"].endswith("summary.json")
            ]
    return found


def first_line(text: str | None, limit: int = 120) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    line = line.removeprefix("Received response status [FAILED] from custom resource. Message returned: Error: ")
    return line[:limit]


@dataclass
class Observation:
    """What one side did in one item: whether the item's condition holds, and in words."""

    holds: bool
    text: str
    facts: dict[str, Any]


@dataclass
class Sides:
    """Both cloud assemblies and where each library's files are."""

    before: Path
    now: Path
    before_lib: Path
    scratch: Path
    #: Items 1, 2 and 8 at the sizes the doc shows; False: the test's scaled-down variants (same
    #: verdict logic, smaller numbers; each item's row says how it scales).
    full: bool = True

    def assembly(self, side: str) -> Path:
        return self.before if side == "before" else self.now

    def handler_dir(self, side: str) -> Path:
        lib = self.before_lib if side == "before" else ROOT
        return lib / "lambda_src" / "metadata_generation_run"


# -- the items, each on one side -----------------------------------------------------------------


def item_9_transient(sides: Sides, side: str) -> Observation:
    """A 503 without an error type, then a dropped connection, on StartMetadataGenerationRun."""
    with (
        world() as steps,
        endpoint(unavailable_calls=1, disconnect_calls=1, fault_operations=["StartMetadataGenerationRun"]) as dz,
    ):
        [result] = replay(sides.assembly(side), dz, steps).deploy(["Waits"])
        answered = Counter(str(c.status) for c in dz.calls if c.operation == "StartMetadataGenerationRun")
    reason = result.reason or ""
    facts = {"status": result.status, "start_answers": dict(answered), "reason": reason}
    holds = result.status == "CREATE_COMPLETE"
    recorded = sorted(set(re.findall(r"(\w+) ((?:START|POLL)_FAILED): ([\w.]+)", reason)))
    facts["recorded"] = recorded
    # Which child's call meets which fault depends on thread timing: say only what is certain.
    text = f"{result.status}; " + (
        "an asset recorded START_FAILED (a 503 or a dropped connection, not retried)"
        if recorded
        else "both faults retried, every asset SUCCEEDED"
    )
    return Observation(holds, text, facts)


def _answers(answered: Counter[str]) -> str:
    named = {"0": "dropped", "200": "200", "503": "503"}
    return ", ".join(f"{named.get(status, status)} x{count}" for status, count in sorted(answered.items()))


def item_3_no_wait(sides: Sides, side: str) -> Observation:
    """wait_for_completion=False, one of two assets FAILED, failure_tolerance 0: after the execution ends."""
    with world() as steps, endpoint(final_status={"exampleasset2": "FAILED"}) as dz:
        [result] = replay(sides.assembly(side), dz, steps).deploy(["Later"])
        data = result.requests[-1].response.data
        sfn = steps.client("stepfunctions", REGION)
        arn = str(data["ExecutionArn"])
        wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "the execution ended")
        execution = sfn.describe_execution(executionArn=arn)
        written = summaries(steps)
        summary = read_s3(steps, written[0]) if written else None
    facts = {
        "deploy": result.status,
        "counts": (data.get("SucceededCount"), data.get("FailedCount")),
        "summary_attribute": data.get("Summary", ""),
        "execution": execution["status"],
        "error": execution.get("error"),
        "summary": summary,
    }
    holds = (
        summary is not None
        and summary.get("counts") == {"FAILED": 1, "SUCCEEDED": 1}
        and str(data.get("Summary", "")).endswith("summary.json")
        and execution["status"] == "FAILED"
        and execution.get("error") == "FailureToleranceExceeded"
    )
    attribute = "an s3://…/summary.json location" if str(data.get("Summary", "")).startswith("s3://") else "“”"
    text = (
        f"deploy {result.status}, counts {'/'.join(map(str, facts['counts']))}, `Summary` {attribute}; "
        f"execution ended {execution['status']}"
        + (f" ({execution['error']})" if execution.get("error") else "")
        + ("; summary.json " + json.dumps(summary["counts"]) if summary else "; no summary.json written")
    )
    return Observation(holds, text, facts)


def item_4_replacement(sides: Sides, side: str) -> Observation:
    """Two batches (wait_for_completion=False, max_concurrency=1, runs that never end): First over
    exampleasset1 and exampleasset2 (its first run holds it on asset 1), Second over exampleasset2.
    Deploy First, deploy Second, destroy First (what a replacement's cleanup Delete does)."""
    never = {"exampleasset1": "IN_PROGRESS", "exampleasset2": "IN_PROGRESS"}
    with world() as steps, endpoint(final_status=never) as dz:
        cfn = replay(sides.assembly(side), dz, steps, sides.scratch / f"state-4-{side}.json")
        cfn.deploy(["First"])
        wait_for(lambda: len(starts(dz)) >= 1, "First's run started")
        cfn.deploy(["Second"])
        wait_for(lambda: len(starts(dz)) >= 2, "Second's run started")
        [destroyed] = cfn.destroy(["First"])
        runs = sorted(dz.backend.runs.values(), key=lambda run: run.created_at)
        statuses = [dz.backend.run_status(DOMAIN, run.id) for run in runs]
        assets = [run.asset_id for run in runs]
        steps.stop_executions()
    facts = {"destroy": destroyed.status, "runs": statuses, "assets": assets}
    holds = assets == ["exampleasset1", "exampleasset2"] and statuses == ["CANCELED", "IN_PROGRESS"]
    text = f"destroy First {destroyed.status}; First's run {statuses[0]}, **Second's run {statuses[1]}**"
    return Observation(holds, text.replace("**", "") if holds else text, facts)


HANDLER_DATAZONE_WORK = ("CancelMetadataGenerationRun", "ListMetadataGenerationRuns")


def item_5_cancel(sides: Sides, side: str) -> Observation:
    """Destroy a batch with 3 runs in flight, then one with 12: the Cancel/List calls made inside
    each of the custom resource's handler invocations, and the runs cancelled in all."""
    with world() as steps, endpoint(final_status={f"flight{i:02d}": "IN_PROGRESS" for i in range(FLIGHT_ASSETS)}) as dz:
        cfn = replay(sides.assembly(side), dz, steps, sides.scratch / f"state-5-{side}.json")
        cfn.deploy(["FewInFlight", "ManyInFlight"])
        wait_for(lambda: len(starts(dz)) >= FLIGHT_ASSETS, "every run started")
        per_delete: dict[int, dict[str, Any]] = {}
        for count, stack in ((SMALL_IN_FLIGHT, "FewInFlight"), (IN_FLIGHT, "ManyInFlight")):
            [destroyed] = cfn.destroy([stack])
            [delete] = [r for r in destroyed.requests if r.request_type == "Delete"]
            invocations = [i for run in delete.runs for i in run.invocations]
            inside = [
                sum(
                    1
                    for c in dz.calls
                    if c.operation in HANDLER_DATAZONE_WORK
                    and i.started_at <= c.at <= i.started_at + i.duration_seconds
                )
                for i in invocations
            ]
            per_delete[count] = {"status": destroyed.status, "most_in_one_invocation": max(inside, default=0)}
        cancelled = sum(1 for c in dz.calls if c.operation == "CancelMetadataGenerationRun" and c.status == 200)
        steps.stop_executions()
    facts = {"per_delete": per_delete, "cancelled": cancelled}
    few, many = per_delete[SMALL_IN_FLIGHT], per_delete[IN_FLIGHT]
    holds = (
        cancelled == FLIGHT_ASSETS
        and few["most_in_one_invocation"] == many["most_in_one_invocation"] == 0
        and all(d["status"] == "DELETE_COMPLETE" for d in per_delete.values())
    )
    text = (
        "Cancel/List calls inside one handler invocation: "
        + ", ".join(f"{d['most_in_one_invocation']} with {count} in flight" for count, d in per_delete.items())
        + f"; {cancelled} of {FLIGHT_ASSETS} runs cancelled"
        + ("" if holds else " (all inside the Delete's onEvent)")
    )
    return Observation(holds, text, facts)


def _cat(sides: Sides, side: str, fail_after: float, throttled_starts: int = 0) -> dict[str, Any]:
    """Stack ``cat``: its batch (one asset, a run that never ends) and a sibling that fails
    ``fail_after`` simulated seconds into the stack's creation; Step Functions answers the first
    ``throttled_starts`` StartExecution calls of a batch run with ThrottlingException."""
    with world() as steps, endpoint(final_status={"exampleasset1": "IN_PROGRESS"}) as dz:
        cfn = replay(sides.assembly(side), dz, steps, fail_resources={"Sibling": fail_after})
        with throttled_batch_starts(throttled_starts, dz.backend.clock) as start_calls:
            [result] = cfn.deploy(["cat"])
            time.sleep(1.0)  # room for a waiter CloudFormation abandoned to start something (50 simulated s)
        sfn = steps.client("stepfunctions", REGION)
        executions = [
            e["status"]
            for machine in sfn.list_state_machines()["stateMachines"]
            if "Batch" in machine["name"]
            for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
            # the workflow's RUN executions (a CANCEL execution, now, starts none)
            if json.loads(sfn.describe_execution(executionArn=e["executionArn"]).get("input") or "{}").get(
                "mode", "RUN"
            )
            == "RUN"
        ]
        runs = [dz.backend.run_status(DOMAIN, run.id) for run in dz.backend.runs.values()]
        run_starts = Counter(str(c.status) for c in dz.calls if c.operation == "StartMetadataGenerationRun")
        deletes = [r.request.get("PhysicalResourceId", "") for r in result.requests if r.request_type == "Delete"]
        # The rollback begins when the sibling fails (the stack is ROLLBACK_IN_PROGRESS from then).
        failed_at = [e.at for e in result.events if e.logical_id == "Sibling" and e.status == "CREATE_FAILED"]
        rollback = min(failed_at, default=None)
        deleted_at = [
            e.at
            for e in result.events
            if e.resource_type == "Custom::DataZoneMetadataGenerationBatch" and e.status == "DELETE_COMPLETE"
        ]
        failures = [
            step.what
            for request in result.requests
            if request.request_type == "Create"
            for run in request.runs
            for step in run.steps
            if step.what.startswith("failed: ")
        ]
        steps.stop_executions()
    return {
        "status": result.status,
        "executions": executions,
        "runs": runs,
        "run_starts": dict(run_starts),
        "delete_ids": deletes,
        "rollback_at": rollback,
        "batch_deleted_at": min(deleted_at, default=None),
        "start_calls": list(start_calls),
        "create_failures": failures,
    }


#: Both revisions' handler clients (``index.CLIENT_CONFIG``): botocore's standard retry mode, 5
#: attempts. A throttle that outlasts them reaches the handler as a ThrottlingException.
HANDLER_CALL_ATTEMPTS = 5


@contextlib.contextmanager
def throttled_batch_starts(count: int, clock: Any) -> Iterator[list[tuple[float, str]]]:
    """moto's StartExecution answers the next ``count`` calls that start a batch run (named
    ``mgb-...`` by both revisions; not a cancel execution) with 400 ThrottlingException, as Step
    Functions does past its StartExecution quota; yields every such call as (clock time, answer)."""
    responses = importlib.import_module("moto.stepfunctions.responses").StepFunctionResponse
    aws_error = importlib.import_module("moto.core.exceptions").AWSError
    original = responses.start_execution
    calls: list[tuple[float, str]] = []
    left = [count]

    def start_execution(self: Any) -> Any:
        name = str(self._get_param("name") or "")
        if not name.startswith("mgb-") or name.endswith("-cancel"):
            return original(self)
        if left[0] > 0:
            left[0] -= 1
            calls.append((clock.now(), "ThrottlingException"))
            raise aws_error("Rate exceeded", "ThrottlingException", 400)
        answer = original(self)
        calls.append((clock.now(), "started"))
        return answer

    responses.start_execution = start_execution
    try:
        yield calls
    finally:
        responses.start_execution = original


#: Simulated seconds into the batch's Create: the sibling fails right after the provider's first
#: isComplete (the harness runs it at once after onEvent, as the framework does), before its
#: next poll; and long after the workflow started.
ROLLBACK_BEFORE_NEXT_POLL = 3
ROLLBACK_WHILE_RUNNING = 120


def item_7_rollback_guard(sides: Sides, side: str) -> Observation:
    """The first isComplete cannot start the workflow (StartExecution throttled through botocore's
    retries: the handler answers "not yet"); the sibling fails before the next poll, which then
    finds the stack rolling back."""
    facts = _cat(sides, side, ROLLBACK_BEFORE_NEXT_POLL, throttled_starts=HANDLER_CALL_ATTEMPTS)
    rollback = facts["rollback_at"]
    throttled = [at for at, answer in facts["start_calls"] if answer == "ThrottlingException"]
    started = [at for at, answer in facts["start_calls"] if answer == "started"]
    if rollback is None or len(throttled) != HANDLER_CALL_ATTEMPTS or any(at >= rollback for at in throttled):
        # The scenario itself did not happen (no rollback, or the throttled poll came after it).
        raise RuntimeError(f"item 7's scenario did not happen as described: {facts}")
    after = [at - rollback for at in started if at >= rollback]
    facts["started_after_rollback"] = after
    holds = facts["status"] == "ROLLBACK_COMPLETE" and not after and not facts["runs"] and not facts["executions"]
    refused = [m.group(0) for f in facts["create_failures"] if (m := re.search(r"not started: the stack is \w+", f))]
    text = f"{facts['status']}; workflow executions started after the rollback began: {len(after)}"
    if after:
        answers = ", ".join(f"{status} x{count}" for status, count in sorted(facts["run_starts"].items()))
        deleted = facts["batch_deleted_at"]
        ended = " and after the batch's rollback Delete ended" if deleted is not None and started[0] > deleted else ""
        text += (
            f" (its next poll, {after[0]:.0f} s after the rollback began{ended}, started it: execution "
            f"{', '.join(facts['executions'])}; its StartMetadataGenerationRun answered {answers or 'nothing'})"
        )
    if refused:
        text += f"; its next poll refused: “{refused[0]}”"
    return Observation(holds, text, facts)


def item_6_short_invented_id(sides: Sides, side: str) -> Observation:
    facts = _cat(sides, side, ROLLBACK_WHILE_RUNNING)
    invented = [i for i in facts["delete_ids"] if i.startswith("cat-")]
    facts["invented"] = invented
    holds = bool(invented) and "RUNNING" not in facts["executions"] and facts["runs"] == ["CANCELED"]
    shape = f"`cat-<logical id>-<12>` ({len(invented[0])} characters)" if invented else "none"
    text = (
        f"rollback Delete with invented id {shape}; batch execution {', '.join(facts['executions']) or 'none'}, "
        f"its run {', '.join(facts['runs']) or 'none'}"
    )
    return Observation(holds, text, facts)


def item_10_logging(sides: Sides, side: str) -> Observation:
    """The synthesized template's log group and logging configuration (no dry run: nothing logs)."""
    template = json.loads((sides.assembly(side) / "Waits.template.json").read_text())
    resources = template["Resources"]
    [machine] = [
        r
        for lid, r in resources.items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and lid.startswith("DataZoneMetadataGenerationBatch")
    ]
    logging_config = machine["Properties"]["LoggingConfiguration"]
    group_id = logging_config["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    name = resources[group_id]["Properties"].get("LogGroupName")
    shown = "".join(p if isinstance(p, str) else "<stack>" for p in name["Fn::Join"][1]) if name else "generated"
    facts = {"name": shown, "level": logging_config["Level"], "data": logging_config["IncludeExecutionData"]}
    holds = shown.startswith("/aws/vendedlogs/states/") and facts["level"] == "ERROR" and not facts["data"]
    text = f"log group `{shown}`, level {facts['level']}, execution data {str(facts['data']).lower()}"
    return Observation(holds, text, facts)


HARNESS_FACTS = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "distribution":  # the dry run as a distribution of its own (issue 16)
        from constructs_local import clock
        from constructs_local.awslambda import runtime as lambda_runtime
        from constructs_local.datazone import server
        from constructs_local.stepfunctions import interpreter as stepfunctions
    else:  # a package inside the library
        from constructs_lib.local import server, stepfunctions, lambda_runtime, clock
    print(json.dumps({
        "backlog": server._Server.request_queue_size,
        "history_quota": hasattr(stepfunctions, "HistoryQuotaExceededError"),
        "event_clock": hasattr(clock, "EventClock"),
        "lambda_memory": "peak_mb" in getattr(lambda_runtime.Invocation, "__dataclass_fields__", {}),
    }))
    """
)


def item_11_harness(sides: Sides, side: str) -> Observation:
    """The local harness of each revision, read (not run): a 1,000-child dry run is out of budget."""
    lib = sides.before_lib if side == "before" else ROOT
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lib), str(lib / "dryrun")])}
    # Chosen by the revision's layout, not by what imports: this environment has the current
    # dry run installed, which a revision without dryrun/ would otherwise read as its own.
    layout = "distribution" if (lib / "dryrun" / "constructs_local").is_dir() else "package"
    out = subprocess.run(
        [sys.executable, "-P", "-c", HARNESS_FACTS, layout],
        cwd=lib,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    facts = json.loads(out)
    holds = facts["backlog"] >= 1000 and facts["history_quota"] and facts["event_clock"] and facts["lambda_memory"]
    text = (
        f"endpoint listen backlog {facts['backlog']}; history events counted per execution: "
        f"{'yes' if facts['history_quota'] else 'no'}; simulated time while a batch's workflow runs (EventClock): "
        f"{'yes' if facts['event_clock'] else 'no'}; Lambda memory measured per invocation: "
        f"{'yes' if facts['lambda_memory'] else 'no'}"
    )
    return Observation(holds, text, facts)


# -- function level: the code that does the work, each revision's own ---------------------------
#
# Items 1, 2 and 8 need sizes or durations a dry run cannot reach in seconds (100,000 assets, a
# 24-hour run). What does the work is run alone instead: the old handler's functions (selection
# and summary ran inside the custom resource's isComplete) and the workflow's worker now, each
# from its revision's handler folder; one child execution of each revision's deployed workflow.

RESULTS = "before-after-results"
#: The function that did the work, by revision: 20c2370's isComplete, now the workflow's worker.
WORKING_FUNCTION = {"before": "entry.is_complete", "now": "entry.batch_worker"}


def handler_modules(folder: Path, label: str) -> dict[str, Any]:
    """A revision's handler folder (``lambda_src/metadata_generation_run``) imported as a package
    of its own name, so both revisions' modules (and their module-level clients) live side by side."""
    name = f"_before_after_{label}_{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {folder}")
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return {
        module: importlib.import_module(f"{name}.{module}")
        for module in ("contract", "common", "index", "batch", "worker")
        if (folder / f"{module}.py").is_file()
    }


def install_clients(modules: dict[str, Any], **clients: Any) -> None:
    """Give a revision's handler modules these clients (``datazone``, ``s3``): 20c2370 keeps them in
    module globals (``index._client``, ``batch._s3_client``, ``worker._s3_client``), the current
    handler in its shared module's cache (``common._clients``)."""
    if "common" in modules:
        modules["common"]._clients.update(clients)
        return
    if "datazone" in clients:
        modules["index"]._client = clients["datazone"]
    if "s3" in clients:
        for name in ("batch", "worker"):
            if name in modules:
                modules[name]._s3_client = clients["s3"]


def function_limits(assembly: Path, handler: str) -> tuple[int, int]:
    """(timeout seconds, memory MB) the revision's template gives the function with ``handler``."""
    template = json.loads((assembly / "Source.template.json").read_text())
    [props] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    return int(props["Timeout"]), int(props["MemorySize"])


def source_batch_properties(assembly: Path) -> dict[str, Any]:
    """The ResourceProperties the revision synthesizes for stack ``Source``'s data-source batch,
    its references to the stack's resources replaced by this process's names."""
    template = json.loads((assembly / "Source.template.json").read_text())
    [props] = [
        dict(r["Properties"])
        for r in template["Resources"].values()
        if r["Type"] == "Custom::DataZoneMetadataGenerationBatch"
    ]
    props.pop("ServiceToken", None)
    props["StateMachineArn"] = f"arn:aws:states:{REGION}:000000000000:stateMachine:before-after"
    props["ResultsBucket"] = RESULTS
    unresolved = [key for key, value in props.items() if isinstance(value, dict) and set(value) & {"Ref", "Fn::GetAtt"}]
    if unresolved:
        raise RuntimeError(f"stack Source's batch has references this comparison does not resolve: {unresolved}")
    return props


def s3_client() -> Any:
    return boto3.client("s3", region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")


def sfn_client() -> Any:
    return boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")


@contextlib.contextmanager
def warnings_logged() -> Iterator[list[str]]:
    """The WARNING (or worse) records any logger emits meanwhile: what a user would be told."""
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    capture = Capture(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        yield lines
    finally:
        root.removeHandler(capture)


class InProcessDataZone:
    """The local endpoint's backend answering the calls a boto3 DataZone client makes (same
    operations, parameters and answers, paging and tokens; no HTTP): each call costs the
    endpoint's default latency on the backend's simulated clock."""

    def __init__(self, backend: DataZoneBackend) -> None:
        self.backend = backend
        self.calls = 0

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return self.backend.handle(operation, params, self.backend.default_principal)

    def get_paginator(self, operation: str) -> Any:
        """botocore's own paginator over these methods, as the current worker pages a client."""
        model = botocore.session.get_session().get_service_model("datazone")
        name = next(op for op in model.operation_names if xform_name(op) == xform_name(operation))
        config = botocore.session.get_session().get_paginator_model("datazone").get_paginator(name)
        return Paginator(getattr(self, xform_name(name)), config, model.operation_model(name))

    def list_data_source_runs(self, **params: Any) -> dict[str, Any]:
        return self._call("ListDataSourceRuns", params)

    def list_data_source_run_activities(self, **params: Any) -> dict[str, Any]:
        return self._call("ListDataSourceRunActivities", params)

    def search(self, **params: Any) -> dict[str, Any]:
        return self._call("Search", params)


def data_source_catalog(count: int) -> tuple[DataZoneBackend, int]:
    """The local endpoint's backend (simulated clock) with data source :data:`SOURCE`, whose
    latest run has imported ``count`` generated Glue tables (and the seed's own); the number of
    assets that run imported."""
    world_seed = default_seed()
    world_seed["generatedAssets"] = count
    world_seed["domains"][DOMAIN]["dataSources"] = {
        SOURCE: {"project": PROJECT, "type": "GLUE", "name": "tables", "firstRun": "finished"}
    }
    backend = DataZoneBackend(seed=with_generated_assets(world_seed), clock=SimulatedClock())
    [run] = backend.data_source_runs.values()
    # The run has ended: the endpoint builds its activities once and pages through them.
    listed = run.activities(backend.clock.now())
    return backend, sum(1 for activity in listed if activity.get("dataAssetId"))


#: Assets item 1's data source imported: the issue's size; the test's variant just passes the cap.
SELECTION_ASSETS = {True: 100_000, False: 60_000}


def item_1_selection(sides: Sides, side: str) -> Observation:
    """Choosing a data source's assets: 20c2370's ``_items`` (its isComplete ran it whole before
    StartExecution), now the worker's ``select`` steps, as the workflow loops over them."""
    backend, imported = data_source_catalog(SELECTION_ASSETS[sides.full])
    clock = backend.clock
    modules = handler_modules(sides.handler_dir(side), side)
    timeout, memory = function_limits(sides.assembly(side), WORKING_FUNCTION[side])
    datazone = InProcessDataZone(backend)
    install_clients(modules, datazone=datazone)
    props = source_batch_properties(sides.assembly(side))
    spec = modules["batch"].parse_properties(props)
    steps: list[tuple[float, int]] = []  # per invocation: simulated seconds, DataZone calls
    with moto_only(), warnings_logged() as warnings:
        s3 = s3_client()
        s3.create_bucket(Bucket=RESULTS)
        install_clients(modules, s3=s3)
        if side == "before":
            started = clock.now()
            location = modules["batch"]._items(spec, f"batches/Imported/{side}")
            steps.append((clock.now() - started, datazone.calls))
            body = s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
            selected = len(json.loads(body))
        else:
            worker = modules["worker"]
            batch = {
                "domainId": spec.domain_id,
                "projectId": spec.project_id,
                "selection": spec.selection.prop,
                "resultsBucket": RESULTS,
                "prefix": f"batches/Imported/{side}",
                "selectionWaitSeconds": spec.timeout_seconds,
                "allowEmptySelection": spec.allow_empty_selection,
            }
            state: dict[str, Any] = {}
            while not state.get("done"):
                if len(steps) >= 100:
                    raise RuntimeError(f"select never finished: {state}")
                started, calls = clock.now(), datazone.calls
                context = LambdaContext(
                    "worker",
                    "arn:aws:lambda:us-east-1:000000000000:function:worker",
                    memory_mb=memory,
                    request_id=str(uuid.uuid4()),
                    deadline=started + timeout,
                    clock=clock,
                )
                state = worker.select(batch, state, context)
                steps.append((clock.now() - started, datazone.calls - calls))
            selected = int(state["count"])
    longest = max(seconds for seconds, _ in steps)
    most = max(calls for _, calls in steps)
    facts = {
        "imported": imported,
        "selected": selected,
        "invocations": steps,
        "timeout": timeout,
        "warnings": warnings,
        "latency": backend.knobs.latency_seconds,
    }
    holds = selected == imported and longest <= timeout
    if side == "before":
        told = "no error, no warning" if not warnings else f"warned: {warnings[0][:80]}"
        text = (
            f"selected {selected:,} of the {imported:,} assets the import listed, {told}; all of it in one "
            f"invocation: {most:,} DataZone calls, {longest:.0f} s of the endpoint's {facts['latency']:g} s a "
            f"call alone (timeout {timeout} s)"
        )
    else:
        paging = [calls for _, calls in steps if calls]
        text = (
            f"selected {selected:,} of {imported:,}: {len(paging)} paging steps of at most {most:,} calls "
            f"({longest:.0f} s of latency at most, timeout {timeout} s; each stops with "
            f"{modules['worker'].RESERVE_SECONDS} s left), then {len(steps) - len(paging)} joining the parts"
        )
    return Observation(holds, text, facts)


#: Records item 2's summary reads: the issue's size (the doc measures it); the test measures
#: two smaller sizes and projects the peak linearly to it (the old code's peak grows with every
#: record it holds; a streaming one's barely does).
SUMMARY_TARGET = 100_000
SUMMARY_SIZES = {True: (SUMMARY_TARGET,), False: (2_000, 8_000)}
#: One asset in 20 failed (a FAILED record with the run's error message).
FAILED_EVERY = 20

SUMMARY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tests.e2e.batch_before_after import measure_summary
    folder, side, assembly, sizes = sys.argv[1:]
    print(json.dumps(measure_summary(Path(folder), side, Path(assembly), [int(n) for n in sizes.split(",")])))
    """
)


def _result_entry(index: int, asset_id: str, failed: bool) -> dict[str, Any]:
    """One child execution as the Distributed Map's ResultWriter lists it (both revisions' child
    outputs a record of this shape: asset, run, status, and the run itself when it failed)."""
    run_id = f"run{index:011d}"
    record: dict[str, Any] = {"assetId": asset_id, "runId": run_id, "status": "FAILED" if failed else "SUCCEEDED"}
    if failed:
        record["run"] = {
            "DomainId": DOMAIN,
            "Id": run_id,
            "Status": "FAILED",
            "Types": ["BUSINESS_DESCRIPTIONS"],
            "Target": {"Type": "ASSET", "Identifier": asset_id, "Revision": "1"},
            "TypeStats": [{"Type": "BUSINESS_DESCRIPTIONS", "Status": "FAILED", "ErrorMessage": "no description"}],
            "CreatedAt": "2026-06-01T00:00:00Z",
            "CreatedBy": "arn:aws:sts::000000000000:assumed-role/Batch/states",
        }
    child_input = {
        "assetId": asset_id,
        "domainId": DOMAIN,
        "projectId": PROJECT,
        "types": ["BUSINESS_DESCRIPTIONS"],
        "tokenSeed": "mgb-0123456789abcdef0123456789abcdef",
        "pollSeconds": 10,
        "runTimeoutSeconds": 1800,
        "predictions": {"mode": "NONE", "rule": {}, "choices": []},
    }
    name = f"{index:08x}-child"
    return {
        "ExecutionArn": f"arn:aws:states:{REGION}:000000000000:execution:Batch/ForEachAsset:run-1:{name}",
        "Input": json.dumps(child_input),
        "InputDetails": {"Included": True},
        "Name": name,
        "Output": json.dumps(record),
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StartDate": "2026-06-01T00:00:00.000Z",
        "StateMachineArn": f"arn:aws:states:{REGION}:000000000000:stateMachine:Batch/ForEachAsset",
        "Status": "SUCCEEDED",
        "StopDate": "2026-06-01T00:06:00.000Z",
    }


class FileServedS3:
    """moto's S3 client, but GetObject of the staged result files streams from disk, as S3 does
    over the network (moto hands a whole body over in memory, which tracemalloc would count)."""

    def __init__(self, client: Any, staged: dict[tuple[str, str], Path]) -> None:
        self._client, self._staged = client, staged

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_object(self, **params: Any) -> dict[str, Any]:
        path = self._staged.get((str(params["Bucket"]), str(params["Key"])))
        if path is None:
            answer: dict[str, Any] = self._client.get_object(**params)
            return answer
        start = int(str(params.get("Range", "bytes=0-")).removeprefix("bytes=").split("-", 1)[0] or 0)
        body = path.open("rb")
        body.seek(start)
        return {"Body": body, "ContentLength": path.stat().st_size - start}


def _stage_results(s3: Any, scratch: Path, count: int) -> tuple[str, Path]:
    """A ResultWriter manifest (in moto) and its one result file of ``count`` records (on disk)."""
    path = scratch / f"SUCCEEDED_{count}.json"
    with path.open("wb") as file:
        file.write(b"[")
        for index in range(count):
            entry = _result_entry(index, f"asset{index:08d}", index % FAILED_EVERY == 0)
            file.write((b"," if index else b"") + json.dumps(entry).encode())
        file.write(b"]")
    key = f"results/{count}/SUCCEEDED_0.json"
    manifest = {
        "DestinationBucket": RESULTS,
        "MapRunArn": f"arn:aws:states:{REGION}:000000000000:mapRun:Batch/ForEachAsset:{count}",
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": key, "Size": path.stat().st_size}]},
    }
    manifest_key = f"results/{count}/manifest.json"
    s3.put_object(Bucket=RESULTS, Key=manifest_key, Body=json.dumps(manifest).encode())
    return manifest_key, path


def measure_summary(folder: Path, side: str, assembly: Path, sizes: Sequence[int]) -> dict[str, Any]:
    """Run in a process of its own (tracemalloc is started and stopped there, with no other thread
    allocating): the revision's summary over result files of each size, peak Python memory each."""
    modules = handler_modules(folder, side)
    spec = modules["batch"].parse_properties(source_batch_properties(assembly))
    timeout, memory = function_limits(assembly, WORKING_FUNCTION[side])
    measured: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="before-after-summary-") as scratch, moto_only():
        s3 = s3_client()
        s3.create_bucket(Bucket=RESULTS)
        for count in sizes:
            manifest_key, path = _stage_results(s3, Path(scratch), count)
            served = FileServedS3(s3, {(RESULTS, f"results/{count}/SUCCEEDED_0.json"): path})
            prefix = f"batches/Imported/{side}-{count}"
            steps = 0
            tracemalloc.start()
            floor = tracemalloc.get_traced_memory()[0]
            started = time.perf_counter()
            if side == "before":
                install_clients(modules, s3=served)
                output = json.dumps({"results": {"Bucket": RESULTS, "Key": manifest_key}})
                summary, _ = modules["batch"]._summarize(spec, {"executionArn": "arn", "output": output}, prefix)
                steps = 1
            else:
                worker = modules["worker"]
                install_clients(modules, s3=served)
                batch = {"resultsBucket": RESULTS, "prefix": prefix, "failureTolerance": 0, "executionArn": "arn"}
                summary = {"done": False}
                state: dict[str, Any] = {}
                clock = RealClock()
                while not summary.get("done"):
                    steps += 1
                    context = LambdaContext(
                        "worker",
                        "arn:aws:lambda:us-east-1:000000000000:function:worker",
                        memory_mb=memory,
                        request_id=str(uuid.uuid4()),
                        deadline=clock.now() + timeout,
                        clock=clock,
                    )
                    summary = worker.summarize(batch, {"Bucket": RESULTS, "Key": manifest_key}, state, context)
                    state = summary
            seconds = time.perf_counter() - started
            peak = (tracemalloc.get_traced_memory()[1] - floor) / (1024 * 1024)
            tracemalloc.stop()
            measured[str(count)] = {
                "peak_mb": peak,
                "total": int(summary["total"]),
                "failed": int(summary["failed"]),
                "steps": steps,
                "seconds": seconds,
                "file_mb": path.stat().st_size / 1e6,
            }
            path.unlink()
    return {"sizes": measured, "memory_mb": memory}


def item_2_summary(sides: Sides, side: str) -> Observation:
    """The summary over the map's results: 20c2370's ``_summarize`` (in its isComplete), now the
    worker's ``summarize``; peak Python memory (tracemalloc, as the local Lambda runtime measures
    it) + the runtime's baseline against the function's MemorySize."""
    sizes = SUMMARY_SIZES[sides.full]
    # This tree and its dry run's distribution (dryrun/), as item 11 reads the harness.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "dryrun")])}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            SUMMARY_SCRIPT,
            str(sides.handler_dir(side)),
            side,
            str(sides.assembly(side)),
            ",".join(map(str, sizes)),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    facts = json.loads(out.strip().splitlines()[-1])
    measured = {int(n): m for n, m in facts["sizes"].items()}
    largest = max(measured)
    peak = measured[largest]["peak_mb"]
    if largest != SUMMARY_TARGET:
        smallest = min(measured)
        slope = max(0.0, (peak - measured[smallest]["peak_mb"]) / (largest - smallest))
        peak += slope * (SUMMARY_TARGET - largest)
    memory = int(facts["memory_mb"])
    facts["peak_at_target_mb"] = peak
    counted = all(m["total"] == n and m["failed"] == len(range(0, n, FAILED_EVERY)) for n, m in measured.items())
    holds = counted and peak + RUNTIME_BASELINE_MB <= memory
    shown = ", ".join(
        f"{m['peak_mb']:.0f} MB at {n:,} ({m['file_mb']:.0f} MB of results, {m['steps']} step"
        f"{'s' if m['steps'] != 1 else ''})"
        for n, m in sorted(measured.items())
    )
    at = "" if largest == SUMMARY_TARGET else f" (projected to {SUMMARY_TARGET:,} from those)"
    verdict = "over" if peak + RUNTIME_BASELINE_MB > memory else "within"
    text = (
        f"peak Python memory {shown}; at {SUMMARY_TARGET:,} records{at} {peak:.0f} + {RUNTIME_BASELINE_MB} MB "
        f"runtime = {peak + RUNTIME_BASELINE_MB:.0f} MB, {verdict} the function's {memory} MB"
    )
    if not counted:
        text += f"; counts wrong: {measured}"
    return Observation(holds, text, facts)


#: Item 8: the longest run_timeout a batch may set, Step Functions' history quota; the test's
#: variant divides both by 10 (stack DayTenth: a 2.4-hour run_timeout against 2,500 events).
RUN_TIMEOUT_STACK = {True: "Day", False: "DayTenth"}
HISTORY_QUOTA = {True: HISTORY_EVENTS_QUOTA, False: HISTORY_EVENTS_QUOTA // 10}
CHILD_ROLE = "arn:aws:iam::000000000000:role/before-after-child"


class SimulatedWaits(MotoAdapter):
    """The adapter, with ``Wait`` and ``Retry`` sleeping on a :class:`SimulatedClock`: a child
    execution of many hours runs in seconds, each poll at its simulated time (as
    tests/e2e/test_batch_asset_workflow.py runs one)."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def install(self) -> None:
        super().install()
        clock = self.clock
        assert clock is not None

        def wait_interval(function: Any, env: Any, wait_seconds: int) -> None:
            if env.is_running():
                clock.sleep(wait_seconds)

        self._patch(_module(_WAIT).WaitFunction, "_wait_interval", wait_interval)
        self._patch(_module(_RETRIER), "time", types.SimpleNamespace(sleep=lambda s: clock.sleep(max(0.0, s))))


def deployed_workflow(sides: Sides, side: str, stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workflow definition the revision deploys and the execution input its handler writes
    for ``stack``'s batch (deployed locally; its execution runs to its end)."""
    with world() as steps, endpoint() as dz:
        [result] = replay(sides.assembly(side), dz, steps).deploy([stack])
        if result.status != "CREATE_COMPLETE":
            raise RuntimeError(f"{stack} ({side}): {result.status} {result.reason}")
        sfn = steps.client("stepfunctions", REGION)
        arn = str(result.requests[-1].response.data["ExecutionArn"])
        execution = sfn.describe_execution(executionArn=arn)
        machine = sfn.describe_state_machine(stateMachineArn=execution["stateMachineArn"])
        # Let it end (its run takes seconds here): stopped, its child went on with a closed endpoint.
        wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "the execution ended")
    definition: dict[str, Any] = json.loads(machine["definition"])
    return definition, json.loads(execution["input"])


def _distributed_map(states: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any]
    [found] = [
        state
        for state in states.values()
        if state.get("Type") == "Map"
        and state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
    ]
    return found


def _selected(path: str, data: dict[str, Any], item: str) -> Any:
    if path == "$$.Map.Item.Value":
        return item
    value: Any = data
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


def run_child(definition: dict[str, Any], execution_input: dict[str, Any], quota: int) -> dict[str, Any]:
    """One child execution of the map (its ItemProcessor, its input as the ItemSelector makes it)
    on a simulated clock against the local endpoint, for exampleasset1 whose run never ends."""
    mapped = _distributed_map(definition["States"])
    processor = mapped["ItemProcessor"]
    child_input = {
        key.removesuffix(".$"): _selected(path, execution_input, "exampleasset1")
        for key, path in mapped["ItemSelector"].items()
    }
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    knobs = Knobs(final_status={"exampleasset1": "IN_PROGRESS"})
    with LocalDataZone(seed=default_seed(), clock=SimulatedClock(), knobs=knobs) as dz:
        dz.backend.register_principal(access_key_for(CHILD_ROLE), CHILD_ROLE)
        dz.backend.add_membership(DOMAIN, PROJECT, CHILD_ROLE, "PROJECT_CONTRIBUTOR")
        adapter = SimulatedWaits(dz.backend.clock, datazone_url=dz.url)
        adapter.history_quota = quota
        with moto_only(), adapter:
            if "resultsBucket" in child_input:  # the child's in-flight marker (now)
                s3_client().create_bucket(Bucket=str(child_input["resultsBucket"]))
            sfn = sfn_client()
            child = {"StartAt": processor["StartAt"], "States": processor["States"]}
            arn = sfn.create_state_machine(name="child", definition=json.dumps(child), roleArn=CHILD_ROLE)
            started = sfn.start_execution(stateMachineArn=arn["stateMachineArn"], input=json.dumps(child_input))
            deadline = time.monotonic() + 600  # a hang guard (real seconds); simulated time runs it in seconds
            while (described := sfn.describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
                if time.monotonic() > deadline:
                    sfn.stop_execution(executionArn=started["executionArn"])
                    raise TimeoutError("the child execution never ended")
                time.sleep(0.05)
        calls = list(dz.calls)
        [run] = dz.backend.runs.values()
        run_status = dz.backend.run_status(DOMAIN, run.id)
        ended = dz.backend.clock.now()
    first = min(c.at for c in calls if c.operation == "StartMetadataGenerationRun")
    output = json.loads(described.get("output") or "{}")
    return {
        "status": described["status"],
        "error": described.get("error"),
        "record": output,
        "hours": (ended - first) / 3600,
        "polls": sum(1 for c in calls if c.operation == "GetMetadataGenerationRun"),
        "cancels": sum(1 for c in calls if c.operation == "CancelMetadataGenerationRun"),
        "events": adapter.max_history_events,
        "over_quota": adapter.executions_over_quota,
        "run": run_status,
        "run_timeout_hours": float(execution_input.get("runTimeoutSeconds") or 0) / 3600 or None,
    }


def item_8_history(sides: Sides, side: str) -> Observation:
    """One child execution whose run never ends, batch run_timeout 24 h (the longest allowed)."""
    definition, execution_input = deployed_workflow(sides, side, RUN_TIMEOUT_STACK[sides.full])
    quota = HISTORY_QUOTA[sides.full]
    facts = run_child(definition, execution_input, quota)
    facts["quota"] = quota
    timed_out = isinstance(facts["record"], dict) and facts["record"].get("status") == "TIMED_OUT"
    holds = timed_out and facts["run"] == "CANCELED" and not facts["over_quota"] and facts["events"] <= quota
    if facts["over_quota"]:
        text = (
            f"the child execution {facts['status']} ({facts['error']}: {quota:,} history events) after "
            f"{facts['hours']:.1f} h and {facts['polls']:,} polls, before its run_timeout; its run left "
            f"{facts['run']}"
        )
    else:
        text = (
            f"the child cancelled its run at {facts['hours']:.1f} h (run_timeout), record "
            f"{facts['record'].get('status')}, run {facts['run']}: {facts['events']:,} history events "
            f"({facts['polls']:,} polls) of {quota:,}"
        )
    return Observation(holds, text, facts)


# -- the table -----------------------------------------------------------------------------------


@dataclass
class Item:
    number: str
    title: str
    done: str
    where: str
    run: Callable[[Sides, str], Observation]


ITEMS: tuple[Item, ...] = (
    Item(
        "1",
        "a selection stops at 50,000 assets without a word; one invocation reads every page",
        f"data source `{SOURCE}` whose latest import listed {SELECTION_ASSETS[True]:,} generated assets (the "
        "local endpoint's backend, 50 a page, its tokens); 20c2370's `_items` as its isComplete ran it, now the "
        "worker's `select` step after step, each with its function's Lambda context. Time: the endpoint's "
        "latency per DataZone call on a simulated clock (CPU and S3 not counted). The test runs "
        f"{SELECTION_ASSETS[False]:,} assets",
        "function level (old handler functions vs the worker), moto S3",
        item_1_selection,
    ),
    Item(
        "2",
        "the summary holds every record in memory",
        f"a ResultWriter file of {SUMMARY_TARGET:,} child records (1 in {FAILED_EVERY} FAILED), streamed from "
        "disk as S3 serves it; 20c2370's `_summarize` vs the worker's `summarize` steps, each in a process of "
        "its own: peak Python memory by tracemalloc (as the local Lambda runtime measures it; moto's copy of "
        "what the summary writes included), "
        f"+ {RUNTIME_BASELINE_MB} MB for the runtime, against the function's MemorySize. The test measures "
        f"{' and '.join(f'{n:,}' for n in SUMMARY_SIZES[False])} records and projects linearly to "
        f"{SUMMARY_TARGET:,}",
        "function level (old handler function vs the worker), moto S3",
        item_2_summary,
    ),
    Item(
        "3",
        "no summary without waiting; tolerance never applied",
        "`Later`: wait_for_completion=False, 2 ids, exampleasset2 FAILED, failure_tolerance 0; "
        "after the execution ends",
        "e2e dry run",
        item_3_no_wait,
    ),
    Item(
        "4",
        "a replacement's Delete cancels the new batch's runs",
        "`First` (exampleasset1+2, max_concurrency 1, its run on asset 1 never ends) and `Second` "
        "(exampleasset2), both wait_for_completion=False; destroy First",
        "e2e dry run",
        item_4_replacement,
    ),
    Item(
        "5",
        "Delete cancels one by one inside one invocation",
        f"destroy batches with {SMALL_IN_FLIGHT} and {IN_FLIGHT} runs in flight; DataZone Cancel/List calls "
        "inside each handler invocation of the Delete",
        "e2e dry run",
        item_5_cancel,
    ),
    Item(
        "6",
        "a short invented physical id is never looked up",
        f"stack `cat`: a sibling fails {ROLLBACK_WHILE_RUNNING} s into the batch's Create (its run never ends); "
        "CloudFormation deletes the batch with an invented id",
        "e2e dry run",
        item_6_short_invented_id,
    ),
    Item(
        "7",
        "a Create CloudFormation abandoned still starts the workflow",
        f"stack `cat`: the batch's first isComplete (right after onEvent, as the provider framework calls it) "
        f"finds StartExecution throttled ({HANDLER_CALL_ATTEMPTS} x ThrottlingException, botocore's attempts), so "
        f"it answers “not yet”; a sibling fails {ROLLBACK_BEFORE_NEXT_POLL} s into the batch's Create, before the "
        "provider's next poll",
        "e2e dry run. The local rollback leaves the state machine in place; on AWS CloudFormation deletes it "
        "only after every batch of the stack, and a start before that but after the batch's Delete looked for "
        "executions is not stopped by it, nor are its runs cancelled. The guard alone: "
        "tests/handler/test_batch_start.py",
        item_7_rollback_guard,
    ),
    Item(
        "8",
        "a long run's polling exceeds the 25,000 history events before run_timeout",
        "stack `Day` (run_timeout 24 h, the longest allowed; poll interval at its default) deployed locally "
        "for the definition and execution input each revision makes; then one child execution of that map "
        "(asset `exampleasset1`, whose run never ends) on a simulated clock, its history counted against "
        f"{HISTORY_EVENTS_QUOTA:,} events. The test divides both by 10 (stack `DayTenth`: 2.4 h against "
        f"{HISTORY_QUOTA[False]:,})",
        "one child execution, simulated clock (moto, the local endpoint)",
        item_8_history,
    ),
    Item(
        "9",
        "a 503 or a dropped connection fails the asset",
        "`Waits` (2 ids): StartMetadataGenerationRun answers one 503 without an error type and drops one "
        "connection (knobs unavailable_calls=1, disconnect_calls=1)",
        "e2e dry run",
        item_9_transient,
    ),
    Item(
        "10",
        "log group name and level",
        "the synthesized template's state machine LoggingConfiguration and log group",
        "synthesized template",
        item_10_logging,
    ),
    Item(
        "11",
        "local harness strictness",
        "the local harness of each revision, read in a subprocess: the endpoint's listen backlog "
        "(socketserver's default is 5), history events per execution, simulated time beside a batch, "
        "Lambda memory per invocation",
        "harness attributes (not a run)",
        item_11_harness,
    ),
)


@dataclass
class Row:
    item: Item
    before: Observation
    now: Observation


@contextlib.contextmanager
def prepared(rev: str = REV, *, full: bool = True) -> Iterator[Sides]:
    """Both assemblies, synthesized in parallel subprocesses; ``full``: see :attr:`Sides.full`."""
    with tempfile.TemporaryDirectory(prefix="batch-before-after-") as scratch_dir:
        scratch = Path(scratch_dir)
        lib = before_library(scratch / "lib", rev)
        env_for = {"before": lib, "now": ROOT}
        procs = {
            side: subprocess.Popen(
                [sys.executable, "-P", "-c", APP, str(scratch / side)],
                cwd=library,
                env={**os.environ, "PYTHONPATH": str(library)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for side, library in env_for.items()
        }
        for side, proc in procs.items():
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"synth ({side}) failed: {err.decode()[-2000:]}")
            _sibling_beside_the_batch(scratch / side / "cat.template.json")
        (scratch / "state").mkdir()
        yield Sides(scratch / "before", scratch / "now", lib, scratch / "state", full=full)


def compare(sides: Sides, items: Sequence[Item] = ITEMS) -> list[Row]:
    return [Row(item, item.run(sides, "before"), item.run(sides, "now")) for item in items]


def _cell(observation: Observation) -> str:
    return ("holds: " if observation.holds else "**broken**: ") + observation.text.replace("|", "\\|")


def render(rows: Sequence[Row]) -> str:
    lines = [
        "# Issue 15, item by item: the library at 20c2370 and now",
        "",
        "Generated by `python -m tests.e2e.batch_before_after --write docs/e2e-batch-cases.md`; "
        "`tests/e2e/test_batch_before_after.py` checks that each before breaks, each now holds, and that",
        'this file is current. "Before" is the whole library at 20c2370 (construct, workflow definition,',
        'handler asset: `git archive 20c2370 constructs_lib lambda_src`), "now" this tree; the same batch app',
        "is synthesized by each and both assemblies are deployed with the current local harness",
        "(LocalCloudFormation + LocalStepFunctions + LocalDataZone, sped-up real clock while a workflow",
        "runs). Where a dry run cannot show an item, the row says where it is shown instead: items 1, 2",
        "and 8 need 100,000 assets or a 24-hour run, so the code that does the work runs alone, at the",
        "sizes shown here; the test runs them scaled down (each row says how) and checks the same verdicts.",
        "",
        "| item | what was done | before (20c2370) | now | where shown |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.item.number} {row.item.title} | {row.item.done} | {_cell(row.before)} | {_cell(row.now)} "
            f"| {row.item.where} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.batch_before_after", description=__doc__)
    parser.add_argument("--write", type=Path, help="write the markdown here instead of stdout")
    parser.add_argument("--rev", default=REV, help="git revision that is 'before'")
    args = parser.parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    # As in the test suite (tests/e2e/conftest.py): tracemalloc, once a local Lambda starts it, slows
    # every allocation of the process (item 8's child execution 5 times); item 2 measures memory
    # in processes of its own.
    lambda_runtime.ENFORCE_MEMORY = False
    with prepared(args.rev) as sides:
        text = render(compare(sides))
    if args.write:
        args.write.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
