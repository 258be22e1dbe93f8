"""Opt-in integration test against real AWS: ``cdk deploy`` / ``cdk destroy`` of the example app.

Skipped unless DZ_IT_DOMAIN_ID, DZ_IT_PROJECT_ID and DZ_IT_ASSET_ID are all set. Then it needs
credentials for a CDK-bootstrapped account/region and an asset that supports metadata generation.
tests/conftest.py replaces AWS credentials, profile and region with dummies for the whole suite,
so pass yours with the DZ_IT_ prefix (without them the default credential chain is used)::

    export DZ_IT_DOMAIN_ID=dzd_... DZ_IT_PROJECT_ID=... DZ_IT_ASSET_ID=...
    export DZ_IT_AWS_PROFILE=my-profile DZ_IT_AWS_REGION=us-east-1
    .venv/bin/python -m pytest tests/e2e/test_real_aws.py -v

It never runs in CI (no variables, no credentials).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLE_STACK

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = ("DZ_IT_DOMAIN_ID", "DZ_IT_PROJECT_ID", "DZ_IT_ASSET_ID")
pytestmark = [
    pytest.mark.skipif(
        not all(os.environ.get(v) for v in VARIABLES), reason=f"real-AWS test: set {', '.join(VARIABLES)} to run it"
    ),
]


def _cdk_environment() -> dict[str, str]:
    environment = dict(os.environ)
    if environment.get("AWS_ACCESS_KEY_ID") == "testing":  # the dummies of tests/conftest.py
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
            environment.pop(name, None)
    environment.pop("AWS_EC2_METADATA_DISABLED", None)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        value = os.environ.get(f"DZ_IT_{name}")
        if value:
            environment[name] = value
    if environment.get("AWS_REGION"):
        environment["AWS_DEFAULT_REGION"] = environment["AWS_REGION"]
    bins = [str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin"), environment.get("PATH", "")]
    environment["PATH"] = os.pathsep.join(bins)
    environment.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
    return environment


def _cdk(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cdk = shutil.which("cdk", path=environment["PATH"])
    assert cdk is not None, "the CDK CLI is missing: run bash scripts/setup"
    return subprocess.run([cdk, *args], cwd=ROOT, env=environment, text=True, capture_output=True, check=False)


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = _cdk_environment()
    context = [
        "-c", f"domain_id={os.environ['DZ_IT_DOMAIN_ID']}",
        "-c", f"project_id={os.environ['DZ_IT_PROJECT_ID']}",
        "-c", f"asset_id={os.environ['DZ_IT_ASSET_ID']}",
    ]  # fmt: skip
    outputs_file = tmp_path / "outputs.json"
    outdir = tmp_path / "cdk.out"
    try:
        deploy = _cdk(
            "deploy", EXAMPLE_STACK, "--require-approval", "never", "--outputs-file", str(outputs_file),
            "--output", str(outdir), *context, environment=environment,
        )  # fmt: skip
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        yield json.loads(outputs_file.read_text())[EXAMPLE_STACK]
    finally:
        destroy = _cdk("destroy", EXAMPLE_STACK, "--force", "--output", str(outdir), *context, environment=environment)
        assert destroy.returncode == 0, destroy.stdout + destroy.stderr


def test_cdk_deploy_and_destroy_on_real_aws(deployed: dict[str, str]) -> None:
    run_ids = [v for k, v in deployed.items() if k.startswith("DescriptionsRunIdOutput")]
    statuses = [v for k, v in deployed.items() if k.startswith("DescriptionsRunStatusOutput")]
    assert len(run_ids) == 1
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,36}", run_ids[0])
    assert statuses in (["SUCCEEDED"], ["PARTIALLY_SUCCEEDED"])
