"""MetadataGenerationBatch synth-time validation: each bad prop fails at construction with
``MetadataGenerationBatch: <prop>=<value> is invalid: <the fix>``; tokens pass unvalidated."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_datazone as datazone

from constructs_lib import (
    AcceptPredictions,
    AssetSelection,
    MetadataGenerationBatch,
    MetadataGenerationRun,
    RejectPredictions,
)
from constructs_lib._handler import contract
from constructs_lib.batch import MAX_IDS

DOMAIN = "dzd_abc123"
PROJECT = "proj123"
PREFIX = "MetadataGenerationBatch: "


def _valid() -> dict[str, Any]:
    return {"domain_id": DOMAIN, "project_id": PROJECT, "assets": AssetSelection.ids(["asset1", "asset2"])}


@pytest.fixture(scope="module")
def app() -> cdk.App:
    return cdk.App()


@pytest.fixture
def stack(app: cdk.App, request: pytest.FixtureRequest) -> cdk.Stack:
    name = re.sub(r"[^A-Za-z0-9]", "", request.node.name)[:100]
    return cdk.Stack(app, name)


def _fails(stack: cdk.Stack, **overrides: Any) -> str:
    return _fails_as(stack, "Batch", **overrides)


def _fails_as(stack: cdk.Stack, construct_id: str, **overrides: Any) -> str:
    with pytest.raises(ValueError, match=f"^{PREFIX}") as error:
        MetadataGenerationBatch(stack, construct_id, **{**_valid(), **overrides})
    return str(error.value)


def _selection_fails(select: Callable[[], AssetSelection]) -> str:
    with pytest.raises(ValueError, match=f"^{PREFIX}") as error:
        select()
    return str(error.value)


def _names(message: str, prop: str, value: object) -> None:
    assert message.startswith(f"{PREFIX}{prop}={value!r} is invalid: "), message


@pytest.mark.parametrize(
    ("prop", "value", "hint"),
    [
        ("domain_id", "abc123", "dzd[-_]"),
        ("domain_id", "dzd_" + "a" * 37, "dzd[-_]"),
        ("domain_id", "", "dzd[-_]"),
        ("domain_id", 123, "dzd[-_]"),
        ("project_id", "proj/123", "[a-zA-Z0-9_-]{1,36}"),
        ("project_id", "p" * 37, "[a-zA-Z0-9_-]{1,36}"),
        ("project_id", None, "[a-zA-Z0-9_-]{1,36}"),
        ("project_designation", "PROJECT_ADMIN", "PROJECT_CONTRIBUTOR"),
        ("rerun_token", 42, "use a string"),
    ],
)
def test_fails_if_id_designation_or_token_is_invalid(stack: cdk.Stack, prop: str, value: Any, hint: str) -> None:
    message = _fails(stack, **{prop: value})
    _names(message, prop, value)
    assert hint in message


@pytest.mark.parametrize("assets", ["asset1", ["asset1", "asset2"], None, {"Kind": "IDS"}])
def test_fails_if_assets_is_not_an_asset_selection(stack: cdk.Stack, assets: Any) -> None:
    message = _fails(stack, assets=assets)
    _names(message, "assets", assets)
    assert "AssetSelection.ids([...]), .data_source(id) or .search(...)" in message


@pytest.mark.parametrize(
    ("asset_ids", "shown", "hint"),
    [
        ([], [], "non-empty list of asset ids"),
        ("asset1", "asset1", "non-empty list of asset ids"),
        (("a" for _ in range(1)), None, "non-empty list of asset ids"),
        (["asset1", "", "asset2"], "", "every asset id must be a non-empty string"),
        (["asset1", 7], 7, "every asset id must be a non-empty string"),
        (["asset1", None], None, "every asset id must be a non-empty string"),
        (["b", "a", "b", "a", "c"], ["a", "b"], "each asset id may appear once: remove the duplicates"),
    ],
)
def test_fails_if_explicit_ids_are_empty_duplicated_or_not_strings(asset_ids: Any, shown: Any, hint: str) -> None:
    message = _selection_fails(lambda: AssetSelection.ids(asset_ids))
    if shown is None and not isinstance(asset_ids, list):
        assert message.startswith(f"{PREFIX}assets=<generator object"), message  # not a Sequence
    else:
        _names(message, "assets", shown)
    assert hint in message


def test_fails_if_an_explicit_id_is_a_token(stack: cdk.Stack) -> None:
    domain = datazone.CfnDomain(stack, "Domain", name="d", domain_execution_role="arn:aws:iam::1:role/r")
    token = domain.attr_id
    message = _selection_fails(lambda: AssetSelection.ids(["asset1", token]))
    _names(message, "assets", token)
    assert "needs ids known at synth time" in message
    assert "AssetSelection.data_source(...) or AssetSelection.search(...)" in message


def test_fails_if_there_are_more_explicit_ids_than_a_batch_takes() -> None:
    too_many = MAX_IDS
    message = _selection_fails(lambda: AssetSelection.ids([f"a{i}" for i in range(too_many + 1)]))
    _names(message, "assets", f"{too_many + 1} ids")
    assert f"at most {too_many:,} per batch; split them" in message


@pytest.mark.parametrize("data_source_id", ["source/1", "s" * 37, "", 42, None])
def test_fails_if_data_source_id_does_not_match_the_pattern(data_source_id: Any) -> None:
    message = _selection_fails(lambda: AssetSelection.data_source(data_source_id))
    _names(message, "assets", data_source_id)
    assert contract.DATA_SOURCE_ID_RE.pattern in message
    assert "CfnDataSource.attr_id" in message


@pytest.mark.parametrize(
    ("kwargs", "shown", "hint"),
    [
        ({"text": "x" * (contract.SEARCH_TEXT_MAX + 1)}, "x" * (contract.SEARCH_TEXT_MAX + 1), "1-512 characters"),
        ({"text": ""}, "", "1-512 characters"),
        ({"text": 5}, 5, "1-512 characters"),
        (
            {"asset_types": "amazon.datazone.GlueTableAssetType"},
            "amazon.datazone.GlueTableAssetType",
            "asset_types must be a list of type ids",
        ),
        ({"asset_types": [""]}, [""], "asset_types must be a list of type ids"),
        ({"asset_types": [3]}, [3], "asset_types must be a list of type ids"),
    ],
)
def test_fails_if_search_text_is_too_long_or_asset_types_not_a_list(kwargs: Any, shown: Any, hint: str) -> None:
    message = _selection_fails(lambda: AssetSelection.search(**kwargs))
    _names(message, "assets", shown)
    assert hint in message


@pytest.mark.parametrize(
    "types",
    [
        [],
        ["BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS"],
        ["BUSINESS_NAMES", "BUSINESS_NAMES"],
        ["BUSINESS_SUMMARIES"],
        "BUSINESS_NAMES",
    ],
)
def test_fails_if_types_are_not_1_to_2_distinct_known_values(stack: cdk.Stack, types: Any) -> None:
    message = _fails(stack, types=types)
    assert message.startswith(f"{PREFIX}types="), message
    assert "BUSINESS_GLOSSARY_ASSOCIATIONS" in message  # says what is allowed


@pytest.mark.parametrize("value", [0, 1001, -5, True, False, 2.5, 10.0, "10"])
def test_fails_if_max_concurrency_is_not_a_whole_number_from_1_to_1000(stack: cdk.Stack, value: Any) -> None:
    message = _fails(stack, max_concurrency=value)
    _names(message, "max_concurrency", value)
    assert "use a whole number from 1 to 1000" in message


@pytest.mark.parametrize("value", [-1, 101, 100.5, True, False, "5", float("nan")])
def test_fails_if_failure_tolerance_is_not_a_percentage(stack: cdk.Stack, value: Any) -> None:
    message = _fails(stack, failure_tolerance=value)
    assert message.startswith(f"{PREFIX}failure_tolerance="), message
    if value == value:  # NaN's repr is 'nan' too, but it is not equal to itself
        _names(message, "failure_tolerance", value)
    assert "use a percentage from 0 to 100" in message


@pytest.mark.parametrize(
    ("prop", "value", "shown", "limits"),
    [
        ("timeout", cdk.Duration.seconds(59), "59 s", "from 60 s to 3300 s (55 minutes"),
        ("timeout", cdk.Duration.minutes(56), "3360 s", "from 60 s to 3300 s (55 minutes"),
        ("timeout", cdk.Duration.hours(1), "3600 s", "from 60 s to 3300 s (55 minutes"),
        ("timeout", cdk.Duration.millis(60_500), "60.5 s", "from 60 s to 3300 s (55 minutes"),
        ("run_timeout", cdk.Duration.seconds(9), "9 s", "from 10 s (the poll interval) to 86400 s (24 hours)"),
        (
            "run_timeout",
            cdk.Duration.seconds(24 * 3600 + 1),
            "86401 s",
            "from 10 s (the poll interval) to 86400 s (24 hours)",
        ),
        (
            "run_timeout",
            cdk.Duration.millis(600_250),
            "600.25 s",
            "from 10 s (the poll interval) to 86400 s (24 hours)",
        ),
    ],
)
def test_fails_if_timeouts_are_out_of_range_or_fractional(
    stack: cdk.Stack, prop: str, value: cdk.Duration, shown: str, limits: str
) -> None:
    message = _fails(stack, **{prop: value})
    _names(message, prop, shown)
    assert f"must be a whole number of seconds {limits}" in message


@pytest.mark.parametrize("prop", ["timeout", "run_timeout"])
def test_fails_if_a_timeout_is_not_a_duration(stack: cdk.Stack, prop: str) -> None:
    message = _fails(stack, **{prop: 600})
    _names(message, prop, 600)
    assert "Duration.minutes(30)" in message


def test_fails_if_both_accept_and_reject_predictions_are_set(stack: cdk.Stack) -> None:
    reject = RejectPredictions.all()
    message = _fails(stack, accept_predictions=AcceptPredictions.all(), reject_predictions=reject)
    _names(message, "reject_predictions", reject)
    assert "set accept_predictions or reject_predictions, not both" in message


@pytest.mark.parametrize(
    ("prop", "value", "hint"),
    [
        ("accept_predictions", RejectPredictions.all(), "AcceptPredictions.all(...)"),
        ("reject_predictions", AcceptPredictions.all(), "RejectPredictions.all(...)"),
        ("accept_predictions", "ALL", "AcceptPredictions.all(...)"),
    ],
)
def test_fails_if_a_predictions_policy_has_the_wrong_type(stack: cdk.Stack, prop: str, value: Any, hint: str) -> None:
    message = _fails(stack, **{prop: value})
    _names(message, prop, value)
    assert hint in message


def test_invalid_props_add_nothing_to_the_stack(stack: cdk.Stack) -> None:
    # Validation comes before the stack's workflow and provider are made: a caught error leaves
    # no half-built shared resources behind.
    _fails_as(stack, "Concurrency", max_concurrency=0)
    _fails_as(stack, "Timeout", timeout=cdk.Duration.seconds(1))
    _fails_as(stack, "Designation", project_designation="PROJECT_ADMIN")
    children = [child.node.id for child in stack.node.children]
    assert "DataZoneMetadataGenerationBatchWorkflow" not in children
    assert "DataZoneMetadataGenerationRunProvider" not in children


def test_fails_if_a_batch_and_a_run_of_one_project_ask_for_different_designations(stack: cdk.Stack) -> None:
    MetadataGenerationRun(stack, "Run", domain_id=DOMAIN, project_id=PROJECT, asset_id="asset1")
    message = _fails(stack, project_designation="PROJECT_OWNER")
    _names(message, "project_designation", "PROJECT_OWNER")
    assert "PROJECT_CONTRIBUTOR" in message


def test_a_batch_and_a_run_of_one_project_with_different_designations_fail(stack: cdk.Stack) -> None:
    # What does hold today: the conflict is caught at synth, naming both designations.
    MetadataGenerationRun(stack, "Run", domain_id=DOMAIN, project_id=PROJECT, asset_id="asset1")
    with pytest.raises(ValueError, match=r"project_designation='PROJECT_OWNER'.*PROJECT_CONTRIBUTOR"):
        MetadataGenerationBatch(stack, "Batch", **_valid(), project_designation="PROJECT_OWNER")


def test_accepts_edge_values(stack: cdk.Stack) -> None:
    MetadataGenerationBatch(
        stack,
        "Low",
        domain_id="dzd-" + "a" * 36,
        project_id="p" * 36,
        assets=AssetSelection.ids(["asset1"]),
        max_concurrency=1,
        failure_tolerance=0,
        timeout=cdk.Duration.seconds(60),
        run_timeout=cdk.Duration.seconds(10),
        create_outputs=False,
    )
    MetadataGenerationBatch(
        stack,
        "High",
        **_valid(),
        max_concurrency=1000,
        failure_tolerance=100,
        timeout=cdk.Duration.minutes(55),
        run_timeout=cdk.Duration.hours(24),
        create_outputs=False,
    )
    MetadataGenerationBatch(
        stack,
        "Fractional",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.search(text="x" * contract.SEARCH_TEXT_MAX, asset_types=[]),
        failure_tolerance=12.5,
        create_outputs=False,
    )
    MetadataGenerationBatch(
        stack,
        "Source",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.data_source("d" * 36),
        create_outputs=False,
    )


def test_tokens_are_not_validated(stack: cdk.Stack) -> None:
    domain = datazone.CfnDomain(stack, "Domain", name="d", domain_execution_role="arn:aws:iam::1:role/r")
    project = datazone.CfnProject(stack, "Project", domain_identifier=domain.attr_id, name="p")
    source = datazone.CfnDataSource(
        stack,
        "DataSource",
        domain_identifier=domain.attr_id,
        project_identifier=project.attr_id,
        environment_identifier="env1",
        name="s",
        type="GLUE",
    )
    text = cdk.CfnParameter(stack, "Text").value_as_string
    designation = cdk.Fn.ref("Designation")
    for construct_id, assets in (
        ("FromSource", AssetSelection.data_source(source.attr_id)),
        ("FromImport", AssetSelection.data_source(cdk.Fn.import_value("SharedDataSourceId"))),
        ("Searched", AssetSelection.search(text=text, asset_types=[cdk.Fn.ref("AssetType")])),
    ):
        MetadataGenerationBatch(
            stack,
            construct_id,
            domain_id=domain.attr_id,
            project_id=project.attr_id,
            assets=assets,
            project_designation=designation,
            rerun_token=cdk.Fn.ref("Version"),
            create_outputs=False,
        )
