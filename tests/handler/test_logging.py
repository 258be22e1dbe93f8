"""Logs are one JSON object per record and never carry the presigned ResponseURL."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    CREATED_AT,
    RESPONSE_URL,
    RESPONSE_URL_SECRET,
    RUN_ID,
    Clock,
    FakeContext,
    get_params,
    get_response,
    make_event,
    make_props,
    pid,
    start_params,
    start_response,
)


def _records(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    # Every record, botocore's debug output included, stays clear of the URL; the handler's own are JSON.
    parsed = []
    for record in caplog.records:
        message = record.getMessage()
        assert RESPONSE_URL not in message
        assert RESPONSE_URL_SECRET not in message
        if record.name != common.LOGGER.name:
            continue
        value = json.loads(message)
        assert isinstance(value, dict)
        assert isinstance(value.get("message"), str)
        parsed.append(value)
    assert RESPONSE_URL_SECRET not in caplog.text
    assert parsed, "the handler logged nothing"
    return parsed


def test_create_and_poll_log_json_without_response_url(
    clock: Clock,
    stubbed: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    context: FakeContext,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock[0] = CREATED_AT.timestamp() + 30
    stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())

    created = index.on_event(make_event("Create"), context)
    poll = make_event("Create", physical_id=created["PhysicalResourceId"], data=created.get("Data"))
    index.is_complete(poll, context)
    index.is_complete(poll, context)

    records = [r for r in _records(caplog) if r.get("runId") == RUN_ID]
    statuses = {(r["message"], r.get("status")) for r in records}
    assert ("run started", "SUBMITTED") in statuses
    assert ("run status", "IN_PROGRESS") in statuses
    assert ("run status", "SUCCEEDED") in statuses
    assert any(r.get("elapsedSeconds") == 30 for r in records)


def test_update_and_delete_log_json_without_response_url(
    stubbed: Stubber, caplog: pytest.LogCaptureFixture, context: FakeContext
) -> None:
    caplog.set_level(logging.DEBUG)
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code="ThrottlingException",
        service_message="slow down",
        http_status_code=429,
        expected_params={"domainIdentifier": ANY, "identifier": RUN_ID},
    )
    finished = pid(status="SUCCEEDED")
    index.on_event(make_event("Update", make_props(), old_props=make_props(), physical_id=finished), context)
    index.on_event(make_event("Delete", physical_id=pid()), context)
    records = _records(caplog)
    assert any(
        r.get("runId") == RUN_ID
        and r["message"] == "inputs unchanged; keeping what the resource has"
        and r["status"] == "SUCCEEDED"
        for r in records
    )
    warning = [r for r in records if r.get("errorCode") == "ThrottlingException"]
    assert warning
    assert any(rec.levelno == logging.WARNING for rec in caplog.records)


def test_failures_are_not_logged_with_the_event(
    stubbed: Stubber, caplog: pytest.LogCaptureFixture, context: FakeContext
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(common.PropertyError):
        index.on_event(make_event("Create", make_props(DomainId="bad")), context)
    _records(caplog)
