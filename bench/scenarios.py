"""The two stacks under comparison: N runs of ours, or N runs of the hand-written peer.

Both sides get the same inputs (domain, project, asset ``asset<i>``, type BUSINESS_DESCRIPTIONS)
and the same construct ids, so template sizes compare like for like.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aws_cdk as cdk

DOMAIN_ID = "dzd_bench12345"
PROJECT_ID = "benchproject12"
TYPES = ("BUSINESS_DESCRIPTIONS",)
STACK_NAME = "Bench"

#: What ``cdk synth``/``cdk deploy`` put in the context of every app (the CLI's defaults); a bare
#: ``App()`` leaves them out. The limits search uses them, because that is what gets deployed.
CLI_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}


class Side(enum.StrEnum):
    OURS = "ours"
    PEER = "peer"


def asset_id(index: int) -> str:
    return f"asset{index}"


def import_side(side: Side) -> None:
    """Import the Python modules a side's constructs need (the child times this on its own)."""
    if side is Side.OURS:
        import constructs_lib.metadata_generation_run  # noqa: F401, PLC0415 - timed import
    else:
        import aws_cdk.custom_resources  # noqa: F401, PLC0415 - timed import


def build_app(side: Side, runs: int, *, outputs: bool, outdir: str, cli_context: bool = False) -> cdk.App:
    """An App with one Stack holding ``runs`` runs of ``side``; not yet synthesized.

    Imports happen here, so a fresh process pays for exactly what its side needs.
    """
    import aws_cdk as cdk  # noqa: PLC0415 - imported in the measured process, when it builds

    app = cdk.App(outdir=outdir, context=dict(CLI_CONTEXT) if cli_context else None)
    stack = cdk.Stack(app, STACK_NAME)
    if side is Side.OURS:
        _add_ours(stack, runs, outputs=outputs)
    else:
        _add_peer(stack, runs, outputs=outputs)
    return app


def _add_ours(stack: cdk.Stack, runs: int, *, outputs: bool) -> None:
    from constructs_lib import MetadataGenerationRun  # noqa: PLC0415 - only ours pays for importing ours

    for index in range(runs):
        MetadataGenerationRun(
            stack,
            f"Run{index}",
            domain_id=DOMAIN_ID,
            project_id=PROJECT_ID,
            asset_id=asset_id(index),
            types=list(TYPES),
            create_outputs=outputs,
        )


def _add_peer(stack: cdk.Stack, runs: int, *, outputs: bool) -> None:
    """What a user writes without the library: one AwsCustomResource (and its policy) per run."""
    import aws_cdk as cdk  # noqa: PLC0415 - see build_app
    from aws_cdk import custom_resources as cr  # noqa: PLC0415 - only the peer pays for importing it

    for index in range(runs):
        run = cr.AwsCustomResource(
            stack,
            f"Run{index}",
            on_create=cr.AwsSdkCall(
                service="DataZone",
                action="startMetadataGenerationRun",
                parameters={
                    "domainIdentifier": DOMAIN_ID,
                    "owningProjectIdentifier": PROJECT_ID,
                    "target": {"type": "ASSET", "identifier": asset_id(index)},
                    "types": list(TYPES),
                },
                physical_resource_id=cr.PhysicalResourceId.from_response("id"),
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
        )
        if outputs:
            cdk.CfnOutput(run, "RunIdOutput", value=run.get_response_field("id"))
            cdk.CfnOutput(run, "RunStatusOutput", value=run.get_response_field("status"))
