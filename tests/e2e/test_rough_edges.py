"""Issue 17, "the first hour as a user": the local dry run's rough edges, each pinned."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from constructs_local.cli import main

from constructs_lib import AssetSelection, MetadataGenerationBatch

REPO = Path(__file__).resolve().parents[2]
BATCH_STACK = "RoughBatch"


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def batch_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("rough-batch-cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, BATCH_STACK)
    MetadataGenerationBatch(
        stack,
        "Catalog",
        domain_id="dzd_example123",
        project_id="exampleproject1",
        assets=AssetSelection.ids(["roughasset1", "roughasset2"]),
    )
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("plain-cdk.out")
    app = cdk.App(outdir=str(outdir))
    sns.Topic(cdk.Stack(app, "PlainStack"), "Topic")
    app.synth()
    return outdir


@dataclass
class Deploys:
    first: subprocess.CompletedProcess[str]
    again: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def batch_deploys(batch_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Deploys:
    """Two deploys of a batch, as a user runs them: the CLI in its own process (no test logging)."""
    state = tmp_path_factory.mktemp("rough-state") / "state.json"
    command = [sys.executable, "-m", "constructs_local", "deploy", "--app", str(batch_app), "--state", str(state)]

    def deploy() -> subprocess.CompletedProcess[str]:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    return Deploys(deploy(), deploy())


# -- item 3: a missing dependency of the dry run is named before the deploy starts -----------------


def test_a_missing_moto_is_named_with_the_install_command_before_anything_starts(
    batch_app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # as if installed with --no-deps
    state = tmp_path / "state.json"
    code, text = run("deploy", "--app", batch_app, "--state", state)
    assert code == 2
    assert text == ""  # no header, no stack event: nothing started
    assert not state.exists()
    error = capsys.readouterr().err
    assert "needs moto[stepfunctions,s3,events]==5.2.5" in error
    assert "module 'moto' is not installed" in error
    # The command that installs the dry run's distribution from this checkout brings moto with it.
    found = re.search(r'pip install "(.+)"$', error.strip())
    assert found is not None
    assert 'name = "datazone-metadata-generation-dryrun"' in (Path(found.group(1)) / "pyproject.toml").read_text()
    assert "boto3>=1.44" not in error  # the old hint pointed at boto3


# -- item 4: an app without the construct says there was nothing to dry-run ----------------------------


def test_an_app_without_the_construct_says_there_was_nothing_to_dry_run(
    plain_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run("deploy", "--app", plain_app, "--state", tmp_path / "s.json")
    assert code == 1
    assert " \u2796  PlainStack (local): nothing to dry-run: the stack has no MetadataGenerationRun" in text
    assert "\u2705" not in text
    assert "Deployment time" not in text
    error = capsys.readouterr().err
    assert f"error: nothing to dry-run: no stack of {plain_app} has a MetadataGenerationRun" in error


# -- item 5: even messages in the CLI --------------------------------------------------------------------


def test_a_bad_seed_outcome_is_echoed(assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"domains": {"dzd_a1": {"assets": {"x1": {"project": "p1", "outcome": "DONE"}}}}}))
    code, _ = run("deploy", "--app", assembly, "--state", tmp_path / "s.json", "--seed", seed)
    assert code == 2
    assert "domains.dzd_a1.assets.x1.outcome: expected one of SUCCEEDED, " in (error := capsys.readouterr().err)
    assert "IN_PROGRESS, got 'DONE'" in error


def test_a_missing_app_directory_is_explained_for_any_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("deploy", "--app", tmp_path / "nothing", "--state", tmp_path / "s.json")
    assert code == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'nothing'}: no such directory: run `cdk synth` first in your CDK app" in error
    assert "scripts/demo" not in error  # means something only inside this repository


# -- item 10: only our lines reach the user ------------------------------------------------------------


def test_a_batch_dry_run_prints_nothing_of_moto(batch_deploys: Deploys) -> None:
    assert batch_deploys.first.stderr == ""
    assert batch_deploys.again.stderr == ""
    assert "ToleratedFailure" not in batch_deploys.first.stdout


def test_setup_keeps_npms_update_notice_out() -> None:
    # npm logs that notice with force: true, past --loglevel=error; only the flag stops it.
    (npm_ci,) = [line for line in (REPO / "scripts/setup").read_text().splitlines() if "npm ci" in line]
    assert "--no-update-notifier" in npm_ci.split()


# -- item 11: dry-run output that adds up ----------------------------------------------------------------


def test_every_arn_names_the_stacks_account(batch_deploys: Deploys) -> None:
    accounts = re.findall(r"arn:aws:[a-z]+:[a-z0-9-]*:(\d{12}):", batch_deploys.first.stdout)
    assert "arn:aws:states:" in batch_deploys.first.stdout  # the execution ARN is among them
    assert set(accounts) == {"000000000000"}


def test_a_deploy_without_changes_shows_no_simulated_time(batch_deploys: Deploys) -> None:
    assert "(simulated time: " in batch_deploys.first.stdout
    again = batch_deploys.again.stdout
    assert f" \u2705  {BATCH_STACK} (local) (no changes)" in again
    assert "simulated time" not in again
