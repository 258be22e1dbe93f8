"""Shared fixtures of the end-to-end tests: one synthesized example app, one run of every case.

Everything here is offline: the handler is the packaged Lambda asset of the synthesized cloud
assembly, and DataZone is the local endpoint on 127.0.0.1, on a simulated clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs_local import LocalDataZone, SimulatedClock
from constructs_local.awslambda import runtime as lambda_runtime
from constructs_local.knobs import Knobs

import app as example_app
from tests.e2e.cases import CASES, FAST_RUNS, Outcome, run_case

# Lambda memory is enforced by every dry run, measured with tracemalloc, which slows every
# allocation of the process once on; the suite tests it where it is the subject
# (test_harness_lambda.py) and leaves it off elsewhere.
lambda_runtime.ENFORCE_MEMORY = False

EXAMPLE_STACK = "DataZoneMetadataGenerationExample"
DOMAIN = "dzd_example123"
PROJECT = "exampleproject1"
ASSET = "exampleasset1"


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, synthesized in-process (cheaper than the CDK CLI) into a session directory."""
    outdir = tmp_path_factory.mktemp("e2e-cdk.out")
    app = cdk.App(outdir=str(outdir))
    example_app.build_app(app)
    app.synth()
    return outdir


@pytest.fixture(scope="session")
def outcomes(assembly: Path) -> dict[str, Outcome]:
    """Every fault case of constructs_local.cases, run once per session."""
    return {case.id: run_case(case, assembly) for case in CASES}


@pytest.fixture
def endpoint() -> Iterator[LocalDataZone]:
    with LocalDataZone(clock=SimulatedClock(), knobs=Knobs(**FAST_RUNS)) as dz:
        yield dz
