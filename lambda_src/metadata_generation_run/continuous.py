"""Continuous batches: each later run of a batch's data source starts the batch's workflow over
what that run created or updated (``MetadataGenerationBatch(continuous=True)``).

DataZone sends ``Data Source Run Succeeded`` / ``Failed`` to the account's default event bus, best
effort and at least once, with a detail whose shape is not fully documented. The batch's rule
matches on the domain only; :func:`intake` (the rule's target) confirms everything else with the
API before it starts anything:

1. the event's domain is the batch's (else: ignored, INFO);
2. the event names a run (``detail.metadata.id``; else it raises: after Lambda's two retries the
   event lands in the dead-letter queue, nothing started);
3. ``GetDataSourceRun``: a run of another data source, or of another project the role may not
   read, is ignored (INFO); a FAILED run starts nothing but leaves ``skipped.json`` with
   DataZone's error (WARNING); a run that created and updated nothing leaves ``skipped.json`` too;
4. the run is *claimed* for this batch in the results bucket (``claim.json``, an S3 conditional
   write): a run the batch's deploy-time execution already chose is not done twice;
5. ``StartExecution`` named after the batch and the run: a redelivered event gets the same
   execution back (Step Functions is idempotent for a name), so one data-source run makes one
   execution.

The execution covers that run's SUCCEEDED_CREATED and SUCCEEDED_UPDATED activities and writes its
summary under ``batches/<logical id>/continuous/<run id>/``, beside the deploy-time summaries.
In a workflow with a continuous batch every execution's first step is :func:`turn`: it waits
while an execution of the same batch started before it runs (deploy-time or continuous), so two
imports in quick succession, or a redeploy during one, never put more than ``max_concurrency``
runs in flight. A Delete of the batch stops its continuous executions (:func:`on_delete`) when
the batch goes away, not when it is only replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import batch, common, contract
except ImportError:  # Lambda loads the entry module top-level, next to this one
    import batch  # type: ignore[no-redef, import-not-found]
    import common  # type: ignore[no-redef, import-not-found]
    import contract  # type: ignore[no-redef, import-not-found]

BatchProp = contract.BatchProp
#: Execution names of a continuous batch: ``<key>-<data-source run id>``; 24 + 1 + 36 characters
#: at most, within Step Functions' 80 (and its ``-cancel`` execution's, 7 more).
KEY_PREFIX = "mgc-"
KEY_HEX = 20
#: In a continuous batch's folder (``contract.continuous_folder``), ``<run id>/`` holds
#: claim.json, skipped.json and the execution's own files (summary.json, ...).
CLAIM = "claim.json"
SKIPPED = "skipped.json"
DATA_SOURCE_RUN_OK = frozenset({"SUCCESS", "PARTIALLY_SUCCEEDED"})
DATA_SOURCE_RUN_FAILED = "FAILED"
#: Stack statuses in which the batch (and the workflow it needs) is going away: nothing starts.
STACK_GOING = frozenset({"DELETE_IN_PROGRESS", "DELETE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"})
#: S3's answers to a conditional write of an object that exists (412), or is being written by
#: another conditional request at this moment (409).
CLAIM_TAKEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})

#: Taking turns: an execution of a continuous batch's workflow waits while one of its batch
#: started before it runs, looking again after 60 s, doubling to every 15 minutes. Each look
#: writes 9 history events (the worker task 5, its Choice 2, the Wait 2): 7 days of waiting cost
#: about 680 looks, 6,100 events, a quarter of a Standard execution's 25,000, leaving the rest to
#: the execution's own work (its parent history holds the map run, not the assets' polls). Past
#: 7 days it fails (TurnTimeoutError), naming what it waited for: a batch that long is a backlog to
#: look at, not to add to in silence.
TURN_FIRST_WAIT_SECONDS = 60
TURN_MAX_WAIT_SECONDS = 900
TURN_LIMIT_SECONDS = 7 * 24 * 3600
#: ListExecutions pages (100 each) read per look; more running executions than that count as
#: "someone may be ahead" (the look waits rather than guesses).
LIST_PAGES_MAX = 10


class IntakeError(RuntimeError):
    """An event the intake cannot act on and must not drop: raised, so that Lambda retries it and
    then sends it to the dead-letter queue (visible, nothing started)."""


class TurnTimeoutError(RuntimeError):
    """An execution waited TURN_LIMIT_SECONDS for its batch's earlier executions."""


