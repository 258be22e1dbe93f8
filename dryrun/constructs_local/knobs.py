"""What the local endpoint can be told to do differently from a well-behaved DataZone.

Kept apart from the backend so that the CLI, the replay and tests can build and check knobs
without the service's state, and so that the statuses they name have one home.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

RUNNING = ("SUBMITTED", "IN_PROGRESS")
FINAL = ("SUCCEEDED", "FAILED", "PARTIALLY_SUCCEEDED", "CANCELED")
WITH_PREDICTIONS = ("SUCCEEDED", "PARTIALLY_SUCCEEDED")
#: ``Knobs.final_status`` value for a run that never leaves IN_PROGRESS.
NEVER = "IN_PROGRESS"
#: How a data source run may end (``DataSourceRunStatus`` of the model, minus the waiting ones).
DATA_SOURCE_RUN_FINAL = ("SUCCESS", "PARTIALLY_SUCCEEDED", "FAILED")

OPERATIONS = (
    "StartMetadataGenerationRun",
    "GetMetadataGenerationRun",
    "CancelMetadataGenerationRun",
    "ListMetadataGenerationRuns",
    "AcceptPredictions",
    "RejectPredictions",
    "ListDataSourceRuns",
    "ListDataSourceRunActivities",
    "Search",
)


@dataclass
class Knobs:
    """Fault injection and pacing, settable at any time (also over HTTP: ``POST /_local/knobs``).

    The two call counters count down: ``throttle_calls=3`` answers the next three matching calls
    with 429 ThrottlingException, then calls go through again.
    """

    #: The next N calls answer 429 ThrottlingException (retried by botocore).
    throttle_calls: int = 0
    #: A steady share of calls (0-1) answers 429 ThrottlingException, spread evenly and
    #: deterministically (0.05: every 20th matching call), on top of ``throttle_calls``.
    throttle_fraction: float = 0.0
    #: After those, the next N calls answer 500 InternalServerException (transient; retried by botocore).
    server_error_calls: int = 0
    #: After those, the next N calls answer HTTP 503 with no error type at all (no
    #: ``x-amzn-errortype``, body ``{"message": "Service Unavailable"}``), as a front end under
    #: load may: an answer DataZone's model does not name (Step Functions: DataZone.DataZoneException).
    unavailable_calls: int = 0
    #: Limit the counters above (and disconnect_calls) to these operations (None: every operation).
    fault_operations: list[str] | None = None
    #: StartMetadataGenerationRun answers 402 ServiceQuotaExceededException once the domain has
    #: this many SUBMITTED/IN_PROGRESS runs (0: every start). None: no quota.
    max_active_runs: int | None = None
    #: Added to every call (virtual seconds on the shared clock). Not zero: DataZone's control
    #: plane answers in tens to a few hundred milliseconds, and an endpoint that answers at once
    #: hides how much of a Lambda's time its calls take; 0.1 s is a typical call.
    latency_seconds: float = 0.1
    #: How long a new run stays SUBMITTED, then IN_PROGRESS (virtual seconds). Metadata generation
    #: (an LLM over an asset's schema) takes minutes, not seconds: 34 s queued plus 262 s of work
    #: is just under 5 minutes, and ends a run between two of the provider's 10 s polls, never on
    #: one. Tests that need fast runs set these knobs.
    submitted_seconds: float = 34.0
    in_progress_seconds: float = 262.0
    #: asset id -> how its runs end: SUCCEEDED | FAILED | PARTIALLY_SUCCEEDED | CANCELED, or
    #: IN_PROGRESS for never. Assets not named end as their seed ``outcome`` says, else SUCCEEDED.
    final_status: dict[str, str] = field(default_factory=dict)
    #: ``typeStats[].errorMessage`` of the types that fail.
    error_message: str = "metadata generation failed for this type (injected by the local endpoint)"
    #: Assumption, on by default (the stricter choice): a second run for an asset that has one
    #: SUBMITTED/IN_PROGRESS answers 409 ConflictException.
    reject_concurrent_runs: bool = True
    #: How long a clientToken is remembered (virtual seconds); None: forever. DataZone does not
    #: document a TTL; AWS APIs typically forget tokens after hours, so code that relies on a
    #: token to make a *later* call idempotent (minutes or days later) breaks on AWS.
    client_token_ttl_seconds: float | None = None
    #: Read-after-write: Get of a run younger than this answers 404, as an eventually consistent
    #: read may right after Start.
    not_found_after_start_seconds: float = 0.0
    #: After the throttles and 500s, the next N matching calls lose their connection (no answer).
    disconnect_calls: int = 0
    #: asset id -> a status Get and List report once the run has left SUBMITTED (e.g. a status
    #: this code has never heard of, such as "PAUSED").
    reported_status: dict[str, str] = field(default_factory=dict)
    #: How long a new data source run stays REQUESTED, then RUNNING (virtual seconds). An import
    #: takes minutes on AWS; code that reads the assets before the run ends must wait for it.
    data_source_requested_seconds: float = 5.0
    data_source_running_seconds: float = 60.0
    #: data source id -> how its runs end: SUCCESS (default) | PARTIALLY_SUCCEEDED | FAILED.
    data_source_final_status: dict[str, str] = field(default_factory=dict)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set knobs from a JSON-style mapping, rejecting unknown names and bad values."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown knob(s) {unknown}; known: {sorted(known)}")
        for name, value in changes.items():
            check_knob(name, value)
        for name, value in changes.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _statuses(allowed: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, dict) and all(s in allowed for s in value.values())


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "throttle_calls": _count,
    "throttle_fraction": lambda v: _seconds(v) and v <= 1,
    "server_error_calls": _count,
    "unavailable_calls": _count,
    "disconnect_calls": _count,
    "latency_seconds": _seconds,
    "submitted_seconds": _seconds,
    "in_progress_seconds": _seconds,
    "not_found_after_start_seconds": _seconds,
    "data_source_requested_seconds": _seconds,
    "data_source_running_seconds": _seconds,
    "final_status": _statuses((*FINAL, NEVER)),
    "data_source_final_status": _statuses(DATA_SOURCE_RUN_FINAL),
    "fault_operations": lambda v: v is None or (isinstance(v, list) and all(op in OPERATIONS for op in v)),
    "max_active_runs": lambda v: v is None or _count(v),
    "error_message": lambda v: isinstance(v, str) and bool(v),
    "reject_concurrent_runs": lambda v: isinstance(v, bool),
    "client_token_ttl_seconds": lambda v: v is None or (_seconds(v) and v > 0),
    "reported_status": lambda v: isinstance(v, dict) and all(isinstance(s, str) and s for s in v.values()),
}


def check_knob(name: str, value: Any) -> None:
    """Raise ValueError when ``value`` is not a valid setting of knob ``name``."""
    check = _CHECKS.get(name)
    if check is not None and not check(value):
        raise ValueError(f"knob {name}={value!r} is invalid")
