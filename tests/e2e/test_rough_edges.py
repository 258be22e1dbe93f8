"""Issue 17, "the first hour as a user": the local dry run's rough edges, each pinned."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from constructs_lib.local.cli import main


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


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
