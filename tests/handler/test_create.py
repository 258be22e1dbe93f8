"""Create: the StartMetadataGenerationRun request, the idempotency token and the deprecated `type` fallback."""

from __future__ import annotations

import re
from typing import Any

import botocore
import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    DESCRIPTIONS,
    GLOSSARY,
    NAMES,
    NEW_RUN_ID,
    RUN_ID,
    STACK_ID,
    Clock,
    FakeContext,
    make_event,
    make_props,
    pid,
    start_params,
    start_response,
    started_data,
)

TOKEN_RE = re.compile(r"[\x21-\x7E]{1,128}")


def _sent_tokens(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [params["clientToken"] for name, params in calls if name == "StartMetadataGenerationRun"]


def test_create_starts_run_and_returns_run_id(stubbed: Stubber, context: FakeContext) -> None:
    event = make_event("Create")
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(),
        expected_params=start_params(token=index.derive_client_token(event)),
    )
    # The physical id records the run and its inputs; StartedAt tells isComplete this request started it.
    assert index.on_event(event, context) == {"PhysicalResourceId": pid(), "Data": started_data()}


@pytest.mark.parametrize("types", [[DESCRIPTIONS], [NAMES, GLOSSARY], [GLOSSARY, DESCRIPTIONS]])
def test_create_sends_types_in_given_order(stubbed: Stubber, context: FakeContext, types: list[str]) -> None:
    stubbed.add_response(
        "start_metadata_generation_run", start_response(), expected_params=start_params(types=types, token=ANY)
    )
    props = make_props(Types=types)
    assert index.on_event(make_event("Create", props), context)["PhysicalResourceId"] == pid(props)


def test_create_sends_revision_only_when_given(stubbed: Stubber, context: FakeContext) -> None:
    stubbed.add_response(
        "start_metadata_generation_run", start_response(), expected_params=start_params(revision="12", token=ANY)
    )
    # An empty AssetRevision means "latest": no revision key at all in the target.
    stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    index.on_event(make_event("Create", make_props(AssetRevision="12")), context)
    index.on_event(make_event("Create", make_props(AssetRevision="")), context)


def test_create_reports_status_from_start_response(stubbed: Stubber, context: FakeContext) -> None:
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(status="IN_PROGRESS"),
        expected_params=start_params(token=ANY),
    )
    assert index.on_event(make_event("Create"), context)["Data"] == started_data(status="IN_PROGRESS")


def test_create_without_status_in_response_reports_submitted(stubbed: Stubber, context: FakeContext) -> None:
    response = start_response()
    del response["status"]
    stubbed.add_response("start_metadata_generation_run", response, expected_params=start_params(token=ANY))
    assert index.on_event(make_event("Create"), context)["Data"] == started_data()


