"""DataZone errors become RunError reasons that say what failed and, for access errors, how to fix it."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    DOMAIN_ID,
    PROJECT_ID,
    FakeContext,
    get_params,
    make_event,
    poll_event,
    start_params,
)

ROLE_ARN = "arn:aws:iam::123456789012:role/Demo-MetadataGenerationRunHandlerRole-ABC123"
DENIED = "User is not authorized to perform StartMetadataGenerationRun in project"


@pytest.mark.parametrize(("code", "status"), [("AccessDeniedException", 403), ("UnauthorizedException", 401)])
def test_access_denied_on_start_explains_the_fix(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, code: str, status: int
) -> None:
    monkeypatch.setenv("HANDLER_ROLE_ARN", ROLE_ARN)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code=code,
        service_message=DENIED,
        http_status_code=status,
        expected_params=start_params(token=ANY),
    )
    with pytest.raises(common.RunError) as caught:
        index.on_event(make_event("Create"), context)
    assert str(caught.value) == (
        f"StartMetadataGenerationRun failed: {code}: {DENIED} (fix: {ROLE_ARN} must be a member of "
        f"DataZone project {PROJECT_ID} in domain {DOMAIN_ID}; keep grant_project_access=True or add "
        "the role to the project)"
    )


def test_access_denied_without_role_env_names_the_handler_role(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    monkeypatch.delenv("HANDLER_ROLE_ARN", raising=False)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message=DENIED,
        http_status_code=403,
        expected_params=start_params(token=ANY),
    )
    with pytest.raises(common.RunError, match="the handler role must be a member of DataZone project"):
        index.on_event(make_event("Create"), context)


def test_access_denied_fix_survives_a_long_service_message(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    # The fix is the useful part of the reason: a verbose service message must not push it out.
    monkeypatch.setenv("HANDLER_ROLE_ARN", ROLE_ARN)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message=DENIED + " " + "because " * 500,
        http_status_code=403,
        expected_params=start_params(token=ANY),
    )
    with pytest.raises(common.RunError) as caught:
        index.on_event(make_event("Create"), context)
    message = str(caught.value)
    assert len(json.dumps(message)) - 2 <= common.REASON_LIMIT
    assert message.startswith(f"StartMetadataGenerationRun failed: AccessDeniedException: {DENIED} because ")
    assert message.endswith(
        f"... (fix: {ROLE_ARN} must be a member of DataZone project {PROJECT_ID} in domain {DOMAIN_ID}; "
        "keep grant_project_access=True or add the role to the project)"
    )


@pytest.mark.parametrize(
    ("code", "status", "text"),
    [
        ("ValidationException", 400, "Asset type does not support metadata generation"),
        ("ResourceNotFoundException", 404, "Asset asset-789ghi not found"),
        ("ConflictException", 409, "A run is already in progress for this asset"),
        ("ServiceQuotaExceededException", 402, "Too many runs"),
        ("InternalServerException", 500, "Internal error"),
        ("ThrottlingException", 429, "Rate exceeded"),
    ],
)
def test_other_start_errors_keep_code_and_message(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, code: str, status: int, text: str
) -> None:
    monkeypatch.setenv("HANDLER_ROLE_ARN", ROLE_ARN)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code=code,
        service_message=text,
        http_status_code=status,
        expected_params=start_params(token=ANY),
    )
    with pytest.raises(common.RunError) as caught:
        index.on_event(make_event("Create"), context)
    message = str(caught.value)
    assert message == f"StartMetadataGenerationRun failed: {code}: {text}"
    assert "grant_project_access" not in message
    assert isinstance(caught.value.__cause__, Exception)


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("AccessDeniedException", 403, True),
        ("UnauthorizedException", 401, True),
        ("ValidationException", 400, False),
    ],
)
def test_lasting_get_errors_cancel_the_run_then_fail_the_poll(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, code: str, status: int, hint: bool
) -> None:
    # Nothing will wait for the run once the request failed: cancel it first (best effort).
    monkeypatch.setenv("HANDLER_ROLE_ARN", ROLE_ARN)
    stubbed.add_client_error(
        "get_metadata_generation_run",
        service_error_code=code,
        service_message="nope",
        http_status_code=status,
        expected_params=get_params(),
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=get_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(), context)
    fix = (
        f" (fix: {ROLE_ARN} must be a member of DataZone project {PROJECT_ID} in domain {DOMAIN_ID}; "
        "keep grant_project_access=True or add the role to the project)"
    )
    assert str(caught.value) == f"GetMetadataGenerationRun failed: {code}: nope" + (fix if hint else "")
