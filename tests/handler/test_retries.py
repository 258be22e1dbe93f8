"""The real client (no Stubber) retries throttling against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from botocore.retries import standard

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import DOMAIN_ID, PROJECT_ID, RUN_ID, Clock, FakeContext, make_event, pid


def total_attempts(retries: dict[str, Any]) -> int:
    """Requests per call. botocore rewrites a Config's ``max_attempts`` (retries only) in place to
    ``total_max_attempts`` (initial request included) when it builds a client from it."""
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    return int(retries["max_attempts"]) + 1


# botocore-stubs declare Config's options as constructor arguments only, not as attributes.
CONFIG: Any = common.CLIENT_CONFIG


def test_client_config_retries_with_bounded_attempts() -> None:
    retries = CONFIG.retries
    assert retries["mode"] in {"standard", "adaptive"}
    assert 3 <= total_attempts(retries) <= 10
    # One poll (connect + read per attempt) must stay far below the Lambda timeout.
    assert CONFIG.connect_timeout <= 10
    assert CONFIG.read_timeout <= 60


@dataclass
class FakeDataZone:
    """Answers `throttles` requests with 429 ThrottlingException, then a valid Start response."""

    throttles: int
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.requests.append(("POST", self.path, json.loads(body or b"{}")))
        if len(fake.requests) <= fake.throttles:
            self._answer(429, {"message": "Rate exceeded"}, {"x-amzn-errortype": "ThrottlingException"})
        else:
            self._answer(
                200,
                {"domainId": DOMAIN_ID, "id": RUN_ID, "status": "SUBMITTED", "owningProjectId": PROJECT_ID},
                {},
            )

    def _answer(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(HTTPServer):
    fake: FakeDataZone


@contextmanager
def _serve(fake: FakeDataZone) -> Iterator[FakeDataZone]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def real_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make common.datazone() build its real client again, with no backoff sleeps."""
    monkeypatch.delitem(common._clients, "datazone")
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture
def throttled_twice(monkeypatch: pytest.MonkeyPatch, real_client: None) -> Iterator[FakeDataZone]:
    with _serve(FakeDataZone(throttles=2)) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DATAZONE", f"http://127.0.0.1:{fake.port}")
        yield fake


@pytest.fixture
def always_throttled(monkeypatch: pytest.MonkeyPatch, real_client: None) -> Iterator[FakeDataZone]:
    with _serve(FakeDataZone(throttles=1_000)) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DATAZONE", f"http://127.0.0.1:{fake.port}")
        yield fake


def test_real_client_retries_throttling_and_succeeds(
    clock: Clock, throttled_twice: FakeDataZone, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    # The fake answers no createdAt: StartedAt is the handler's clock.
    clock[0] = 1767323045.0
    event = make_event("Create")
    result = index.on_event(event, context)
    assert result == {
        "PhysicalResourceId": pid(),
        "Data": {"RunId": RUN_ID, "Status": "SUBMITTED", "StartedAt": "1767323045.000"},
    }
    assert len(throttled_twice.requests) == 3
    paths = {path for _, path, _ in throttled_twice.requests}
    assert paths == {f"/v2/domains/{DOMAIN_ID}/metadata-generation-runs"}
    # Every retry carries the same idempotency token, so DataZone starts one run only.
    tokens = {body["clientToken"] for _, _, body in throttled_twice.requests}
    assert tokens == {index.derive_client_token(event)}
    assert common.datazone().meta.config.retries["mode"] == CONFIG.retries["mode"]


def test_real_client_gives_up_after_max_attempts(always_throttled: FakeDataZone, context: FakeContext) -> None:
    with pytest.raises(common.RunError, match="ThrottlingException: Rate exceeded"):
        index.on_event(make_event("Create"), context)
    assert len(always_throttled.requests) == total_attempts(CONFIG.retries)
