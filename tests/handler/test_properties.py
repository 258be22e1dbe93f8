"""ResourceProperties validation: defaults, CloudFormation's string booleans, and errors naming the property."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    ABSENT,
    ASSET_ID,
    DESCRIPTIONS,
    DOMAIN_ID,
    GLOSSARY,
    NAMES,
    PROJECT_ID,
    RUN_ID,
    FakeContext,
    make_event,
    make_props,
    poll_event,
)


def test_defaults_when_only_required_properties_given() -> None:
    props = {"DomainId": DOMAIN_ID, "ProjectId": PROJECT_ID, "AssetId": ASSET_ID, "Types": [NAMES]}
    assert index.parse_properties(props) == index.RunSpec(
        domain_id=DOMAIN_ID,
        project_id=PROJECT_ID,
        asset_id=ASSET_ID,
        asset_revision=None,
        types=(NAMES,),
        wait_for_completion=True,
        timeout_seconds=1800,
        fail_on_partial_success=False,
        cancel_on_delete=True,
        rerun_token=None,
        predictions=None,
    )


def test_all_properties_parsed_from_cloudformation_strings() -> None:
    props = make_props(
        AssetRevision="7",
        Types=[GLOSSARY, DESCRIPTIONS],
        WaitForCompletion="false",
        TimeoutSeconds="90",
        FailOnPartialSuccess="true",
        CancelOnDelete="false",
        RerunToken="2026-01",
        ClientToken="my-token-1",
        ServiceTimeout="3600",
    )
    spec = index.parse_properties(props)
    assert spec.asset_revision == "7"
    assert spec.types == (GLOSSARY, DESCRIPTIONS)
    assert spec.wait_for_completion is False
    assert spec.timeout_seconds == 90
    assert spec.fail_on_partial_success is True
    assert spec.cancel_on_delete is False
    assert spec.rerun_token == "2026-01"
    # A 0.1 template's ClientToken and the ServiceTimeout are not the handler's business.
    assert spec == index.parse_properties(
        {k: v for k, v in props.items() if k not in ("ClientToken", "ServiceTimeout")}
    )


@pytest.mark.parametrize("value", ["has space", "x" * 129, "t\u00f6ken", "tab\there", "del\x7f", 5, ["a"]])
def test_client_token_property_is_ignored_whatever_its_value(value: Any) -> None:
    # The construct no longer sends it; a 0.1 template may, and a rollback to one must not fail.
    assert index.parse_properties(make_props(ClientToken=value)) == index.parse_properties(make_props())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("True", True), ("TRUE", True), (True, True), ("false", False), ("False", False), (False, False)],
)
@pytest.mark.parametrize("name", ["WaitForCompletion", "FailOnPartialSuccess", "CancelOnDelete"])
def test_boolean_properties(name: str, raw: Any, expected: bool) -> None:
    spec = index.parse_properties(make_props(**{name: raw}))
    field = {
        "WaitForCompletion": spec.wait_for_completion,
        "FailOnPartialSuccess": spec.fail_on_partial_success,
        "CancelOnDelete": spec.cancel_on_delete,
    }[name]
    assert field is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        (" 60 ", 60),
        (900, 900),
        (ABSENT, 1800),
        ("3300", 3300),
        # 0.1 templates allowed up to an hour: still accepted, so a rollback to one works, but
        # capped so that our timeout fires before CloudFormation's ServiceTimeout.
        ("3301", 3300),
        ("3600", 3300),
        (3600, 3300),
    ],
)
def test_timeout_seconds(raw: Any, expected: int) -> None:
    assert index.parse_properties(make_props(TimeoutSeconds=raw)).timeout_seconds == expected
    assert expected <= index.MAX_TIMEOUT_SECONDS == 3300


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"AssetRevision": ""}, "asset_revision", None),
        ({"AssetRevision": "r" * 64}, "asset_revision", "r" * 64),
        ({"RerunToken": ""}, "rerun_token", None),
        ({"Types": [NAMES, GLOSSARY]}, "types", (NAMES, GLOSSARY)),
        ({"DomainId": "dzd-" + "a" * 36}, "domain_id", "dzd-" + "a" * 36),
        ({"ProjectId": "P" * 36}, "project_id", "P" * 36),
    ],
)
def test_boundary_values_accepted(overrides: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(index.parse_properties(make_props(**overrides)), field) == expected


INVALID: list[tuple[str, Any]] = [
    ("DomainId", ABSENT),
    ("DomainId", ""),
    ("DomainId", "abc123"),
    ("DomainId", "dzd_"),
    ("DomainId", "dzd_" + "a" * 37),
    ("DomainId", "dzd abc"),
    ("DomainId", 123),
    ("ProjectId", ABSENT),
    ("ProjectId", ""),
    ("ProjectId", "prj 1"),
    ("ProjectId", "prj/1"),
    ("ProjectId", "p" * 37),
    ("AssetId", ABSENT),
    ("AssetId", ""),
    ("AssetId", 5),
    ("Types", ABSENT),
    ("Types", []),
    ("Types", [DESCRIPTIONS, NAMES, GLOSSARY]),
    ("Types", [NAMES, NAMES]),
    ("Types", ["BUSINESS_POEMS"]),
    ("Types", NAMES),
    ("Types", [None]),
    ("Types", [[NAMES]]),
    ("AssetRevision", "r" * 65),
    ("AssetRevision", 3),
    ("TimeoutSeconds", "abc"),
    ("TimeoutSeconds", "1.5"),
    ("TimeoutSeconds", "0"),
    ("TimeoutSeconds", "-5"),
    ("TimeoutSeconds", "3601"),
    ("TimeoutSeconds", "36000"),
    ("TimeoutSeconds", ""),
    ("WaitForCompletion", "yes"),
    ("WaitForCompletion", "1"),
    ("FailOnPartialSuccess", "maybe"),
    ("CancelOnDelete", "nope"),
    ("RerunToken", 5),
    ("Predictions", "accept"),
]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_parse_properties_names_the_invalid_property(name: str, value: Any) -> None:
    with pytest.raises(common.PropertyError, match=rf"ResourceProperties\.{name}\b"):
        index.parse_properties(make_props(**{name: value}))


@pytest.mark.parametrize(("name", "value"), INVALID)
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_on_event_rejects_invalid_property_before_any_call(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, request_type: str, name: str, value: Any
) -> None:
    # Nothing is queued on either stubber: any call would fail the test.
    event = make_event(request_type, make_props(**{name: value}), old_props=make_props(), physical_id=RUN_ID)
    with pytest.raises(common.PropertyError, match=rf"ResourceProperties\.{name}\b"):
        index.on_event(event, context)


@pytest.mark.parametrize(("name", "value"), INVALID[::4])
def test_is_complete_rejects_invalid_property_before_any_call(
    stubbed: Stubber, context: FakeContext, name: str, value: Any
) -> None:
    with pytest.raises(common.PropertyError, match=rf"ResourceProperties\.{name}\b"):
        index.is_complete(poll_event(make_props(**{name: value})), context)


def test_property_error_is_a_value_error_with_a_short_message() -> None:
    with pytest.raises(common.PropertyError) as caught:
        index.parse_properties(make_props(AssetRevision="r" * 100_000))
    assert isinstance(caught.value, ValueError)
    assert len(str(caught.value).encode()) <= common.REASON_LIMIT


def test_unknown_request_type_is_rejected(stubbed: Stubber, context: FakeContext) -> None:
    with pytest.raises(common.PropertyError, match="RequestType"):
        index.on_event(make_event("Replace"), context)
