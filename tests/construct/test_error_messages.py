"""The whole error a user reads for each bad prop: construct, prop, the value as shown, and the fix.

(test_validation.py and test_batch_validation.py check which props are refused; this module pins
the text, so a hint that goes missing or wrong is a failure, not a pass.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from constructs_lib import (
    AcceptPredictions,
    AssetSelection,
    MetadataGenerationBatch,
    MetadataGenerationRun,
    MetadataGenerationType,
    RejectPredictions,
)
from constructs_lib.batch import MAX_IDS

RUN: dict[str, Any] = {"domain_id": "dzd_abc123", "project_id": "proj123", "asset_id": "asset123"}
BATCH: dict[str, Any] = {"domain_id": "dzd_abc123", "project_id": "proj123", "assets": AssetSelection.search()}
TYPES_HINT = (
    "use 1-2 distinct values of MetadataGenerationType "
    "(BUSINESS_DESCRIPTIONS, BUSINESS_NAMES, BUSINESS_GLOSSARY_ASSOCIATIONS)"
)
DESIGNATIONS = (
    "PROJECT_OWNER, PROJECT_CONTRIBUTOR, PROJECT_CATALOG_VIEWER, PROJECT_CATALOG_CONSUMER, PROJECT_CATALOG_STEWARD"
)
DOMAIN_HINT = "use a DataZone domain id matching dzd[-_][a-zA-Z0-9_-]{1,36}, e.g. 'dzd_abc123'"
TIMEOUT_HINT = (
    "must be a whole number of seconds from 10 s (the poll interval) to 3300 s (55 minutes: CloudFormation gives "
    "a custom resource 60 minutes, and the handler needs the rest to notice the timeout, cancel the run and report it)"
)


@pytest.fixture(scope="module")
def app() -> cdk.App:
    return cdk.App()


def _stack(app: cdk.App, request: pytest.FixtureRequest) -> cdk.Stack:
    return cdk.Stack(app, re.sub(r"[^A-Za-z0-9]", "", request.node.name)[:100])


def _refused(build: Callable[[], object], text: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(text)}$"):
        build()


@pytest.mark.parametrize(
    ("props", "text"),
    [
        (
            {"domain_id": "abc123"},
            "domain_id='abc123' is invalid: use a DataZone domain id matching dzd[-_][a-zA-Z0-9_-]{1,36}, "
            "e.g. 'dzd_abc123'",
        ),
        (
            {"domain_id": 5},
            "domain_id=5 is invalid: must be a string; use a DataZone domain id matching dzd[-_][a-zA-Z0-9_-]{1,36}, "
            "e.g. 'dzd_abc123'",
        ),
        (
            {"project_id": "proj/123"},
            "project_id='proj/123' is invalid: use a DataZone project id matching [a-zA-Z0-9_-]{1,36}",
        ),
        ({"asset_id": ""}, "asset_id='' is invalid: use the non-empty id of a DataZone asset"),
        ({"asset_id": 7}, "asset_id=7 is invalid: use the non-empty id of a DataZone asset"),
        ({"asset_revision": ""}, "asset_revision='' is invalid: use 1-64 characters, or None for the latest revision"),
        ({"asset_revision": 3}, "asset_revision=3 is invalid: use 1-64 characters, or None for the latest revision"),
        (
            {"asset_revision": "r" * 65},
            f"asset_revision={'r' * 65!r} is invalid: use 1-64 characters, or None for the latest revision",
        ),
        ({"rerun_token": 5}, "rerun_token=5 is invalid: use a string (e.g. a schema hash) or None"),
        ({"types": "BUSINESS_NAMES"}, f"types='BUSINESS_NAMES' is invalid: must be a list; {TYPES_HINT}"),
        ({"types": []}, f"types=[] is invalid: {TYPES_HINT}"),
        (
            {"types": ["BUSINESS_NAMES", "BUSINESS_NAMES"]},
            f"types=['BUSINESS_NAMES', 'BUSINESS_NAMES'] is invalid: {TYPES_HINT}",
        ),
        (
            {"types": ["BUSINESS_NAMES", "BUSINESS_DESCRIPTIONS", "BUSINESS_GLOSSARY_ASSOCIATIONS"]},
            "types=['BUSINESS_NAMES', 'BUSINESS_DESCRIPTIONS', 'BUSINESS_GLOSSARY_ASSOCIATIONS'] is invalid: "
            f"{TYPES_HINT}",
        ),
        ({"types": ["NOPE"]}, f"types=['NOPE'] is invalid: 'NOPE' is not a known type; {TYPES_HINT}"),
        ({"types": [5]}, f"types=[5] is invalid: 5 is not a known type; {TYPES_HINT}"),
        ({"timeout": 30}, "timeout=30 is invalid: must be an aws_cdk.Duration, e.g. Duration.minutes(30)"),
        ({"timeout": cdk.Duration.seconds(9)}, f"timeout='9 s' is invalid: {TIMEOUT_HINT}"),
        ({"timeout": cdk.Duration.seconds(3301)}, f"timeout='3301 s' is invalid: {TIMEOUT_HINT}"),
        ({"timeout": cdk.Duration.millis(10500)}, f"timeout='10.5 s' is invalid: {TIMEOUT_HINT}"),
        (
            {"project_designation": "PROJECT_ADMIN"},
            f"project_designation='PROJECT_ADMIN' is invalid: use one of {DESIGNATIONS}",
        ),
        (
            {"client_token": "t"},
            "client_token='t' is invalid: the prop was removed in 0.2.0: a fixed token made DataZone return runs "
            "started for earlier requests, so the token is now always derived from the CloudFormation request; "
            "drop the argument (use rerun_token to ask for a new run)",
        ),
        (
            {"accept_predictions": AcceptPredictions.all(), "reject_predictions": RejectPredictions.all()},
            "reject_predictions=RejectPredictions(action='REJECT', rule='ALL', threshold=None, selected=()) is "
            "invalid: set accept_predictions or reject_predictions, not both",
        ),
        (
            {"accept_predictions": RejectPredictions.all()},
            "accept_predictions=RejectPredictions(action='REJECT', rule='ALL', threshold=None, selected=()) is "
            "invalid: use AcceptPredictions.all(...) or AcceptPredictions.choices(...)",
        ),
        (
            {"reject_predictions": AcceptPredictions.all()},
            "reject_predictions=AcceptPredictions(action='ACCEPT', rule='ALL', threshold=None, selected=()) is "
            "invalid: use RejectPredictions.all(...) or RejectPredictions.choices(...)",
        ),
        (
            {"accept_predictions": AcceptPredictions.all(), "wait_for_completion": False},
            "wait_for_completion=False is invalid: accept_predictions needs the run to finish first: keep "
            "wait_for_completion=True or drop accept_predictions",
        ),
        (
            {"reject_predictions": RejectPredictions.all(), "wait_for_completion": False},
            "wait_for_completion=False is invalid: reject_predictions needs the run to finish first: keep "
            "wait_for_completion=True or drop reject_predictions",
        ),
    ],
)
def test_run_error_text(app: cdk.App, request: pytest.FixtureRequest, props: dict[str, Any], text: str) -> None:
    stack = _stack(app, request)
    _refused(lambda: MetadataGenerationRun(stack, "Run", **{**RUN, **props}), f"MetadataGenerationRun: {text}")


@pytest.mark.parametrize(
    ("props", "text"),
    [
        # The same words as the run's (issue 17 item 5): the example id, and the timeout's reason.
        ({"domain_id": "abc"}, f"domain_id='abc' is invalid: {DOMAIN_HINT}"),
        # One check for both constructs: a value that is no string is told so, as the run always did.
        ({"domain_id": 5}, f"domain_id=5 is invalid: must be a string; {DOMAIN_HINT}"),
        ({"project_id": "p/1"}, "project_id='p/1' is invalid: use a DataZone project id matching [a-zA-Z0-9_-]{1,36}"),
        (
            {"assets": ["a"]},
            "assets=['a'] is invalid: use AssetSelection.ids([...]), .data_source(id) or .search(...)",
        ),
        ({"max_concurrency": 0}, "max_concurrency=0 is invalid: use a whole number from 1 to 1000"),
        ({"max_concurrency": True}, "max_concurrency=True is invalid: use a whole number from 1 to 1000"),
        ({"max_concurrency": 1001}, "max_concurrency=1001 is invalid: use a whole number from 1 to 1000"),
        ({"max_concurrency": "5"}, "max_concurrency='5' is invalid: use a whole number from 1 to 1000"),
        ({"failure_tolerance": -0.5}, "failure_tolerance=-0.5 is invalid: use a percentage from 0 to 100"),
        ({"failure_tolerance": 100.5}, "failure_tolerance=100.5 is invalid: use a percentage from 0 to 100"),
        ({"failure_tolerance": True}, "failure_tolerance=True is invalid: use a percentage from 0 to 100"),
        ({"failure_tolerance": "5"}, "failure_tolerance='5' is invalid: use a percentage from 0 to 100"),
        ({"timeout": 5}, "timeout=5 is invalid: must be an aws_cdk.Duration, e.g. Duration.minutes(30)"),
        (
            {"timeout": cdk.Duration.seconds(59)},
            "timeout='59 s' is invalid: must be a whole number of seconds from 60 s to 3300 s (55 minutes: "
            "CloudFormation gives a custom resource 60 minutes, and the handler needs the rest to notice the "
            "timeout, stop the execution and report it); a longer batch needs wait_for_completion=False",
        ),
        (
            {"run_timeout": cdk.Duration.days(3)},
            "run_timeout='259200 s' is invalid: must be a whole number of seconds from 10 s (the poll interval) "
            "to 86400 s (24 hours)",
        ),
        ({"rerun_token": 5}, "rerun_token=5 is invalid: use a string (e.g. a catalog version) or None"),
        ({"project_designation": "X"}, f"project_designation='X' is invalid: use one of {DESIGNATIONS}"),
        ({"types": []}, f"types=[] is invalid: {TYPES_HINT}"),
        (
            {"accept_predictions": AcceptPredictions.all(), "reject_predictions": RejectPredictions.all()},
            "reject_predictions=RejectPredictions(action='REJECT', rule='ALL', threshold=None, selected=()) is "
            "invalid: set accept_predictions or reject_predictions, not both",
        ),
    ],
)
def test_batch_error_text(app: cdk.App, request: pytest.FixtureRequest, props: dict[str, Any], text: str) -> None:
    stack = _stack(app, request)
    _refused(lambda: MetadataGenerationBatch(stack, "Batch", **{**BATCH, **props}), f"MetadataGenerationBatch: {text}")


IDS_NEEDED = "AssetSelection.ids needs a non-empty list of asset ids"
SOURCE_NEEDED = (
    "AssetSelection.data_source needs a data source id matching [a-zA-Z0-9_-]{1,36} (e.g. CfnDataSource.attr_id)"
)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda: AssetSelection.ids([]), f"assets=[] is invalid: {IDS_NEEDED}"),
        (lambda: AssetSelection.ids("a"), f"assets='a' is invalid: {IDS_NEEDED}"),
        (
            lambda: AssetSelection.ids([f"a{i}" for i in range(MAX_IDS + 1)]),
            "assets='100001 ids' is invalid: at most 100,000 per batch; split them",
        ),
        (lambda: AssetSelection.ids(["a", ""]), "assets='' is invalid: every asset id must be a non-empty string"),
        (
            lambda: AssetSelection.ids([5]),  # type: ignore[list-item]
            "assets=5 is invalid: every asset id must be a non-empty string",
        ),
        (
            lambda: AssetSelection.ids(["${Token[X.1]}"]),
            "assets='${Token[X.1]}' is invalid: AssetSelection.ids needs ids known at synth time; for ids that exist "
            "only after deployment use AssetSelection.data_source(...) or AssetSelection.search(...)",
        ),
        (
            lambda: AssetSelection.ids(["b", "a", "b", "a", "c"]),
            "assets=['a', 'b'] is invalid: each asset id may appear once: remove the duplicates",
        ),
        (lambda: AssetSelection.data_source("bad id"), f"assets='bad id' is invalid: {SOURCE_NEEDED}"),
        (
            lambda: AssetSelection.data_source(5),  # type: ignore[arg-type]
            f"assets=5 is invalid: {SOURCE_NEEDED}",
        ),
        (
            lambda: AssetSelection.search(text=""),
            "assets='' is invalid: AssetSelection.search text must be 1-512 characters",
        ),
        (
            lambda: AssetSelection.search(text="x" * 513),
            f"assets={'x' * 513!r} is invalid: AssetSelection.search text must be 1-512 characters",
        ),
        (
            lambda: AssetSelection.search(text=5),  # type: ignore[arg-type]
            "assets=5 is invalid: AssetSelection.search text must be 1-512 characters",
        ),
        (
            lambda: AssetSelection.search(asset_types="t"),
            "assets='t' is invalid: AssetSelection.search asset_types must be a list of type ids",
        ),
        (
            lambda: AssetSelection.search(asset_types=[""]),
            "assets=[''] is invalid: AssetSelection.search asset_types must be a list of type ids",
        ),
    ],
)
def test_selection_error_text(build: Callable[[], object], text: str) -> None:
    _refused(build, f"MetadataGenerationBatch: {text}")


def test_selections_at_their_limits_are_accepted() -> None:
    assert AssetSelection.ids(["only"]).kind == "IDS"
    assert AssetSelection.ids([f"a{i}" for i in range(MAX_IDS)]).kind == "IDS"
    assert AssetSelection.search(text="x").kind == "SEARCH"
    assert AssetSelection.search(text="x" * 512, asset_types=["t"]).kind == "SEARCH"
    assert AssetSelection.data_source("${Token[Y.2]}").kind == "DATA_SOURCE"


def test_run_props_at_their_limits_reach_the_resource(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Limits")
    limits: dict[str, dict[str, Any]] = {
        "Shortest": {"timeout": cdk.Duration.seconds(10), "asset_revision": "1", "types": ["BUSINESS_NAMES"]},
        "Longest": {
            "timeout": cdk.Duration.seconds(3300),
            "asset_revision": "r" * 64,
            "types": [MetadataGenerationType.BUSINESS_NAMES, "BUSINESS_GLOSSARY_ASSOCIATIONS"],
        },
    }
    for name, props in limits.items():
        MetadataGenerationRun(stack, name, **RUN, create_outputs=False, **props)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "Custom::DataZoneMetadataGenerationRun",
        {"TimeoutSeconds": 10, "AssetRevision": "1", "Types": ["BUSINESS_NAMES"]},
    )
    template.has_resource_properties(
        "Custom::DataZoneMetadataGenerationRun",
        {
            "TimeoutSeconds": 3300,
            "AssetRevision": "r" * 64,
            "Types": ["BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS"],
        },
    )


def test_token_ids_and_designation_are_taken_as_they_are() -> None:
    stack = cdk.Stack(cdk.App(), "TokenProps")
    asset = cdk.CfnParameter(stack, "Asset").value_as_string
    designation = cdk.CfnParameter(stack, "Designation").value_as_string
    kind = cdk.CfnParameter(stack, "Type").value_as_string
    MetadataGenerationRun(
        stack, "Run", **{**RUN, "asset_id": asset}, project_designation=designation, types=[kind, "BUSINESS_NAMES"]
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::DataZone::ProjectMembership", {"Designation": {"Ref": "Designation"}})
    template.has_resource_properties(
        "Custom::DataZoneMetadataGenerationRun", {"Types": [{"Ref": "Type"}, "BUSINESS_NAMES"]}
    )
    descriptions = sorted(output["Description"] for output in template.find_outputs("*").values())
    assert descriptions == [
        "DataZone metadata-generation run ID for the asset (TokenProps/Run)",
        "DataZone metadata-generation run status for the asset (TokenProps/Run)",
    ]


def test_a_missing_handler_package_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util  # noqa: PLC0415

    from constructs_lib import _provider  # noqa: PLC0415

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        RuntimeError,
        match=r"^constructs_lib\._handler is missing: reinstall datazone-metadata-generation-constructs$",
    ):
        _provider.lambda_code_dir()
