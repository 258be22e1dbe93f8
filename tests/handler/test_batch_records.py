"""What the batch reports per asset: a ResultWriter entry (one child execution of the map) becomes
an asset record, and a failed record's reason is the service's own words (the workflow's worker
does this while it summarizes: worker.asset_record, worker.reason). And the handler's translation
of a predictions policy into the workflow's input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_src.metadata_generation_run import batch, common, worker


def _child(status: str | None = None, **fields: Any) -> dict[str, Any]:
    child: dict[str, Any] = {key: value for key, value in fields.items() if value is not None}
    if status is not None:
        child["Status"] = status
    return child


def test_a_succeeded_child_yields_its_own_record_with_an_empty_reason() -> None:
    record = {"assetId": "a1", "status": "SUCCEEDED", "runId": "r1"}
    out = worker.asset_record("SUCCEEDED", _child("SUCCEEDED", Output=json.dumps(record)))
    assert out == {**record, "reason": ""}


def test_a_failed_asset_keeps_a_reason_it_already_has() -> None:
    record = {"assetId": "a1", "status": "FAILED", "reason": "given"}
    assert worker.asset_record("SUCCEEDED", _child("SUCCEEDED", Output=json.dumps(record)))["reason"] == "given"


@pytest.mark.parametrize(
    ("kind", "child", "expected"),
    [
        (
            "FAILED",
            _child("FAILED", Input='{"assetId": "a7"}', Error="States.Timeout", Cause="took too long"),
            {"assetId": "a7", "status": "EXECUTION_FAILED", "reason": "States.Timeout: took too long"},
        ),
        (
            "FAILED",
            _child("FAILED", Input='{"assetId": "a7"}', Output=json.dumps({"assetId": "a7", "status": "FAILED"})),
            {"assetId": "a7", "status": "EXECUTION_FAILED", "reason": ": "},
        ),
        ("ABORTED", _child(), {"assetId": None, "status": "EXECUTION_ABORTED", "reason": ": "}),
        (
            "SUCCEEDED",
            _child("SUCCEEDED", Output="not json"),
            {"assetId": None, "status": "EXECUTION_SUCCEEDED", "reason": ": "},
        ),
        (
            "FAILED",
            _child("TIMED_OUT", Input="[1]", Error="E"),
            {"assetId": None, "status": "EXECUTION_TIMED_OUT", "reason": "E: "},
        ),
        (
            "FAILED",
            _child("FAILED", Input="{", Cause="C"),
            {"assetId": None, "status": "EXECUTION_FAILED", "reason": ": C"},
        ),
        # A succeeded child whose output is not an asset record (JSON, but not an object).
        (
            "SUCCEEDED",
            _child("SUCCEEDED", Input='{"assetId": "a9"}', Output="[1]"),
            {"assetId": "a9", "status": "EXECUTION_SUCCEEDED", "reason": ": "},
        ),
        # Without a Status of its own, the manifest's kind names it.
        (
            "PENDING",
            _child(Input='{"assetId": "a8"}', Error="E", Cause="C"),
            {"assetId": "a8", "status": "EXECUTION_PENDING", "reason": "E: C"},
        ),
    ],
)
def test_a_child_execution_that_failed_itself_is_reported_as_such(
    kind: str, child: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert worker.asset_record(kind, child) == expected


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"status": "SUCCEEDED", "error": "ignored"}, ""),
        ({"status": "PARTIALLY_SUCCEEDED", "lastStatus": "ignored"}, ""),
        (
            {
                "status": "FAILED",
                "run": {
                    "TypeStats": [
                        {"Type": "BUSINESS_NAMES", "ErrorMessage": "no columns"},
                        {"Type": "BUSINESS_DESCRIPTIONS"},
                        {"Type": "BUSINESS_GLOSSARY_ASSOCIATIONS", "ErrorMessage": "no glossary"},
                    ]
                },
                "error": "not shown",
            },
            "BUSINESS_NAMES: no columns; BUSINESS_GLOSSARY_ASSOCIATIONS: no glossary",
        ),
        (
            {"status": "START_FAILED", "error": "DataZone.ValidationException", "cause": "bad asset"},
            "DataZone.ValidationException: bad asset",
        ),
        ({"status": "START_FAILED", "error": "DataZone.ValidationException"}, "DataZone.ValidationException: "),
        ({"status": "TIMED_OUT", "run": {"TypeStats": []}, "lastStatus": "IN_PROGRESS"}, "last status IN_PROGRESS"),
        ({"status": "FAILED", "run": None}, "the service gave no error message"),
    ],
)
def test_reason_is_the_services_own_words(record: dict[str, Any], reason: str) -> None:
    assert worker.reason(record) == reason


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"mode": "ACCEPT_RULE", "rule": {}, "choices": []}),
        (
            {"acceptRule": {"rule": "ALL", "threshold": 0.5}},
            {"mode": "ACCEPT_RULE", "rule": {"Rule": "ALL", "Threshold": 0.5}, "choices": []},
        ),
        (
            {"acceptChoices": [{"predictionTarget": "t"}]},
            {"mode": "ACCEPT_CHOICES", "rule": {"Rule": "NONE"}, "choices": [{"PredictionTarget": "t"}]},
        ),
    ],
)
def test_a_policy_without_a_rule_leaves_it_to_datazone(body: dict[str, Any], expected: dict[str, Any]) -> None:
    # Only listed choices imply rule NONE; with neither rule nor choices DataZone applies its default.
    assert batch.predictions_input(common.Predictions(action="ACCEPT", body=body)) == expected
