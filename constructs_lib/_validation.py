"""Synth-time checks shared by the constructs: one token test, one error format."""

from __future__ import annotations

import math

import aws_cdk as cdk


def is_token(value: object) -> bool:
    """Whether ``value`` is an unresolved CDK token.

    Equivalent to ``Token.is_unresolved`` for the values these constructs take, but decided in
    Python where it can be: jsii encodes tokens as ``${Token[...]}`` (strings) and ``#{Token[...]}``
    (list elements), and asking the Node kernel costs one IPC round trip per value. Number tokens
    are floats only the kernel can recognise: callers ask about a number only once it would
    otherwise be rejected, so valid numbers cost no round trip.
    """
    if isinstance(value, str):
        return "${Token[" in value or "#{Token[" in value
    if isinstance(value, (list, tuple)):
        return any(is_token(item) for item in value)
    return isinstance(value, float) and math.isfinite(value) and cdk.Token.is_unresolved(value)


def invalid(prop: str, value: object, allowed: str, construct: str = "MetadataGenerationRun") -> ValueError:
    """The error for a bad prop: names the construct and prop, shows the value, says what is allowed."""
    return ValueError(f"{construct}: {prop}={value!r} is invalid: {allowed}")
