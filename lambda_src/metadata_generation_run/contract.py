"""The wire contract between the construct (synth time) and the handler (Lambda).

One copy of the resource types, property names, limits, the shape of the ``Predictions``
property and the physical-id format. Standard library only: the handler imports it in Lambda, the
construct imports it at synth time (as ``constructs_lib._handler.contract``), and the local replay
reads the resource type.
Patterns and bounds come from the botocore DataZone model (StartMetadataGenerationRunInput,
AcceptPredictionsInput); tests compare them with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final, Literal, NotRequired, TypedDict
from urllib.parse import quote, unquote

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
    #: Set only by the local replay (its ``batch_poll_seconds``), never by the construct: a
    #: deployed batch's workflow first polls a run after POLL_INTERVAL_SECONDS, the default.
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
    #: BatchProp.POLL_SECONDS: POLL_INTERVAL_SECONDS but in a local replay.
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
# Physical ids (both resource types)

#: What a physical id names: a DataZone metadata-generation run, or a batch's workflow execution.
Kind = Literal["RUN", "BATCH"]
#: The names the batch handler gives its executions: ``mgb-`` and 32 hex digits of the request.
EXECUTION_NAME_RE: Final = re.compile(r"mgb-[0-9a-f]{32}")
_INPUTS_RE: Final = re.compile(r"[0-9a-f]{16}")
_COUNTS_RE: Final = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


@dataclass(frozen=True)
class PhysicalId:
    """A resource's physical id: ``<name>:<inputs>[:<status>[:<outcome>]][!<previous>]``, each
    field percent-encoded.

    CloudFormation hands it back on every Update and Delete, so it is where a handler keeps what
    it must know about the work the resource has: its ``name`` (a run's id, or a batch's execution
    name), the ``inputs`` it was started for (16 hex digits), the status the resource finished with
    (absent while in flight, and in what a FAILED response names), its outcome (a run: the asset
    revision its predictions produced; a batch: ``<succeeded>.<failed>``), and, for work an Update
    started, the physical id of what it replaced (so a rollback can return to it without asking
    anyone). A bare name (no ``:``, ``inputs`` None) is a 0.1 run's physical id; a batch never
    had one, but its handler has always taken one of its execution names for that execution.

    The text does not name the kind: the resource type does, so each handler parses with its own.
    Runs and batches have been written in this one format since each exists, and a handler of an
    earlier release reads all it writes: a new text format would look foreign to it in a rollback
    or a downgrade, and it would start a run or an execution there.
    """

    kind: Kind
    name: str
    inputs: str | None
    status: str | None = None
    #: RUN only: the asset revision its predictions produced.
    revision: str | None = None
    #: BATCH only: how many assets ended well and how many did not.
    counts: tuple[int, int] | None = None
    previous: PhysicalId | None = None

    def __post_init__(self) -> None:
        if self.kind == "RUN" and self.counts is not None:
            raise ValueError("a run's physical id has no counts")
        if self.kind == "BATCH" and self.revision is not None:
            raise ValueError("a batch's physical id has no revision")

    @classmethod
    def run(
        cls,
        run_id: str,
        inputs: str | None,
        status: str | None = None,
        revision: str | None = None,
        previous: PhysicalId | None = None,
    ) -> PhysicalId:
        return cls("RUN", run_id, inputs, status, revision=revision, previous=previous)

    @classmethod
    def batch(
        cls,
        name: str,
        inputs: str | None,
        status: str | None = None,
        counts: tuple[int, int] | None = None,
        previous: PhysicalId | None = None,
    ) -> PhysicalId:
        return cls("BATCH", name, inputs, status, counts=counts, previous=previous)

    @classmethod
    def parse(cls, kind: Kind, text: str | None) -> PhysicalId | None:
        """The ``kind`` physical id in ``text``, or None for anything its handler did not write (an
        id CloudFormation invented for a Delete, the framework's failed-create marker, ...)."""
        if not text:
            return None
        head, _, rest = text.partition("!")
        fields = [unquote(part) for part in head.split(":")]
        name = RUN_ID_RE if kind == "RUN" else EXECUTION_NAME_RE
        if not name.fullmatch(fields[0]) or len(fields) > 4:
            return None
        if len(fields) == 1:
            return cls(kind, fields[0], None) if not rest else None
        if not _INPUTS_RE.fullmatch(fields[1]) or (len(fields) >= 3 and not fields[2]):
            return None
        outcome = fields[3] if len(fields) == 4 else None
        counts = _COUNTS_RE.fullmatch(outcome) if kind == "BATCH" and outcome is not None else None
        if kind == "BATCH" and outcome is not None and counts is None:
            return None
        previous = cls.parse(kind, rest) if rest else None
        if rest and previous is None:
            return None
        return cls(
            kind,
            fields[0],
            fields[1],
            fields[2] if len(fields) >= 3 else None,
            revision=outcome if kind == "RUN" else None,
            counts=(int(counts[1]), int(counts[2])) if counts is not None else None,
            previous=previous,
        )

    def __str__(self) -> str:
        if self.inputs is None:
            return self.name
        fields = [self.name, self.inputs]
        if self.status is not None:
            fields.append(self.status)
            outcome = self.revision if self.counts is None else f"{self.counts[0]}.{self.counts[1]}"
            if outcome is not None:
                fields.append(outcome)
        text = ":".join(quote(field, safe="", errors="replace") for field in fields)
        return text if self.previous is None else f"{text}!{self.previous}"

    def finished(
        self, status: str, *, revision: str | None = None, counts: tuple[int, int] | None = None
    ) -> PhysicalId:
        return replace(self, status=status, revision=revision, counts=counts)

    def alone(self) -> PhysicalId:
        """This id without its own ``previous``: one step back is all a rollback needs."""
        return replace(self, previous=None)


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
