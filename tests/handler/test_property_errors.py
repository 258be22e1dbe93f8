"""The whole failure reason for each malformed ResourceProperties value (what CloudFormation shows
the user), and the values at each limit that must still be accepted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import make_props

TYPES = "['BUSINESS_DESCRIPTIONS', 'BUSINESS_GLOSSARY_ASSOCIATIONS', 'BUSINESS_NAMES']"
INDEX_RANGE = "must be a number from 0 to 2147483647"


def _accept(**fields: Any) -> dict[str, Any]:
    return {"Predictions": {"Action": "ACCEPT", **fields}}


def _reject_choice(**fields: Any) -> dict[str, Any]:
    return {"Predictions": {"Action": "REJECT", "Choices": [{"PredictionTarget": "t", **fields}]}}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"DomainId": "bad"}, "DomainId 'bad' is invalid: must match dzd[-_][a-zA-Z0-9_-]{1,36}"),
        ({"ProjectId": "a/b"}, "ProjectId 'a/b' is invalid: must match [a-zA-Z0-9_-]{1,36}"),
        ({"AssetId": ""}, "AssetId '' is invalid: must be a non-empty asset id"),
        ({"AssetRevision": 5}, "AssetRevision 5 is invalid: must be a string"),
        ({"AssetRevision": "r" * 65}, f"AssetRevision {'r' * 65!r} is invalid: must be 1-64 characters"),
        ({"RerunToken": 5}, "RerunToken 5 is invalid: must be a string"),
        ({"WaitForCompletion": "maybe"}, "WaitForCompletion 'maybe' is invalid: must be true or false"),
        ({"Types": ["X"]}, f"Types ['X'] is invalid: must be a list of 1-2 distinct values from {TYPES}"),
        ({"TimeoutSeconds": "abc"}, "TimeoutSeconds 'abc' is invalid: must be a whole number of seconds, 1-3300"),
        ({"TimeoutSeconds": "0"}, "TimeoutSeconds '0' is invalid: must be a whole number of seconds, 1-3300"),
        ({"Predictions": "x"}, "Predictions 'x' is invalid: must be an object with Action ACCEPT or REJECT"),
        ({"Predictions": {"Action": "KEEP"}}, "Predictions.Action 'KEEP' is invalid: must be ACCEPT or REJECT"),
        (_accept(Rule="SOME"), "Predictions.Rule 'SOME' is invalid: must be ALL or NONE"),
        (_accept(Threshold="1.5"), "Predictions.Threshold '1.5' is invalid: must be a number from 0 to 1"),
        (_accept(Threshold="abc"), "Predictions.Threshold 'abc' is invalid: must be a number from 0 to 1"),
        (_accept(Threshold=True), "Predictions.Threshold True is invalid: must be a number from 0 to 1"),
        (_accept(Choices="x"), "Predictions.Choices 'x' is invalid: must be a list of objects with PredictionTarget"),
        (
            _accept(Choices=["x"]),
            "Predictions.Choices ['x'] is invalid: must be a list of objects with PredictionTarget",
        ),
        (
            _accept(Choices=[{"PredictionTarget": ""}]),
            "Predictions.Choices.PredictionTarget '' is invalid: must be a non-empty string",
        ),
        (
            _accept(Choices=[{"PredictionTarget": "t", "PredictionChoice": "-1"}]),
            f"Predictions.Choices.PredictionChoice '-1' is invalid: {INDEX_RANGE}",
        ),
        (
            _accept(Choices=[{"PredictionTarget": "t", "PredictionChoice": "2147483648"}]),
            f"Predictions.Choices.PredictionChoice '2147483648' is invalid: {INDEX_RANGE}",
        ),
        (
            _accept(Choices=[{"PredictionTarget": "t", "EditedValue": ""}]),
            "Predictions.Choices.EditedValue '' is invalid: must be 1-5000 characters",
        ),
        (
            _accept(Choices=[{"PredictionTarget": "t", "EditedValue": 5}]),
            "Predictions.Choices.EditedValue 5 is invalid: must be 1-5000 characters",
        ),
        (
            _reject_choice(PredictionChoices="1"),
            "Predictions.Choices.PredictionChoices '1' is invalid: must be a list of prediction indexes",
        ),
        (
            _reject_choice(PredictionChoices=["1", "x"]),
            f"Predictions.Choices.PredictionChoices 'x' is invalid: {INDEX_RANGE}",
        ),
    ],
)
def test_property_error_reason(overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(common.PropertyError, match=f"^{re.escape('ResourceProperties.' + reason)}$"):
        index.parse_properties({**make_props(), **overrides})


def test_edited_value_one_past_the_limit_is_refused_with_a_shortened_reason() -> None:
    choice = {"PredictionTarget": "t", "EditedValue": "e" * 5001}
    with pytest.raises(common.PropertyError) as error:
        index.parse_properties({**make_props(), **_accept(Choices=[choice])})
    reason = str(error.value)
    assert reason.startswith("ResourceProperties.Predictions.Choices.EditedValue 'eeee")
    assert reason.endswith("...")
    assert common.json_size(reason) <= common.REASON_LIMIT


@pytest.mark.parametrize(
    ("predictions", "body"),
    [
        ("", None),
        ({"Action": "ACCEPT"}, {}),
        ({"Action": "ACCEPT", "Threshold": "0"}, {"acceptRule": {"threshold": 0.0}}),
        ({"Action": "REJECT", "Rule": "ALL", "Threshold": "1"}, {"rejectRule": {"rule": "ALL", "threshold": 1.0}}),
        (
            {
                "Action": "ACCEPT",
                "Rule": "NONE",
                "Choices": [
                    {"PredictionTarget": "a", "PredictionChoice": "0"},
                    {"PredictionTarget": "b", "PredictionChoice": "2147483647", "EditedValue": "x"},
                    {"PredictionTarget": "c", "EditedValue": "y" * 5000},
                ],
            },
            {
                "acceptRule": {"rule": "NONE"},
                "acceptChoices": [
                    {"predictionTarget": "a", "predictionChoice": 0},
                    {"predictionTarget": "b", "predictionChoice": 2147483647, "editedValue": "x"},
                    {"predictionTarget": "c", "editedValue": "y" * 5000},
                ],
            },
        ),
        (
            {"Action": "REJECT", "Choices": [{"PredictionTarget": "t", "PredictionChoices": ["0", "2147483647"]}]},
            {"rejectChoices": [{"predictionTarget": "t", "predictionChoices": [0, 2147483647]}]},
        ),
    ],
)
def test_predictions_at_their_limits_become_this_request_body(predictions: Any, body: Any) -> None:
    parsed = index.parse_properties({**make_props(), "Predictions": predictions}).predictions
    if body is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (parsed.action, parsed.body) == (predictions["Action"], body)