def batch_key(stack_id: str, logical_id: str) -> str:
    """The batch's key: its continuous executions' names start with it. The same stack and
    logical id make the same key, so the handler (Delete) and the intake agree without storing it."""
    digest = hashlib.sha256(f"{stack_id}\n{logical_id}".encode()).hexdigest()[:KEY_HEX]
    return KEY_PREFIX + digest


def execution_name(key: str, run_id: str) -> str:
    """One execution per data-source run: the name is the batch's key and the run's id."""
    return f"{key}-{run_id}"


def folder(logical_id: str) -> str:
    """Where a continuous batch's executions write (``batch.results_prefix``'s sibling)."""
    return contract.continuous_folder(logical_id)


def is_on(props: dict[str, Any]) -> bool:
    value = props.get(BatchProp.CONTINUOUS)
    return value is True or (isinstance(value, str) and value.lower() == "true")


# ---------------------------------------------------------------------------------------------
# The rule's target


def intake(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start the batch's workflow for the data-source run an event reports, once confirmed."""
    given: dict[str, Any] = event.get("event") or {}
    props = dict(event.get("batch") or {})
    resource = dict(event.get("resource") or {})
    if not resource.get("stackId") or not resource.get("logicalResourceId"):
        raise IntakeError(f"the rule's input names no batch resource: {resource!r}")
    try:
        spec = batch.parse_properties(props)
    except common.PropertyError as error:
        raise IntakeError(f"the rule's batch settings are not valid: {error}") from error
    if spec.selection.kind != "DATA_SOURCE" or spec.selection.data_source_id is None:
        raise IntakeError(f"a continuous batch needs a DATA_SOURCE selection, not {spec.selection.kind}")
    metadata = _member(_member(given, "detail"), "metadata")
    fields = {"eventId": given.get("id"), "detailType": given.get("detailType")}
    domain = metadata.get("domain")
    if domain != spec.domain_id:
        common.log(logging.INFO, "event of another domain; ignored", domain=domain, domainId=spec.domain_id, **fields)
        return {"outcome": "ignored", "why": "another domain"}
    run_id = metadata.get("id")
    if not isinstance(run_id, str) or not contract.RUN_ID_RE.fullmatch(run_id):
        # The detail's shape is not documented in full: a renamed field must not start anything,
        # and must not vanish either.
        raise IntakeError(f"the event names no data-source run (detail.metadata.id is {run_id!r}): {fields}")
    try:
        return _confirmed(spec, resource, run_id, fields, project=metadata.get("owningProjectId"))
    except (ClientError, BotoCoreError) as error:
        # Lambda retries an asynchronous invocation twice, then sends the event to the queue.
        common.log(logging.WARNING, "event not handled; Lambda retries it", runId=run_id, error=common.describe(error))
        raise


def _member(value: dict[str, Any], name: str) -> dict[str, Any]:
    found = value.get(name)
    return found if isinstance(found, dict) else {}


def _confirmed(
    spec: batch.BatchSpec, resource: dict[str, Any], run_id: str, fields: dict[str, Any], *, project: Any
) -> dict[str, Any]:
    run = _read_run(spec, run_id, fields, project=project)
    if run is None:
        return {"outcome": "ignored", "why": "another project"}
    source = str(spec.selection.data_source_id)
    if run.get("dataSourceId") != source:
        common.log(
            logging.INFO,
            "run of another data source; ignored",
            runId=run_id,
            dataSourceId=run.get("dataSourceId"),
            batchDataSource=source,
            **fields,
        )
        return {"outcome": "ignored", "why": "another data source"}
    where = f"{folder(str(resource['logicalResourceId']))}/{run_id}"
    why = _nothing_to_do(run, run_id, fields)
    if why is not None:
        _skipped(spec, where, run, why, fields)
        return {"outcome": "skipped", "why": why}
    stack_status = _stack_status(resource)
    if stack_status in STACK_GOING:
        common.log(logging.INFO, "the stack is going away; nothing started", runId=run_id, stackStatus=stack_status)
        return {"outcome": "ignored", "why": f"the stack is {stack_status}"}
    return _start(spec, resource, run, where, fields)


def _read_run(spec: batch.BatchSpec, run_id: str, fields: dict[str, Any], *, project: Any) -> dict[str, Any] | None:
    """GetDataSourceRun; None for a run of another project the role may not read."""
    try:
        run: dict[str, Any] = common.datazone().get_data_source_run(domainIdentifier=spec.domain_id, identifier=run_id)
    except ClientError as error:
        # The rule hears every project of the domain, and the role may read only its own: a run
        # the event says is another project's is not this batch's. One of its own project (or of
        # no project the event names) is a real problem: raised, for the queue.
        if common.error_code(error) in common.ACCESS_DENIED_CODES and project and project != spec.project_id:
            common.log(logging.INFO, "run of another project; ignored", runId=run_id, projectId=project, **fields)
            return None
        raise
    return run


def _nothing_to_do(run: dict[str, Any], run_id: str, fields: dict[str, Any]) -> str | None:
    """Why a run of the batch's data source starts nothing (None: it has work)."""
    status = str(run.get("status"))
    if status == DATA_SOURCE_RUN_FAILED:
        error = run.get("errorMessage") or {}
        why = f"the data-source run FAILED: {error.get('errorType', 'no error type')}: {error.get('errorDetail', '')}"
        common.log(logging.WARNING, "data-source run failed; nothing to do", runId=run_id, why=why, **fields)
        return why
    if status not in DATA_SOURCE_RUN_OK:
        # An event ahead of the API (REQUESTED/RUNNING, or a status this code does not know):
        # Lambda's retries (1 and 2 minutes later) ask again; then the queue keeps it.
        raise IntakeError(f"data-source run {run_id} is {status}, not finished: the event is early")
    if _nothing_new(run.get("runStatisticsForAssets")):
        why = f"the data-source run created and updated no asset ({json.dumps(run['runStatisticsForAssets'])})"
        common.log(logging.INFO, "nothing new to generate metadata for", runId=run_id, why=why, **fields)
        return why
    return None


def _start(
    spec: batch.BatchSpec, resource: dict[str, Any], run: dict[str, Any], where: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Claim the run for the batch, then start its execution (once, whatever the deliveries)."""
    run_id = str(run["id"])
    key = batch_key(str(resource["stackId"]), str(resource["logicalResourceId"]))
    name = execution_name(key, run_id)
    arn = batch.execution_arn(spec.state_machine_arn, name)
    held = _claim(spec.results_bucket, f"{where}/{CLAIM}", {"by": "continuous", "executionArn": arn, "runId": run_id})
    if held is not None and held.get("executionArn") != arn:
        why = f"the batch's execution {held.get('executionArn')} covers this data-source run"
        common.log(logging.INFO, "data-source run already covered", runId=run_id, why=why, **fields)
        _skipped(spec, where, run, why, fields)
        return {"outcome": "skipped", "why": why}
    execution_input = _execution_input(spec, resource, turn={"batchKey": key, "dataSourceRunId": run_id}, where=where)
    try:
        # Step Functions answers a second StartExecution of a running execution (same name and
        # input) as it answered the first, and ExecutionAlreadyExists once that one has ended:
        # one execution per data-source run either way. It is called even when the claim is this
        # execution's own, in case the delivery that claimed the run failed before starting it.
        common.stepfunctions().start_execution(
            stateMachineArn=spec.state_machine_arn, name=name, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if common.error_code(error) != "ExecutionAlreadyExists":
            raise
        held = held or {}
    if held is not None:
        common.log(logging.INFO, "execution already started; duplicate event", execution=name, runId=run_id, **fields)
        return {"outcome": "duplicate", "execution": arn}
    status = run.get("status")
    common.log(logging.INFO, "continuous execution started", execution=name, runId=run_id, status=status, **fields)
    return {"outcome": "started", "execution": arn}


def _nothing_new(stats: Any) -> bool:
    """The run's statistics say it created and updated nothing (when it has them: they are
    optional in the model, and without them the activities decide)."""
    if not isinstance(stats, dict) or not all(isinstance(stats.get(k), int) for k in ("added", "updated")):
        return False
    return bool(stats["added"] + stats["updated"] == 0)


def _execution_input(
    spec: batch.BatchSpec, resource: dict[str, Any], *, turn: contract.ContinuousTurn, where: str
) -> contract.BatchInput:
    """The batch's usual execution input, over one data-source run's new and changed assets."""
    run_id = turn["dataSourceRunId"]
    name = execution_name(turn["batchKey"], run_id)
    return {
        "mode": "RUN",
        "domainId": spec.domain_id,
        "projectId": spec.project_id,
        "types": list(spec.types),
        "selection": {
            "Kind": "DATA_SOURCE",
            "DataSourceId": str(spec.selection.data_source_id),
            "RunId": run_id,
            "AssetStatuses": list(contract.CONTINUOUS_ASSET_STATES),
        },
        "resultsBucket": spec.results_bucket,
        "prefix": where,
        "executionArn": batch.execution_arn(spec.state_machine_arn, name),
        "failureTolerance": spec.failure_tolerance,
        "selectionWaitSeconds": spec.timeout_seconds,
        # A run that created or changed only assets DataZone then failed to list is not a
        # mistake to fail on: the summary says 0.
        "allowEmptySelection": True,
        "maxConcurrency": spec.max_concurrency,
        "pollSeconds": spec.poll_seconds,
        "runTimeoutSeconds": spec.run_timeout_seconds,
        "tokenSeed": name,
        "predictions": batch.predictions_input(spec.predictions),
        "resource": {"stackId": str(resource["stackId"]), "logicalResourceId": str(resource["logicalResourceId"])},
        "continuousPrefix": folder(str(resource["logicalResourceId"])),
        "turn": turn,
    }


def _stack_status(resource: dict[str, Any]) -> str | None:
    try:
        stacks = common.cloudformation().describe_stacks(StackName=resource["stackId"]).get("Stacks") or [{}]
    except (ClientError, BotoCoreError) as error:
        common.log(logging.WARNING, "could not read the stack's status; going on", error=common.describe(error))
        return None
    return str(stacks[0].get("StackStatus"))


def _skipped(spec: batch.BatchSpec, where: str, run: dict[str, Any], why: str, fields: dict[str, Any]) -> None:
    """``skipped.json``: why a data-source run started nothing, where its summary would be."""
    body = {
        "dataSourceRunId": run.get("id"),
        "dataSourceId": run.get("dataSourceId"),
        "status": run.get("status"),
        "errorMessage": run.get("errorMessage"),
        "runStatisticsForAssets": run.get("runStatisticsForAssets"),
        "reason": why,
        "event": fields,
    }
    common.s3().put_object(
        Bucket=spec.results_bucket,
        Key=f"{where}/{SKIPPED}",
        Body=json.dumps(body, default=str).encode(),
        ContentType="application/json",
    )


def _claim(bucket: str, key: str, claim: dict[str, Any]) -> dict[str, Any] | None:
    """Claim a data-source run for one execution (S3 writes the object only if it is not there).
    None when this call claimed it; else the claim that holds it."""
    try:
        common.s3().put_object(
            Bucket=bucket, Key=key, Body=json.dumps(claim).encode(), ContentType="application/json", IfNoneMatch="*"
        )
        return None
    except ClientError as error:
        if common.error_code(error) not in CLAIM_TAKEN:
            raise
        if common.error_code(error) == "ConditionalRequestConflict":
            # Another claim is being written this instant: its outcome decides; ask again later.
            raise IntakeError(f"s3://{bucket}/{key} is being claimed by another request") from error
    held: dict[str, Any] = json.loads(common.s3().get_object(Bucket=bucket, Key=key)["Body"].read())
    return held


def claim_for_deployment(batch_input: dict[str, Any], run_id: str) -> None:
    """The deploy-time execution of a continuous batch chose ``run_id``: claim it (while it is
    still going, if it is), so that the event of its end starts nothing more. A run claimed
    already (by an earlier deploy, or by the intake a moment before) is covered all the same."""
    bucket = str(batch_input["resultsBucket"])
    key = f"{batch_input['continuousPrefix']}/{run_id}/{CLAIM}"
    claim = {"by": "deployment", "executionArn": batch_input.get("executionArn"), "runId": run_id}
    try:
        common.s3().put_object(
            Bucket=bucket, Key=key, Body=json.dumps(claim).encode(), ContentType="application/json", IfNoneMatch="*"
        )
    except ClientError as error:
        if common.error_code(error) in CLAIM_TAKEN:
            common.log(logging.INFO, "data-source run claimed before", runId=run_id, key=key)
            return
        if common.is_transient(error):
            raise  # the worker's step is retried
        # The claim only keeps the intake from starting a second execution over the run's new
        # assets: not worth failing the deploy's batch for.
        common.log(
            logging.WARNING,
            "could not claim the data-source run; its event may start a second execution over its new assets",
            runId=run_id,
            key=key,
            error=common.describe(error),
        )
        return
    common.log(logging.INFO, "data-source run claimed by the deploy-time execution", runId=run_id, key=key)


# ---------------------------------------------------------------------------------------------
# Taking turns (the workflow's first step for a continuous execution)


def turn(batch_input: dict[str, Any], state: dict[str, Any], context: Any) -> dict[str, Any]:
    """``done`` once no earlier execution of this batch runs; else how long to wait (the worker's
    handler turns transient errors into its TransientError, which the workflow retries)."""
    resource = batch_input.get("resource")
    if not isinstance(resource, dict) or not resource.get("stackId") or not resource.get("logicalResourceId"):
        # Started by hand with an input no batch wrote: no batch to take turns in.
        return {"done": True, "waitSeconds": 0, "waited": 0}
    ahead = _ahead(batch_input)
    waited = int(state.get("waited", 0))
    me = str(batch_input["executionArn"]).rsplit(":", 1)[-1]
    if not ahead:
        common.log(logging.INFO, "continuous execution's turn", execution=me, waitedSeconds=waited)
        return {"done": True, "waitSeconds": 0, "waited": waited}
    if waited >= TURN_LIMIT_SECONDS:
        raise TurnTimeoutError(
            common.fit(
                f"{me} waited {waited} s for the batch's earlier executions ({', '.join(ahead[:5])}"
                f"{' ...' if len(ahead) > 5 else ''}) and gives up: start it again once they ended "
                f"(aws stepfunctions start-execution --name {me}-retry with this execution's input)"
            )
        )
    wait = min(TURN_MAX_WAIT_SECONDS, max(TURN_FIRST_WAIT_SECONDS, 2 * int(state.get("wait", 0))))
    common.log(
        logging.INFO,
        "waiting for the batch's earlier executions",
        execution=me,
        ahead=ahead[:5],
        count=len(ahead),
        waitSeconds=wait,
    )
    return {"done": False, "waitSeconds": wait, "wait": wait, "waited": waited + wait}


def _ahead(batch_input: dict[str, Any]) -> list[str]:
    """Running executions of this batch started before this one (by start date, then name, so
    that two started at the same moment agree on an order): its continuous executions (named
    after the batch's key) and its deploy-time ones (their input names the same resource)."""
    me = str(batch_input["executionArn"])
    resource = batch_input["resource"]
    key = batch_key(str(resource["stackId"]), str(resource["logicalResourceId"]))
    client = common.stepfunctions()
    mine = client.describe_execution(executionArn=me)
    my_place = (_moment(mine.get("startDate")), str(mine.get("name")))
    ahead: list[str] = []
    for execution in _running(state_machine_arn(me), ahead):
        name = str(execution["name"])
        if execution["executionArn"] == me or name.endswith("-cancel"):
            continue
        if (_moment(execution.get("startDate")), name) >= my_place:
            continue
        if name.startswith(f"{key}-"):
            ahead.append(name)
        elif contract.EXECUTION_NAME_RE.fullmatch(name):
            described = client.describe_execution(executionArn=execution["executionArn"])
            if batch.input_of(described).get("resource") == resource:
                ahead.append(name)
    return ahead


def _running(machine: str, ahead: list[str]) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"stateMachineArn": machine, "statusFilter": "RUNNING"}
    for _ in range(LIST_PAGES_MAX):
        page = common.stepfunctions().list_executions(**params)
        yield from page.get("executions") or []
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]
    ahead.append(f"more than {LIST_PAGES_MAX} pages of running executions")


