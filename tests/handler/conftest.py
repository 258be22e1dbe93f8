"""Fixtures for the handler tests: a Stubber-backed DataZone client that never reaches AWS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import index
from tests.handler.helpers import FakeContext


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The handler's client, stubbed: an unqueued call fails, a queued but unused response fails at teardown."""
    client = boto3.client("datazone", region_name="us-east-1")
    stubber = Stubber(client)
    monkeypatch.setattr(index, "_client", client)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def api_calls(stubbed: Stubber) -> list[tuple[str, dict[str, Any]]]:
    """Every DataZone call the handler attempts, with its parameters, recorded before the stubber sees it.

    Needed where the handler swallows botocore errors (Delete): an unexpected call there raises
    UnStubbedResponseError inside the handler, which Delete logs instead of raising.
    """
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((str(model.name), dict(params)))

    stubbed.client.meta.events.register("provide-client-params.datazone", record)
    return calls


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
