"""The Amazon States Language definition of the batch workflow (one per stack, shared by batches).

Plain data, no CDK: the same dict is rendered into the template and is what a local dry run
executes. Everything a batch varies (its selection, concurrency, types, predictions, poll
interval, tolerance) arrives in the execution input, which the custom-resource handler writes
(see ``contract.BatchInput`` in the handler's package); the only tokens are the results bucket
and the worker function.

The workflow owns every step that grows with the number of assets: choosing them (the worker
pages a data source's import or a search into an ids file, a bounded step at a time), one run
per asset (the Distributed Map), and the summary with the failure tolerance (the worker again;
the execution ends FAILED with ``FailureToleranceExceeded`` when too many assets failed).

Per asset: start a run, wait, poll until it ends (the interval backs off from the batch's poll
interval to POLL_CAP_SECONDS; once the seconds waited reach ``runTimeoutSeconds``: cancel), then
accept or reject its predictions. Transient answers (429 throttling, 402 quota, 5xx, unmodeled
service errors, dropped connections: see TRANSIENT and UNMODELED for the names Step Functions
gives them) are retried with exponential backoff and full jitter, so they delay an asset but
never fail it. Every other outcome becomes a record (asset, run, status, reason) and the child
execution *succeeds*: failures are collected in the results, not allowed to abort the map. A
run whose polling fails for good is cancelled (best effort) before it is recorded.
"""

from __future__ import annotations

from typing import Any

from constructs_lib._handler import contract  # the wire contract: stdlib only

#: How Step Functions names the errors of an ``aws-sdk:datazone:*`` task. The developer guide
#: ("AWS SDK service integrations") says ``ServiceName.ErrorName``, both PascalCase, always with an
#: ``Exception`` suffix: a modeled DataZone error is ``DataZone.ThrottlingException``. It is silent
#: about answers the service model does not name. Step Functions calls services with the AWS SDK
#: for Java 2.x and names an error by the exception it throws: an unmodeled service answer (a 503
#: from the front end, an error code DataZone's model lacks) is the client's base exception,
#: ``DataZone.DataZoneException``, and a failure on the client side (a dropped connection, a
#: socket timeout) is ``DataZone.SdkClientException``. Seen on other services: cdklabs/construct-hub
#: PR 1904 (an S3 503 arrives as ``S3.S3Exception``, client errors as ``S3.SdkClientException``),
#: aws-solutions-library-samples ...-incremental-data-exports-... issue 3 (a closed connection
#: arrives as ``Ssm.SdkClientException``). Where that evidence stops, every plausible variant is
#: listed too: a name that never occurs costs nothing, a missing one fails an asset.
SERVICE = "DataZone"
#: Answers that say "later": retried for hours (BACKOFF), so they delay an asset, never fail it.
TRANSIENT = [
    f"{SERVICE}.ThrottlingException",  # 429 (modeled)
    f"{SERVICE}.ServiceQuotaExceededException",  # 402 (modeled): too many runs in flight
    f"{SERVICE}.InternalServerException",  # 500 (modeled)
    # Client side: dropped connection, connection refused, socket/read timeout (SDK for Java 2.x
    # SdkClientException), and its timeout subclasses should Step Functions name them by class.
    f"{SERVICE}.SdkClientException",
    f"{SERVICE}.ApiCallTimeoutException",
    f"{SERVICE}.ApiCallAttemptTimeoutException",
    # AWS's common errors (every API may answer them; DataZone's model does not list them), should
    # Step Functions name an unmodeled answer by its error code rather than by the SDK's class.
    f"{SERVICE}.ServiceUnavailableException",  # 503
    f"{SERVICE}.InternalFailureException",  # 500
]
#: Unmodeled answers: usually a 5xx (503 first of all), but the same name covers any error code
#: the model lacks, 4xx included (an expired or invalid signature, an unknown request), which no
#: wait cures. So they get a bounded retrier: minutes, enough to ride out a front end's brief
#: overload, never the 8 hours TRANSIENT gets (that would hold one of the map's slots for hours).
#: ``AwsServiceException`` is the SDK's generic parent, should Step Functions ever name that.
UNMODELED = [f"{SERVICE}.DataZoneException", f"{SERVICE}.AwsServiceException"]
#: Read-after-write: a run can be unknown to Get for a moment after Start answered; a 404 that
#: lasts minutes is real (the run or its domain is gone), so bounded too.
NOT_FOUND = [f"{SERVICE}.ResourceNotFoundException"]
#: Backoff for TRANSIENT: 2 s doubling to 5 min, full jitter, 100 attempts: up to 28,110 s
#: (about 7.8 hours) of waiting in all; each failed attempt adds 3 history events.
BACKOFF: dict[str, Any] = {
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxDelaySeconds": 300,
    "MaxAttempts": 100,
    "JitterStrategy": "FULL",
}
#: Backoff for UNMODELED and NOT_FOUND: 2 s doubling to 1 min, full jitter, 8 attempts: up to
#: 2+4+8+16+32+60+60+60 = 242 s (about 4 minutes), then the error is caught and recorded.
BOUNDED_BACKOFF: dict[str, Any] = {
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
    "MaxAttempts": 8,
    "JitterStrategy": "FULL",
}
#: Poll interval: from the batch's ``pollSeconds`` (10 s by default), doubling after each poll up
#: to POLL_CAP_SECONDS (an interval the batch sets above it is kept). Why back off: a Standard
#: execution has a hard quota of 25,000 history events (Step Functions developer guide,
#: "Quotas"), and one poll writes 11 (Wait 2, Poll task 5, Choice 2, Pass 2); a fixed 10 s poll
#: would run into it after about 6.3 hours, before a 24 h ``run_timeout`` could cancel the run.
#: Why 120 s: a run's end is noticed at most 2 minutes late (runs take minutes), while a 24 h
#: run_timeout costs at most 727 polls, 8,028 events (pollSeconds 0, the worst): a third of the
#: quota, the rest left for retried calls (3 events each). tests/e2e/test_batch_asset_workflow.py
#: computes it from this definition and counts it in an executed child.
POLL_CAP_SECONDS = 120
SDK = "arn:aws:states:::aws-sdk:datazone:"
#: The Fail state's error when more assets failed than ``failure_tolerance`` allows (the handler
#: and users' alarms match on it).
FAILURE_TOLERANCE_EXCEEDED = contract.FAILURE_TOLERANCE_EXCEEDED
ENDED_OK = ("SUCCEEDED", "PARTIALLY_SUCCEEDED")
ENDED_BAD = ("FAILED", "CANCELED")


