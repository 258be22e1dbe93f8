"""AcceptPredictions / RejectPredictions on their own: the property each sends, the IAM action it
needs, and the exact error a user reads for each bad value (no stack: these are plain Python)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from constructs_lib import AcceptChoice, AcceptPredictions, RejectChoice, RejectPredictions
from constructs_lib._handler.contract import EDITED_VALUE_MAX


def expect_error(text: str) -> pytest.RaisesExc[ValueError]:
    """The whole message must match: the construct, the prop, the value shown and the hint."""
    return pytest.raises(ValueError, match=f"^{re.escape(text)}$")


THRESHOLD_HINT = "use a number from 0 to 1 (a prediction confidence score), or None"
INDEX_HINT = "use the 0-based index of a prediction (an int >= 0)"
TARGET_HINT = "use the non-empty prediction target named by DataZone"


@pytest.mark.parametrize(
    ("build", "expected", "action"),
    [
        (AcceptPredictions.all, {"Action": "ACCEPT", "Rule": "ALL"}, "datazone:AcceptPredictions"),
        (lambda: AcceptPredictions.all(threshold=0), {"Action": "ACCEPT", "Rule": "ALL", "Threshold": 0}, None),
        (lambda: AcceptPredictions.all(threshold=1), {"Action": "ACCEPT", "Rule": "ALL", "Threshold": 1}, None),
        (RejectPredictions.all, {"Action": "REJECT", "Rule": "ALL"}, "datazone:RejectPredictions"),
        (lambda: RejectPredictions.all(threshold=0.25), {"Action": "REJECT", "Rule": "ALL", "Threshold": 0.25}, None),
        (lambda: RejectPredictions.all(threshold=0), {"Action": "REJECT", "Rule": "ALL", "Threshold": 0}, None),
        (lambda: RejectPredictions.all(threshold=1), {"Action": "REJECT", "Rule": "ALL", "Threshold": 1}, None),
        (
            lambda: AcceptPredictions.choices(
                [AcceptChoice("name", prediction_choice=0), AcceptChoice("d", edited_value="x")]
            ),
            {
                "Action": "ACCEPT",
                "Rule": "NONE",
                "Choices": [
                    {"PredictionTarget": "name", "PredictionChoice": 0},
                    {"PredictionTarget": "d", "EditedValue": "x"},
                ],
            },
            "datazone:AcceptPredictions",
        ),
        (
            lambda: AcceptPredictions.choices([AcceptChoice("d", edited_value="y" * EDITED_VALUE_MAX)]),
            {"Action": "ACCEPT", "Rule": "NONE", "Choices": [{"PredictionTarget": "d", "EditedValue": "y" * 5000}]},
            None,
        ),
        (
            lambda: RejectPredictions.choices(
                [RejectChoice("col_a", prediction_choices=[0, 3]), RejectChoice("col_b")]
            ),
            {
                "Action": "REJECT",
                "Rule": "NONE",
                "Choices": [
                    {"PredictionTarget": "col_a", "PredictionChoices": [0, 3]},
                    {"PredictionTarget": "col_b"},
                ],
            },
            "datazone:RejectPredictions",
        ),
    ],
)
def test_policy_sends_exactly_this_property(
    build: Callable[[], Any], expected: dict[str, Any], action: str | None
) -> None:
    # Built inside the test, not at collection: the code under test must run in the test.
    policy = build()
    assert policy.to_property() == expected
    if action is not None:
        assert policy.iam_action == action


@pytest.mark.parametrize("threshold", [-0.01, 1.01, float("nan"), "0.8", True])
def test_threshold_error_shows_the_value_and_the_range(threshold: Any) -> None:
    for kind, prop in ((AcceptPredictions, "accept_predictions"), (RejectPredictions, "reject_predictions")):
        with expect_error(f"{kind.__name__}: {prop}.threshold={threshold!r} is invalid: {THRESHOLD_HINT}"):
            kind.all(threshold=threshold)


@pytest.mark.parametrize(
    ("choices", "text"),
    [
        ([], "accept_predictions.choices=[] is invalid: use a non-empty list of AcceptChoice"),
        ("name", "accept_predictions.choices='name' is invalid: use a non-empty list of AcceptChoice"),
        (
            AcceptChoice("name"),
            "accept_predictions.choices=AcceptChoice(prediction_target='name', prediction_choice=None, "
            "edited_value=None) is invalid: use a non-empty list of AcceptChoice",
        ),
        (
            [RejectChoice("t")],
            "accept_predictions.choices=RejectChoice(prediction_target='t', prediction_choices=()) is invalid: "
            "use AcceptChoice(prediction_target=...)",
        ),
        ([AcceptChoice("")], f"accept_predictions.choices.prediction_target='' is invalid: {TARGET_HINT}"),
        ([AcceptChoice(7)], f"accept_predictions.choices.prediction_target=7 is invalid: {TARGET_HINT}"),  # type: ignore[arg-type]
        (
            [AcceptChoice("t", prediction_choice=-1)],
            f"accept_predictions.choices.prediction_choice=-1 is invalid: {INDEX_HINT}",
        ),
        (
            [AcceptChoice("t", prediction_choice=True)],
            f"accept_predictions.choices.prediction_choice=True is invalid: {INDEX_HINT}",
        ),
        (
            [AcceptChoice("t", prediction_choice="1")],  # type: ignore[arg-type]
            f"accept_predictions.choices.prediction_choice='1' is invalid: {INDEX_HINT}",
        ),
        (
            [AcceptChoice("t", edited_value="")],
            "accept_predictions.choices.edited_value='' is invalid: use 1-5000 characters, or None",
        ),
        (
            [AcceptChoice("t", edited_value=5)],  # type: ignore[arg-type]
            "accept_predictions.choices.edited_value=5 is invalid: use 1-5000 characters, or None",
        ),
    ],
)
def test_accept_choices_error_names_the_field_and_value(choices: Any, text: str) -> None:
    with expect_error(f"AcceptPredictions: {text}"):
        AcceptPredictions.choices(choices)


def test_edited_value_one_past_the_limit_is_refused() -> None:
    value = "z" * (EDITED_VALUE_MAX + 1)
    with expect_error(
        f"AcceptPredictions: accept_predictions.choices.edited_value={value!r} is invalid: "
        "use 1-5000 characters, or None"
    ):
        AcceptPredictions.choices([AcceptChoice("t", edited_value=value)])


@pytest.mark.parametrize(
    ("choices", "text"),
    [
        ([], "reject_predictions.choices=[] is invalid: use a non-empty list of RejectChoice"),
        (
            [AcceptChoice("t")],
            "reject_predictions.choices=AcceptChoice(prediction_target='t', prediction_choice=None, "
            "edited_value=None) is invalid: use RejectChoice(prediction_target=...)",
        ),
        ([RejectChoice("")], f"reject_predictions.choices.prediction_target='' is invalid: {TARGET_HINT}"),
        (
            [RejectChoice("t", prediction_choices="0")],  # type: ignore[arg-type]
            "reject_predictions.choices.prediction_choices='0' is invalid: use a list of ints",
        ),
        (
            [RejectChoice("t", prediction_choices=2)],  # type: ignore[arg-type]
            "reject_predictions.choices.prediction_choices=2 is invalid: use a list of ints",
        ),
        (
            [RejectChoice("t", prediction_choices=[0, -2])],
            f"reject_predictions.choices.prediction_choices=-2 is invalid: {INDEX_HINT}",
        ),
    ],
)
def test_reject_choices_error_names_the_field_and_value(choices: Any, text: str) -> None:
    with expect_error(f"RejectPredictions: {text}"):
        RejectPredictions.choices(choices)


def test_index_may_be_a_token() -> None:
    token = "${Token[TOKEN.42]}"
    policy = AcceptPredictions.choices([AcceptChoice("t", prediction_choice=token)])  # type: ignore[arg-type]
    assert policy.to_property()["Choices"] == [{"PredictionTarget": "t", "PredictionChoice": token}]
