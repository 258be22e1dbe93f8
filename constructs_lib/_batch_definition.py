"""The Amazon States Language definition of the batch workflow (one per stack, shared by batches).

Plain data, no CDK: the same dict is rendered into the template and is what a local dry run
executes. Everything a batch varies (its items, concurrency, types, predictions, poll interval) arrives in
the execution input, which the custom-resource handler writes (see ``contract.BatchInput`` in
the handler's package); the only token is the results bucket.

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
#: run_timeout costs at most 727 polls, 8,011 events (pollSeconds 0, the worst): a third of the
#: quota, the rest left for retried calls (3 events each). tests/e2e/test_batch_workflow.py
#: computes it from this definition and counts it in an executed child.
POLL_CAP_SECONDS = 120
SDK = "arn:aws:states:::aws-sdk:datazone:"
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
    parameters: dict[str, Any] = {"assetId.$": "$.assetId", **fields}
    if status is not None:
        parameters["status"] = status
    return {"Type": "Pass", "Parameters": parameters, "End": True}


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


def _asset_states() -> dict[str, Any]:
    return {
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
            "ResultSelector": {"id.$": "$.Id"},
            "ResultPath": "$.run",
            "Retry": _retry(),
            "Catch": _catch("StartFailed"),
            # A run is never done right after Start: the first Poll comes after one interval.
            "Next": "Schedule",
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


def definition(results_bucket: str) -> dict[str, Any]:
    """The workflow's ASL definition; ``results_bucket`` receives the map's result files."""
    return {
        "Comment": "DataZone metadata generation for every asset of a batch (constructs_lib.MetadataGenerationBatch)",
        "StartAt": "ForEachAsset",
        "States": {
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
                    "runTimeoutSeconds.$": "$.runTimeoutSeconds",
                    "predictions.$": "$.predictions",
                },
                "MaxConcurrencyPath": "$.maxConcurrency",
                # Assets never fail their child execution (see the module docstring); anything
                # that still does (a bug, a quota of Step Functions itself) is counted, not fatal.
                # A decimal: moto's ASL grammar refuses an integer here (AWS takes either).
                "ToleratedFailurePercentage": 100.0,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Start",
                    "States": _asset_states(),
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": results_bucket, "Prefix": RESULTS_PREFIX},
                },
                "ResultPath": "$.map",
                "Next": "Done",
            },
            "Done": {
                "Type": "Pass",
                "Parameters": {"mapRunArn.$": "$.map.MapRunArn", "results.$": "$.map.ResultWriterDetails"},
                "End": True,
            },
        },
    }