def _retry(*, not_found: bool = False) -> list[dict[str, Any]]:
    # Step Functions applies the first retrier whose ErrorEquals matches, each with its own count.
    bounded = UNMODELED + NOT_FOUND if not_found else UNMODELED
    return [{"ErrorEquals": TRANSIENT, **BACKOFF}, {"ErrorEquals": bounded, **BOUNDED_BACKOFF}]


def _catch(next_state: str) -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": next_state}]


def _token(purpose: str) -> str:
    # One token per (batch request, asset, purpose): a retried task is deduplicated by DataZone,
    # a new batch request starts new runs. SHA-256 hex fits clientToken's 128 printable chars.
    return f"States.Hash(States.Format('{{}}|{{}}|{purpose}', $.tokenSeed, $.assetId), 'SHA-256')"


def _record(status: str | None, **fields: str) -> dict[str, Any]:
    """The asset's outcome, kept at ``$.record`` while its in-flight marker is removed; the
    child's output (what ResultWriter writes) is that record alone."""
    parameters: dict[str, Any] = {"assetId.$": "$.assetId", **fields}
    if status is not None:
        parameters["status"] = status
    return {"Type": "Pass", "Parameters": parameters, "ResultPath": "$.record", "Next": "Unmark"}


#: S3's answers worth asking again, as Step Functions names them for ``aws-sdk:s3:*`` (an
#: unmodeled error such as 503 SlowDown is ``S3.S3Exception``, a dropped connection
#: ``S3.SdkClientException``): retried for minutes, not hours, since ``S3.S3Exception`` may also be
#: a 4xx that retrying does not cure.
S3_RETRY: list[dict[str, Any]] = [
    {
        "ErrorEquals": [
            "S3.S3Exception",
            "S3.SdkClientException",
            "S3.SlowDownException",
            "S3.InternalErrorException",
            "S3.ServiceUnavailableException",
        ],
        "IntervalSeconds": 1,
        "BackoffRate": 2,
        "MaxDelaySeconds": 60,
        "MaxAttempts": 8,
        "JitterStrategy": "FULL",
    }
]
_MARKER_KEY = f"States.Format('{{}}/{contract.INFLIGHT_FOLDER}/{{}}', $.prefix, $.assetId)"


