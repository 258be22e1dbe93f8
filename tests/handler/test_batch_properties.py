"""MetadataGenerationBatch: every bad property is refused before any call, naming the property,
its value and the fix; the defaults of the optional ones.

A Create, an Update and an isComplete all validate first; a Delete logs and succeeds (see
test_batch_delete.py). No client has anything queued here: any call fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from lambda_src.metadata_generation_run import batch, common, contract
from tests.handler.helpers import (
    ABSENT,
    DATA_SOURCE_ID,
    DESCRIPTIONS,
    ITEMS_BUCKET,
    ITEMS_KEY,
    NAMES,
    RESULTS_BUCKET,
    STATE_MACHINE_ARN,
    FakeContext,
    batch_event,
    batch_pid,
    batch_poll_event,
    batch_props,
)

MAX_TIMEOUT = contract.MAX_TIMEOUT_SECONDS
LONG_TEXT = "x" * (contract.SEARCH_TEXT_MAX + 1)

BAD_PROPERTIES: list[tuple[dict[str, Any], str]] = [
    ({"DomainId": "abc"}, "DomainId 'abc' is invalid: must match dzd[-_][a-zA-Z0-9_-]{1,36}"),
    ({"DomainId": ABSENT}, "DomainId None is invalid: must match dzd[-_][a-zA-Z0-9_-]{1,36}"),
    ({"ProjectId": "prj/1"}, "ProjectId 'prj/1' is invalid: must match [a-zA-Z0-9_-]{1,36}"),
    (
        {"Types": [DESCRIPTIONS, DESCRIPTIONS]},
        "Types ['BUSINESS_DESCRIPTIONS', 'BUSINESS_DESCRIPTIONS'] is invalid: must be a list of 1-2 distinct values "
        "from ['BUSINESS_DESCRIPTIONS', 'BUSINESS_GLOSSARY_ASSOCIATIONS', 'BUSINESS_NAMES']",
    ),
    (
        {"Types": ABSENT},
        "Types None is invalid: must be a list of 1-2 distinct values "
        "from ['BUSINESS_DESCRIPTIONS', 'BUSINESS_GLOSSARY_ASSOCIATIONS', 'BUSINESS_NAMES']",
    ),
    ({"Selection": ABSENT}, "Selection None is invalid: must be an object with Kind IDS, DATA_SOURCE or SEARCH"),
    ({"Selection": "IDS"}, "Selection 'IDS' is invalid: must be an object with Kind IDS, DATA_SOURCE or SEARCH"),
    ({"Selection": {"Kind": "ALL"}}, "Selection.Kind 'ALL' is invalid: must be IDS, DATA_SOURCE or SEARCH"),
    ({"Selection": {}}, "Selection.Kind None is invalid: must be IDS, DATA_SOURCE or SEARCH"),
    (
        {"Selection": {"Kind": "IDS", "Bucket": ITEMS_BUCKET}},
        f"Selection.Bucket/Key ['{ITEMS_BUCKET}', None] is invalid: must name the S3 object of the asset ids",
    ),
    (
        {"Selection": {"Kind": "IDS", "Bucket": "", "Key": ITEMS_KEY}},
        f"Selection.Bucket/Key ['', '{ITEMS_KEY}'] is invalid: must name the S3 object of the asset ids",
    ),
    (
        {"Selection": {"Kind": "IDS", "Bucket": ITEMS_BUCKET, "Key": ""}},
        f"Selection.Bucket/Key ['{ITEMS_BUCKET}', ''] is invalid: must name the S3 object of the asset ids",
    ),
    (
        {"Selection": {"Kind": "DATA_SOURCE", "DataSourceId": "ds 1"}},
        "Selection.DataSourceId 'ds 1' is invalid: must match [a-zA-Z0-9_-]{1,36}",
    ),
    (
        {"Selection": {"Kind": "DATA_SOURCE"}},
        "Selection.DataSourceId None is invalid: must match [a-zA-Z0-9_-]{1,36}",
    ),
    (
        {"Selection": {"Kind": "SEARCH", "Text": LONG_TEXT}},
        f"Selection.Text '{LONG_TEXT}' is invalid: must be 1-512 characters",
    ),
    ({"Selection": {"Kind": "SEARCH", "Text": 7}}, "Selection.Text 7 is invalid: must be 1-512 characters"),
    (
        {"Selection": {"Kind": "SEARCH", "AssetTypes": "amazon.datazone.GlueTableAssetType"}},
        "Selection.AssetTypes 'amazon.datazone.GlueTableAssetType' is invalid: "
        "must be a list of asset type identifiers",
    ),
    (
        {"Selection": {"Kind": "SEARCH", "AssetTypes": ["t", ""]}},
        "Selection.AssetTypes ['t', ''] is invalid: must be a list of asset type identifiers",
    ),
    ({"MaxConcurrency": "0"}, "MaxConcurrency '0' is invalid: must be a whole number from 1 to 1000"),
    ({"MaxConcurrency": "1001"}, "MaxConcurrency '1001' is invalid: must be a whole number from 1 to 1000"),
    ({"MaxConcurrency": "ten"}, "MaxConcurrency 'ten' is invalid: must be a whole number from 1 to 1000"),
    ({"MaxConcurrency": True}, "MaxConcurrency True is invalid: must be a whole number from 1 to 1000"),
    ({"MaxConcurrency": None}, "MaxConcurrency None is invalid: must be a whole number from 1 to 1000"),
    (
        {"FailureTolerancePercent": "100.5"},
        "FailureTolerancePercent '100.5' is invalid: must be a percentage from 0 to 100",
    ),
    ({"FailureTolerancePercent": "-1"}, "FailureTolerancePercent '-1' is invalid: must be a percentage from 0 to 100"),
    (
        {"FailureTolerancePercent": "NaN"},
        "FailureTolerancePercent 'NaN' is invalid: must be a percentage from 0 to 100",
    ),
    (
        {"FailureTolerancePercent": "some"},
        "FailureTolerancePercent 'some' is invalid: must be a percentage from 0 to 100",
    ),
    ({"RunTimeoutSeconds": "0"}, "RunTimeoutSeconds '0' is invalid: must be a whole number from 1 to 86400"),
    ({"RunTimeoutSeconds": "86401"}, "RunTimeoutSeconds '86401' is invalid: must be a whole number from 1 to 86400"),
    ({"PollSeconds": "-1"}, "PollSeconds '-1' is invalid: must be a whole number from 0 to 3600"),
    ({"PollSeconds": "3601"}, "PollSeconds '3601' is invalid: must be a whole number from 0 to 3600"),
    ({"TimeoutSeconds": "0"}, f"TimeoutSeconds '0' is invalid: must be a whole number of seconds, 1-{MAX_TIMEOUT}"),
    ({"WaitForCompletion": "yes"}, "WaitForCompletion 'yes' is invalid: must be true or false"),
    ({"CancelOnDelete": "1"}, "CancelOnDelete '1' is invalid: must be true or false"),
    ({"Predictions": {"Action": "KEEP"}}, "Predictions.Action 'KEEP' is invalid: must be ACCEPT or REJECT"),
    (
        {"Predictions": {"Action": "ACCEPT", "Threshold": "2"}},
        "Predictions.Threshold '2' is invalid: must be a number from 0 to 1",
    ),
    ({"StateMachineArn": ABSENT}, "StateMachineArn None is invalid: must be set (the construct sets it)"),
    ({"StateMachineArn": ""}, "StateMachineArn '' is invalid: must be set (the construct sets it)"),
    ({"ResultsBucket": ABSENT}, "ResultsBucket None is invalid: must be set (the construct sets it)"),
]
IDS = [message.split(" ", 1)[0] + "-" + str(n) for n, (_, message) in enumerate(BAD_PROPERTIES)]


@pytest.mark.parametrize(("overrides", "message"), BAD_PROPERTIES, ids=IDS)
@pytest.mark.parametrize("request_type", ["Create", "Update", "isComplete"])
def test_bad_property_is_named_with_its_value_and_the_fix(
    context: FakeContext, overrides: dict[str, Any], message: str, request_type: str
) -> None:
    props = batch_props(**overrides)
    handler: Any = batch.is_complete if request_type == "isComplete" else batch.on_event
    if request_type == "isComplete":
        event = batch_poll_event(props)
    else:
        physical_id = batch_pid(status="SUCCEEDED", counts="3.0") if request_type == "Update" else None
        event = batch_event(request_type, props, physical_id=physical_id)
    with pytest.raises(common.PropertyError) as caught:
        handler(event, context)
    assert str(caught.value) == f"ResourceProperties.{message}"


def test_invalid_request_type_is_refused(context: FakeContext) -> None:
    event: Any = batch_event()
    event["RequestType"] = "Replace"
    with pytest.raises(
        common.PropertyError, match="RequestType 'Replace' is invalid: must be Create, Update or Delete"
    ):
        batch.on_event(event, context)


def test_defaults_of_the_optional_properties() -> None:
    props = batch_props(
        MaxConcurrency=ABSENT,
        FailureTolerancePercent=ABSENT,
        TimeoutSeconds=ABSENT,
        RunTimeoutSeconds=ABSENT,
        PollSeconds=ABSENT,
        WaitForCompletion=ABSENT,
        CancelOnDelete=ABSENT,
    )
    spec = batch.parse_properties(props)
    assert (spec.max_concurrency, spec.failure_tolerance, spec.wait_for_completion, spec.cancel_on_delete) == (
        10,
        0.0,
        True,
        True,
    )
    assert (spec.timeout_seconds, spec.run_timeout_seconds, spec.poll_seconds) == (
        contract.DEFAULT_TIMEOUT_SECONDS,
        contract.DEFAULT_RUN_TIMEOUT_SECONDS,
        contract.POLL_INTERVAL_SECONDS,
    )
    assert spec.predictions is None
    assert (spec.state_machine_arn, spec.results_bucket) == (STATE_MACHINE_ARN, RESULTS_BUCKET)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (
            {"Kind": "IDS", "Bucket": ITEMS_BUCKET, "Key": ITEMS_KEY, "Count": "2"},
            batch.Selection("IDS", bucket=ITEMS_BUCKET, key=ITEMS_KEY),
        ),
        (
            {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID},
            batch.Selection("DATA_SOURCE", data_source_id=DATA_SOURCE_ID),
        ),
        ({"Kind": "SEARCH"}, batch.Selection("SEARCH")),
        ({"Kind": "SEARCH", "Text": "", "AssetTypes": []}, batch.Selection("SEARCH")),
        ({"Kind": "SEARCH", "Text": "s" * 512}, batch.Selection("SEARCH", text="s" * 512)),
        (
            {"Kind": "SEARCH", "Text": "sales", "AssetTypes": ["amazon.datazone.GlueTableAssetType"]},
            batch.Selection("SEARCH", text="sales", asset_types=("amazon.datazone.GlueTableAssetType",)),
        ),
    ],
)
def test_valid_selections(selection: dict[str, Any], expected: batch.Selection) -> None:
    assert batch.parse_properties(batch_props(Selection=selection)).selection == expected


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"MaxConcurrency": "1"}, "max_concurrency", 1),
        ({"MaxConcurrency": "1000"}, "max_concurrency", 1000),
        ({"FailureTolerancePercent": "100"}, "failure_tolerance", 100.0),
        ({"FailureTolerancePercent": "12.5"}, "failure_tolerance", 12.5),
        ({"PollSeconds": "0"}, "poll_seconds", 0),
        ({"RunTimeoutSeconds": "86400"}, "run_timeout_seconds", 86400),
        ({"Types": [NAMES, DESCRIPTIONS]}, "types", (NAMES, DESCRIPTIONS)),
        ({"WaitForCompletion": False}, "wait_for_completion", False),
    ],
)
def test_bounds_are_inclusive(overrides: dict[str, Any], field: str, value: Any) -> None:
    assert getattr(batch.parse_properties(batch_props(**overrides)), field) == value
