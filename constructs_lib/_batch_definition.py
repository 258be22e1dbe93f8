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

Per asset: start a run, wait, poll until it ends (or its poll budget runs out: cancel), then
accept or reject its predictions. Throttling (429), quota (402 ServiceQuotaExceeded) and 5xx
answers are retried with exponential backoff and full jitter for hours, so they delay an asset
but never fail it. Every other outcome becomes a record (asset, run, status, reason) and the
child execution *succeeds*: failures are collected in the results, not allowed to abort the map.
"""

from __future__ import annotations

from typing import Any

from constructs_lib._handler import contract  # the wire contract: stdlib only

#: Step Functions names service errors of aws-sdk integrations ``DataZone.<Name>Exception``.
SERVICE = "DataZone"
RETRYABLE = [
    f"{SERVICE}.ThrottlingException",
    f"{SERVICE}.ServiceQuotaExceededException",
    f"{SERVICE}.InternalServerException",
]
# Read-after-write: a run can be unknown to Get for a moment after Start answered.
RETRYABLE_POLL = [*RETRYABLE, f"{SERVICE}.ResourceNotFoundException"]
#: Backoff for the answers above: 2 s doubling to 5 min, full jitter, about 8 hours in all.
BACKOFF: dict[str, Any] = {
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxDelaySeconds": 300,
    "MaxAttempts": 100,
    "JitterStrategy": "FULL",
}
SDK = "arn:aws:states:::aws-sdk:datazone:"
#: The Fail state's error when more assets failed than ``failure_tolerance`` allows (the handler
#: and users' alarms match on it).
FAILURE_TOLERANCE_EXCEEDED = contract.FAILURE_TOLERANCE_EXCEEDED
ENDED_OK = ("SUCCEEDED", "PARTIALLY_SUCCEEDED")
ENDED_BAD = ("FAILED", "CANCELED")


def _retry(errors: list[str]) -> list[dict[str, Any]]:
    return [{"ErrorEquals": errors, **BACKOFF}]


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
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Wait"}],
            "Next": "Wait",
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
        "Retry": _retry(RETRYABLE),
        "Catch": _catch("PredictionsFailed"),
        "Next": "Applied",
    }


def _asset_states() -> dict[str, Any]:
    return {
        **_marker_states(),
        "Start": {
            "Type": "Task",
            "Resource": f"{SDK}startMetadataGenerationRun",
            "Parameters": {
                "DomainIdentifier.$": "$.domainId",
                "OwningProjectIdentifier.$": "$.projectId",
                "Target": {"Type": "ASSET", "Identifier.$": "$.assetId"},
                "Types.$": "$.types",
                "ClientToken.$": _token("start"),
            },
            "ResultSelector": {"id.$": "$.Id", "polls": 0},
            "ResultPath": "$.run",
            "Retry": _retry(RETRYABLE),
            "Catch": _catch("StartFailed"),
            "Next": "MarkRun",
        },
        "Wait": {"Type": "Wait", "SecondsPath": "$.pollSeconds", "Next": "Poll"},
        "Poll": {
            "Type": "Task",
            "Resource": f"{SDK}getMetadataGenerationRun",
            "Parameters": {"DomainIdentifier.$": "$.domainId", "Identifier.$": "$.run.id"},
            "ResultPath": "$.poll",
            "Retry": _retry(RETRYABLE_POLL),
            "Catch": _catch("PollFailed"),
            "Next": "Count",
        },
        "Count": {
            "Type": "Pass",
            "Parameters": {"id.$": "$.run.id", "polls.$": "States.MathAdd($.run.polls, 1)"},
            "ResultPath": "$.run",
            "Next": "Ended?",
        },
        "Ended?": {
            "Type": "Choice",
            "Choices": [
                {"Or": [{"Variable": "$.poll.Status", "StringEquals": s} for s in ENDED_OK], "Next": "Predictions?"},
                {"Or": [{"Variable": "$.poll.Status", "StringEquals": s} for s in ENDED_BAD], "Next": "RunEnded"},
                # Still going, or a status this workflow does not know: never success.
                {"Variable": "$.run.polls", "NumericGreaterThanEqualsPath": "$.maxPolls", "Next": "Cancel"},
            ],
            "Default": "Wait",
        },
        "Cancel": {
            "Type": "Task",
            "Resource": f"{SDK}cancelMetadataGenerationRun",
            "Parameters": {"DomainIdentifier.$": "$.domainId", "Identifier.$": "$.run.id"},
            "ResultPath": None,
            "Retry": _retry(RETRYABLE),
            # Best effort: a run that ended meanwhile answers Conflict.
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "TimedOut"}],
            "Next": "TimedOut",
        },
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


def _selection_states(worker_arn: str) -> dict[str, Any]:
    """Ids known at synth time are read as they are; a data source's import or a search is paged
    by the worker into ``<prefix>/items.json``, a step (at most a few minutes) at a time."""
    return {
        "Selection?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.selection.Kind", "StringEquals": "IDS", "Next": "ForEachAsset"}],
            "Default": "StartSelection",
        },
        "StartSelection": {"Type": "Pass", "Result": {"state": {}}, "ResultPath": "$.select", "Next": "Select"},
        "Select": _worker_task(worker_arn, "select", "$.select", "Selected?"),
        "Selected?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.select.state.done", "BooleanEquals": True, "Next": "UseSelection"},
                {"Variable": "$.select.state.waitSeconds", "NumericGreaterThan": 0, "Next": "WaitForDataSource"},
            ],
            "Default": "Select",
        },
        "WaitForDataSource": {"Type": "Wait", "SecondsPath": "$.select.state.waitSeconds", "Next": "Select"},
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
        "StartCancel": {"Type": "Pass", "Result": {"state": {}}, "ResultPath": "$.cancel", "Next": "CancelRuns"},
        "CancelRuns": _worker_task(worker_arn, "cancel", "$.cancel", "Cancelled?"),
        "Cancelled?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.cancel.state.done", "BooleanEquals": True, "Next": "CancelDone"},
                {"Variable": "$.cancel.state.waitSeconds", "NumericGreaterThan": 0, "Next": "CancelWait"},
            ],
            "Default": "CancelRuns",
        },
        "CancelWait": {"Type": "Wait", "SecondsPath": "$.cancel.state.waitSeconds", "Next": "CancelRuns"},
        "CancelDone": {
            "Type": "Pass",
            "Parameters": {"target.$": "$.target", "counts.$": "$.cancel.state.counts"},
            "End": True,
        },
    }


def definition(results_bucket: str, worker_arn: str) -> dict[str, Any]:
    """The workflow's ASL definition; ``results_bucket`` receives the map's result files and
    ``worker_arn`` is the function that selects the assets and summarizes the results."""
    return {
        "Comment": "DataZone metadata generation for every asset of a batch (constructs_lib.MetadataGenerationBatch)",
        "StartAt": "Mode?",
        "States": {
            "Mode?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.mode", "StringEquals": "CANCEL", "Next": "StartCancel"}],
                "Default": "Selection?",
            },
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
                    "maxPolls.$": "$.maxPolls",
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
                    "States": _asset_states(),
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
