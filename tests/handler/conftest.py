"""Fixtures for the handler tests: Stubber-backed DataZone, CloudFormation, Step Functions and S3
clients that never reach AWS.

The module clients (``index._client``, ``index._cfn_client``, the batch handler's
``batch._sfn_client``, the batch workflow worker's ``worker._s3_client`` and
``worker._sfn_client``, which share the Step Functions stubber with the handler, and a
continuous batch's intake ``continuous._s3_client``) are replaced by stubbed ones for *every*
test, and name resolution of anything but the loopback address is refused, so no test can reach the
network even if it forgets a fixture. The handler swallows some errors on purpose (a
Delete logs every failure, a rollback falls back when DescribeStacks fails), so a call the stubber
refuses is also remembered and fails the test at teardown: an unexpected call is never silent.

Every test's log lines (the JSON objects operators search for: message, runId, status,
errorCode, why, ...) are compared with the ones recorded for it in ``__snapshots__/``: a change
to what the handlers log in any tested situation shows up as a snapshot diff to review
(``pytest tests/handler --snapshot-update``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import StubAssertionError, StubResponseError
from botocore.stub import Stubber
from syrupy.assertion import SnapshotAssertion

from lambda_src.metadata_generation_run import batch, continuous, index, worker
from tests.handler.helpers import CREATED_AT, FakeContext

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class StrictStubber(Stubber):
    """A Stubber that remembers every call it refused (unqueued, out of order, wrong parameters).

    It hooks the two checks botocore's Stubber runs on every call (private, so botocore-stubs do
    not declare them: hence the ignores); tests/handler/test_harness.py checks they still run.
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.refused: list[str] = []

    def _assert_expected_call_order(self, model: Any, params: Any) -> None:
        try:
            super()._assert_expected_call_order(model, params)  # type: ignore[misc]
        except StubResponseError as error:
            self.refused.append(str(error))
            raise

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        try:
            super()._assert_expected_params(model, params, context, **kwargs)  # type: ignore[misc]
        except StubAssertionError as error:  # wrong parameters (the call order is recorded above)
            self.refused.append(str(error))
            raise


@dataclass
class Clients:
    datazone: StrictStubber
    cloudformation: StrictStubber
    stepfunctions: StrictStubber
    s3: StrictStubber

    def all(self) -> tuple[StrictStubber, ...]:
        return (self.datazone, self.cloudformation, self.stepfunctions, self.s3)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse to resolve any host but the loopback one (test_retries serves DataZone on 127.0.0.1)."""
    attempts: list[str] = []
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            attempts.append(str(host))
            raise OSError(f"the handler tests are offline: refused to resolve {host!r}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts
    assert not attempts, f"a test tried to reach the network: {attempts}"


class _LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = json.loads(record.getMessage())
        self.lines.append({"level": record.levelname, **{k: _brief(v) for k, v in fields.items()}})


def _brief(value: Any) -> Any:
    # Hostile service messages run to kilobytes (test_response_size): a long value is recorded as
    # its start, its length and a digest of the whole, which pins it as exactly as the full text.
    if not isinstance(value, str) or len(value) <= 300:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[:120]}... [{len(value)} characters, sha256 {digest}]"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handlers' clock reads 30 s after the runs' CreatedAt unless a test sets its own: logged
    elapsed times (and so the recorded log lines) do not depend on when the suite runs."""
    monkeypatch.setattr(index, "now", lambda: CREATED_AT.timestamp() + 30)


@pytest.fixture(autouse=True)
def log_lines(snapshot: SnapshotAssertion) -> Iterator[list[dict[str, Any]]]:
    """The handlers' log lines in this test, at the level Lambda logs at; they must equal the
    lines recorded for the test."""
    capture = _LogLines()
    index.LOGGER.addHandler(capture)
    try:
        yield capture.lines
    finally:
        index.LOGGER.removeHandler(capture)
    assert capture.lines == snapshot(name="log")


@pytest.fixture(scope="session")
def shared_clients() -> tuple[Any, Any, Any, Any]:
    """One DataZone, CloudFormation, Step Functions and S3 client for the whole run (building one
    per test costs more than the tests); each test wraps them in fresh stubbers."""
    session = boto3.session.Session(region_name="us-east-1")
    return (
        session.client("datazone"),
        session.client("cloudformation"),
        session.client("stepfunctions"),
        session.client("s3"),
    )


@pytest.fixture(autouse=True)
def clients(
    monkeypatch: pytest.MonkeyPatch, offline: list[str], shared_clients: tuple[Any, Any, Any, Any]
) -> Iterator[Clients]:
    """All of the handlers' clients, stubbed: an unqueued call fails the test (even where the handler
    swallows the error), and a queued but unused response fails it at teardown."""
    datazone, cloudformation, stepfunctions, s3_client = shared_clients
    stubbers = Clients(
        datazone=StrictStubber(datazone),
        cloudformation=StrictStubber(cloudformation),
        stepfunctions=StrictStubber(stepfunctions),
        s3=StrictStubber(s3_client),
    )
    monkeypatch.setattr(index, "_client", stubbers.datazone.client)
    monkeypatch.setattr(index, "_cfn_client", stubbers.cloudformation.client)
    monkeypatch.setattr(batch, "_sfn_client", stubbers.stepfunctions.client)
    monkeypatch.setattr(worker, "_s3_client", stubbers.s3.client)
    monkeypatch.setattr(worker, "_sfn_client", stubbers.stepfunctions.client)
    monkeypatch.setattr(continuous, "_s3_client", stubbers.s3.client)
    with stubbers.datazone, stubbers.cloudformation, stubbers.stepfunctions, stubbers.s3:
        yield stubbers
    for stubber in stubbers.all():
        assert not stubber.refused, "the handler made calls nobody expected:\n" + "\n".join(stubber.refused)
        stubber.assert_no_pending_responses()


@pytest.fixture
def stubbed(clients: Clients) -> Stubber:
    """The handler's DataZone client, stubbed."""
    return clients.datazone


@pytest.fixture
def cfn(clients: Clients) -> Stubber:
    """The handler's CloudFormation client, stubbed (DescribeStacks)."""
    return clients.cloudformation


@pytest.fixture
def sfn(clients: Clients) -> Stubber:
    """The batch handler's and the worker's Step Functions client, stubbed (Describe/Start/Stop/ListExecutions)."""
    return clients.stepfunctions


@pytest.fixture
def s3(clients: Clients) -> Stubber:
    """The batch handler's and the worker's S3 client, stubbed (items, part files, result files, summary)."""
    return clients.s3


@pytest.fixture
def api_calls(stubbed: Stubber) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DataZone call the handler attempts, with its parameters, recorded before the stubber sees it.

    Needed where the handler swallows botocore errors (Delete) and a test wants the exact sequence.
    """
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((str(model.name), dict(params)))

    events = stubbed.client.meta.events
    events.register("provide-client-params.datazone", record, unique_id="tests.handler.api_calls")
    yield calls
    events.unregister("provide-client-params.datazone", unique_id="tests.handler.api_calls")


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
