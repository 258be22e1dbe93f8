"""Delete: cancel the run when asked, and never fail the stack."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import index
from tests.handler.helpers import (
    DOMAIN_ID,
    FAILED_CREATE_MARKER,
    RUN_ID,
    FakeContext,
    make_event,
    make_props,
)

CANCEL = "CancelMetadataGenerationRun"
CANCEL_PARAMS = {"domainIdentifier": DOMAIN_ID, "identifier": RUN_ID}


def delete_event(**overrides: Any) -> index.IsCompleteEvent:
    return make_event("Delete", make_props(**overrides), physical_id=RUN_ID)


@pytest.mark.parametrize("cancel", ["true", "True", True, "nonsense"])
def test_delete_cancels_run(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, cancel: Any
) -> None:
    # An unreadable CancelOnDelete falls back to the default (cancel) rather than failing the Delete.
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=CANCEL_PARAMS)
    assert index.on_event(delete_event(CancelOnDelete=cancel), context) == {"PhysicalResourceId": RUN_ID}
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


def test_delete_cancels_by_default(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=CANCEL_PARAMS)
    props = make_props()
    del props["CancelOnDelete"]
    index.on_event(make_event("Delete", props, physical_id=RUN_ID), context)
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ConflictException", 409),
        ("ResourceNotFoundException", 404),
        ("ValidationException", 400),
        ("AccessDeniedException", 403),
        ("UnauthorizedException", 401),
        ("ThrottlingException", 429),
        ("InternalServerException", 500),
    ],
)
def test_delete_swallows_service_errors(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, code: str, status: int
) -> None:
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message=f"{code} from DataZone",
        http_status_code=status,
        expected_params=CANCEL_PARAMS,
    )
    assert index.on_event(delete_event(), context) == {"PhysicalResourceId": RUN_ID}
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


@pytest.mark.parametrize("cancel", ["false", "False", False])
def test_delete_without_cancel_makes_no_call(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, cancel: Any
) -> None:
    assert index.on_event(delete_event(CancelOnDelete=cancel), context) == {"PhysicalResourceId": RUN_ID}
    assert api_calls == []


@pytest.mark.parametrize("physical_id", [FAILED_CREATE_MARKER, "", "x" * 37, "has space"])
def test_delete_of_non_run_physical_id_makes_no_call(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, physical_id: str
) -> None:
    event = make_event("Delete", make_props(), physical_id=physical_id)
    assert index.on_event(event, context) == {"PhysicalResourceId": physical_id}
    assert api_calls == []


@pytest.mark.parametrize("props", [{}, {"DomainId": "not-a-domain"}, {"DomainId": 7}])
def test_delete_with_unusable_domain_makes_no_call(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, props: dict[str, Any]
) -> None:
    event = make_event("Delete", props, physical_id=RUN_ID)
    assert index.on_event(event, context) == {"PhysicalResourceId": RUN_ID}
    assert api_calls == []


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
    ],
)
def test_delete_survives_connection_errors(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, error: Exception
) -> None:
    calls: list[dict[str, Any]] = []

    def fail(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise error

    monkeypatch.setattr(stubbed.client, "cancel_metadata_generation_run", fail)
    assert index.on_event(delete_event(), context) == {"PhysicalResourceId": RUN_ID}
    assert calls == [CANCEL_PARAMS]


def test_delete_is_complete_at_once(stubbed: Stubber, context: FakeContext) -> None:
    event = make_event("Delete", {"DomainId": "bad"}, physical_id=RUN_ID)
    assert index.is_complete(event, context) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("code", "status", "warns"),
    [
        ("ConflictException", 409, False),
        ("ResourceNotFoundException", 404, False),
        ("ValidationException", 400, False),
        ("AccessDeniedException", 403, True),
        ("ThrottlingException", 429, True),
    ],
)
def test_delete_warns_only_when_cancel_may_have_been_needed(
    stubbed: Stubber, caplog: pytest.LogCaptureFixture, context: FakeContext, code: str, status: int, warns: bool
) -> None:
    # A finished or vanished run is the normal case; anything else may leave a run going, so it warns.
    caplog.set_level(logging.INFO, logger=index.LOGGER.name)
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message="x",
        http_status_code=status,
        expected_params=CANCEL_PARAMS,
    )
    index.on_event(delete_event(), context)
    levels = {r.levelno for r in caplog.records if r.name == index.LOGGER.name}
    assert (logging.WARNING in levels) is warns
