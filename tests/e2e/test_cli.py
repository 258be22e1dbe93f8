"""``python -m constructs_local``: deploy / destroy printing like cdk, state between commands, serve."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from constructs_local.cli import _knobs, build_parser, main
from constructs_local.knobs import Knobs

from tests.e2e.cases import main as cases_main
from tests.e2e.cases import mutated_assembly, set_run_property
from tests.e2e.conftest import EXAMPLE_STACK

RUN_ID_OUTPUT = re.compile(rf"^{EXAMPLE_STACK}\.DescriptionsRunIdOutput\w+ = (\S+)$", re.MULTILINE)
STATUS_OUTPUT = re.compile(rf"^{EXAMPLE_STACK}\.DescriptionsRunStatusOutput\w+ = (\S+)$", re.MULTILINE)


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


def test_deploy_prints_outputs_like_cdk_and_state_carries_over(assembly: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    outputs_file = tmp_path / "outputs.json"
    common = ("--state", state, "--time-scale", "0")
    code, text = run("deploy", "--app", assembly, *common, "--outputs-file", outputs_file)
    assert code == 0, text
    assert f" \u2705  {EXAMPLE_STACK} (local)\n" in text
    assert "\nOutputs:\n" in text
    run_id = RUN_ID_OUTPUT.search(text)
    status = STATUS_OUTPUT.search(text)
    assert run_id is not None
    assert status is not None
    assert status.group(1) == "SUCCEEDED"
    assert "Run timeline: Descriptions/Resource/Default Create (deploy)" in text or "Run timeline: " in text
    assert "isComplete: complete  [SUCCEEDED]" in text
    assert re.search(r"Stack ARN:\narn:aws:cloudformation:us-east-1:000000000000:stack/" + EXAMPLE_STACK + "/", text)
    saved = json.loads(state.read_text())
    resources = saved["stacks"][EXAMPLE_STACK]["resources"]
    assert run_id.group(1) in {r["physicalId"].split(":")[0] for r in resources.values()}
    assert json.loads(outputs_file.read_text())[EXAMPLE_STACK]["DescriptionsRunIdOutputE231E9FD"] == run_id.group(1)

    code, again = run("deploy", "--app", assembly, *common)
    assert code == 0
    assert f" \u2705  {EXAMPLE_STACK} (local) (no changes)" in again
    again_id = RUN_ID_OUTPUT.search(again)
    assert again_id is not None
    assert again_id.group(1) == run_id.group(1)

    # A changed assembly sends Update; the endpoint's runs persisted in the state file, so the
    # old run is found (finished: nothing to cancel) and a new one starts.
    changed = mutated_assembly(assembly, tmp_path / "changed", [set_run_property("Types", ["BUSINESS_NAMES"])])
    code, updated = run("deploy", "--app", changed, *common)
    assert code == 0, updated
    assert "UPDATE_COMPLETE" in updated
    new_id = RUN_ID_OUTPUT.search(updated)
    assert new_id is not None
    assert new_id.group(1) != run_id.group(1)
    assert "Delete (cleanup)" in updated

    code, destroyed = run("destroy", "--app", changed, *common)
    assert code == 0
    assert f" \u2705  {EXAMPLE_STACK} (local): destroyed" in destroyed
    saved = json.loads(state.read_text())
    assert saved["stacks"] == {}
    assert {r["id"] for r in saved["datazone"]["runs"]} == {run_id.group(1), new_id.group(1)}


def test_failed_deploy_exits_1_and_says_why(assembly: Path, tmp_path: Path) -> None:
    code, text = run(
        "deploy",
        "--app",
        assembly,
        "--state",
        tmp_path / "s.json",
        "--time-scale",
        "0",
        "--final-status",
        "exampleasset1=FAILED",
    )
    assert code == 1
    assert f" \u274c  {EXAMPLE_STACK} (local) failed: ROLLBACK_COMPLETE: Received response status [FAILED]" in text
    assert "ended FAILED" in text


def test_no_non_local_endpoint_and_no_profile_without_aws(
    assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(
        "deploy",
        "--app",
        assembly,
        "--state",
        tmp_path / "s.json",
        "--endpoint-url",
        "https://datazone.us-east-1.api.aws",
    )
    assert code == 2
    assert "must be a local endpoint" in capsys.readouterr().err


def test_missing_assembly_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("deploy", "--app", tmp_path / "nothing", "--state", tmp_path / "s.json")
    assert code == 2
    assert "run `cdk synth` first" in capsys.readouterr().err


def test_cases_check(assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cases.md"
    app = ["--app", str(assembly)]
    assert cases_main([*app, "--write", str(target), "happy-path"]) == 0
    assert "| 1 | **Happy path**" in target.read_text()
    capsys.readouterr()
    assert cases_main([*app, "--check", str(target), "happy-path"]) == 0
    assert capsys.readouterr().out.strip() == f"{target} is up to date"
    target.write_text("stale\n")
    assert cases_main([*app, "--check", str(target), "happy-path"]) == 1


def test_the_shipped_cli_has_no_cases_command(capsys: pytest.CaptureFixture[str]) -> None:
    # The example app's cases are the repo's tests, not something users run.
    with pytest.raises(SystemExit):
        main(["cases"])
    assert "invalid choice: 'cases'" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_in_another_process_and_deploy_against_it(assembly: Path, tmp_path: Path) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "constructs_local",
            "serve",
            "--submitted-seconds",
            "0.05",
            "--in-progress-seconds",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        url = first.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        code, text = run(
            "deploy", "--app", assembly, "--state", tmp_path / "s.json", "--endpoint-url", url, "--time-scale", "0.01"
        )
        assert code == 0, text
        with urllib.request.urlopen(f"{url}/_local/calls", timeout=5) as response:
            calls = json.loads(response.read())
        operations = [c["operation"] for c in calls]
        assert operations[0] == "StartMetadataGenerationRun"
        assert set(operations[1:]) == {"GetMetadataGenerationRun"}
        assert calls[0]["principal"].startswith("arn:aws:iam::000000000000:role/")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_state_of_one_target_is_not_used_for_another(
    assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    assert run("deploy", "--app", assembly, "--state", state, "--time-scale", "0")[0] == 0
    code, _ = run("destroy", "--app", assembly, "--state", state, "--endpoint-url", "http://127.0.0.1:9")
    assert code == 2
    assert "holds stacks deployed against local" in capsys.readouterr().err


def test_local_deploy_ignores_the_users_aws_setup(
    assembly: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Profiles, global endpoint overrides and real-looking keys in the environment never reach the handler."""
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://datazone.example.invalid")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    code, text = run("deploy", "--app", assembly, "--state", tmp_path / "s.json", "--time-scale", "0")
    assert code == 0, text
    assert "StartMetadataGenerationRun x1" in text


def test_knob_flags_default_to_the_strict_endpoint_and_can_relax_it() -> None:
    strict = _knobs(build_parser().parse_args(["deploy"]))
    assert strict.reject_concurrent_runs is True  # as Knobs() and the module say: the stricter choice
    assert strict == Knobs()
    flags = ["deploy", "--no-reject-concurrent-runs", "--throttle-fraction", "0.05"]
    relaxed = _knobs(build_parser().parse_args(flags))
    assert (relaxed.reject_concurrent_runs, relaxed.throttle_fraction) == (False, 0.05)


def test_throttle_fraction_outside_0_to_1_is_refused_with_the_flag() -> None:
    with pytest.raises(SystemExit, match=r"--throttle-fraction 1\.5: use a share from 0 to 1"):
        _knobs(build_parser().parse_args(["deploy", "--throttle-fraction", "1.5"]))
