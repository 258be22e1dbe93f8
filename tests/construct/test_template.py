"""What the construct puts in the template: resources, properties, IAM, outputs."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from constructs_lib._provider import DATAZONE_ACTIONS
from constructs_lib.metadata_generation_run import RESOURCE_TYPE
from tests.construct.conftest import Synthesized

RUN_TYPE = RESOURCE_TYPE


def _resources(template: dict[str, Any], type_name: str | None = None) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if type_name is None or v["Type"] == type_name}


def test_example_stack_has_one_run_with_its_properties(example: Template) -> None:
    example.resource_count_is(RUN_TYPE, 1)
    example.has_resource_properties(
        RUN_TYPE,
        {
            "ServiceToken": {"Fn::GetAtt": [Match.string_like_regexp("frameworkonEvent"), "Arn"]},
            "DomainId": "dzd_example123",
            "ProjectId": "exampleproject1",
            "AssetId": "exampleasset1",
            "Types": ["BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES"],
            "WaitForCompletion": True,
            "TimeoutSeconds": 1800,
            "FailOnPartialSuccess": False,
            "CancelOnDelete": True,
            "AssetRevision": Match.absent(),
            "RerunToken": Match.absent(),
            "ClientToken": Match.absent(),
        },
    )


def test_all_optional_props_reach_the_resource(synthesized: Synthesized) -> None:
    template = synthesized.template("AllProps")
    template.has_resource_properties(
        RUN_TYPE,
        {
            "AssetRevision": "7",
            "Types": ["BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS"],
            "WaitForCompletion": False,
            "TimeoutSeconds": 2700,
            "FailOnPartialSuccess": True,
            "CancelOnDelete": False,
            "RerunToken": "schema-hash-1",
            "ClientToken": Match.absent(),
        },
    )
    # grant_project_access=False: no membership, no dependency on one.
    template.resource_count_is("AWS::DataZone::ProjectMembership", 0)
    template.has_resource(RUN_TYPE, {"DependsOn": Match.absent()})


def test_handlers_use_newest_python_on_arm64_with_shared_log_group(example: Template) -> None:
    functions = example.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": "python3.14"}})
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == ["entry.is_complete", "entry.on_event"]
    log_groups = example.find_resources("AWS::Logs::LogGroup")
    assert len(log_groups) == 1
    (log_group_id, log_group) = next(iter(log_groups.items()))
    assert log_group["Properties"]["RetentionInDays"] == 30
    for function in functions.values():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}
        assert "HANDLER_ROLE_ARN" in props["Environment"]["Variables"]
    # The provider framework's own functions log to the same group: one group to read.
    all_functions = example.find_resources("AWS::Lambda::Function")
    assert len(all_functions) == 5
    assert all(f["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id} for f in all_functions.values())


def test_waiter_polls_every_10s_for_at_most_an_hour(example: Template) -> None:
    machines = example.find_resources("AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    definition = json.dumps(next(iter(machines.values()))["Properties"]["DefinitionString"])
    assert '\\"IntervalSeconds\\":10' in definition
    assert '\\"MaxAttempts\\":360' in definition


def test_handler_role_has_one_datazone_statement_with_wildcard(example: Template) -> None:
    policies = example.find_resources("AWS::IAM::Policy")
    datazone_statements = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(action).startswith("datazone:") for action in _as_list(statement["Action"]))
    ]
    assert datazone_statements == [{"Action": list(DATAZONE_ACTIONS), "Effect": "Allow", "Resource": "*"}]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_aws_managed_policies(example: Template) -> None:
    for role in example.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_membership_adds_handler_role_to_project_and_run_depends_on_it(example: Template) -> None:
    memberships = example.find_resources("AWS::DataZone::ProjectMembership")
    assert len(memberships) == 1
    (membership_id, membership) = next(iter(memberships.items()))
    assert membership["Properties"]["Designation"] == "PROJECT_CONTRIBUTOR"
    assert membership["Properties"]["DomainIdentifier"] == "dzd_example123"
    assert membership["Properties"]["ProjectIdentifier"] == "exampleproject1"
    role_ref = membership["Properties"]["Member"]["UserIdentifier"]
    assert role_ref["Fn::GetAtt"][0].startswith("DataZoneMetadataGenerationRunProviderHandlerRole")
    example.has_resource(RUN_TYPE, {"DependsOn": [membership_id]})


def test_outputs_expose_run_id_and_status_naming_the_asset(example: Template) -> None:
    outputs = example.find_outputs("*")
    assert len(outputs) == 2
    by_attribute = {o["Value"]["Fn::GetAtt"][1]: o for o in outputs.values()}
    assert set(by_attribute) == {"RunId", "Status"}
    for output in outputs.values():
        assert "asset exampleasset1" in output["Description"]


def test_one_provider_per_stack_second_run_adds_one_resource(synthesized: Synthesized) -> None:
    one = _resources(synthesized.templates["Runs1"])
    two = _resources(synthesized.templates["Runs2"])
    twenty = _resources(synthesized.templates["Runs20"])
    assert len(two) - len(one) == 1
    assert len(twenty) - len(one) == 19
    added = set(two) - set(one)
    assert [two[k]["Type"] for k in added] == [RUN_TYPE]
    for template in (one, two, twenty):
        assert sum(1 for r in template.values() if r["Type"] == "AWS::StepFunctions::StateMachine") == 1


def test_iam_policy_size_does_not_grow_with_runs(synthesized: Synthesized) -> None:
    def policy_bytes(stack_name: str) -> int:
        policies = _resources(synthesized.templates[stack_name], "AWS::IAM::Policy")
        return sum(len(json.dumps(p["Properties"]["PolicyDocument"], separators=(",", ":"))) for p in policies.values())

    assert policy_bytes("Runs1") == policy_bytes("Runs20")


def test_token_ids_skip_validation_and_get_one_membership_per_project(synthesized: Synthesized) -> None:
    template = synthesized.templates["Tokens"]
    memberships = _resources(template, "AWS::DataZone::ProjectMembership")
    assert len(memberships) == 2
    projects = sorted(m["Properties"]["ProjectIdentifier"]["Fn::GetAtt"][0] for m in memberships.values())
    assert projects == sorted(k for k, v in template["Resources"].items() if v["Type"] == "AWS::DataZone::Project")
    runs = _resources(template, RUN_TYPE)
    assert len(runs) == 4
    for run in runs.values():
        assert run["Properties"]["DomainId"]["Fn::GetAtt"][1] == "Id"
        (membership_id,) = run["DependsOn"]
        membership = memberships[membership_id]
        assert membership["Properties"]["ProjectIdentifier"] == run["Properties"]["ProjectId"]


def test_custom_resource_template_bytes_per_run_stay_small(synthesized: Synthesized) -> None:
    one = len(json.dumps(synthesized.templates["Runs1"], indent=1))
    twenty = len(json.dumps(synthesized.templates["Runs20"], indent=1))
    assert (twenty - one) / 19 <= 700


def test_every_run_sets_cloudformation_service_timeout(synthesized: Synthesized) -> None:
    for name in synthesized.templates:
        runs = synthesized.template(name).find_resources(RUN_TYPE)
        assert runs, name
        for run in runs.values():
            assert run["Properties"]["ServiceTimeout"] == "3600"


def test_handler_may_describe_only_its_own_stack(example: Template) -> None:
    statements = [
        statement
        for policy in example.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "cloudformation:DescribeStacks" in str(statement["Action"])
    ]
    assert statements == [
        {"Action": "cloudformation:DescribeStacks", "Effect": "Allow", "Resource": {"Ref": "AWS::StackId"}}
    ]