def _marker_states() -> dict[str, Any]:
    """The asset's in-flight marker (``<prefix>/inflight/<asset id>``): written before Start (empty),
    given the run id once Start answered, removed when the asset's record is made. A stopped
    execution's cancel reads exactly these (``worker.cancel``)."""
    location = {"Bucket.$": "$.resultsBucket", "Key.$": _MARKER_KEY}
    return {
        "Mark": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {**location, "Body": ""},
            "ResultPath": None,
            "Retry": S3_RETRY,
            "Catch": _catch("MarkFailed"),
            "Next": "Start",
        },
        "MarkFailed": _record("START_FAILED", **{"error.$": "$.error.Error", "cause.$": "$.error.Cause"}),
        "MarkRun": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {**location, "Body.$": "$.run.id"},
            "ResultPath": None,
            "Retry": S3_RETRY,
            # Without the id, a cancel still finds the run: it asks Start again with its token.
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Schedule"}],
            "Next": "Schedule",
        },
        "Unmark": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:deleteObject",
            "Parameters": location,
            "ResultPath": None,
            "Retry": S3_RETRY,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Emit"}],
            "Next": "Emit",
        },
        "Emit": {"Type": "Pass", "InputPath": "$.record", "End": True},
    }


def _schedule(*, wait: str | int, waited: str | int) -> dict[str, Any]:
    """A Pass that sets the next poll interval ($.run.wait) and the seconds waited once it is over."""

    def field(name: str, value: str | int) -> dict[str, Any]:
        return {f"{name}.$": value} if isinstance(value, str) else {name: value}

    return {
        "Type": "Pass",
        "Parameters": {"id.$": "$.run.id", **field("wait", wait), **field("waited", waited)},
        "ResultPath": "$.run",
        "Next": "Wait",
    }


def _cancel(next_state: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"{SDK}cancelMetadataGenerationRun",
        "Parameters": {"DomainIdentifier.$": "$.domainId", "Identifier.$": "$.run.id"},
        "ResultPath": None,
        "Retry": _retry(),
        # Best effort: a run that ended meanwhile answers Conflict; the record follows either way.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": next_state}],
        "Next": next_state,
    }


def _predictions_task(verb: str, with_choices: bool) -> dict[str, Any]:
    cap = verb.capitalize()
    parameters: dict[str, Any] = {
        "DomainIdentifier.$": "$.domainId",
        "Identifier.$": "$.assetId",
        f"{cap}Rule.$": "$.predictions.rule",
        "ClientToken.$": _token(verb),
    }
    if with_choices:
        parameters[f"{cap}Choices.$"] = "$.predictions.choices"
    revision = "$.Revision" if verb == "accept" else "$.AssetRevision"
    return {
        "Type": "Task",
        "Resource": f"{SDK}{verb}Predictions",
        "Parameters": parameters,
        "ResultSelector": {"revision.$": revision},
        "ResultPath": "$.applied",
        "Retry": _retry(),
        "Catch": _catch("PredictionsFailed"),
        "Next": "Applied",
    }


def _types_parameter(single_type: bool) -> dict[str, str]:
    """How Start names the types. Step Functions' SDK integrations can lag a service's newest
    fields, and CreateStateMachine refuses a field its integration does not know: ``Types`` came
    after the DataZone integration. A workflow whose batches all ask for one type sends the
    original (deprecated) ``Type`` instead, so that it needs no field newer than the integration."""
    if single_type:
        return {"Type.$": "States.ArrayGetItem($.types, 0)"}
    return {"Types.$": "$.types"}


