"""Static checks on stacks with MetadataGenerationBatch: cdk-nag AwsSolutions 3 (Validations) and
2 (Aspects, in a subprocess), and cfn-lint, over a batch of each selection kind."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
import pytest
from cfnlint.api import ManualArgs, lint_file

from constructs_lib import AssetSelection, MetadataGenerationBatch, MetadataGenerationRun
from constructs_lib._provider import WILDCARD_REASON
from tests.construct.conftest import BATCHES_STACK, Synthesized, add_batch_stacks
from tests.construct.test_cdk_nag2 import _nag2_report, cdk_nag2  # noqa: F401 - cdk_nag2 is a fixture
from tests.construct.test_quality import CFN_LINT_IGNORED

WORKFLOW = "DataZoneMetadataGenerationBatchWorkflow"
HANDLER_POLICY = "DataZoneMetadataGenerationRunProvider/HandlerRole/DefaultPolicy/Resource"


def test_cdk_nag3_reports_nothing_for_batches_of_every_selection_kind(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    add_batch_stacks(app, one_kind_stacks=False)  # Batches: a batch of each selection kind

    app.synth()  # raises ValidationFailed on any unacknowledged finding

    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["violations"] == []
    acknowledged = plugin["suppressedViolations"]
    for finding in acknowledged:
        assert len(finding["reason"]) > 40
    paths = {(f["ruleName"].split("[")[0], c["constructPath"]) for f in acknowledged for c in f["violatingConstructs"]}
    batch_paths = {
        (rule, path.removeprefix(f"{BATCHES_STACK}/")) for rule, path in paths if path.startswith(BATCHES_STACK)
    }
    # The batch's own acknowledgments, each on the resource that draws it.
    assert {
        ("AwsSolutions-S1", f"{WORKFLOW}/Results/Resource"),
        ("AwsSolutions-IAM5", f"{WORKFLOW}/Executions/Resource"),
        ("AwsSolutions-IAM5", HANDLER_POLICY),
    } <= batch_paths
    # Nothing of the user's (the DataZone domain, project and data source) is acknowledged.
    assert not [path for _, path in batch_paths if path.split("/")[0] in ("Domain", "Project", "DataSource")]


@pytest.mark.slow
def test_cdk_nag2_reports_nothing_for_batches_of_every_selection_kind(
    cdk_nag2: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    # With cdk.json's feature flags (the default flags are covered by cdk-nag 3 above).
    report = _nag2_report(cdk_nag2, tmp_path, "--batches", "--cdk-json-context")
    assert report["findings"] == []
    suppressed = report["suppressed"]
    for row in suppressed:
        assert len(row["Exception Reason"]) > 40
    batch_rows = {
        (row["Rule ID"], row["Resource ID"].removeprefix(f"{BATCHES_STACK}/"))
        for row in suppressed
        if row["Resource ID"].startswith(f"{BATCHES_STACK}/{WORKFLOW}/")
    }
    assert batch_rows == {
        ("AwsSolutions-S1", f"{WORKFLOW}/Results/Resource"),
        ("AwsSolutions-IAM5", f"{WORKFLOW}/Executions/Resource"),
        # Errors-only logging by default (issue 15 item 10); the reason names the prop that raises it.
        ("AwsSolutions-SF1", f"{WORKFLOW}/StateMachine/Resource"),
    }
    assert {row["Resource ID"].split("/")[0] for row in suppressed} == {BATCHES_STACK}


@pytest.mark.parametrize("stack_name", [BATCHES_STACK, "BatchIds10000", "BatchSource", "BatchSearch"])
def test_cfn_lint_finds_nothing_but_w3005(batches: Synthesized, stack_name: str) -> None:
    template = batches.outdir / f"{stack_name}.template.json"
    matches = lint_file(template, ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_cdk_nag3_acknowledges_the_handler_wildcard_once_with_every_reason(tmp_path: Path) -> None:
    """Issue 17 item 2: the provider and the batch both acknowledged Resource::* on the handler
    policy; cdk-nag 3 kept the last one, and the DataZone reason was lost from the report."""
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "RunAndBatch")
    MetadataGenerationRun(stack, "Run", domain_id="dzd_abc123", project_id="proj1", asset_id="a")
    MetadataGenerationBatch(
        stack, "Batch", domain_id="dzd_abc123", project_id="proj1", assets=AssetSelection.data_source("source1")
    )
    app.synth()

    (plugin,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    wildcard = [f for f in plugin["suppressedViolations"] if f["ruleName"] == "AwsSolutions-IAM5[Resource::*]"]
    assert len(wildcard) == 1
    reason = wildcard[0]["reason"]
    assert WILDCARD_REASON in reason  # the DataZone actions
    assert "CloudWatch Logs delivery and X-Ray" in reason  # the workflow's
    assert "ListDataSourceRuns" in reason
    # cdk-nag 2 reads the same single entry from the template metadata.
    template = json.loads((tmp_path / "RunAndBatch.template.json").read_text())
    (policy,) = (
        r
        for logical, r in template["Resources"].items()
        if logical.startswith("DataZoneMetadataGenerationRunProviderHandlerRoleDefaultPolicy")
    )
    rules = policy["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [r["reason"] for r in rules if "Resource::*" in r.get("applies_to", [])] == [reason]
