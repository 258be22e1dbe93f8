"""``constructs-local deploy`` of a user's own app: its own CfnDomain/CfnProject and ids no seed knows."""

from __future__ import annotations

import importlib.metadata
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_datazone as datazone
from constructs_local import Knobs, LocalCloudFormation, LocalDataZone, RealClock, _deps
from constructs_local._deps import install_hint
from constructs_local.cli import main
from constructs_local.cloudformation.datazone_resources import DOMAIN_ID, PROJECT_ID, local_domain_id, local_project_id
from constructs_local.seed import seed_problems

from constructs_lib import MetadataGenerationRun, MetadataGenerationType

STACK = "UserCatalog"
ASSET = "userorders1"  # in no seed
#: Where the seed file format is documented (README links it).
DRY_RUN_DOC = Path(__file__).resolve().parents[2] / "docs" / "local-dry-run.md"


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stack that creates its own domain and project and generates metadata for an unseeded asset."""
    outdir = tmp_path_factory.mktemp("user-cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK)
    domain = datazone.CfnDomain(
        stack, "Domain", name="catalog", domain_execution_role="arn:aws:iam::123456789012:role/dz-exec"
    )
    project = datazone.CfnProject(stack, "Project", domain_identifier=domain.attr_id, name="analytics")
    MetadataGenerationRun(
        stack,
        "Orders",
        domain_id=domain.attr_id,
        project_id=project.attr_id,
        asset_id=ASSET,
        types=[MetadataGenerationType.BUSINESS_DESCRIPTIONS],
    )
    cdk.CfnOutput(stack, "DomainRef", value=domain.ref)
    cdk.CfnOutput(stack, "DomainArn", value=domain.attr_arn)
    cdk.CfnOutput(stack, "ProjectRef", value=project.ref)
    cdk.CfnOutput(stack, "ProjectDomainId", value=project.attr_domain_id)
    cdk.CfnOutput(stack, "ProjectId", value=project.attr_id)
    app.synth()
    return outdir


def _logical_ids(assembly: Path) -> tuple[str, str]:
    resources = json.loads((assembly / f"{STACK}.template.json").read_text())["Resources"]
    kinds = {resource["Type"]: logical for logical, resource in resources.items()}
    return kinds["AWS::DataZone::Domain"], kinds["AWS::DataZone::Project"]


def _ids(assembly: Path) -> tuple[str, str]:
    domain_logical, project_logical = _logical_ids(assembly)
    return local_domain_id(STACK, domain_logical), local_project_id(STACK, project_logical)


def run(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


def _output(text: str, name: str) -> str:
    found = re.search(rf"^{STACK}\.{name} = (\S+)$", text, re.MULTILINE)
    assert found is not None, text
    return found.group(1)


def test_own_domain_and_project_deploy_with_valid_ids(user_app: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    code, text = run("deploy", "--app", user_app, "--state", state, "--time-scale", "0")
    assert code == 0, text
    domain, project = _ids(user_app)
    assert DOMAIN_ID.fullmatch(domain)
    assert PROJECT_ID.fullmatch(project)
    assert _output(text, "DomainRef") == domain
    assert _output(text, "DomainArn") == f"arn:aws:datazone:us-east-1:000000000000:domain/{domain}"
    assert _output(text, "ProjectRef") == f"{domain}|{project}"  # CloudFormation's Ref of a project
    assert _output(text, "ProjectDomainId") == domain
    assert _output(text, "ProjectId") == project
    assert re.search(rf"^{STACK}\.OrdersRunStatusOutput\w+ = SUCCEEDED$", text, re.MULTILINE), text
    notices = [line for line in text.splitlines() if line.startswith("notice: ")]
    assert len(notices) == 3, notices
    assert f"is domain {domain} in the local endpoint" in notices[0]
    assert f"is project {project} of domain {domain}" in notices[1]
    assert notices[2].startswith(f"notice: asset {ASSET} of domain {domain} (owned by project {project})")
    assert "created it on the fly" in notices[2]

    saved = json.loads(state.read_text())["datazone"]["world"]["domains"][domain]
    assert saved["assets"][ASSET]["onTheFly"] is True

    # The endpoint's world persists: nothing is announced twice.
    code, again = run("deploy", "--app", user_app, "--state", state, "--time-scale", "0")
    assert code == 0, again
    assert "notice: " not in again
    code, gone = run("destroy", "--app", user_app, "--state", state, "--time-scale", "0")
    assert code == 0, gone


def test_each_unknown_id_is_announced_once(user_app: Path) -> None:
    replay = LocalCloudFormation(user_app, time_scale=0)
    (result,) = replay.deploy()
    assert result.ok, result.reason
    assert len(replay.notices) == len(set(replay.notices)) == 3


def test_strict_refuses_naming_the_id_and_the_fix(
    user_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run("deploy", "--app", user_app, "--state", tmp_path / "s.json", "--strict")
    assert code == 2
    error = capsys.readouterr().err
    domain, project = _ids(user_app)
    assert f"asset {ASSET} of domain {domain} (owned by project {project})" in error
    assert "Add them to your seed file (--seed FILE" in error
    assert "DataZone::Domain" not in error  # what the stack creates is never "unknown"
    assert "deploying" not in text


def test_strict_deploys_once_the_seed_names_the_asset(user_app: Path, tmp_path: Path) -> None:
    domain, project = _ids(user_app)
    seed = tmp_path / "seed.json"
    asset = {"project": project, "typeName": "amazon.datazone.GlueTableAssetType", "revision": 1}
    seed.write_text(json.dumps({"domains": {domain: {"projects": {}, "assets": {ASSET: asset}}}}))
    state = tmp_path / "state.json"
    # A first deploy without the seed made the asset on the fly; the seed then takes its place.
    assert run("deploy", "--app", user_app, "--state", state, "--time-scale", "0")[0] == 0
    code, text = run("deploy", "--app", user_app, "--state", state, "--seed", seed, "--strict", "--time-scale", "0")
    assert code == 0, text
    assert "notice: " not in text
    world = json.loads(state.read_text())["datazone"]["world"]["domains"][domain]
    assert not world["assets"][ASSET].get("onTheFly")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"domains": {', "not valid JSON at line 1"),
        ("[]", "top level: expected an object"),
        ('{"domains": {"mydomain": {}}}', "domains.mydomain: a domain id matches dzd[-_]"),
        (
            '{"domains": {"dzd_a1": {"assets": {"x1": {"project": "p1", "revision": "2"}}}}}',
            "domains.dzd_a1.assets.x1.revision: expected a whole number >= 1, got '2'",
        ),
        ('{"domains": {"dzd_a1": {"asset": {}}}}', "domains.dzd_a1: unknown key 'asset'"),
    ],
)
def test_malformed_seed_error_names_the_file_and_the_problem(
    user_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    seed = tmp_path / "my-seed.json"
    seed.write_text(content)
    code, _ = run("deploy", "--app", user_app, "--state", tmp_path / "s.json", "--seed", seed)
    assert code == 2
    error = capsys.readouterr().err
    assert f"seed file {seed}" in error
    assert problem in error


def test_deploy_against_a_serve_process_creates_the_ids_there(user_app: Path, tmp_path: Path) -> None:
    knobs = Knobs(submitted_seconds=0.05, in_progress_seconds=0.2)
    with LocalDataZone(clock=RealClock(), knobs=knobs) as endpoint:
        code, text = run(
            "deploy", "--app", user_app, "--state", tmp_path / "s.json", "--endpoint-url", endpoint.url,
            "--time-scale", "0.01",
        )  # fmt: skip
        assert code == 0, text
        domain, _ = _ids(user_app)
        assert ASSET in endpoint.backend.world_snapshot()["domains"][domain]["assets"]


def test_documented_seed_example_is_a_valid_seed() -> None:
    section = DRY_RUN_DOC.read_text().split("\n## Seed file", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    assert examples, "docs/local-dry-run.md's Seed file section shows no ```json seed example"
    for example in examples:
        assert seed_problems(json.loads(example)) == []


def test_deploy_destroy_and_serve_never_start_jsii(user_app: Path, tmp_path: Path) -> None:
    script = f"""