def _asset_states(single_type: bool) -> dict[str, Any]:
    return {
        **_marker_states(),
        "Start": {
            "Type": "Task",
            "Resource": f"{SDK}startMetadataGenerationRun",
            "Parameters": {
                "DomainIdentifier.$": "$.domainId",
                "OwningProjectIdentifier.$": "$.projectId",
                "Target": {"Type": "ASSET", "Identifier.$": "$.assetId"},
                **_types_parameter(single_type),
                "ClientToken.$": _token("start"),
            },
            "ResultSelector": {"id.$": "$.Id"},
            "ResultPath": "$.run",
            "Retry": _retry(),
            "Catch": _catch("StartFailed"),
            # The run's id goes into its in-flight marker; the first Poll comes after one interval
            # (a run is never done right after Start).
            "Next": "MarkRun",
        },
        # The poll loop: Wait, Poll, Ended?, then one Pass that sets the next interval and adds it
        # to $.run.waited (seconds waited so far, which run_timeout is enforced by).
        "Schedule": _schedule(wait="$.pollSeconds", waited="$.pollSeconds"),
        "Wait": {"Type": "Wait", "SecondsPath": "$.run.wait", "Next": "Poll"},
        "Poll": {
            "Type": "Task",
            "Resource": f"{SDK}getMetadataGenerationRun",
            "Parameters": {"DomainIdentifier.$": "$.domainId", "Identifier.$": "$.run.id"},
            "ResultPath": "$.poll",
            "Retry": _retry(not_found=True),
            "Catch": _catch("CancelUnpolled"),
            "Next": "Ended?",
        },
        "Ended?": {
            "Type": "Choice",
            "Choices": [
                {"Or": [{"Variable": "$.poll.Status", "StringEquals": s} for s in ENDED_OK], "Next": "Predictions?"},
                {"Or": [{"Variable": "$.poll.Status", "StringEquals": s} for s in ENDED_BAD], "Next": "RunEnded"},
                # Still going, or a status this workflow does not know: never success.
                {"Variable": "$.run.waited", "NumericGreaterThanEqualsPath": "$.runTimeoutSeconds", "Next": "Cancel"},
                # The next interval (no multiplication in ASL: doubling is States.MathAdd(x, x)).
                {"Variable": "$.run.wait", "NumericGreaterThanEquals": POLL_CAP_SECONDS, "Next": "Keep"},
                {"Variable": "$.run.wait", "NumericGreaterThanEquals": POLL_CAP_SECONDS // 2, "Next": "Cap"},
                # pollSeconds 0 (a local dry run may ask for it) would double to 0 forever.
                {"Variable": "$.run.wait", "NumericLessThan": 1, "Next": "Floor"},
            ],
            "Default": "Double",
        },
        "Keep": _schedule(wait="$.run.wait", waited="States.MathAdd($.run.waited, $.run.wait)"),
        "Cap": _schedule(wait=POLL_CAP_SECONDS, waited=f"States.MathAdd($.run.waited, {POLL_CAP_SECONDS})"),
        "Floor": _schedule(wait=1, waited="States.MathAdd($.run.waited, 1)"),
        "Double": _schedule(
            wait="States.MathAdd($.run.wait, $.run.wait)",
            waited="States.MathAdd($.run.waited, States.MathAdd($.run.wait, $.run.wait))",
        ),
        "Cancel": _cancel("TimedOut"),
        # Polling failed for good (a non-transient error, or retries exhausted): the run may still
        # be going, with nobody to cancel it later. Cancel it (best effort), then record.
        "CancelUnpolled": _cancel("PollFailed"),
        "Predictions?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.predictions.mode", "StringEquals": mode, "Next": state}
                for mode, state in (
                    ("ACCEPT_RULE", "AcceptRule"),
                    ("ACCEPT_CHOICES", "AcceptChoices"),
                    ("REJECT_RULE", "RejectRule"),
                    ("REJECT_CHOICES", "RejectChoices"),
                )
            ],
            "Default": "Succeeded",
        },
        "AcceptRule": _predictions_task("accept", with_choices=False),
        "AcceptChoices": _predictions_task("accept", with_choices=True),
        "RejectRule": _predictions_task("reject", with_choices=False),
        "RejectChoices": _predictions_task("reject", with_choices=True),
        "Applied": _record(
            None, **{"runId.$": "$.run.id", "status.$": "$.poll.Status", "revision.$": "$.applied.revision"}
        ),
        "Succeeded": _record(None, **{"runId.$": "$.run.id", "status.$": "$.poll.Status"}),
        "RunEnded": _record(None, **{"runId.$": "$.run.id", "status.$": "$.poll.Status", "run.$": "$.poll"}),
        "TimedOut": _record("TIMED_OUT", **{"runId.$": "$.run.id", "lastStatus.$": "$.poll.Status"}),
        "StartFailed": _record("START_FAILED", **{"error.$": "$.error.Error", "cause.$": "$.error.Cause"}),
        "PollFailed": _record(
            "POLL_FAILED", **{"runId.$": "$.run.id", "error.$": "$.error.Error", "cause.$": "$.error.Cause"}
        ),
        "PredictionsFailed": _record(
            "PREDICTIONS_FAILED",
            **{
                "runId.$": "$.run.id",
                "runStatus.$": "$.poll.Status",
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
            },
        ),
    }


