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
