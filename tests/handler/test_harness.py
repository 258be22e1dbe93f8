"""The test harness itself: no handler test can reach AWS, and no unexpected call goes unnoticed."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, UnStubbedResponseError
from botocore.retries import standard

from lambda_src.metadata_generation_run import common, index
from tests.handler.conftest import Clients
from tests.handler.helpers import FakeContext, make_event, make_props, pid, stack_params


def test_every_client_is_stubbed(clients: Clients) -> None:
    assert common.datazone() is clients.datazone.client
    assert common.cloudformation() is clients.cloudformation.client
    assert common.stepfunctions() is clients.stepfunctions.client
    assert common.s3() is clients.s3.client
    with pytest.raises(UnStubbedResponseError):
        common.cloudformation().describe_stacks(**stack_params())
    assert len(clients.cloudformation.refused) == 1
    clients.cloudformation.refused.clear()  # seen: do not fail this test at teardown


def test_a_swallowed_unexpected_call_is_remembered(clients: Clients, context: FakeContext) -> None:
    # A Delete logs every error instead of raising: the stubber still remembers the Cancel it refused.
    physical_id = pid()
    assert index.on_event(make_event("Delete", make_props(), physical_id=physical_id), context) == {
        "PhysicalResourceId": physical_id
    }
    assert [r.split(":")[0] for r in clients.datazone.refused] == [
        "Error getting response stub for operation CancelMetadataGenerationRun"
    ]
    clients.datazone.refused.clear()


def test_wrong_parameters_are_remembered(clients: Clients, context: FakeContext) -> None:
    clients.datazone.add_response(
        "cancel_metadata_generation_run", {}, {"domainIdentifier": "dzd_x", "identifier": "y"}
    )
    index.on_event(make_event("Delete", make_props(), physical_id=pid()), context)
    assert len(clients.datazone.refused) == 1
    assert "Expected parameters" in clients.datazone.refused[0]
    clients.datazone.refused.clear()
    clients.datazone.add_response(
        "cancel_metadata_generation_run", {}, {"domainIdentifier": "dzd_x", "identifier": "y"}
    )
    common.datazone().cancel_metadata_generation_run(domainIdentifier="dzd_x", identifier="y")
    common.datazone().cancel_metadata_generation_run(domainIdentifier="dzd_x", identifier="y")


def test_name_resolution_is_refused(offline: list[str]) -> None:
    with pytest.raises(OSError, match="offline"):
        socket.getaddrinfo("cloudformation.us-east-1.amazonaws.com", 443)
    assert offline == ["cloudformation.us-east-1.amazonaws.com"]
    offline.clear()
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_a_real_client_cannot_reach_aws(monkeypatch: pytest.MonkeyPatch, offline: list[str]) -> None:
    # Even a test that rebuilds the handler's real client fails at once, and is reported.
    monkeypatch.delitem(common._clients, "cloudformation")
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    event: Any = make_event("Update")
    with pytest.raises(EndpointConnectionError):
        common.stack_status(event)
    assert set(offline) == {"cloudformation.us-east-1.amazonaws.com"}
    offline.clear()
