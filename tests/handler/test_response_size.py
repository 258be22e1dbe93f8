"""CloudFormation rejects response bodies over 4096 bytes: results and failure reasons stay far below."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import index
from tests.handler.helpers import (
    CREATED_AT,
    DESCRIPTIONS,
    GLOSSARY,
    NAMES,
    RUN_ID,
    FakeContext,
    get_params,
    get_response,
    make_event,
    make_props,
    poll_event,
    start_params,
    start_response,
)

LIMIT = 4096
WIDE = ["x", "\u00e9", "\u4e2d", "\U0001f600"]


def assert_fits(value: Any) -> None:
    # Python escapes non-ASCII by default; Node (the provider framework) writes raw UTF-8: both must fit.
    assert len(json.dumps(value).encode()) <= LIMIT
    assert len(json.dumps(value, ensure_ascii=False).encode()) <= LIMIT


def failure_reason(call: Callable[[], Any]) -> str:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any failure becomes the Reason
        call()
    reason = str(caught.value)
    assert_fits({"Status": "FAILED", "Reason": reason, "PhysicalResourceId": RUN_ID})
    assert len(reason.encode()) <= index.REASON_LIMIT
    return reason


def test_successful_results_fit(stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext) -> None:
    monkeypatch.setattr(index, "now", CREATED_AT.timestamp)
    stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=get_params())
    assert_fits(index.on_event(make_event("Create"), context))
    assert_fits(index.is_complete(poll_event(), context))
    assert_fits(index.on_event(make_event("Update", old_props=make_props(), physical_id=RUN_ID), context))
    assert_fits(index.on_event(make_event("Delete", physical_id=RUN_ID), context))


@pytest.mark.parametrize("char", WIDE)
def test_failed_run_reason_fits(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, char: str
) -> None:
    monkeypatch.setattr(index, "now", CREATED_AT.timestamp)
    stats = [
        {"type": kind, "status": "FAILED", "errorMessage": char * 200_000} for kind in (DESCRIPTIONS, NAMES, GLOSSARY)
    ]
    stubbed.add_response(
        "get_metadata_generation_run", get_response("FAILED", type_stats=stats), expected_params=get_params()
    )
    reason = failure_reason(lambda: index.is_complete(poll_event(), context))
    assert RUN_ID in reason


@pytest.mark.parametrize("char", WIDE)
def test_service_error_reason_fits(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, char: str
) -> None:
    monkeypatch.setenv("HANDLER_ROLE_ARN", "arn:aws:iam::123456789012:role/" + "R" * 64)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message=char * 100_000,
        http_status_code=403,
        expected_params=start_params(token=ANY),
    )
    failure_reason(lambda: index.on_event(make_event("Create"), context))


@pytest.mark.parametrize("char", WIDE)
def test_property_error_reason_fits(stubbed: Stubber, context: FakeContext, char: str) -> None:
    failure_reason(lambda: index.on_event(make_event("Create", make_props(AssetRevision=char * 100_000)), context))
    failure_reason(lambda: index.on_event(make_event("Create", make_props(ProjectId=char * 100_000)), context))


def test_timeout_reason_fits(stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext) -> None:
    monkeypatch.setattr(index, "now", lambda: CREATED_AT.timestamp() + 10**9)
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    failure_reason(lambda: index.is_complete(poll_event(), context))
