"""Offline check of the CDK integration test ``integ_metadata_generation_run.py`` against its snapshot.

``integ-runner`` (without ``--update-on-failed``) compares a fresh synth with the committed snapshot
and deploys nothing. The newest ``@aws-cdk/integ-runner`` on npm (see package.json) bundles a cloud
assembly reader that stops at schema 53, while aws-cdk-lib 2.275 writes schema 55, so it cannot
load this app yet: ``test_integ_runner_snapshot`` reports that as an expected failure and becomes
the real check as soon as a compatible integ-runner is pinned. Until then the templates are
compared here, the same files integ-runner diffs.

Regenerate the snapshot after an intended template change: ``python -m pytest tests/integ --snapshot-update``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INTEG = Path(__file__).with_name("integ_metadata_generation_run.py")
SNAPSHOT = INTEG.with_name(INTEG.name + ".snapshot")
# Enough to review and diff a change; the asset folders (a 6 MB assertion-handler bundle among
# them) are identified by the hashes inside the templates.
KEPT = ("*.template.json", "*.assets.json", "integ.json", "manifest.json")


def _synth(outdir: Path) -> Path:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DZ_IT_")}  # placeholders only
    # The feature flags cdk.json carries, as a CDK CLI synth (and integ-runner) would apply them.
    environment["CDK_CONTEXT_JSON"] = json.dumps(json.loads((REPO / "cdk.json").read_text())["context"])
    environment["CDK_OUTDIR"] = str(outdir)
    subprocess.run([sys.executable, INTEG.name], cwd=INTEG.parent, env=environment, check=True)
    return outdir


_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def _templates(assembly: Path) -> dict[str, Any]:
    # Code asset hashes (S3 keys) left out: any edit of the handler changes them, right or wrong;
    # tests/construct/test_snapshot.py keeps the hash itself honest.
    templates = {
        path.name: json.loads(_ASSET_HASH.sub("<asset hash>", path.read_text()))
        for path in sorted(assembly.glob("*.template.json"))
    }
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"].startswith("Custom::DeployAssert@"):
                # Date.now() at synth, so that every deploy re-runs the assertion: not a change.
                resource["Properties"].pop("salt", None)
    return templates


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    outdir = _synth(tmp_path_factory.mktemp("integ.out"))
    if request.config.getoption("--snapshot-update", default=False):
        shutil.rmtree(SNAPSHOT, ignore_errors=True)
        SNAPSHOT.mkdir()
        for pattern in KEPT:
            for path in outdir.glob(pattern):
                shutil.copy2(path, SNAPSHOT / path.name)
    return outdir


def test_integ_templates_match_the_committed_snapshot(synthesized: Path) -> None:
    assert SNAPSHOT.is_dir(), "no snapshot: python -m pytest tests/integ --snapshot-update"
    expected = _templates(SNAPSHOT)
    assert set(expected) == {
        "DataZoneMetadataGenerationRunInteg.template.json",
        "MetadataGenerationRunIntegDefaultTestDeployAssertA01ABC7F.template.json",
    }
    assert _templates(synthesized) == expected, "stale: python -m pytest tests/integ --snapshot-update"


def test_integ_asserts_a_terminal_success_status(synthesized: Path) -> None:
    (assert_template,) = [
        t for name, t in _templates(synthesized).items() if name.startswith("MetadataGenerationRunIntegDefaultTest")
    ]
    calls = [r for r in assert_template["Resources"].values() if r["Type"].startswith("Custom::DeployAssert@SdkCall")]
    (call,) = calls
    assert call["Properties"]["service"] == "DataZone"
    assert call["Properties"]["api"] == "getMetadataGenerationRun"
    assert "SUCCEEDED|PARTIALLY_SUCCEEDED" in json.dumps(call["Properties"]["expected"])


@pytest.mark.slow
def test_integ_runner_snapshot() -> None:
    integ_runner = shutil.which("integ-runner", path=str(REPO / "node_modules" / ".bin"))
    assert integ_runner is not None, "run bash scripts/setup (npm ci installs @aws-cdk/integ-runner)"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DZ_IT_")}
    environment["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), environment.get("PATH", "")])
    result = subprocess.run(
        [integ_runner, "--directory", "tests/integ", "--language", "python"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    if "Maximum schema version supported is 53" in output:
        pytest.xfail("the pinned integ-runner cannot read aws-cdk-lib 2.275's cloud assembly (schema 55)")
    assert result.returncode == 0, output
