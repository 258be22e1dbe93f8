"""The wire contract between the construct (synth time) and the handler (Lambda).

One copy of the resource type, property names, limits and the shape of the ``Predictions``
property. Standard library only: the handler imports it in Lambda, the construct imports it at
synth time (as ``constructs_lib._handler.contract``), and the local replay reads the resource type.
Patterns and bounds come from the botocore DataZone model (StartMetadataGenerationRunInput,
AcceptPredictionsInput); tests compare them with it.
"""

from __future__ import annotations

import re
from typing import Final, Literal, NotRequired, TypedDict

RESOURCE_TYPE: Final = "Custom::DataZoneMetadataGenerationRun"

DOMAIN_ID_RE: Final = re.compile(r"dzd[-_][a-zA-Z0-9_-]{1,36}")
PROJECT_ID_RE: Final = re.compile(r"[a-zA-Z0-9_-]{1,36}")
RUN_ID_RE: Final = re.compile(r"[a-zA-Z0-9_-]{1,36}")
REVISION_MAX: Final = 64
EDITED_VALUE_MAX: Final = 5000
TYPES_MAX: Final = 2
KNOWN_TYPES: Final = ("BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS")
PREDICTION_INDEX_MAX: Final = 2**31 - 1

#: How often the provider's waiter asks isComplete for the run's status.
POLL_INTERVAL_SECONDS: Final = 10
#: CloudFormation's own limit for one custom-resource request (its maximum), set explicitly on
#: every resource: counted from the request, it would otherwise race the waiter's one hour.
SERVICE_TIMEOUT_SECONDS: Final = 3600
#: The longest a Lambda invocation of the handler may take: one call at its worst is 5 attempts
#: x (3 s connect + 10 s read) plus botocore's backoff; a poll that would need more (Get, then
#: DescribeStacks and Accept) checks the time left first and leaves the rest to the next poll.
HANDLER_TIMEOUT_SECONDS: Final = 180
#: The largest per-run ``timeout``: our timeout is noticed at the first poll after it, and that
#: poll may take a whole handler timeout, all before CloudFormation's ServiceTimeout (counted
#: from the request, a few seconds before the run's creation) fires with a less useful message.
MAX_TIMEOUT_SECONDS: Final = SERVICE_TIMEOUT_SECONDS - POLL_INTERVAL_SECONDS - HANDLER_TIMEOUT_SECONDS - 110
DEFAULT_TIMEOUT_SECONDS: Final = 1800
#: What 0.1 templates allowed; still accepted (and capped) so that rolling back to one works.
LEGACY_MAX_TIMEOUT_SECONDS: Final = 3600


class Prop:
    """ResourceProperties keys (CloudFormation property names: public, do not rename)."""

    DOMAIN_ID: Final = "DomainId"
    PROJECT_ID: Final = "ProjectId"
    ASSET_ID: Final = "AssetId"
    ASSET_REVISION: Final = "AssetRevision"
    TYPES: Final = "Types"
    WAIT_FOR_COMPLETION: Final = "WaitForCompletion"
    TIMEOUT_SECONDS: Final = "TimeoutSeconds"
    FAIL_ON_PARTIAL_SUCCESS: Final = "FailOnPartialSuccess"
    CANCEL_ON_DELETE: Final = "CancelOnDelete"
    RERUN_TOKEN: Final = "RerunToken"  # noqa: S105 - a property name, not a secret
    PREDICTIONS: Final = "Predictions"


class Attr:
    """Response Data keys, readable with ``Fn::GetAtt`` (public, do not rename)."""

    RUN_ID: Final = "RunId"
    STATUS: Final = "Status"
    ASSET_REVISION: Final = "AssetRevision"


class AcceptChoiceProperty(TypedDict):
    PredictionTarget: str
    PredictionChoice: NotRequired[int | str]
    EditedValue: NotRequired[str]


class RejectChoiceProperty(TypedDict):
    PredictionTarget: str
    PredictionChoices: NotRequired[list[int | str]]


class PredictionsProperty(TypedDict):
    """The ``Predictions`` property (numbers arrive as strings: CloudFormation stringifies them)."""

    Action: Literal["ACCEPT", "REJECT"]
    Rule: NotRequired[Literal["ALL", "NONE"]]
    Threshold: NotRequired[float | str]
    Choices: NotRequired[list[AcceptChoiceProperty] | list[RejectChoiceProperty]]


