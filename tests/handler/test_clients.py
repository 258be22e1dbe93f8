"""The handlers' clients are built once per container, on first use, for the right service and
with the bounded retry settings (the other tests replace them with stubbed ones)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lambda_src.metadata_generation_run import common


@pytest.mark.parametrize(
    ("factory", "service"),
    [
        (common.datazone, "datazone"),
        (common.cloudformation, "cloudformation"),
        (common.stepfunctions, "states"),
        (common.s3, "s3"),
    ],
)
def test_client_is_built_once_for_its_service_with_bounded_retries(
    monkeypatch: pytest.MonkeyPatch, factory: Callable[[], Any], service: str
) -> None:
    monkeypatch.setattr(common, "_clients", {})
    client = factory()
    assert client.meta.service_model.endpoint_prefix == service
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (3, 10)
    assert client.meta.config.user_agent_extra == "constructs-lib-metadata-generation-run"
    assert factory() is client
    assert common._clients == {client.meta.service_model.service_name: client}