def test_create_without_creation_time_starts_the_clock_now(
    clock: Clock, stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    # StartedAt bounds the wait while Get answers nothing useful, so it is always there.
    clock[0] = 1767323045.25
    response = start_response()
    del response["createdAt"]
    stubbed.add_response("start_metadata_generation_run", response, expected_params=start_params(token=ANY))
    assert index.on_event(make_event("Create"), context)["Data"] == {
        "RunId": RUN_ID,
        "Status": "SUBMITTED",
        "StartedAt": "1767323045.250",
    }


def test_same_request_twice_sends_same_token(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    # CloudFormation and Lambda's async retry deliver the same request again: DataZone must dedupe it.
    for _ in range(2):
        stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    index.on_event(make_event("Create", request_id="req-1"), context)
    index.on_event(make_event("Create", request_id="req-1"), context)
    first, second = _sent_tokens(api_calls)
    assert first == second
    assert TOKEN_RE.fullmatch(first)


def test_different_request_sends_different_token(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    for _ in range(2):
        stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    index.on_event(make_event("Create", request_id="req-1"), context)
    index.on_event(make_event("Create", request_id="req-2"), context)
    first, second = _sent_tokens(api_calls)
    assert first != second


@pytest.mark.parametrize(
    "changed",
    [
        {"request_id": "other-request"},
        {"stack_id": "arn:aws:cloudformation:eu-west-1:1:stack/B/x"},
        {"logical_id": "Y"},
    ],
)
def test_derived_token_depends_on_stack_resource_and_request(changed: dict[str, str]) -> None:
    base = index.derive_client_token(make_event("Create"))
    assert index.derive_client_token(make_event("Create")) == base
    assert index.derive_client_token(make_event("Create", **changed)) != base  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stack_id", "logical_id", "request_id"),
    [
        ("arn:aws:cloudformation:us-east-1:123456789012:stack/" + "S" * 128 + "/" + "f" * 36, "L" * 255, "r" * 36),
        ("stack with spaces \u00e9\u4e2d", "Logical\tId", "\U0001f600"),
        ("", "", ""),
    ],
)
def test_derived_token_fits_datazone_pattern(stack_id: str, logical_id: str, request_id: str) -> None:
    token = index.derive_client_token(
        make_event("Create", stack_id=stack_id, logical_id=logical_id, request_id=request_id)
    )
    assert TOKEN_RE.fullmatch(token)
    assert len(token) <= 128


def test_derived_token_is_not_ambiguous_across_field_boundaries() -> None:
    one = index.derive_client_token(make_event("Create", stack_id="ab", logical_id="c"))
    two = index.derive_client_token(make_event("Create", stack_id="a", logical_id="bc"))
    assert one != two


@pytest.mark.parametrize("client_token", ["mine-42", "has space", ""])
def test_client_token_property_is_ignored(stubbed: Stubber, context: FakeContext, client_token: str) -> None:
    # A fixed user token made a later request adopt an earlier run (a destroy + recreate got the
    # cancelled run back): 0.1 templates still send it, and only the request decides the token.
    event = make_event("Create", make_props(ClientToken=client_token))
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(),
        expected_params=start_params(token=index.derive_client_token(make_event("Create"))),
    )
    assert index.on_event(event, context)["PhysicalResourceId"] == pid()


def test_recreated_stack_does_not_adopt_the_cancelled_run(stubbed: Stubber, context: FakeContext) -> None:
    # destroy + deploy again: same stack name and logical id, but a new stack id and request.
    first = make_event("Create", make_props(ClientToken="fixed"))
    again = make_event(
        "Create",
        make_props(ClientToken="fixed"),
        stack_id=STACK_ID.replace("11111111-2222", "99999999-8888"),
        request_id="11111111-aaaa-bbbb-cccc-000000000002",
    )
    assert index.derive_client_token(first) != index.derive_client_token(again)
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params=start_params(token=index.derive_client_token(again)),
    )
    assert index.on_event(again, context)["PhysicalResourceId"] == pid(run_id=NEW_RUN_ID)


def test_deprecated_type_parameter_for_one_type(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    monkeypatch.setattr(index, "_supports_types", lambda client: False)
    params = start_params(token=ANY)
    del params["types"]
    params["type"] = NAMES
    stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=params)
    props = make_props(Types=[NAMES])
    assert index.on_event(make_event("Create", props), context)["PhysicalResourceId"] == pid(props)


def test_deprecated_type_parameter_cannot_carry_two_types(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    monkeypatch.setattr(index, "_supports_types", lambda client: False)
    with pytest.raises(common.RunError) as caught:
        index.on_event(make_event("Create", make_props(Types=[NAMES, GLOSSARY])), context)
    assert str(caught.value) == (
        f"this Lambda runtime's botocore {botocore.__version__} does not know the `types` parameter, so it can "
        f"ask for one type only, not {[NAMES, GLOSSARY]}: use one type"
    )


def test_supports_types_reads_the_service_model(stubbed: Stubber) -> None:
    # botocore 1.44 knows `types`; the check must look at the model, not a version string.
    assert index._supports_types(stubbed.client) is True
