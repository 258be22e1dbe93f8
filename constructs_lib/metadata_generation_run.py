"""The ``MetadataGenerationRun`` construct: one asset's metadata-generation run at deploy time."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from constructs_lib import _props
from constructs_lib._handler import contract
from constructs_lib._handler.contract import Attr, Prop
from constructs_lib._provider import Provider
from constructs_lib._signature import show_init_signature
from constructs_lib._validation import invalid, is_token
from constructs_lib.predictions import AcceptPredictions, RejectPredictions

RESOURCE_TYPE = contract.RESOURCE_TYPE


class MetadataGenerationType(enum.StrEnum):
    """What a metadata-generation run generates (DataZone ``MetadataGenerationRunType``)."""

    BUSINESS_DESCRIPTIONS = "BUSINESS_DESCRIPTIONS"
    BUSINESS_NAMES = "BUSINESS_NAMES"
    BUSINESS_GLOSSARY_ASSOCIATIONS = "BUSINESS_GLOSSARY_ASSOCIATIONS"


class MetadataGenerationRun(Construct):
    """Starts an Amazon DataZone metadata-generation run for one asset when the stack deploys.

    The run is started on Create, and again on Update when its inputs or ``rerun_token`` change.
    The deployment waits for a terminal status (unless ``wait_for_completion=False``) and fails
    with DataZone's own error messages when the run fails.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> MetadataGenerationRun:
        # client_token is out of the typed signature, so a type checker flags it; a caller that
        # is not type-checked (or passes **props) still learns why, not Python's bare TypeError.
        if "client_token" in kwargs:
            raise invalid(
                "client_token",
                kwargs["client_token"],
                "the prop was removed in 0.2.0: a fixed token made DataZone return runs started for earlier "
                "requests, so the token is now always derived from the CloudFormation request; drop the "
                "argument (use rerun_token to ask for a new run)",
            )
        return super().__new__(cls)

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_id: str,
        project_id: str,
        asset_id: str,
        asset_revision: str | None = None,
        types: Sequence[MetadataGenerationType | str] | None = None,
        wait_for_completion: bool = True,
        timeout: cdk.Duration | None = None,
        fail_on_partial_success: bool = False,
        cancel_on_delete: bool = True,
        rerun_token: str | None = None,
        grant_project_access: bool = True,
        project_designation: str = "PROJECT_CONTRIBUTOR",
        create_outputs: bool = True,
        accept_predictions: AcceptPredictions | None = None,
        reject_predictions: RejectPredictions | None = None,
    ) -> None:
        """
        :param domain_id: DataZone domain id (``dzd_...``), or a token such as ``CfnDomain.attr_id``.
        :param project_id: id of the project that owns the asset (and the run), or a token.
        :param asset_id: id of the asset to generate metadata for, or a token.
        :param asset_revision: asset revision to target. Default: the latest revision.
        :param types: 1-2 distinct ``MetadataGenerationType`` values (or their strings).
            Default: ``[BUSINESS_DESCRIPTIONS]``.
        :param wait_for_completion: wait until the run is SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED
            or CANCELED. Default: True. When False the deploy goes on as soon as the run is
            submitted and ``run_status`` is the status at that moment.
        :param timeout: how long to wait for the run, from its creation; a run still going then
            fails the deploy (after the run is cancelled). Default: 30 minutes; at least the 10 s poll
            interval, at most 55 minutes (CloudFormation waits an hour, counted from the request).
        :param fail_on_partial_success: fail the deploy when the run ends PARTIALLY_SUCCEEDED.
            Default: False (FAILED and CANCELED always fail it).
        :param cancel_on_delete: cancel the run on Delete (or replacement) when it is still
            SUBMITTED or IN_PROGRESS. Default: True.
        :param rerun_token: any change of this value starts a new run on the next deploy (e.g. a
            hash of the asset's schema). Default: no token; a new run starts only when domain,
            project, asset, revision or types change.
        :param grant_project_access: add the handler's role to the owning project as
            ``project_designation`` with ``AWS::DataZone::ProjectMembership`` and make the run
            depend on it. Default: True. With False the role must already be a project member.
        :param project_designation: the membership's designation. Default: PROJECT_CONTRIBUTOR.
        :param create_outputs: add stack outputs for the run ID and status (and the asset revision
            when predictions are accepted or rejected). Default: True.
        :param accept_predictions: after the run SUCCEEDED or PARTIALLY_SUCCEEDED, accept its
            predictions on the asset and revision it targeted, e.g. ``AcceptPredictions.all(threshold=0.8)``.
            Default: None, predictions wait for a person in the data portal. Needs
            ``wait_for_completion=True``; not undone on Delete.
        :param reject_predictions: likewise, but reject them (``RejectPredictions.all()``).
            Default: None. At most one of ``accept_predictions`` and ``reject_predictions``.
        """
        super().__init__(scope, construct_id)
        predictions = _props.predictions_policy(accept_predictions, reject_predictions, wait_for_completion)
        properties = _run_properties(
            domain_id=domain_id,
            project_id=project_id,
            asset_id=asset_id,
            asset_revision=asset_revision,
            types=types,
            wait_for_completion=wait_for_completion,
            timeout=timeout,
            fail_on_partial_success=fail_on_partial_success,
            cancel_on_delete=cancel_on_delete,
            rerun_token=rerun_token,
        )
        _props.check_designation(project_designation)

        provider = Provider.of(scope)
        if predictions is not None:
            properties[Prop.PREDICTIONS] = predictions.to_property()
            provider.grant(predictions.iam_action)

        self.resource = provider.custom_resource(self, RESOURCE_TYPE, properties)
        node = self.node  # one jsii round trip, reused below
        if grant_project_access:
            # A dependency of this construct is one of every resource in it: the custom resource.
            node.add_dependency(provider.membership(domain_id, project_id, project_designation))

        # Tokens made on first use (see the properties): a run nobody reads costs no jsii calls.
        self._attributes: dict[str, str] = {}
        self._has_revision = predictions is not None
        if create_outputs:
            self._add_outputs(node.path, "the asset" if is_token(asset_id) else f"asset {asset_id}")

    def _add_outputs(self, path: str, about: str) -> None:
        outputs = [
            ("RunIdOutput", self.run_id, f"DataZone metadata-generation run ID for {about} ({path})"),
            ("RunStatusOutput", self.run_status, f"DataZone metadata-generation run status for {about} ({path})"),
        ]
        if self.applied_asset_revision is not None:
            # The output id keeps its 0.1 name: renaming it would replace every deployed output.
            outputs.append(
                (
                    "AssetRevisionOutput",
                    self.applied_asset_revision,
                    f"Revision of {about} after its predictions were applied ({path})",
                )
            )
        for output_id, value, description in outputs:
            cdk.CfnOutput(self, output_id, value=value, description=description)

    def _attribute(self, name: str) -> str:
        if name not in self._attributes:
            self._attributes[name] = self.resource.get_att_string(name)
        return self._attributes[name]

    @property
    def run_id(self) -> str:
        """The run ID (``Fn::GetAtt <resource>.RunId``), a token."""
        return self._attribute(Attr.RUN_ID)

    @property
    def run_status(self) -> str:
        """The run's status when the deployment finished with it (``Fn::GetAtt <resource>.Status``), a token."""
        return self._attribute(Attr.STATUS)

    @property
    def applied_asset_revision(self) -> str | None:
        """The asset revision that accepting/rejecting the run's predictions produced
        (``Fn::GetAtt <resource>.AssetRevision``), a token; None unless ``accept_predictions``
        or ``reject_predictions`` is set. Not to be confused with the ``asset_revision`` prop,
        the revision the run reads."""
        return self._attribute(Attr.ASSET_REVISION) if self._has_revision else None