#: Where the map's ResultWriter puts its files (it adds the map run's id): fixed, because
#: ResultWriter paths are not read from the execution input everywhere (moto reads them from
#: the map's results), and one prefix per map run is all that is needed.
RESULTS_PREFIX = "results"
#: Lambda's transient answers, as Step Functions names them for ``lambda:invoke`` (the retrier
#: AWS recommends, and aws-cdk-lib's LambdaInvoke adds by default), plus the worker's own
#: ``TransientError`` (DataZone or S3 still failing after botocore's own retries).
WORKER_RETRYABLE = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
]
#: ``Sandbox.Timedout``: an invocation that outlived its timeout (each step checks the time left
#: and stops early, so this is a slow dependency; the step starts again from the state it got).
WORKER_RETRY: list[dict[str, Any]] = [
    {"ErrorEquals": WORKER_RETRYABLE, **BACKOFF},
    {"ErrorEquals": ["Sandbox.Timedout"], "IntervalSeconds": 10, "BackoffRate": 2, "MaxAttempts": 3},
]


def _worker_task(worker_arn: str, action: str, path: str, nxt: str, **payload: str) -> dict[str, Any]:
    """One bounded step of the worker: it gets the execution's input and the state its previous
    step returned (at ``path``), and returns the next state there."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": worker_arn,
            "Payload": {"action": action, "batch.$": "$$.Execution.Input", "state.$": f"{path}.state", **payload},
        },
        "ResultSelector": {"state.$": "$.Payload"},
        "ResultPath": path,
        "Retry": WORKER_RETRY,
        "Next": nxt,
    }


def _worker_loop(
    worker_arn: str, action: str, path: str, *, start: str, step: str, check: str, wait: str, done: str
) -> dict[str, Any]:
    """The worker's ``action`` in steps until its state says ``done`` (then ``done``); a step
    that asks to wait (``waitSeconds``) is followed by a Wait, any other by the next step."""
    return {
        start: {"Type": "Pass", "Result": {"state": {}}, "ResultPath": path, "Next": step},
        step: _worker_task(worker_arn, action, path, check),
        check: {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"{path}.state.done", "BooleanEquals": True, "Next": done},
                {"Variable": f"{path}.state.waitSeconds", "NumericGreaterThan": 0, "Next": wait},
            ],
            "Default": step,
        },
        wait: {"Type": "Wait", "SecondsPath": f"{path}.state.waitSeconds", "Next": step},
    }


def _selection_states(worker_arn: str) -> dict[str, Any]:
    """Ids known at synth time are read as they are; a data source's import or a search is paged
    by the worker into ``<prefix>/items.json``, a step (at most a few minutes) at a time."""
    return {
        "Selection?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.selection.Kind", "StringEquals": "IDS", "Next": "ForEachAsset"}],
            "Default": "StartSelection",
        },
        **_worker_loop(
            worker_arn,
            "select",
            "$.select",
            start="StartSelection",
            step="Select",
            check="Selected?",
            wait="WaitForDataSource",
            done="UseSelection",
        ),
        "UseSelection": {
            "Type": "Pass",
            "Parameters": {"bucket.$": "$.select.state.items.bucket", "key.$": "$.select.state.items.key"},
            "ResultPath": "$.items",
            "Next": "ForEachAsset",
        },
    }


def _summary_states(worker_arn: str) -> dict[str, Any]:
    """The worker reads every result into ``<prefix>/summary.json``; the workflow then ends
    FAILED when more assets failed than the batch tolerates (an execution status to alarm on)."""
    return {
        "StartSummary": {"Type": "Pass", "Result": {"state": {}}, "ResultPath": "$.summarize", "Next": "Summarize"},
        "Summarize": _worker_task(
            worker_arn, "summarize", "$.summarize", "Summarized?", **{"results.$": "$.map.ResultWriterDetails"}
        ),
        "Summarized?": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.summarize.state.done", "BooleanEquals": True},
                        {"Variable": "$.summarize.state.exceeded", "BooleanEquals": True},
                    ],
                    "Next": "ToleranceExceeded",
                },
                {"Variable": "$.summarize.state.done", "BooleanEquals": True, "Next": "Done"},
            ],
            "Default": "Summarize",
        },
        "ToleranceExceeded": {
            "Type": "Fail",
            "Error": FAILURE_TOLERANCE_EXCEEDED,
            "CausePath": "$.summarize.state.message",
        },
        "Done": {
            "Type": "Pass",
            "Parameters": {
                "mapRunArn.$": "$.map.MapRunArn",
                "results.$": "$.map.ResultWriterDetails",
                "summary": {
                    "total.$": "$.summarize.state.total",
                    "succeeded.$": "$.summarize.state.succeeded",
                    "failed.$": "$.summarize.state.failed",
                    "location.$": "$.summarize.state.location",
                },
            },
            "End": True,
        },
    }


def _cancel_states(worker_arn: str) -> dict[str, Any]:
    """An execution started in ``CANCEL`` mode cancels the runs another (stopped) execution left
    in flight: the worker reads that execution's markers, a bounded step at a time."""
    return {
        **_worker_loop(
            worker_arn,
            "cancel",
            "$.cancel",
            start="StartCancel",
            step="CancelRuns",
            check="Cancelled?",
            wait="CancelWait",
            done="CancelDone",
        ),
        "CancelDone": {
            "Type": "Pass",
            "Parameters": {"target.$": "$.target", "counts.$": "$.cancel.state.counts"},
            "End": True,
        },
    }


