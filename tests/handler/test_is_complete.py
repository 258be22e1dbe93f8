"""is_complete: polling statuses, failures with the service's reasons, timeouts and the no-wait paths."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from botocore.stub import Stubber

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
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """index.now() returns clock[0]; starts 10 s after the run was created."""
    current = [CREATED_AT.timestamp() + 10]
    monkeypatch.setattr(index, "now", lambda: current[0])
    return current


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS"])
def test_running_run_is_not_complete(stubbed: Stubber, context: FakeContext, clock: list[float], status: str) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response(status), expected_params=get_params())
    assert index.is_complete(poll_event(), context) == {"IsComplete": False}


def test_succeeded_run_is_complete(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    assert index.is_complete(poll_event(), context) == {
        "IsComplete": True,
        "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED"},
    }


@pytest.mark.parametrize("fail_on_partial", ["false", "False", False])
def test_partial_success_is_success_by_default(
    stubbed: Stubber, context: FakeContext, clock: list[float], fail_on_partial: str | bool
) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            "PARTIALLY_SUCCEEDED",
            type_stats=[
                {"type": NAMES, "status": "SUCCEEDED"},
                {"type": GLOSSARY, "status": "FAILED", "errorMessage": "no glossary"},
            ],
        ),
        expected_params=get_params(),
    )
    result = index.is_complete(poll_event(make_props(FailOnPartialSuccess=fail_on_partial)), context)
    assert result == {"IsComplete": True, "Data": {"RunId": RUN_ID, "Status": "PARTIALLY_SUCCEEDED"}}


def test_partial_success_is_success_when_property_absent(
    stubbed: Stubber, context: FakeContext, clock: list[float]
) -> None:
    props = make_props()
    del props["FailOnPartialSuccess"]
    stubbed.add_response(
        "get_metadata_generation_run", get_response("PARTIALLY_SUCCEEDED"), expected_params=get_params()
    )
    assert index.is_complete(poll_event(props), context)["IsComplete"] is True


def test_partial_success_fails_when_asked(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            "PARTIALLY_SUCCEEDED",
            type_stats=[
                {"type": NAMES, "status": "SUCCEEDED"},
                {"type": GLOSSARY, "status": "FAILED", "errorMessage": "glossary G1 has no terms"},
            ],
        ),
        expected_params=get_params(),
    )
    with pytest.raises(index.RunError) as caught:
        index.is_complete(poll_event(make_props(FailOnPartialSuccess="true")), context)
    message = str(caught.value)
    assert "PARTIALLY_SUCCEEDED" in message
    assert RUN_ID in message
    assert "glossary G1 has no terms" in message


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_failed_run_raises_with_service_reasons(
    stubbed: Stubber, context: FakeContext, clock: list[float], status: str
) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            status,
            type_stats=[
                {"type": DESCRIPTIONS, "status": status, "errorMessage": "Asset has no structured schema"},
                {"type": NAMES, "status": status, "errorMessage": "Model quota exhausted"},
            ],
        ),
        expected_params=get_params(),
    )
    with pytest.raises(index.RunError) as caught:
        index.is_complete(poll_event(), context)
    message = str(caught.value)
    assert status in message
    assert RUN_ID in message
    assert "Asset has no structured schema" in message
    assert "Model quota exhausted" in message


@pytest.mark.parametrize("type_stats", [None, [], [{"type": NAMES, "status": "FAILED"}]])
def test_failed_run_without_service_message_still_explains(
    stubbed: Stubber, context: FakeContext, clock: list[float], type_stats: list[dict[str, str]] | None
) -> None:
    stubbed.add_response(
        "get_metadata_generation_run", get_response("FAILED", type_stats=type_stats), expected_params=get_params()
    )
    with pytest.raises(index.RunError, match=rf"{RUN_ID} ended FAILED: the service gave no error message"):
        index.is_complete(poll_event(), context)


@pytest.mark.parametrize("char", ["x", "\u00e9", "\u4e2d", "\U0001f600"])
def test_long_error_message_is_truncated(stubbed: Stubber, context: FakeContext, clock: list[float], char: str) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            "FAILED",
            type_stats=[
                {"type": DESCRIPTIONS, "status": "FAILED", "errorMessage": "first " + char * 50_000},
                {"type": NAMES, "status": "FAILED", "errorMessage": "second " + char * 50_000},
                {"type": GLOSSARY, "status": "FAILED", "errorMessage": "third " + char * 50_000},
            ],
        ),
        expected_params=get_params(),
    )
    with pytest.raises(index.RunError) as caught:
        index.is_complete(poll_event(), context)
    message = str(caught.value)
    # CloudFormation counts bytes: the whole reason stays within the limit however wide the characters.
    assert len(message) <= 1000
    assert len(message.encode()) <= 1000
    assert message.startswith(f"Metadata-generation run {RUN_ID} ended FAILED: ")
    assert "first" in message
    # Each type's message is cut on its own, so the second type still gets a word in.
    assert "second" in message


def test_running_past_timeout_raises(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    clock[0] = CREATED_AT.timestamp() + 601
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    with pytest.raises(index.RunError) as caught:
        index.is_complete(poll_event(make_props(TimeoutSeconds="600")), context)
    message = str(caught.value)
    assert "timed out after" in message
    assert RUN_ID in message
    assert "601" in message
    assert "IN_PROGRESS" in message


def test_running_within_timeout_keeps_polling(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    clock[0] = CREATED_AT.timestamp() + 599
    stubbed.add_response("get_metadata_generation_run", get_response("SUBMITTED"), expected_params=get_params())
    assert index.is_complete(poll_event(make_props(TimeoutSeconds="600")), context) == {"IsComplete": False}


def test_default_timeout_is_thirty_minutes(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    props = make_props()
    del props["TimeoutSeconds"]
    clock[0] = CREATED_AT.timestamp() + 1799
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    assert index.is_complete(poll_event(props), context) == {"IsComplete": False}
    clock[0] = CREATED_AT.timestamp() + 1801
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    with pytest.raises(index.RunError, match="timed out after"):
        index.is_complete(poll_event(props), context)


def test_timeout_uses_creation_time_in_any_timezone(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    created = CREATED_AT.astimezone(timezone(timedelta(hours=5)))
    clock[0] = CREATED_AT.timestamp() + 61
    stubbed.add_response(
        "get_metadata_generation_run", get_response("IN_PROGRESS", created_at=created), expected_params=get_params()
    )
    with pytest.raises(index.RunError, match="timed out after 61 s"):
        index.is_complete(poll_event(make_props(TimeoutSeconds="60")), context)


def test_finished_run_past_timeout_still_succeeds(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    clock[0] = CREATED_AT.timestamp() + 10_000
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    assert index.is_complete(poll_event(make_props(TimeoutSeconds="60")), context)["IsComplete"] is True


def test_run_without_creation_time_never_times_out_here(
    stubbed: Stubber, context: FakeContext, clock: list[float]
) -> None:
    # The provider framework's total timeout still bounds it.
    clock[0] = CREATED_AT.timestamp() + 10_000
    stubbed.add_response(
        "get_metadata_generation_run", get_response("IN_PROGRESS", created_at=None), expected_params=get_params()
    )
    assert index.is_complete(poll_event(make_props(TimeoutSeconds="60")), context) == {"IsComplete": False}


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS", "SUCCEEDED"])
def test_no_wait_with_known_status_completes_without_call(stubbed: Stubber, context: FakeContext, status: str) -> None:
    event = poll_event(make_props(WaitForCompletion="false"), data={"RunId": RUN_ID, "Status": status})
    assert index.is_complete(event, context) == {"IsComplete": True, "Data": {"RunId": RUN_ID, "Status": status}}


@pytest.mark.parametrize("data", [{"RunId": RUN_ID}, {}])
def test_no_wait_without_status_asks_once(
    stubbed: Stubber, context: FakeContext, clock: list[float], data: dict[str, str]
) -> None:
    # An Update that kept the old run returns no Status; one Get fills it in, without waiting.
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    event = make_event("Update", make_props(WaitForCompletion="false"), physical_id=RUN_ID, data=data)
    assert index.is_complete(event, context) == {
        "IsComplete": True,
        "Data": {"RunId": RUN_ID, "Status": "IN_PROGRESS"},
    }


def test_no_wait_does_not_fail_on_failed_run(stubbed: Stubber, context: FakeContext, clock: list[float]) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response("FAILED"), expected_params=get_params())
    event = make_event("Update", make_props(WaitForCompletion="false"), physical_id=RUN_ID, data={"RunId": RUN_ID})
    assert index.is_complete(event, context)["Data"] == {"RunId": RUN_ID, "Status": "FAILED"}


def test_delete_request_is_complete_without_call(stubbed: Stubber, context: FakeContext) -> None:
    assert index.is_complete(poll_event(request_type="Delete"), context) == {"IsComplete": True}


def test_elapsed_seconds_uses_now_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "now", lambda: CREATED_AT.timestamp() + 42.4)
    assert index._elapsed_seconds({"createdAt": CREATED_AT}) == pytest.approx(42.4)
    assert index._elapsed_seconds({"createdAt": CREATED_AT + timedelta(seconds=2)}) == pytest.approx(40.4)
    assert index._elapsed_seconds({"createdAt": "2026-01-02"}) is None
    assert index._elapsed_seconds({}) is None