# ---------------------------------------------------------------------------------------------
# MetadataGenerationBatch

BATCH_RESOURCE_TYPE: Final = "Custom::DataZoneMetadataGenerationBatch"
#: Runs in flight at once, per batch (the Distributed Map's MaxConcurrency).
MAX_CONCURRENCY_MAX: Final = 1000
#: How long one asset's run may take before the workflow cancels it (it has no CloudFormation
#: limit: the execution may outlive the deploy).
DEFAULT_RUN_TIMEOUT_SECONDS: Final = 1800
MAX_RUN_TIMEOUT_SECONDS: Final = 24 * 3600
DATA_SOURCE_ID_RE: Final = re.compile(r"[a-zA-Z0-9_-]{1,36}")
SEARCH_TEXT_MAX: Final = 512
#: Data-source run activities whose asset exists after the run (imported now or before).
IMPORTED_ASSET_STATES: Final = ("SUCCEEDED_CREATED", "SUCCEEDED_UPDATED", "SKIPPED_ALREADY_IMPORTED", "UNCHANGED")


#: The workflow's own Lambda (``worker.py``): selection and summary, in bounded steps. Memory
#: holds one set of every selected id (1,000,000 at most: DataZone's assets per domain, about
#: 100 MB as Python strings) plus an 8 MiB upload buffer.
WORKER_TIMEOUT_SECONDS: Final = 180
WORKER_MEMORY_MB: Final = 512
#: The failure message the workflow ends with (and the handler puts into the Reason, which
#: CloudFormation caps with the rest of the response at 4096 bytes).
BATCH_FAILURE_MESSAGE_MAX: Final = 900
#: The error name of the workflow's end when more assets failed than the tolerance allows.
FAILURE_TOLERANCE_EXCEEDED: Final = "FailureToleranceExceeded"
#: Under an execution's prefix: one marker per run in flight (``<asset id>``: empty before its
#: Start, the run id after), written and deleted by the asset's child execution. Cancelling
#: reads exactly these: never another batch's, resource's or person's run.
INFLIGHT_FOLDER: Final = "inflight"
#: An execution's ``mode``: generate metadata, or cancel what a stopped execution left in flight.
BatchMode = Literal["RUN", "CANCEL"]


class BatchProp:
    """ResourceProperties keys of the batch resource (besides the shared ones in :class:`Prop`)."""

    SELECTION: Final = "Selection"
    MAX_CONCURRENCY: Final = "MaxConcurrency"
    FAILURE_TOLERANCE: Final = "FailureTolerancePercent"
    RUN_TIMEOUT_SECONDS: Final = "RunTimeoutSeconds"
    POLL_SECONDS: Final = "PollSeconds"
    STATE_MACHINE_ARN: Final = "StateMachineArn"
    RESULTS_BUCKET: Final = "ResultsBucket"
    #: "true": a batch still running at ``TimeoutSeconds`` is stopped and the deploy fails.
    #: Default (absent): the resource completes with Status RUNNING and the execution goes on.
    FAIL_ON_TIMEOUT: Final = "FailOnTimeout"
    #: "true": a selection that finds no asset is a batch of none, not an error.
    ALLOW_EMPTY_SELECTION: Final = "AllowEmptySelection"
    #: "true": each later run of the DATA_SOURCE selection's data source starts an execution over
    #: what that run created or updated (``continuous.py``); a Delete also stops those.
    CONTINUOUS: Final = "Continuous"


class BatchAttr:
    """Response Data keys of the batch resource."""

    EXECUTION_ARN: Final = "ExecutionArn"
    STATUS: Final = "Status"
    SUCCEEDED_COUNT: Final = "SucceededCount"
    FAILED_COUNT: Final = "FailedCount"
    SUMMARY: Final = "Summary"