def _moment(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float("inf")


def state_machine_arn(execution_arn: str) -> str:
    """``arn:…:execution:<machine>:<name>`` -> ``arn:…:stateMachine:<machine>``."""
    return execution_arn.rsplit(":", 1)[0].replace(":execution:", ":stateMachine:", 1)


# ---------------------------------------------------------------------------------------------
# Delete


def on_delete(
    event: common.CloudFormationEvent[Any], props: dict[str, Any], response: common.OnEventResponse
) -> common.OnEventResponse:
    """After the batch's own Delete: when the batch goes away, stop its continuous executions
    (and cancel the runs they left, as for its own execution); its isComplete waits for those
    cancels too. A replaced batch (a new rerun_token, another selection) keeps them: they cover
    data-source runs its new execution may not (those newer than the one it chose)."""
    if not is_on(props):
        return response
    try:
        spec = batch.parse_properties(props)
    except common.PropertyError:
        return response  # the batch's own Delete logged it
    if not spec.cancel_on_delete:
        return response
    going, why = _goes_away(event)
    if not going:
        common.log(logging.INFO, "the batch stays; its continuous executions go on", why=why)
        return response
    cancellers = _stop_all(spec, batch_key(event["StackId"], event["LogicalResourceId"]), why)
    if not cancellers:
        return response
    data = dict(response.get("Data") or {})
    data[batch.CANCELLERS] = " ".join([*str(data.get(batch.CANCELLERS) or "").split(), *cancellers])
    data.setdefault("StartedAt", f"{time.time():.3f}")
    return {**response, "Data": data}


def _stop_all(spec: batch.BatchSpec, key: str, why: str) -> list[str]:
    """Stop every running continuous execution of the batch ``key``; their cancel executions."""
    cancellers: list[str] = []
    try:
        for execution in _running(spec.state_machine_arn, []):
            name = str(execution["name"])
            if not name.startswith(f"{key}-") or name.endswith("-cancel"):
                continue
            try:
                canceller = batch.stop_execution(spec, name, f"delete of the batch ({why})")
            except (ClientError, BotoCoreError) as error:
                common.log(logging.WARNING, "could not stop an execution", execution=name, error=common.describe(error))
                continue
            if canceller is not None:
                cancellers.append(canceller)
    except (ClientError, BotoCoreError) as error:
        common.log(logging.WARNING, "could not list the executions; delete succeeds", error=common.describe(error))
    return cancellers


def _goes_away(event: common.CloudFormationEvent[Any]) -> tuple[bool, str]:
    """Whether this Delete removes the batch (the stack goes, or the batch leaves the template)
    rather than a replaced copy of it. CloudFormation sends a replaced resource's Delete after the
    new one holds the logical id: DescribeStackResource then names another physical id. When that
    cannot be read, the executions are left alone (never stopped on a guess)."""
    try:
        status = common.stack_status(event)
    except (ClientError, BotoCoreError) as error:
        return False, f"the stack's status could not be read: {common.describe(error)}"
    if status in STACK_GOING:
        return True, f"the stack is {status}"
    try:
        found = common.cloudformation().describe_stack_resource(
            StackName=event["StackId"], LogicalResourceId=event["LogicalResourceId"]
        )
    except ClientError as error:
        if common.error_code(error) == "ValidationError" and "does not exist" in str(error):
            return True, "the batch left the template"
        return False, f"the stack's resource could not be read: {common.describe(error)}"
    except BotoCoreError as error:
        return False, f"the stack's resource could not be read: {common.describe(error)}"
    current = (found.get("StackResourceDetail") or {}).get("PhysicalResourceId")
    if current == event.get("PhysicalResourceId"):
        return True, "the batch left the template"
    return False, f"replaced by {current}"
