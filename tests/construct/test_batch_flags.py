"""``fail_on_timeout`` and ``allow_empty_selection``: properties only when set (templates of batches
that leave them out do not change), refused when not a bool."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from constructs_lib import AssetSelection, MetadataGenerationBatch
from constructs_lib._handler import contract

DOMAIN, PROJECT = "dzd_abc123", "proj123"
FLAGS = {
    "fail_on_timeout": contract.BatchProp.FAIL_ON_TIMEOUT,
    "allow_empty_selection": contract.BatchProp.ALLOW_EMPTY_SELECTION,
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "Flags")
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Neither", {}),
        ("Both", dict.fromkeys(FLAGS, True)),
        ("Off", dict.fromkeys(FLAGS, False)),
    ]
    for construct_id, flags in cases:
        MetadataGenerationBatch(
            stack,
            construct_id,
            domain_id=DOMAIN,
            project_id=PROJECT,
            assets=AssetSelection.data_source("source1"),
            create_outputs=False,
            **flags,
        )
    found: dict[str, Any] = dict(Template.from_stack(stack).to_json())
    return found


def _properties(template: dict[str, Any], construct_id: str) -> dict[str, Any]:
    properties: dict[str, Any]
    (properties,) = [
        r["Properties"]
        for logical, r in template["Resources"].items()
        if r["Type"] == contract.BATCH_RESOURCE_TYPE and logical.startswith(construct_id)
    ]
    return properties


def test_a_flag_is_a_property_only_when_it_is_set(template: dict[str, Any]) -> None:
    both = _properties(template, "Both")
    for key in FLAGS.values():
        assert both[key] is True
    neither, off = _properties(template, "Neither"), _properties(template, "Off")
    for key in FLAGS.values():
        assert key not in neither
        assert key not in off
    # Leaving a flag False is the same template as leaving it out.
    assert {k: v for k, v in off.items() if k != "Selection"} == {k: v for k, v in neither.items() if k != "Selection"}


@pytest.mark.parametrize("prop", sorted(FLAGS))
@pytest.mark.parametrize("value", ["true", 1, None])
def test_fails_if_a_flag_is_not_a_bool(prop: str, value: Any) -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ValueError, match=f"^MetadataGenerationBatch: {prop}=") as caught:
        MetadataGenerationBatch(
            stack,
            "Batch",
            domain_id=DOMAIN,
            project_id=PROJECT,
            assets=AssetSelection.ids(["a1"]),
            **{prop: value},
        )
    assert str(caught.value) == f"MetadataGenerationBatch: {prop}={value!r} is invalid: use True or False"


def test_the_workflows_state_machine_arn_is_exposed_for_alarms() -> None:
    stack = cdk.Stack(cdk.App(), "Alarm")
    first, second = (
        MetadataGenerationBatch(stack, name, domain_id=DOMAIN, project_id=PROJECT, assets=AssetSelection.ids(["a"]))
        for name in ("One", "Two")
    )
    (machine,) = [
        logical
        for logical, r in Template.from_stack(stack).to_json()["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and logical.startswith("DataZoneMetadataGenerationBatch")
    ]
    # One workflow per stack: both batches name it.
    assert stack.resolve(first.state_machine_arn) == {"Ref": machine}
    assert stack.resolve(second.state_machine_arn) == {"Ref": machine}