def _turn_states(worker_arn: str) -> dict[str, Any]:
    """In a workflow with a continuous batch, an execution waits while an execution of the same
    batch started before it runs (deploy-time or continuous, in start order), so that overlapping
    imports, or a redeploy during one, never double a batch's runs in flight. The worker looks,
    backing off from 1 to 15 minutes; each look writes 9 history events (task 5, Choice 2,
    Wait 2), 7 days of waiting about 6,100 (``continuous.TURN_*`` in the handler's package)."""
    return _worker_loop(
        worker_arn,
        "turn",
        "$.queue",
        start="StartTurn",
        step="Turn",
        check="Turn?",
        wait="WaitForTurn",
        done="Selection?",
    )


def definition(
    results_bucket: str, worker_arn: str, *, single_type: bool = False, continuous: bool = False
) -> dict[str, Any]:
    """The workflow's ASL definition; ``results_bucket`` receives the map's result files and
    ``worker_arn`` is the function that selects the assets and summarizes the results.
    ``single_type``: every batch of the workflow asks for one type (see :func:`_types_parameter`).
    ``continuous``: a batch of the workflow is continuous (its executions take turns first); the
    states are left out otherwise, so other stacks' workflows do not change."""
    return {
        "Comment": "DataZone metadata generation for every asset of a batch (constructs_lib.MetadataGenerationBatch)",
        "StartAt": "Mode?",
        "States": {
            "Mode?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.mode", "StringEquals": "CANCEL", "Next": "StartCancel"}],
                # A workflow with a continuous batch: every execution takes its turn first.
                "Default": "StartTurn" if continuous else "Selection?",
            },
            **(_turn_states(worker_arn) if continuous else {}),
            **_cancel_states(worker_arn),
            **_selection_states(worker_arn),
            "ForEachAsset": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket.$": "$.items.bucket", "Key.$": "$.items.key"},
                },
                "ItemSelector": {
                    "assetId.$": "$$.Map.Item.Value",
                    "domainId.$": "$.domainId",
                    "projectId.$": "$.projectId",
                    "types.$": "$.types",
                    "tokenSeed.$": "$.tokenSeed",
                    "pollSeconds.$": "$.pollSeconds",
                    "runTimeoutSeconds.$": "$.runTimeoutSeconds",
                    "predictions.$": "$.predictions",
                    "resultsBucket.$": "$.resultsBucket",
                    "prefix.$": "$.prefix",
                },
                "MaxConcurrencyPath": "$.maxConcurrency",
                # Assets never fail their child execution (see the module docstring); anything
                # that still does (a bug, a quota of Step Functions itself) is counted, not fatal.
                # A decimal: moto's ASL grammar refuses an integer here (AWS takes either).
                "ToleratedFailurePercentage": 100.0,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Mark",
                    "States": _asset_states(single_type),
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": results_bucket, "Prefix": RESULTS_PREFIX},
                },
                "ResultPath": "$.map",
                "Next": "StartSummary",
            },
            **_summary_states(worker_arn),
        },
    }
