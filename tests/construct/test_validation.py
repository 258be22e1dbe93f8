"""Synth-time validation: each bad prop fails at construction, naming the prop, value and fix."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_datazone as datazone

import constructs_lib
from constructs_lib import MetadataGenerationRun, MetadataGenerationType, _props, _provider
from constructs_lib._handler import contract
from constructs_lib._validation import is_token
from lambda_src.metadata_generation_run import index

VALID: dict[str, Any] = {"domain_id": "dzd_abc123", "project_id": "proj123", "asset_id": "asset123"}


@pytest.fixture(scope="module")
def app() -> cdk.App:
    return cdk.App()


@pytest.fixture
def stack(app: cdk.App, request: pytest.FixtureRequest) -> cdk.Stack:
    name = re.sub(r"[^A-Za-z0-9]", "", request.node.name)[:100]
    return cdk.Stack(app, name)


def _fails(stack: cdk.Stack, **overrides: Any) -> str:
    with pytest.raises(ValueError, match=r"^MetadataGenerationRun: ") as error:
        MetadataGenerationRun(stack, "Run", **{**VALID, **overrides})
    return str(error.value)


@pytest.mark.parametrize(
    ("prop", "value", "hint"),
    [
        ("domain_id", "abc123", "dzd[-_]"),
        ("domain_id", "dzd_" + "a" * 37, "dzd[-_]"),
        ("domain_id", "", "dzd[-_]"),
        ("project_id", "proj/123", "[a-zA-Z0-9_-]{1,36}"),
        ("project_id", "p" * 37, "[a-zA-Z0-9_-]{1,36}"),
        ("asset_id", "", "non-empty"),
        ("asset_revision", "", "1-64 characters"),
        ("asset_revision", "r" * 65, "1-64 characters"),
        ("project_designation", "PROJECT_ADMIN", "PROJECT_CONTRIBUTOR"),
    ],
)
def test_fails_if_string_prop_is_invalid(stack: cdk.Stack, prop: str, value: str, hint: str) -> None:
    message = _fails(stack, **{prop: value})
    assert f"{prop}={value!r}" in message
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
    assert message.startswith("MetadataGenerationRun: types=")
    assert "BUSINESS_GLOSSARY_ASSOCIATIONS" in message  # says what is allowed


@pytest.mark.parametrize(
    ("timeout", "shown"),
    [
        (cdk.Duration.seconds(5), "5 s"),
        (cdk.Duration.minutes(61), "3660 s"),
        (cdk.Duration.hours(1), "3600 s"),
        (cdk.Duration.seconds(3301), "3301 s"),
        (cdk.Duration.millis(10_500), "10.5 s"),
    ],
)
def test_fails_if_timeout_is_outside_poll_interval_to_55_minutes(
    stack: cdk.Stack, timeout: cdk.Duration, shown: str
) -> None:
    message = _fails(stack, timeout=timeout)
    assert f"timeout='{shown}'" in message
    assert "from 10 s (the poll interval) to 3300 s (55 minutes" in message
    assert "CloudFormation gives a custom resource 60 minutes" in message


def test_fails_if_client_token_is_passed(stack: cdk.Stack) -> None:
    message = _fails(stack, client_token="my-token-1")
    assert "client_token='my-token-1' is invalid" in message
    assert "removed in 0.2.0" in message
    assert "drop the argument (use rerun_token to ask for a new run)" in message


def test_longest_timeout_leaves_the_handler_room_under_cloudformation_service_timeout() -> None:
    margin = contract.SERVICE_TIMEOUT_SECONDS - contract.MAX_TIMEOUT_SECONDS
    # The first poll after the timeout may come a poll interval late and take a whole handler
    # timeout (including the cancel) before the framework reports it.
    assert margin > contract.POLL_INTERVAL_SECONDS + contract.HANDLER_TIMEOUT_SECONDS
    assert contract.MAX_TIMEOUT_SECONDS == index.MAX_TIMEOUT_SECONDS == 3300


def test_fails_if_timeout_is_not_a_duration(stack: cdk.Stack) -> None:
    assert "Duration.minutes" in _fails(stack, timeout=600)


def test_fails_if_two_runs_of_one_project_ask_for_different_designations(stack: cdk.Stack) -> None:
    MetadataGenerationRun(stack, "First", **VALID)
    message = (
        "MetadataGenerationRun: project_designation='PROJECT_OWNER' is invalid: another run or batch in this stack "
        "already grants PROJECT_CONTRIBUTOR in the same project; use the same designation for every "
        "MetadataGenerationRun and MetadataGenerationBatch of a project"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        MetadataGenerationRun(stack, "Second", **VALID, project_designation="PROJECT_OWNER")


def test_accepts_enum_and_plain_string_types_and_edge_values(stack: cdk.Stack) -> None:
    MetadataGenerationRun(
        stack,
        "Edge",
        domain_id="dzd-" + "a" * 36,
        project_id="p" * 36,
        asset_id="asset",
        asset_revision="r" * 64,
        types=[MetadataGenerationType.BUSINESS_NAMES, "BUSINESS_DESCRIPTIONS"],
        timeout=cdk.Duration.minutes(55),
    )
    MetadataGenerationRun(stack, "ShortTimeout", **VALID, timeout=cdk.Duration.seconds(10), create_outputs=False)


def test_tokens_are_not_validated(stack: cdk.Stack) -> None:
    domain = datazone.CfnDomain(stack, "Domain", name="d", domain_execution_role="arn:aws:iam::1:role/r")
    param = cdk.CfnParameter(stack, "Revision")
    MetadataGenerationRun(
        stack,
        "Run",
        domain_id=domain.attr_id,
        project_id=cdk.Fn.ref("ProjectParam"),
        asset_id=cdk.Fn.import_value("SharedAssetId"),
        asset_revision=param.value_as_string,
    )


def test_is_token_agrees_with_cdk_token_is_unresolved(stack: cdk.Stack) -> None:
    domain = datazone.CfnDomain(stack, "Domain", name="d", domain_execution_role="arn:aws:iam::1:role/r")
    samples: list[Any] = [
        domain.attr_id,
        cdk.Fn.ref("X"),
        cdk.Aws.ACCOUNT_ID,
        f"prefix-{domain.attr_id}",
        cdk.Token.as_list(cdk.Fn.ref("L")),
        "dzd_abc123",
        "${NotAToken}",
        ["BUSINESS_NAMES"],
    ]
    for sample in samples:
        assert is_token(sample) == cdk.Token.is_unresolved(sample), sample


def _stack_of_100_runs(name: str) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App()
    stack = cdk.Stack(app, name)
    for i in range(100):
        MetadataGenerationRun(stack, f"Run{i}", **{**VALID, "asset_id": f"asset{i}"})
    return app, stack


def test_outputs_up_to_cloudformations_limit_synthesize() -> None:
    app, _ = _stack_of_100_runs("AtTheLimit")  # 2 outputs each: exactly 200
    assert len(app.synth().get_stack_by_name("AtTheLimit").template["Outputs"]) == 200


def test_fails_if_outputs_would_pass_cloudformation_limit() -> None:
    app, stack = _stack_of_100_runs("TooManyOutputs")
    cdk.CfnOutput(stack, "UsersOwn", value="x")  # the user's outputs count too
    message = (
        "stack TooManyOutputs has 201 outputs, more than CloudFormation's limit of 200: pass create_outputs=False "
        "to MetadataGenerationRun (each adds 2 or 3) and read run_id/run_status where you need them"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        app.synth()


def test_construct_and_handler_patterns_match_the_botocore_model() -> None:
    model = boto3.client("datazone", region_name="us-east-1").meta.service_model
    start: Any = model.operation_model("StartMetadataGenerationRun").input_shape.members  # type: ignore[union-attr]
    patterns = {
        "domain": start["domainIdentifier"].metadata["pattern"],
        "project": start["owningProjectIdentifier"].metadata["pattern"],
    }
    assert contract.DOMAIN_ID_RE.pattern == index.DOMAIN_ID_RE.pattern == patterns["domain"]
    assert contract.PROJECT_ID_RE.pattern == index.PROJECT_ID_RE.pattern == patterns["project"]
    # The derived clientToken ("cfn-" + 64 hex digits) fits the model's pattern and length.
    token = start["clientToken"].metadata
    derived = index.derive_client_token(
        {"StackId": "s", "LogicalResourceId": "l", "RequestId": "r"}  # type: ignore[typeddict-item]
    )
    assert re.fullmatch(token["pattern"], derived)
    assert token["min"] <= len(derived) <= token["max"]
    assert contract.REVISION_MAX == index.REVISION_MAX == start["target"].members["revision"].metadata["max"]
    assert contract.TYPES_MAX == index.TYPES_MAX == start["types"].metadata["max"]
    enum = set(start["types"].member.enum)
    assert {t.value for t in MetadataGenerationType} == set(index.KNOWN_TYPES) == enum
    # Member for member, in order: the shared types check refuses by the contract's list and
    # names it in the enum's order, and its default is the first member.
    assert tuple(t.value for t in MetadataGenerationType) == contract.KNOWN_TYPES
    assert MetadataGenerationType.BUSINESS_DESCRIPTIONS == _props.DEFAULT_TYPE
    designation_shape: Any = model.shape_for("UserDesignation")
    designations = set(designation_shape.enum) - {"USER_CREATED_DESIGNATION"}
    assert set(_props.PROJECT_DESIGNATIONS) == designations


def test_package_exports_every_public_name() -> None:
    for name in constructs_lib.__all__:
        assert getattr(constructs_lib, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = constructs_lib.Nope  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("reserved", "owner", "make"),
    [
        (
            "DataZoneMetadataGenerationRunProvider",
            "MetadataGenerationRun's provider",
            lambda stack: MetadataGenerationRun(stack, "Run", **VALID),
        ),
        (
            "DataZoneMetadataGenerationBatchWorkflow",
            "MetadataGenerationBatch's workflow",
            lambda stack: constructs_lib.MetadataGenerationBatch(
                stack,
                "Batch",
                domain_id="dzd_abc123",
                project_id="proj123",
                assets=constructs_lib.AssetSelection.ids(["a1"]),
            ),
        ),
    ],
)
def test_fails_if_a_construct_of_the_user_holds_a_reserved_id(
    stack: cdk.Stack, reserved: str, owner: str, make: Any
) -> None:
    cdk.CfnOutput(stack, reserved, value="mine")
    with pytest.raises(ValueError, match=re.escape(f"construct id '{reserved}' is reserved for {owner}")) as error:
        make(stack)
    assert "give your construct another id" in str(error.value)


def test_the_provider_is_found_again_from_any_scope_in_the_stack(stack: cdk.Stack) -> None:
    inner = cdk.aws_iam.Role(stack, "Inner", assumed_by=cdk.aws_iam.AccountRootPrincipal())
    MetadataGenerationRun(stack, "First", **VALID)
    MetadataGenerationRun(inner, "Second", **{**VALID, "asset_id": "other"})
    providers = [c for c in stack.node.children if c.node.id == _provider.PROVIDER_ID]
    assert len(providers) == 1
    assert _provider.Provider.of(inner) is providers[0]
    assert _provider.Provider.of(stack) is providers[0]
