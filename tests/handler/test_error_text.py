"""How the handler words a service error it did not expect in full: an error without a code or a
message, a non-AWS error, and the time budget when Lambda's context is missing."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import FakeContext, make_event


def _client_error(error: dict[str, str] | None) -> ClientError:
    response = {} if error is None else {"Error": error}
    return ClientError(response, "GetMetadataGenerationRun")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "described"),
    [
        ({"Code": "ThrottlingException", "Message": "slow down"}, "ThrottlingException: slow down"),
        (
            {"Code": "ValidationException"},
            "ValidationException: An error occurred (ValidationException) when calling the "
            "GetMetadataGenerationRun operation: Unknown",
        ),
        (
            None,
            "Unknown: An error occurred (Unknown) when calling the GetMetadataGenerationRun operation: Unknown",
        ),
    ],
)
def test_a_client_error_is_described_by_code_and_message(error: dict[str, str] | None, described: str) -> None:
    assert common.describe(_client_error(error)) == described


def test_an_error_without_a_code_fails_with_unknown_and_the_exception_text() -> None:
    reason = str(common.client_error("GetMetadataGenerationRun", _client_error(None), None))
    assert reason == (
        "GetMetadataGenerationRun failed: Unknown: An error occurred (Unknown) when calling the "
        "GetMetadataGenerationRun operation: Unknown"
    )


def test_other_errors_are_described_by_type() -> None:
    error = EndpointConnectionError(endpoint_url="https://datazone.us-east-1.amazonaws.com")
    assert common.describe(error) == (
        'EndpointConnectionError: Could not connect to the endpoint URL: "https://datazone.us-east-1.amazonaws.com"'
    )


def test_time_left_is_lambdas_remaining_time_in_seconds() -> None:
    assert common.time_left(FakeContext(remaining_ms=2500)) == 2.5
    assert common.time_left(object()) == float("inf")


@pytest.mark.parametrize(
    ("limit", "fitted"),
    [
        (10, "abcdefghij"),  # 10 bytes inside a JSON string: it fits exactly
        (9, "abcdef..."),  # the longest prefix that fits together with the ellipsis
        (7, "abcd..."),
        (3, "..."),
    ],
)
def test_fit_keeps_the_longest_prefix_that_fits_with_its_ellipsis(limit: int, fitted: str) -> None:
    assert common.fit("abcdefghij", limit) == fitted


def test_client_tokens_are_cfn_and_a_sha256() -> None:
    # DataZone's clientToken allows 1-128 characters; ours are recognisable in its console/logs.
    token = index.derive_client_token(make_event())
    assert re.fullmatch("cfn-[0-9a-f]{64}", token)


def test_clean_turns_control_characters_into_spaces_and_lone_surrogates_into_replacements() -> None:
    assert common.clean("a\x00b\nc\x7fd\ud800e") == "a b c d\ufffde"
