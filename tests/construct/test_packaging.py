"""`pip install <repo>` in a fresh venv lets an app outside the repo synthesize the construct."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.construct.conftest import EXAMPLE_STACK, Synthesized

REPO = Path(__file__).resolve().parents[2]

USER_APP = """
import aws_cdk as cdk
from constructs_lib import MetadataGenerationRun, MetadataGenerationType

app = cdk.App(outdir="cdk.out")
stack = cdk.Stack(app, "UserStack")
MetadataGenerationRun(stack, "Run", domain_id="dzd_abc123", project_id="proj1", asset_id="asset1",
                      types=[MetadataGenerationType.BUSINESS_NAMES])
app.synth()
"""


def _lambda_asset_keys(template: dict[str, object]) -> set[str]:
    resources = template["Resources"]
    assert isinstance(resources, dict)
    return {
        r["Properties"]["Code"]["S3Key"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler", "").startswith("entry.")
    }


@pytest.mark.slow
def test_installed_wheel_synthesizes_outside_the_repo(tmp_path: Path, synthesized: Synthesized) -> None:
    # Build from the tracked files only, so nothing untracked in the checkout can make it pass.
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True).stdout
    for name in tracked.splitlines():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_symlink():  # constructs_lib/_handler: git keeps it as a link
            (source / name).symlink_to(os.readlink(REPO / name))
        elif (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        check=True,
        capture_output=True,
    )
    site = Path(
        subprocess.run(
            [python, "-c", "import constructs_lib, os; print(os.path.dirname(constructs_lib.__file__))"],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        ).stdout.strip()
    ).parent
    assert site.is_relative_to(env_dir)
    assert (site / "constructs_lib" / "py.typed").is_file()
    handler = site / "constructs_lib" / "_handler"
    assert not handler.is_symlink()
    assert (handler / "index.py").is_file()
    assert (handler / "contract.py").is_file()
    # No top-level package a user's own folder could shadow, or be shadowed by.
    assert not (site / "lambda_src").exists()

    user = tmp_path / "user-app"
    user.mkdir()
    (user / "app.py").write_text(USER_APP)
    # A folder name many CDK apps use for their own functions.
    (user / "lambda_src" / "metadata_generation_run").mkdir(parents=True)
    (user / "lambda_src" / "__init__.py").write_text("")
    (user / "lambda_src" / "metadata_generation_run" / "__init__.py").write_text("raise RuntimeError('shadowed')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([python, "app.py"], cwd=user, env=env, check=True, capture_output=True)

    template = json.loads((user / "cdk.out" / "UserStack.template.json").read_text())
    assert sum(r["Type"] == "Custom::DataZoneMetadataGenerationRun" for r in template["Resources"].values()) == 1
    # Same handler asset as the repo's own synth although pip byte-compiled the installed copy.
    assert _lambda_asset_keys(template) == _lambda_asset_keys(synthesized.templates[EXAMPLE_STACK])
    (asset_key,) = _lambda_asset_keys(template)
    asset_dir = user / "cdk.out" / f"asset.{asset_key.removesuffix('.zip')}"
    assert sorted(p.name for p in asset_dir.iterdir()) == [
        "__init__.py",
        "batch.py",
        "common.py",
        "continuous.py",
        "contract.py",
        "entry.py",
        "index.py",
        "worker.py",
    ]
    assert sys.executable != str(python)
