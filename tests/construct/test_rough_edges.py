"""Issue 17, "the first hour as a user": the construct-side rough edges, each pinned."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import pydoc
import re
import tempfile
import tomllib
import uuid
from pathlib import Path

import aws_cdk as cdk
import pytest
from mypy import api as mypy_api
from packaging.version import Version

import constructs_lib
from constructs_lib import (
    AcceptPredictions,
    AssetSelection,
    MetadataGenerationBatch,
    MetadataGenerationRun,
    RejectPredictions,
)

REPO = Path(__file__).resolve().parents[2]
RUN_PROPS = {"domain_id": "dzd_abc123", "project_id": "proj1", "asset_id": "asset1"}


# -- item 7: client_token is out of the typed signature ------------------------------------------


def test_a_type_checker_flags_client_token(tmp_path: Path) -> None:
    snippet = tmp_path / "user_app.py"
    snippet.write_text(
        "import aws_cdk as cdk\n"
        "from constructs_lib import MetadataGenerationRun\n"
        "stack = cdk.Stack(cdk.App(), 'S')\n"
        "MetadataGenerationRun(stack, 'R', domain_id='dzd_abc123', project_id='p', asset_id='a', client_token='t')\n"
    )
    # aws-cdk-lib's stubs take a minute to analyse and say nothing about our signature: skipped.
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n[mypy-aws_cdk.*,constructs.*,jsii.*]\nfollow_imports = skip\n")
    out, _, _ = mypy_api.run(
        ["--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(snippet)]
    )
    assert f'{snippet}:4: error: Unexpected keyword argument "client_token" for "MetadataGenerationRun"' in out
    assert "client_token" not in inspect.signature(MetadataGenerationRun).parameters


def test_an_untyped_caller_passing_client_token_still_gets_the_reason() -> None:
    stack = cdk.Stack(cdk.App(), "Untyped")
    props: dict[str, object] = {**RUN_PROPS, "client_token": "t"}
    with pytest.raises(ValueError, match=r"^MetadataGenerationRun: client_token='t' is invalid: the prop was removed"):
        MetadataGenerationRun(stack, "Run", **props)  # type: ignore[arg-type]
    assert stack.node.try_find_child("Run") is None  # refused before anything was added


# -- item 12: help() shows the constructs' real signatures ----------------------------------------


@pytest.mark.parametrize(
    ("construct", "first_props"),
    [
        (MetadataGenerationRun, "domain_id: str, project_id: str, asset_id: str"),
        (MetadataGenerationBatch, "domain_id: str, project_id: str, assets: constructs_lib.batch.AssetSelection"),
    ],
)
def test_help_opens_with_the_real_signature(construct: type, first_props: str) -> None:
    text = pydoc.plain(pydoc.render_doc(construct))
    assert f"{construct.__name__}(scope: constructs.Construct, construct_id: str, *, {first_props}" in text
    assert "*args: Any" not in text
    assert list(inspect.signature(construct).parameters)[:2] == ["scope", "construct_id"]


def test_the_signature_is_only_for_help_python_still_binds_init() -> None:
    stack = cdk.Stack(cdk.App(), "Binding")
    with pytest.raises(TypeError, match="asset_id"):
        MetadataGenerationRun(stack, "Run", domain_id="dzd_abc123", project_id="proj1")  # type: ignore[call-arg]


# -- item 8: only AssetSelection's factories are its API ------------------------------------------


def test_asset_selection_has_no_public_constructor() -> None:
    assert list(inspect.signature(AssetSelection).parameters) == []
    assert "prop: dict" not in pydoc.plain(pydoc.render_doc(AssetSelection))
    with pytest.raises(TypeError, match=r"use AssetSelection\.ids\(\[\.\.\.\]\), AssetSelection\.data_source\(id\)"):
        AssetSelection({"Kind": "IDS", "Count": 1}, ("a",))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="is not public"):
        AssetSelection()
    assert AssetSelection.ids(["a"]).kind == "IDS"
    assert AssetSelection.data_source("source1").kind == "DATA_SOURCE"
    assert AssetSelection.search(text="orders").kind == "SEARCH"


# -- item 5: even messages -------------------------------------------------------------------------


def test_a_predictions_error_names_the_class_used_not_a_construct_it_may_never_reach() -> None:
    # Made before it is handed to a batch: "MetadataGenerationRun:" was wrong there.
    with pytest.raises(ValueError, match=r"^AcceptPredictions: accept_predictions\.threshold=1\.5 is invalid: use a"):
        AcceptPredictions.all(threshold=1.5)
    with pytest.raises(ValueError, match=r"^RejectPredictions: reject_predictions\.threshold=1\.5 is invalid: use a"):
        RejectPredictions.all(threshold=1.5)


@pytest.mark.parametrize(
    ("prop", "value"), [("domain_id", "abc"), ("project_id", "p/1"), ("timeout", cdk.Duration.hours(1))]
)
def test_the_batch_explains_a_bad_id_or_timeout_as_the_run_does(prop: str, value: object) -> None:
    stack = cdk.Stack(cdk.App(), "Even")
    with pytest.raises(ValueError, match=rf"^MetadataGenerationRun: {prop}=") as run_error:
        MetadataGenerationRun(stack, "Run", **{**RUN_PROPS, prop: value})  # type: ignore[arg-type]
    batch_props = {"domain_id": "dzd_abc123", "project_id": "proj1", "assets": AssetSelection.search(), prop: value}
    with pytest.raises(ValueError, match=rf"^MetadataGenerationBatch: {prop}=") as batch_error:
        MetadataGenerationBatch(stack, "Batch", **batch_props)  # type: ignore[arg-type]
    run_text = str(run_error.value).removeprefix("MetadataGenerationRun: ")
    batch_text = str(batch_error.value).removeprefix("MetadataGenerationBatch: ")
    if prop == "timeout":  # the reason is the same; the lower bound and what is stopped differ
        assert "(55 minutes: CloudFormation gives a custom resource 60 minutes" in run_text
        assert "(55 minutes: CloudFormation gives a custom resource 60 minutes" in batch_text
    else:
        assert batch_text == run_text


# -- item 9: a synth writes nothing outside the cloud assembly -------------------------------------


def test_the_ids_file_is_written_inside_the_assembly_not_the_temp_dir(tmp_path: Path) -> None:
    ids = [f"roughedge{uuid.uuid4().hex[:12]}{i}" for i in range(3)]  # a digest no other synth made
    digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Ids")
    MetadataGenerationBatch(stack, "Batch", domain_id="dzd_abc123", project_id="proj1", assets=AssetSelection.ids(ids))
    app.synth()

    assert not (Path(tempfile.gettempdir()) / "datazone-metadata-generation-batch" / f"{digest}.json").exists()
    written = [p for p in (tmp_path / "cdk.out").rglob("*.json") if p.read_text() == json.dumps(ids)]
    assert written, "the ids are staged in the assembly"
    assert {p.parent.parent if p.parent.name == "datazone-batch-ids" else p.parent for p in written} == {
        tmp_path / "cdk.out"
    }


# -- item 6: one version, defined once, agreeing with the CHANGELOG ---------------------------------


def test_the_version_is_defined_once_and_agrees_with_the_changelog_and_the_errors() -> None:
    version = Version(constructs_lib.__version__)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "constructs_lib.__version__"}
    # What pip show reports (the installed metadata) is that same version.
    assert importlib.metadata.version("datazone-metadata-generation-constructs") == str(version)

    changelog = (REPO / "CHANGELOG.md").read_text()
    released = [Version(v) for v in re.findall(r"^## \[(\d[^\]]*)\]", changelog, re.MULTILINE)]
    assert released, "the CHANGELOG names its releases"
    # Unreleased work is a development release of the next version, after every released one.
    assert all(version > r for r in released)
    assert Version(version.base_version) not in released
    assert version.is_prerelease or version in released
    # "removed in X" (errors, README) never names a version past the one installed.
    texts = [(REPO / "README.md").read_text(), *(p.read_text() for p in (REPO / "constructs_lib").glob("*.py"))]
    removed = {Version(v) for text in texts for v in re.findall(r"removed in (\d+\.\d+\.\d+)", text)}
    assert removed
    assert all(Version(version.base_version) >= r for r in removed)