class SelectionProperty(TypedDict):
    """``Selection``: which assets a batch covers."""

    Kind: Literal["IDS", "DATA_SOURCE", "SEARCH"]
    #: IDS: the S3 object (a JSON array of asset ids) the construct uploaded as an asset.
    Bucket: NotRequired[str]
    Key: NotRequired[str]
    Count: NotRequired[int | str]
    #: DATA_SOURCE: the assets its latest run imported.
    DataSourceId: NotRequired[str]
    #: DATA_SOURCE, continuous executions only: this run (not the latest), and only its
    #: activities of these statuses (default: IMPORTED_ASSET_STATES).
    RunId: NotRequired[str]
    AssetStatuses: NotRequired[list[str]]
    #: SEARCH: the project's assets, optionally matching a text and of given asset types.
    Text: NotRequired[str]
    AssetTypes: NotRequired[list[str]]


class S3Location(TypedDict):
    bucket: str
    key: str


class BatchPredictions(TypedDict):
    """What the workflow does after a run ended well (PascalCase: Step Functions SDK parameters)."""

    mode: Literal["NONE", "ACCEPT_RULE", "ACCEPT_CHOICES", "REJECT_RULE", "REJECT_CHOICES"]
    rule: dict[str, object]
    choices: list[dict[str, object]]


class ContinuousTurn(TypedDict):
    """A continuous execution's place: its batch (the key its execution names start with) and
    the data-source run it covers."""

    batchKey: str
    dataSourceRunId: str


class BatchInput(TypedDict):
    """The execution input the handler writes and the workflow definition reads."""

    mode: BatchMode
    domainId: str
    projectId: str
    types: list[str]
    #: The Selection property as the construct wrote it: the workflow chooses the assets.
    selection: SelectionProperty
    #: IDS: the ids file; other kinds: absent (the workflow writes ``<prefix>/items.json``).
    items: NotRequired[S3Location]
    #: Where this execution's files go (ids, summary): ``resultsBucket``/``prefix``/...
    resultsBucket: str
    prefix: str
    executionArn: str
    failureTolerance: float
    #: How long the selection waits for a data source's run that is still going.
    selectionWaitSeconds: int
    #: Whether a selection that finds no asset may go on (a batch of none) instead of failing.
    allowEmptySelection: bool
    maxConcurrency: int
    pollSeconds: int
    #: How long one asset's run may take (run_timeout): the workflow cancels it once the seconds
    #: its poll loop waited reach this (the interval backs off, so polls are not counted).
    runTimeoutSeconds: int
    tokenSeed: str
    predictions: BatchPredictions
    #: Which resource started it: lets a Delete with an invented physical id find its execution.
    resource: dict[str, str]
    #: A continuous batch's: where its data-source runs are claimed (``continuous.py``); a
    #: continuous execution also takes its turn behind the batch's other executions (``turn``).
    continuousPrefix: NotRequired[str]
    turn: NotRequired[ContinuousTurn]


class CancelInput(TypedDict):
    """The input of an execution that cancels the runs a stopped one (``target``) left in flight;
    named ``<target's name>-cancel``, so a redelivered Delete starts it once."""

    mode: BatchMode
    target: str
    domainId: str
    projectId: str
    types: list[str]
    tokenSeed: str
    resultsBucket: str
    prefix: str


# ---------------------------------------------------------------------------------------------
# Continuous batches (``continuous.py``): each later run of a batch's data source is covered

#: The DataZone events a continuous batch's rule matches (source ``aws.datazone``, default bus).
CONTINUOUS_DETAIL_TYPES: Final = ("Data Source Run Succeeded", "Data Source Run Failed")
#: The activities of a later data-source run that a continuous execution covers: what the run
#: created or changed. UNCHANGED and SKIPPED_* assets were covered when they were imported.
CONTINUOUS_ASSET_STATES: Final = ("SUCCEEDED_CREATED", "SUCCEEDED_UPDATED")


def continuous_folder(logical_id: str) -> str:
    """Where a continuous batch's executions write, beside its deploy-time ones
    (``batches/<logical id>/<execution name>``): one ``<data-source run id>/`` each."""
    return f"batches/{logical_id}/continuous"


class ContinuousTargetInput(TypedDict):
    """What a continuous batch's rule sends its intake function (an input transformer)."""

    #: The DataZone event's id, detail-type, time and detail (the only parts read).
    event: dict[str, object]
    #: The batch's ResourceProperties as the construct wrote them (values not stringified).
    batch: dict[str, object]
    #: The batch's custom resource: ``stackId`` and ``logicalResourceId``.
    resource: dict[str, str]
