"""Update: a new run only when the run's inputs change; settings changes keep the run."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import index
from tests.handler.helpers import (
    ABSENT,
    DESCRIPTIONS,
    FAILED_CREATE_MARKER,
    GLOSSARY,
    NAMES,
    NEW_RUN_ID,
    RUN_ID,
    FakeContext,
    make_event,
    make_props,
    start_response,
)

OLD = make_props(Types=[NAMES, GLOSSARY], AssetRevision="3", RerunToken="v1")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"TimeoutSeconds": "600"},
        {"WaitForCompletion": "false"},
        {"FailOnPartialSuccess": "true"},
        {"CancelOnDelete": "false"},
        {"TimeoutSeconds": "3600", "WaitForCompletion": "false", "CancelOnDelete": "false"},
        {"Types": [GLOSSARY, NAMES]},
        {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:Other"},
        {"ClientToken": "new-token"},
    ],
)
def test_update_keeps_run_when_inputs_unchanged(
    stubbed: Stubber, context: FakeContext, changes: dict[str, Any]
) -> None:
    # No response queued: a Start call would raise UnStubbedResponseError.
    event = make_event("Update", {**OLD, **changes}, old_props=OLD, physical_id=RUN_ID)
    result = index.on_event(event, context)
    assert result["PhysicalResourceId"] == RUN_ID
    assert result.get("Data", {}).get("RunId") == RUN_ID


@pytest.mark.parametrize(
    ("changes", "target", "types"),
    [
        ({"DomainId": "dzd_other1"}, None, None),
        ({"ProjectId": "prj_other"}, None, None),
        ({"AssetId": "asset-other"}, {"identifier": "asset-other"}, None),
        ({"AssetRevision": "4"}, {"revision": "4"}, None),
        ({"AssetRevision": ABSENT}, {"revision": None}, None),
        ({"Types": [NAMES]}, None, [NAMES]),
        ({"Types": [NAMES, DESCRIPTIONS]}, None, [NAMES, DESCRIPTIONS]),
        ({"RerunToken": "v2"}, None, None),
        ({"RerunToken": ABSENT}, None, None),
    ],
)
def test_update_starts_new_run_when_inputs_change(
    stubbed: Stubber,
    context: FakeContext,
    changes: dict[str, Any],
    target: dict[str, str | None] | None,
    types: list[str] | None,
) -> None:
    new = make_props(**{**OLD, **changes})
    expected_target: dict[str, str] = {"type": "ASSET", "identifier": new["AssetId"], "revision": "3"}
    for key, value in (target or {}).items():
        if value is None:
            del expected_target[key]
        else:
            expected_target[key] = value
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": new["DomainId"],
            "owningProjectIdentifier": new["ProjectId"],
            "target": expected_target,
            "types": types or [NAMES, GLOSSARY],
            "clientToken": ANY,
        },
    )
    event = make_event("Update", new, old_props=OLD, physical_id=RUN_ID, request_id="update-req")
    assert index.on_event(event, context) == {
        "PhysicalResourceId": NEW_RUN_ID,
        "Data": {"RunId": NEW_RUN_ID, "Status": "SUBMITTED"},
    }


def test_update_new_run_uses_update_request_token(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    new = {**OLD, "RerunToken": "v2"}
    event = make_event("Update", new, old_props=OLD, physical_id=RUN_ID, request_id="update-req")
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": ANY,
            "owningProjectIdentifier": ANY,
            "target": ANY,
            "types": ANY,
            "clientToken": index.derive_client_token(event),
        },
    )
    index.on_event(event, context)
    [(_, params)] = api_calls
    assert params["clientToken"] != index.derive_client_token(make_event("Create", OLD))


@pytest.mark.parametrize("old_id", [FAILED_CREATE_MARKER, "", "not a run id", "r" * 37])
def test_update_from_non_run_physical_id_starts_new_run(stubbed: Stubber, context: FakeContext, old_id: str) -> None:
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": OLD["DomainId"],
            "owningProjectIdentifier": OLD["ProjectId"],
            "target": {"type": "ASSET", "identifier": OLD["AssetId"], "revision": "3"},
            "types": [NAMES, GLOSSARY],
            "clientToken": ANY,
        },
    )
    event = make_event("Update", OLD, old_props=OLD, physical_id=old_id)
    assert index.on_event(event, context)["PhysicalResourceId"] == NEW_RUN_ID


def test_update_without_old_properties_starts_new_run(stubbed: Stubber, context: FakeContext) -> None:
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params={
            "domainIdentifier": ANY,
            "owningProjectIdentifier": ANY,
            "target": ANY,
            "types": ANY,
            "clientToken": ANY,
        },
    )
    event = make_event("Update", OLD, physical_id=RUN_ID)
    assert index.on_event(event, context)["PhysicalResourceId"] == NEW_RUN_ID


def test_run_identity_ignores_settings_and_type_order() -> None:
    base = index.run_identity(make_props(Types=[NAMES, GLOSSARY]))
    assert (
        index.run_identity(make_props(Types=[GLOSSARY, NAMES], TimeoutSeconds="5", WaitForCompletion="false")) == base
    )
    assert index.run_identity(make_props(Types=[NAMES, GLOSSARY], AssetRevision="")) == base
    assert index.run_identity(make_props(Types=[NAMES])) != base