import io, sys, threading, time
from constructs_local.cli import main
common = ["--app", {str(user_app)!r}, "--state", {str(tmp_path / "s.json")!r}, "--time-scale", "0"]
assert main(["deploy", *common], out=io.StringIO()) == 0
assert main(["destroy", *common], out=io.StringIO()) == 0
out = io.StringIO()
threading.Thread(target=main, args=(["serve"], out), daemon=True).start()
deadline = time.monotonic() + 30
while "Local DataZone endpoint" not in out.getvalue() and time.monotonic() < deadline:
    time.sleep(0.05)
assert "Local DataZone endpoint" in out.getvalue()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("aws_cdk", "jsii", "constructs")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_install_hint_names_this_checkout_not_an_unpublished_name() -> None:
    found = re.search(r'pip install "(.+)"', install_hint())
    assert found is not None
    # Here the package runs from (or was installed from) a checkout: the hint names that folder.
    pyproject = Path(found.group(1)) / "pyproject.toml"
    assert f'name = "{_deps.DISTRIBUTION}"' in pyproject.read_text()


def test_install_hint_names_the_git_url_a_copy_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    class FromGit:
        def read_text(self, name: str) -> str | None:
            assert name == "direct_url.json"
            return json.dumps(
                {"url": "https://example.com/team/constructs.git", "vcs_info": {"vcs": "git"}, "subdirectory": "dryrun"}
            )

    monkeypatch.setattr(importlib.metadata, "distribution", lambda _name: FromGit())
    assert 'pip install "git+https://example.com/team/constructs.git#subdirectory=dryrun"' in install_hint()