show_init_signature(MetadataGenerationRun)


def _run_properties(
    *,
    domain_id: str,
    project_id: str,
    asset_id: str,
    asset_revision: str | None,
    types: Sequence[MetadataGenerationType | str] | None,
    wait_for_completion: bool,
    timeout: cdk.Duration | None,
    fail_on_partial_success: bool,
    cancel_on_delete: bool,
    rerun_token: str | None,
) -> dict[str, Any]:
    """The validated ResourceProperties of one run (all but Predictions)."""
    _props.check_ids(domain_id, project_id)
    if not isinstance(asset_id, str) or not asset_id:
        raise invalid("asset_id", asset_id, "use the non-empty id of a DataZone asset")
    if asset_revision is not None and (
        not isinstance(asset_revision, str)
        or (not is_token(asset_revision) and not 1 <= len(asset_revision) <= contract.REVISION_MAX)
    ):
        raise invalid(
            "asset_revision",
            asset_revision,
            f"use 1-{contract.REVISION_MAX} characters, or None for the latest revision",
        )
    _props.check_rerun_token(rerun_token, "a schema hash")
    properties: dict[str, Any] = {
        Prop.DOMAIN_ID: domain_id,
        Prop.PROJECT_ID: project_id,
        Prop.ASSET_ID: asset_id,
        Prop.TYPES: _props.normalize_types(types),
        Prop.WAIT_FOR_COMPLETION: wait_for_completion,
        Prop.TIMEOUT_SECONDS: _props.deploy_timeout_seconds(
            timeout, low=contract.POLL_INTERVAL_SECONDS, low_reason=" (the poll interval)", stop="cancel the run"
        ),
        Prop.FAIL_ON_PARTIAL_SUCCESS: fail_on_partial_success,
        Prop.CANCEL_ON_DELETE: cancel_on_delete,
    }
    optional = {Prop.ASSET_REVISION: asset_revision, Prop.RERUN_TOKEN: rerun_token}
    properties.update({key: value for key, value in optional.items() if value is not None})
    return properties
