"""What to do with a run's predictions once it has finished: accept or reject them.

A metadata-generation run only produces predictions; DataZone changes the asset's metadata when
they are accepted (``AcceptPredictions``) and discards them when rejected (``RejectPredictions``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from constructs_lib._handler.contract import (
    EDITED_VALUE_MAX,
    AcceptChoiceProperty,
    PredictionsProperty,
    RejectChoiceProperty,
)
from constructs_lib._validation import invalid
from constructs_lib._validation import is_token as _is_token


def _invalid(prop: str, value: object, allowed: str) -> ValueError:
    # A policy is made before it is handed to a run or a batch, so the error names the class the
    # caller used, not a construct it may never reach.
    owner = "AcceptPredictions" if prop.startswith("accept_") else "RejectPredictions"
    return invalid(prop, value, allowed, construct=owner)


def _check_threshold(prop: str, threshold: float | None) -> None:
    if threshold is None:
        return
    allowed = "use a number from 0 to 1 (a prediction confidence score), or None"
    # NaN is checked before any token test: the jsii kernel cannot even receive it.
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or math.isnan(threshold):
        raise _invalid(prop, threshold, allowed)
    if not 0 <= threshold <= 1 and not _is_token(threshold):
        raise _invalid(prop, threshold, allowed)


def _check_target(prop: str, target: object) -> None:
    if not isinstance(target, str) or not target:
        raise _invalid(prop, target, "use the non-empty prediction target named by DataZone")


def _check_index(prop: str, value: object) -> None:
    if _is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(prop, value, "use the 0-based index of a prediction (an int >= 0)")


@dataclass(frozen=True)
class AcceptChoice:
    """Accept one prediction target, optionally a specific prediction or an edited value."""

    #: The prediction target (as DataZone names it) this choice applies to.
    prediction_target: str
    #: Index of the prediction to accept. Default: DataZone's choice (the top prediction).
    prediction_choice: int | None = None
    #: Accept this text instead of the predicted one (1-5000 characters). Default: none.
    edited_value: str | None = None


@dataclass(frozen=True)
class RejectChoice:
    """Reject some or all predictions of one prediction target."""

    #: The prediction target (as DataZone names it) this choice applies to.
    prediction_target: str
    #: Indexes of the predictions to reject. Default: all of the target's predictions.
    prediction_choices: Sequence[int] = field(default_factory=tuple)


def _check_accept_choice(prop: str, choice: AcceptChoice) -> None:
    if choice.prediction_choice is not None:
        _check_index(f"{prop}.prediction_choice", choice.prediction_choice)
    edited = choice.edited_value
    if edited is not None and (
        not isinstance(edited, str) or not (_is_token(edited) or 1 <= len(edited) <= EDITED_VALUE_MAX)
    ):
        raise _invalid(f"{prop}.edited_value", edited, f"use 1-{EDITED_VALUE_MAX} characters, or None")


def _check_reject_choice(prop: str, choice: RejectChoice) -> None:
    if isinstance(choice.prediction_choices, (str, int)):
        raise _invalid(f"{prop}.prediction_choices", choice.prediction_choices, "use a list of ints")
    for index in choice.prediction_choices:
        _check_index(f"{prop}.prediction_choices", index)


def _checked_choices(
    prop: str, choices: Sequence[Any], kind: type[AcceptChoice] | type[RejectChoice]
) -> tuple[Any, ...]:
    if isinstance(choices, (str, kind)) or not choices:
        raise _invalid(prop, choices, f"use a non-empty list of {kind.__name__}")
    for choice in choices:
        if not isinstance(choice, kind):
            raise _invalid(prop, choice, f"use {kind.__name__}(prediction_target=...)")
        _check_target(f"{prop}.prediction_target", choice.prediction_target)
        if isinstance(choice, AcceptChoice):
            _check_accept_choice(prop, choice)
        else:
            _check_reject_choice(prop, choice)
    return tuple(choices)


@dataclass(frozen=True)
class _Policy:
    action: Literal["ACCEPT", "REJECT"]
    rule: Literal["ALL", "NONE"]
    threshold: float | None
    selected: tuple[AcceptChoice, ...] | tuple[RejectChoice, ...]

    def to_property(self) -> PredictionsProperty:
        """The ``Predictions`` resource property the handler reads."""
        prop: PredictionsProperty = {"Action": self.action, "Rule": self.rule}
        if self.threshold is not None:
            prop["Threshold"] = self.threshold
        accepted = [_accept_property(c) for c in self.selected if isinstance(c, AcceptChoice)]
        rejected = [_reject_property(c) for c in self.selected if isinstance(c, RejectChoice)]
        if accepted:
            prop["Choices"] = accepted
        elif rejected:
            prop["Choices"] = rejected
        return prop

    @property
    def iam_action(self) -> str:
        return "datazone:AcceptPredictions" if self.action == "ACCEPT" else "datazone:RejectPredictions"


def _accept_property(choice: AcceptChoice) -> AcceptChoiceProperty:
    out: AcceptChoiceProperty = {"PredictionTarget": choice.prediction_target}
    if choice.prediction_choice is not None:
        out["PredictionChoice"] = choice.prediction_choice
    if choice.edited_value is not None:
        out["EditedValue"] = choice.edited_value
    return out


def _reject_property(choice: RejectChoice) -> RejectChoiceProperty:
    out: RejectChoiceProperty = {"PredictionTarget": choice.prediction_target}
    if choice.prediction_choices:
        out["PredictionChoices"] = list(choice.prediction_choices)
    return out


class AcceptPredictions(_Policy):
    """Accept the run's predictions after it SUCCEEDED or PARTIALLY_SUCCEEDED (``AcceptPredictions``)."""

    @classmethod
    def all(cls, *, threshold: float | None = None) -> AcceptPredictions:
        """Accept every prediction (``acceptRule: ALL``).

        :param threshold: the confidence score (0-1) at which a prediction is accepted.
            Default: none sent; DataZone applies its own.
        """
        _check_threshold("accept_predictions.threshold", threshold)
        return cls("ACCEPT", "ALL", threshold, ())

    @classmethod
    def choices(cls, choices: Sequence[AcceptChoice]) -> AcceptPredictions:
        """Accept only the listed prediction targets (``acceptRule: NONE`` plus ``acceptChoices``)."""
        return cls("ACCEPT", "NONE", None, _checked_choices("accept_predictions.choices", choices, AcceptChoice))


class RejectPredictions(_Policy):
    """Reject the run's predictions after it SUCCEEDED or PARTIALLY_SUCCEEDED (``RejectPredictions``)."""

    @classmethod
    def all(cls, *, threshold: float | None = None) -> RejectPredictions:
        """Reject every prediction (``rejectRule: ALL``).

        :param threshold: the confidence score (0-1) at which a prediction is rejected.
            Default: none sent; DataZone applies its own.
        """
        _check_threshold("reject_predictions.threshold", threshold)
        return cls("REJECT", "ALL", threshold, ())

    @classmethod
    def choices(cls, choices: Sequence[RejectChoice]) -> RejectPredictions:
        """Reject only the listed prediction targets (``rejectRule: NONE`` plus ``rejectChoices``)."""
        return cls("REJECT", "NONE", None, _checked_choices("reject_predictions.choices", choices, RejectChoice))
