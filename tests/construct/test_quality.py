"""Static checks on synthesized templates: cdk-nag AwsSolutions and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
import pytest
from cfnlint.api import ManualArgs, lint_file

import app as example_app
from constructs_lib import MetadataGenerationRun
from tests.construct.conftest import EXAMPLE_STACK, Synthesized

# aws-cdk-lib gives every Lambda function and state machine an explicit DependsOn on its role
# although a GetAtt of the role already orders them; cfn-lint reports that redundancy as W3005.
# It comes from aws-cdk-lib's L2 constructs, not from this library, and is harmless.
CFN_LINT_IGNORED = ["W3005"]


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    example_app.build_app(app)
    more = cdk.Stack(app, "TwoRuns")
    for i in range(2):
        MetadataGenerationRun(more, f"Run{i}", domain_id="dzd_abc123", project_id=f"proj{i}", asset_id="a")

    app.synth()  # raises ValidationFailed on any unacknowledged finding

    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["violations"] == []
    acknowledged = plugin["suppressedViolations"]
    assert acknowledged, "expected the documented Resource::* acknowledgment to be recorded"
    for finding in acknowledged:
        assert len(finding["reason"]) > 40
    # The wildcard acknowledgment is precise: only the handler role's policy, only Resource::*.
    wildcard = [f for f in acknowledged if f["ruleName"] == "AwsSolutions-IAM5[Resource::*]"]
    paths = sorted(c["constructPath"] for f in wildcard for c in f["violatingConstructs"])
    assert paths == [
        f"{stack}/DataZoneMetadataGenerationRunProvider/HandlerRole/DefaultPolicy/Resource"
        for stack in sorted([EXAMPLE_STACK, "TwoRuns"])
    ]


@pytest.mark.parametrize("stack_name", [EXAMPLE_STACK, "Tokens", "AllProps", "Runs20"])
def test_cfn_lint_finds_nothing(synthesized: Synthesized, stack_name: str) -> None:
    template = synthesized.outdir / f"{stack_name}.template.json"
    matches = lint_file(template, ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=["us-east-1"]))
    assert [str(m) for m in matches] == []
