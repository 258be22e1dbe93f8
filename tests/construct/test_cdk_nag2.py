"""cdk-nag 2.x (``Aspects.of(app).add(AwsSolutionsChecks())``) reports nothing from the construct.

The venv holds cdk-nag 3 (see test_quality.py); 2.x is installed with ``pip install --target``
into a versioned folder under .venv/, once, and put ahead of 3.x on a subprocess's PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.construct.conftest import EXAMPLE_STACK

REPO = Path(__file__).resolve().parents[2]
#: The newest cdk-nag 2.x; users still on the Aspects API run some 2.x.
CDK_NAG2_VERSION = "2.38.2"
CDK_NAG2_DIR = REPO / ".venv" / f"cdk-nag-{CDK_NAG2_VERSION}"


@pytest.fixture(scope="session")
def cdk_nag2() -> Path:
    if not (CDK_NAG2_DIR / "cdk_nag").is_dir():
        # Into a scratch folder first and renamed when complete, so an interrupted install is not
        # mistaken for a cached one. --no-deps: its dependencies (aws-cdk-lib, constructs, jsii,
        # typeguard, publication) are already in the venv for cdk-nag 3 and must stay those.
        partial = CDK_NAG2_DIR.with_name(CDK_NAG2_DIR.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", str(partial), f"cdk-nag=={CDK_NAG2_VERSION}"],
            check=True,
        )  # fmt: skip
        partial.rename(CDK_NAG2_DIR)
    return CDK_NAG2_DIR


def _nag2_report(cdk_nag2: Path, outdir: Path, *options: str) -> dict[str, Any]:
    result = outdir / "result.json"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cdk_nag2), str(REPO)]))
    subprocess.run(
        [sys.executable, "-m", "tests.construct.nag2_synth", str(outdir / "cdk.out"), str(result), *options],
        cwd=REPO,
        env=environment,
        check=True,
    )
    report: dict[str, Any] = json.loads(result.read_text())
    assert Path(report["version"]).is_relative_to(cdk_nag2), "cdk-nag 3 was imported instead of 2.x"
    return report


@pytest.mark.slow
def test_cdk_nag2_aws_solutions_reports_nothing(cdk_nag2: Path, tmp_path: Path) -> None:
    report = _nag2_report(cdk_nag2, tmp_path)
    assert report["findings"] == []

    # Each suppression is on the exact resource and names its finding: 9 per stack (the 9 errors
    # cdk-nag 2 reported before the construct wrote suppressions), each with its reason.
    suppressed = report["suppressed"]
    for row in suppressed:
        assert len(row["Exception Reason"]) > 40
    example = sorted(
        (row["Rule ID"], row["Resource ID"].removeprefix(f"{EXAMPLE_STACK}/DataZoneMetadataGenerationRunProvider/"))
        for row in suppressed
        if row["Resource ID"].startswith(f"{EXAMPLE_STACK}/")
    )
    assert example == [
        ("AwsSolutions-IAM5", "FrameworkOnEventRole/DefaultPolicy/Resource"),
        ("AwsSolutions-IAM5", "FrameworkOnEventRole/DefaultPolicy/Resource"),
        ("AwsSolutions-IAM5", "FrameworkWaiterRole/DefaultPolicy/Resource"),
        ("AwsSolutions-IAM5", "FrameworkWaiterRole/DefaultPolicy/Resource"),
        ("AwsSolutions-IAM5", "HandlerRole/DefaultPolicy/Resource"),
        ("AwsSolutions-IAM5", "Provider/waiter-state-machine/Role/DefaultPolicy/Resource"),
        ("AwsSolutions-IAM5", "Provider/waiter-state-machine/Role/DefaultPolicy/Resource"),
        ("AwsSolutions-SF1", "Provider/waiter-state-machine/Resource"),
        ("AwsSolutions-SF2", "Provider/waiter-state-machine/Resource"),
    ]
    handler_wildcard = [
        row["Exception Reason"]
        for row in suppressed
        if row["Resource ID"].endswith("/HandlerRole/DefaultPolicy/Resource")
    ]
    assert handler_wildcard
    assert all(reason.startswith("[Resource::*] ") for reason in handler_wildcard)


@pytest.mark.slow
def test_cdk_nag2_reports_nothing_with_the_recommended_feature_flags(cdk_nag2: Path, tmp_path: Path) -> None:
    # The flags cdk init writes (and this repo's cdk.json carries) change the provider framework's
    # policies; the suppressions must still cover every finding, and the leftover ones hide nothing.
    report = _nag2_report(cdk_nag2, tmp_path, "--cdk-json-context")
    assert report["findings"] == []
    assert report["suppressed"]
