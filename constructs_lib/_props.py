"""The props ``MetadataGenerationRun`` and ``MetadataGenerationBatch`` both take, checked in one place.

Both constructs explain a bad id, type list, designation, timeout or predictions policy in the
same words; only the construct an error names (``owner``) differs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

import aws_cdk as cdk

from constructs_lib._handler import contract
from constructs_lib._validation import invalid, is_token
from constructs_lib.predictions import AcceptPredictions, RejectPredictions

RUN = "MetadataGenerationRun"
#: ``MetadataGenerationType.BUSINESS_DESCRIPTIONS``, the default the constructs' docstrings name.
DEFAULT_TYPE = "BUSINESS_DESCRIPTIONS"

DOMAIN_ID_ALLOWED = f"use a DataZone domain id matching {contract.DOMAIN_ID_RE.pattern}, e.g. 'dzd_abc123'"
PROJECT_ID_ALLOWED = f"use a DataZone project id matching {contract.PROJECT_ID_RE.pattern}"
PROJECT_DESIGNATIONS = (
    "PROJECT_OWNER",
    "PROJECT_CONTRIBUTOR",
    "PROJECT_CATALOG_VIEWER",
    "PROJECT_CATALOG_CONSUMER",
    "PROJECT_CATALOG_STEWARD",
)


def _check_pattern(prop: str, value: str, pattern: re.Pattern[str], allowed: str, owner: str) -> None:
    if not isinstance(value, str):
        raise invalid(prop, value, f"must be a string; {allowed}", owner)
    if not is_token(value) and not pattern.fullmatch(value):
        raise invalid(prop, value, allowed, owner)


def check_ids(domain_id: str, project_id: str, owner: str = RUN) -> None:
    """A DataZone domain id and project id, or tokens that stand for them."""
    _check_pattern("domain_id", domain_id, contract.DOMAIN_ID_RE, DOMAIN_ID_ALLOWED, owner)
    _check_pattern("project_id", project_id, contract.PROJECT_ID_RE, PROJECT_ID_ALLOWED, owner)


def check_designation(designation: str, owner: str = RUN) -> None:
    """The project membership's designation: checked whether or not the membership is made, so
    turning ``grant_project_access`` off does not hide a typo until it is turned on again."""
    if designation not in PROJECT_DESIGNATIONS and not is_token(designation):
        raise invalid("project_designation", designation, f"use one of {', '.join(PROJECT_DESIGNATIONS)}", owner)


def check_rerun_token(rerun_token: str | None, example: str, owner: str = RUN) -> None:
    """Any string (``example`` says what users pass), or None."""
    if rerun_token is not None and not isinstance(rerun_token, str):
        raise invalid("rerun_token", rerun_token, f"use a string (e.g. {example}) or None", owner)


def normalize_types(types: Sequence[str] | None, owner: str = RUN) -> list[str]:
    """The ``Types`` property: ``MetadataGenerationType`` members (or their strings) as strings.

    Checked against the contract's list, which ``MetadataGenerationType`` mirrors member for member
    (a test holds them together): this module cannot import the enum, whose module imports this one.
    """
    if types is None:
        return [DEFAULT_TYPE]
    known = contract.KNOWN_TYPES
    allowed = f"use 1-{contract.TYPES_MAX} distinct values of MetadataGenerationType ({', '.join(known)})"
    if isinstance(types, str) or not isinstance(types, Sequence):
        raise invalid("types", types, f"must be a list; {allowed}", owner)
    values = [t.value if isinstance(t, enum.StrEnum) else t for t in types]
    if not 1 <= len(values) <= contract.TYPES_MAX or len(set(values)) != len(values):
        raise invalid("types", values, allowed, owner)
    for value in values:
        if not isinstance(value, str) or (not is_token(value) and value not in known):
            raise invalid("types", values, f"{value!r} is not a known type; {allowed}", owner)
    return values


def duration_seconds(
    prop: str, value: cdk.Duration | None, *, default: int, bounds: tuple[int, int], allowed: str, owner: str = RUN
) -> int:
    """``value`` in whole seconds within ``bounds``, or ``default`` when it is None.

    A Python int: the property carries it, and every later ``to_seconds()`` would be another jsii
    round trip.
    """
    if value is None:
        return default
    if not isinstance(value, cdk.Duration):
        raise invalid(prop, value, "must be an aws_cdk.Duration, e.g. Duration.minutes(30)", owner)
    seconds = value.to_seconds(integral=False)
    low, high = bounds
    if not low <= seconds <= high or seconds != int(seconds):
        raise invalid(prop, f"{seconds:g} s", allowed, owner)
    return int(seconds)


def deploy_timeout_seconds(
    timeout: cdk.Duration | None, *, low: int, stop: str, low_reason: str = "", hint: str = "", owner: str = RUN
) -> int:
    """The ``timeout`` prop: how long the deploy waits, below the hour CloudFormation gives the
    custom resource (``SERVICE_TIMEOUT_SECONDS``) by what the handler needs to stop and report."""
    high = contract.MAX_TIMEOUT_SECONDS
    allowed = (
        f"must be a whole number of seconds from {low} s{low_reason} to {high} s ({high // 60} minutes: "
        f"CloudFormation gives a custom resource {contract.SERVICE_TIMEOUT_SECONDS // 60} minutes, and the handler "
        f"needs the rest to notice the timeout, {stop} and report it){hint}"
    )
    bounds = (low, high)
    return duration_seconds(
        "timeout", timeout, default=contract.DEFAULT_TIMEOUT_SECONDS, bounds=bounds, allowed=allowed, owner=owner
    )


def predictions_policy(
    accept: AcceptPredictions | None,
    reject: RejectPredictions | None,
    wait_for_completion: bool,
    owner: str = RUN,
) -> AcceptPredictions | RejectPredictions | None:
    """The one policy of ``accept_predictions`` and ``reject_predictions``, or None."""
    if accept is not None and reject is not None:
        raise invalid("reject_predictions", reject, "set accept_predictions or reject_predictions, not both", owner)
    if accept is not None and not isinstance(accept, AcceptPredictions):
        allowed = "use AcceptPredictions.all(...) or AcceptPredictions.choices(...)"
        raise invalid("accept_predictions", accept, allowed, owner)
    if reject is not None and not isinstance(reject, RejectPredictions):
        allowed = "use RejectPredictions.all(...) or RejectPredictions.choices(...)"
        raise invalid("reject_predictions", reject, allowed, owner)
    policy = accept or reject
    if policy is not None and not wait_for_completion:
        prop = "accept_predictions" if accept is not None else "reject_predictions"
        raise invalid(
            "wait_for_completion",
            False,
            f"{prop} needs the run to finish first: keep wait_for_completion=True or drop {prop}",
            owner,
        )
    return policy
