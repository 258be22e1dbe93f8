"""CDK integration test: deploy one ``MetadataGenerationRun`` to a real account and ask DataZone for it.

Run against AWS with ``integ-runner`` (see docs/development.md) after setting

    DZ_IT_DOMAIN_ID   dzd_... domain that exists in the account/region
    DZ_IT_PROJECT_ID  project owning the asset (the deploy role must be able to add members)
    DZ_IT_ASSET_ID    asset that supports metadata generation (e.g. a Glue table with a schema)

Unset, they default to the example app's placeholders, which synthesize but exist in no account:
that is how the committed snapshot is made, and how CI compares against it offline.
"""

from __future__ import annotations

import os

import aws_cdk as cdk
import aws_cdk.integ_tests_alpha as integ
from aws_cdk import aws_datazone as datazone

from constructs_lib import MetadataGenerationRun, MetadataGenerationType

PLACEHOLDERS = {
    "DZ_IT_DOMAIN_ID": "dzd_example123",
    "DZ_IT_PROJECT_ID": "exampleproject1",
    "DZ_IT_ASSET_ID": "exampleasset1",
}
# The statuses the construct lets a deploy finish with (FAILED and CANCELED fail the deploy).
SUCCESS_STATUS = "^(SUCCEEDED|PARTIALLY_SUCCEEDED)$"


def _id(name: str) -> str:
    return os.environ.get(name) or PLACEHOLDERS[name]


app = cdk.App()
stack = cdk.Stack(app, "DataZoneMetadataGenerationRunInteg")
domain_id, project_id = _id("DZ_IT_DOMAIN_ID"), _id("DZ_IT_PROJECT_ID")
run = MetadataGenerationRun(
    stack,
    "Run",
    domain_id=domain_id,
    project_id=project_id,
    asset_id=_id("DZ_IT_ASSET_ID"),
    types=[MetadataGenerationType.BUSINESS_DESCRIPTIONS],
)

test = integ.IntegTest(
    app,
    "MetadataGenerationRunInteg",
    test_cases=[stack],
    # The committed snapshot holds placeholder ids; deploying it first (the update workflow) would fail.
    stack_update_workflow=False,
)
# The resource only completes once the run is terminal, so one call suffices: no polling waiter.
get_run = test.assertions.aws_api_call(
    "DataZone",
    "getMetadataGenerationRun",
    {"domainIdentifier": domain_id, "identifier": run.run_id},
)
get_run.assert_at_path("status", integ.ExpectedResult.string_like_regexp(SUCCESS_STATUS))

# DataZone authorizes inside the domain as well as through IAM: like the construct's handler role,
# the assertion function's role must be a member of the project to read the project's runs.
assertion_stack = cdk.Stack.of(get_run)
membership = datazone.CfnProjectMembership(
    assertion_stack,
    "AssertionProjectMembership",
    domain_identifier=domain_id,
    project_identifier=project_id,
    designation="PROJECT_CONTRIBUTOR",
    member=datazone.CfnProjectMembership.MemberProperty(
        user_identifier=cdk.Token.as_string(get_run.provider.handler_role_arn)
    ),
)
get_run.node.add_dependency(membership)

app.synth()
