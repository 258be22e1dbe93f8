"""``MetadataGenerationBatch``: metadata generation for many assets, on Step Functions.

The assets (explicit ids, a data source's latest import, or a search of the project's inventory)
are processed by the stack's one batch workflow, a Standard state machine whose Distributed Map
starts, waits for and polls one run per asset with at most ``max_concurrency`` in flight. The
deploy starts it through the same custom-resource provider as ``MetadataGenerationRun``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from constructs_lib import _nag, _props
from constructs_lib._batch_definition import definition
from constructs_lib._continuous import ContinuousIntake
from constructs_lib._handler import contract
from constructs_lib._handler.contract import BatchAttr, BatchProp, Prop
from constructs_lib._provider import Provider
from constructs_lib._signature import show_init_signature
from constructs_lib._singleton import stack_singleton
from constructs_lib._validation import invalid, is_token
from constructs_lib.metadata_generation_run import MetadataGenerationType
from constructs_lib.predictions import AcceptPredictions, RejectPredictions

NAME = "MetadataGenerationBatch"
WORKFLOW_ID = "DataZoneMetadataGenerationBatchWorkflow"
MAX_IDS = 100_000
#: AWS asks that state machines' log groups be named under this prefix: CloudWatch Logs then
#: authorizes delivery without adding each group to its resource policy, which is limited to
#: 5,120 characters (Step Functions developer guide, "Logging using CloudWatch Logs").
VENDED_LOGS_PREFIX = "/aws/vendedlogs/states/"


@dataclass(frozen=True)
class WorkflowLogging:
    """What the stack's batch workflow logs to CloudWatch Logs (``MetadataGenerationBatch(workflow_logging=...)``).

    :param level: ``aws_stepfunctions.LogLevel``. Default: ERROR (failed states only).
    :param include_execution_data: log each state's input and output (asset ids, DataZone's
        answers). Default: False. At ALL with execution data every child execution of every
        asset is logged in full: at 10,000 assets the largest part of a batch's bill.
    """

    level: sfn.LogLevel = sfn.LogLevel.ERROR
    include_execution_data: bool = False

    def __str__(self) -> str:
        return f"WorkflowLogging(level={self.level.value}, include_execution_data={self.include_execution_data})"


DEFAULT_WORKFLOW_LOGGING = WorkflowLogging()


def _invalid(prop: str, value: object, allowed: str) -> ValueError:
    return invalid(prop, value, allowed, construct=NAME)


class AssetSelection:
    """Which assets a :class:`MetadataGenerationBatch` covers: make one with
    ``AssetSelection.ids([...])``, ``AssetSelection.data_source(id)`` or ``AssetSelection.search(...)``."""

    _prop: dict[str, Any]
    _ids: tuple[str, ...]

    # help() and inspect show no constructor arguments (inspect would otherwise show __new__'s).
    __signature__ = inspect.Signature()

    def __new__(cls, *args: object, **kwargs: object) -> AssetSelection:
        # The factories are the API: they validate, and the property they build is internal.
        raise TypeError(
            "AssetSelection() is not public: use AssetSelection.ids([...]), AssetSelection.data_source(id) "
            "or AssetSelection.search(text=..., asset_types=[...])"
        )

    def __init__(self) -> None:
        """Never runs (``__new__`` refuses): its empty signature is what type checkers hold a call to."""

    @classmethod
    def _of(cls, prop: dict[str, Any], ids: tuple[str, ...] = ()) -> AssetSelection:
        selection = object.__new__(cls)
        selection._prop = prop
        selection._ids = ids
        return selection

    @classmethod
    def ids(cls, asset_ids: Sequence[str]) -> AssetSelection:
        """Explicit asset ids, known at synth time (thousands are fine: they are uploaded as an S3
        asset, not written into the template)."""
        if isinstance(asset_ids, str) or not isinstance(asset_ids, Sequence) or not asset_ids:
            raise _invalid("assets", asset_ids, "AssetSelection.ids needs a non-empty list of asset ids")
        if len(asset_ids) > MAX_IDS:
            raise _invalid("assets", f"{len(asset_ids)} ids", f"at most {MAX_IDS:,} per batch; split them")
        for asset_id in asset_ids:
            if not isinstance(asset_id, str) or not asset_id:
                raise _invalid("assets", asset_id, "every asset id must be a non-empty string")
            if is_token(asset_id):
                raise _invalid(
                    "assets",
                    asset_id,
                    "AssetSelection.ids needs ids known at synth time; for ids that exist only after "
                    "deployment use AssetSelection.data_source(...) or AssetSelection.search(...)",
                )
        duplicates = sorted(asset for asset, count in Counter(asset_ids).items() if count > 1)
        if duplicates:
            raise _invalid("assets", duplicates[:5], "each asset id may appear once: remove the duplicates")
        return cls._of({"Kind": "IDS", "Count": len(asset_ids)}, tuple(asset_ids))

    @classmethod
    def data_source(cls, data_source_id: str) -> AssetSelection:
        """The assets the data source's latest run imported (created, updated, or already there).
        The batch waits for that run when it is still going, e.g. for a data source created in
        the same stack."""
        if not isinstance(data_source_id, str) or (
            not is_token(data_source_id) and not contract.DATA_SOURCE_ID_RE.fullmatch(data_source_id)
        ):
            raise _invalid(
                "assets",
                data_source_id,
                f"AssetSelection.data_source needs a data source id matching {contract.DATA_SOURCE_ID_RE.pattern} "
                "(e.g. CfnDataSource.attr_id)",
            )
        return cls._of({"Kind": "DATA_SOURCE", "DataSourceId": data_source_id})

    @classmethod
    def search(cls, *, text: str | None = None, asset_types: Sequence[str] | None = None) -> AssetSelection:
        """The project's assets (DataZone Search, scope ASSET), optionally matching ``text`` and of
        the given asset type identifiers (e.g. ``amazon.datazone.GlueTableAssetType``).
        Default: every asset the project owns."""
        prop: dict[str, Any] = {"Kind": "SEARCH"}
        if text is not None:
            if not isinstance(text, str) or not (is_token(text) or 1 <= len(text) <= contract.SEARCH_TEXT_MAX):
                allowed = f"AssetSelection.search text must be 1-{contract.SEARCH_TEXT_MAX} characters"
                raise _invalid("assets", text, allowed)
            prop["Text"] = text
        if asset_types is not None:
            if isinstance(asset_types, str) or not all(isinstance(t, str) and t for t in asset_types):
                raise _invalid("assets", asset_types, "AssetSelection.search asset_types must be a list of type ids")
            prop["AssetTypes"] = list(asset_types)
        return cls._of(prop)

    @property
    def kind(self) -> str:
        return str(self._prop["Kind"])

    def _bind(self, scope: Construct) -> dict[str, Any]:
        """The ``Selection`` property; explicit ids become an S3 asset the workflow reads."""
        if self.kind != "IDS":
            return dict(self._prop)
        body = json.dumps(list(self._ids)).encode()
        digest = hashlib.sha256(body).hexdigest()
        # Staged from a file named by its content, so the asset (and the template) only change
        # when the ids do. It is written inside the cloud assembly (cdk.out), where the asset is
        # staged too: a synth leaves nothing behind elsewhere (it used to fill $TMPDIR).
        stage = cdk.Stage.of(scope)
        if stage is None:  # a Stack is always in an App (a Stage); a bare construct tree is not
            raise _invalid("assets", "AssetSelection.ids", "a MetadataGenerationBatch must be inside a cdk.App's stack")
        path = Path(stage.asset_outdir) / "datazone-batch-ids" / f"{digest}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whatever is there (a synth killed mid-write) is checked, and replaced whole: the asset
        # is exactly these ids.
        if not path.is_file() or path.read_bytes() != body:
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as staging:
                staging.write(body)
            os.replace(staging.name, path)
        asset = s3_assets.Asset(scope, "Items", path=str(path))
        _BatchWorkflow.of(scope).read_items(asset)
        return {**self._prop, "Bucket": asset.s3_bucket_name, "Key": asset.s3_object_key}


_WORKFLOWS: weakref.WeakKeyDictionary[Construct, _BatchWorkflow] = weakref.WeakKeyDictionary()


class _BatchWorkflow(Construct):
    """The stack's one batch state machine, its results bucket and its permissions."""

    @classmethod
    def of(cls, scope: Construct) -> _BatchWorkflow:
        return stack_singleton(cls, scope, WORKFLOW_ID, _WORKFLOWS, f"{NAME}'s workflow")

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.provider = Provider.of(stack)
        # The workflow runs as the provider's handler role: it calls DataZone for the same runs,
        # so one role means one DataZone statement and one project membership per project.
        self.role = self.provider.role
        self.provider.trust("states.amazonaws.com")
        #: Every batch so far asks for exactly one type (see _batch_definition._types_parameter).
        self.single_type = True
        #: A batch of the stack is continuous: its executions take turns (_batch_definition._turn_states).
        self.continuous = False
        self.bucket = s3.Bucket(
            self,
            "Results",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # Results outlive the stack (a report of what was done to the catalog); they expire.
            removal_policy=cdk.RemovalPolicy.RETAIN,
            # A worker step that fails mid-upload (it is retried from its state) leaves parts behind.
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(90), abort_incomplete_multipart_upload_after=cdk.Duration.days(1)
                )
            ],
        )
        # Writes the selected ids and the summary; the map reads items and writes its results.
        self.bucket.grant_read_write(self.role)
        # The work that grows with the number of assets (selection, summary) runs here, called by
        # the workflow in bounded steps: the provider's handler code, under the same role.
        self.worker = self.provider.worker_function(
            self,
            "Worker",
            handler="entry.batch_worker",
            timeout=cdk.Duration.seconds(contract.WORKER_TIMEOUT_SECONDS),
            memory_size=contract.WORKER_MEMORY_MB,
            description="MetadataGenerationBatch workflow steps: asset selection and summary",
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            # One workflow per stack, so the stack's name makes it unique in the account and Region.
            log_group_name=f"{VENDED_LOGS_PREFIX}{cdk.Aws.STACK_NAME}-{NAME}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        default = DEFAULT_WORKFLOW_LOGGING
        #: The logging a batch of this stack asked for, and which batch (None: the default).
        self.logging: tuple[WorkflowLogging, str] | None = None
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # Produced at synth, once every batch of the stack has said which types it asks for.
            definition_body=sfn.DefinitionBody.from_string(cdk.Lazy.string(_DefinitionProducer(self))),
            state_machine_type=sfn.StateMachineType.STANDARD,
            role=self.role,
            tracing_enabled=True,
            # Errors only, without execution data, unless a batch asks for more (use_logging).
            logs=sfn.LogOptions(
                destination=log_group, level=default.level, include_execution_data=default.include_execution_data
            ),
        )
        # The handler starts, follows and stops executions; a Distributed Map runs its items as
        # child executions of this same state machine. A policy of its own: the state machine
        # depends on the role (and its default policy), so that policy cannot name its ARN.
        machine = self.state_machine.state_machine_arn
        self.executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine.state_machine_name}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.policy = iam.Policy(
            self,
            "Executions",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=["states:StartExecution", "states:ListExecutions"], resources=[machine]),
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:StopExecution"], resources=[self.executions]
                ),
                iam.PolicyStatement(
                    actions=["states:DescribeMapRun", "states:UpdateMapRun", "states:ListMapRuns"],
                    resources=[machine, self.executions],
                ),
                # Here, not in the role's default policy: the function depends on that policy.
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.worker.function_arn]),
            ],
        )
        self._acknowledge()

    def use_types(self, types: Sequence[str]) -> None:
        """A batch of this workflow asks for ``types`` (tokens count as several)."""
        if len(types) != 1 or any(is_token(t) for t in types):
            self.single_type = False

    def _acknowledge(self) -> None:
        stack = cdk.Stack.of(self)

        def logical_id(construct: Construct) -> str:
            return str(stack.resolve(stack.get_logical_id(_nag.cfn_resource(construct.node.default_child))))

        s3_reason = (
            "grant_read_write on this construct's own results bucket: the object wildcard and the S3 action "
            "groups cover the objects the batches write (ids, map results, summaries) and nothing else."
        )
        s3_findings = (
            f"Resource::<{logical_id(self.bucket)}.Arn>/*",
            *(f"Action::s3:{a}*" for a in ("GetBucket", "GetObject", "List", "Abort", "DeleteObject")),
        )
        asset_reason = (
            "Read-only access to the CDK bootstrap assets bucket's objects, where each batch's list of "
            "asset ids is uploaded; the key is a content hash only known at deploy time."
        )
        # The provider acknowledged Resource::* for its DataZone actions already: this reason is
        # added to that one (see _nag.acknowledge), for the actions the workflow brings.
        services_reason = (
            "The batch workflow adds CloudWatch Logs delivery and X-Ray actions, which take no resource "
            "(aws-cdk-lib's StateMachine grants them this way), and the DataZone actions its selections "
            "use (ListDataSourceRuns, ListDataSourceRunActivities, Search), granted in the same DataZone "
            "statement and authorized by DataZone inside the project like the runs."
        )
        executions_reason = (
            "Executions of this one state machine (a Distributed Map's child executions are named by Step "
            "Functions at run time): the wildcard names no other state machine."
        )
        machine = logical_id(self.state_machine)
        executions = f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<{machine}.Name>*"
        assets = "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"
        self.provider.acknowledge(
            [
                ("AwsSolutions-IAM5", "Resource::*", services_reason),
                ("AwsSolutions-IAM5", assets, asset_reason),
                *(("AwsSolutions-IAM5", finding, s3_reason) for finding in s3_findings),
            ],
        )
        _nag.acknowledge(
            _nag.cfn_resource(self.policy.node.default_child), [("AwsSolutions-IAM5", executions, executions_reason)]
        )
        _nag.acknowledge(
            _nag.cfn_resource(self.state_machine.node.default_child),
            [
                (
                    "AwsSolutions-SF1",
                    None,
                    "Errors only by default: at ALL every child execution of every asset is logged, the largest "
                    "part of a large batch's bill; the failures are also in each batch's summary.json. "
                    "MetadataGenerationBatch(workflow_logging=...) raises it.",
                )
            ],
        )
        _nag.acknowledge(
            _nag.cfn_resource(self.bucket.node.default_child),
            [
                (
                    "AwsSolutions-S1",
                    None,
                    "The results bucket holds reports written by this construct's workflow and handler "
                    "only; S3 server access logs would add a second bucket for them.",
                )
            ],
        )

    def use_logging(self, wanted: WorkflowLogging, batch: str) -> None:
        """Log as ``wanted`` (asked for by the batch at path ``batch``); one setting per stack."""
        if not isinstance(wanted, WorkflowLogging) or not isinstance(wanted.level, sfn.LogLevel):
            raise _invalid("workflow_logging", wanted, "use WorkflowLogging(level=aws_stepfunctions.LogLevel.ALL, ...)")
        if self.logging is not None:
            chosen, owner = self.logging
            if chosen != wanted:
                raise _invalid(
                    "workflow_logging",
                    str(wanted),
                    f"{batch} asks for {wanted} but {owner} asks for {chosen}; the batches of a stack share one "
                    "workflow and its log group: give them the same workflow_logging, or set it on one batch only",
                )
            return
        self.logging = (wanted, batch)
        machine = _nag.cfn_resource(self.state_machine.node.default_child)
        machine.add_property_override("LoggingConfiguration.Level", wanted.level.value)
        machine.add_property_override("LoggingConfiguration.IncludeExecutionData", wanted.include_execution_data)

    def read_items(self, asset: s3_assets.Asset) -> None:
        # The map reads the ids; the handler reads them too on Delete (to cancel runs in flight).
        asset.grant_read(self.role)


class MetadataGenerationBatch(Construct):
    """Generates metadata for every asset of a selection, in one resource, on Step Functions.

    On Create (and on an Update that changes what the batch covers, or ``rerun_token``) the
    custom resource starts one execution of the stack's batch workflow, which chooses the assets,
    runs one metadata generation per asset, writes ``summary.json`` and ends FAILED when more than
    ``failure_tolerance`` percent of the assets failed. The deploy waits for it up to ``timeout``
    (unless ``wait_for_completion=False``) and then fails with the first failures and the
    service's reasons; a batch still running at ``timeout`` goes on after the deploy (unless
    ``fail_on_timeout=True``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_id: str,
        project_id: str,
        assets: AssetSelection,
        types: Sequence[MetadataGenerationType | str] | None = None,
        max_concurrency: int = 10,
        accept_predictions: AcceptPredictions | None = None,
        reject_predictions: RejectPredictions | None = None,
        wait_for_completion: bool = True,
        failure_tolerance: float = 0,
        timeout: cdk.Duration | None = None,
        fail_on_timeout: bool = False,
        allow_empty_selection: bool = False,
        run_timeout: cdk.Duration | None = None,
        rerun_token: str | None = None,
        cancel_on_delete: bool = True,
        grant_project_access: bool = True,
        project_designation: str = "PROJECT_CONTRIBUTOR",
        create_outputs: bool = True,
        workflow_logging: WorkflowLogging | None = None,
        continuous: bool = False,
    ) -> None:
        """
        :param domain_id: DataZone domain id (``dzd_...``), or a token such as ``CfnDomain.attr_id``.
        :param project_id: the project that owns the assets (and the runs), or a token.
        :param assets: ``AssetSelection.ids([...])``, ``.data_source(id)`` or ``.search(...)``.
        :param types: 1-2 distinct ``MetadataGenerationType`` values. Default: ``[BUSINESS_DESCRIPTIONS]``.
        :param max_concurrency: runs in flight at once (1-1000). Default: 10. DataZone's own quota
            on concurrent runs may be lower: the workflow then retries with backoff (402 and 429
            answers never count as failures), so a higher value only queues.
        :param accept_predictions: accept each run's predictions once it SUCCEEDED or
            PARTIALLY_SUCCEEDED, as on ``MetadataGenerationRun``. Default: None (predictions wait
            for a person). The workflow applies them, so this works with any ``wait_for_completion``.
        :param reject_predictions: likewise, reject them. Default: None. At most one of the two.
        :param wait_for_completion: the deploy waits for the execution to end. Default: True. With
            False the deploy goes on once the execution started; counts are then ``UNKNOWN``.
        :param failure_tolerance: percentage (0-100) of assets that may fail before the deploy
            fails. Default: 0 (any failed asset fails the deploy; the others are still done).
        :param timeout: how long the deploy waits for the execution. Default: 30 minutes; at most
            55 minutes (CloudFormation's limit). What happens when it runs out: see
            ``fail_on_timeout``.
        :param fail_on_timeout: a batch still running at ``timeout`` is stopped, its runs are
            cancelled and the deploy fails. Default: False: the resource completes with Status
            ``RUNNING`` (counts ``UNKNOWN``) and the execution goes on to its end, writing
            ``summary.json`` and ending FAILED past ``failure_tolerance`` (alarm on that; README).
        :param allow_empty_selection: a data source or search selection that finds no asset makes
            a batch of none. Default: False: the workflow fails, naming what it looked at (an
            empty selection is almost always the wrong data source, or its import not run).
        :param run_timeout: how long one asset's run may take before the workflow cancels it.
            Default: 30 minutes; at most 24 hours. Checked at each poll; polls back off from every
            10 s to every 2 minutes, so the cancel comes up to 2 minutes after it.
        :param rerun_token: any change starts a new execution on the next deploy. Default: none.
        :param cancel_on_delete: on Delete, stop the execution and cancel the runs it left in
            flight. Default: True.
        :param grant_project_access: make the provider's role (which the workflow runs as too) a
            member of the project (``AWS::DataZone::ProjectMembership``, shared with the stack's
            ``MetadataGenerationRun``s). Default: True.
        :param project_designation: the membership's designation. Default: PROJECT_CONTRIBUTOR.
        :param create_outputs: add stack outputs for the execution ARN and the counts. Default: True.
        :param workflow_logging: what the stack's batch workflow logs, e.g.
            ``WorkflowLogging(level=aws_stepfunctions.LogLevel.ALL, include_execution_data=True)``
            while investigating. Default: None, which is level ERROR without execution data
            (its log group is ``/aws/vendedlogs/states/<stack name>-MetadataGenerationBatch``).
            The workflow is shared by the stack's batches: batches of one stack that set it must
            set the same value (synth fails otherwise).
        :param continuous: also generate metadata after the deploy, for every later run of the
            data source: each run's created and updated assets (unchanged ones are skipped), with
            the same types, predictions policy and settings, one execution per run, its summary
            beside the deploy-time one. Needs ``assets=AssetSelection.data_source(...)``. Adds an
            EventBridge rule on DataZone's events, the stack's intake function and a dead-letter
            queue (README, "Continuous enrichment"). Default: False.
        """
        super().__init__(scope, construct_id)
        properties = self._properties(
            domain_id=domain_id,
            project_id=project_id,
            assets=assets,
            types=types,
            max_concurrency=max_concurrency,
            failure_tolerance=failure_tolerance,
            timeout=timeout,
            run_timeout=run_timeout,
        )
        # The workflow applies predictions itself, so the run's wait_for_completion rule is moot.
        predictions = _props.predictions_policy(accept_predictions, reject_predictions, True, owner=NAME)
        _props.check_rerun_token(rerun_token, "a catalog version", owner=NAME)
        _props.check_designation(project_designation, owner=NAME)
        _check_continuous(continuous, assets)

        workflow = _BatchWorkflow.of(self)
        self._workflow = workflow
        workflow.use_types(properties[Prop.TYPES])
        if workflow_logging is not None:
            workflow.use_logging(workflow_logging, self.node.path)
        provider = workflow.provider
        properties[BatchProp.SELECTION] = assets._bind(self)
        properties.update(
            {
                Prop.WAIT_FOR_COMPLETION: wait_for_completion,
                Prop.CANCEL_ON_DELETE: cancel_on_delete,
                BatchProp.STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                BatchProp.RESULTS_BUCKET: workflow.bucket.bucket_name,
            }
        )
        properties.update(
            _flags(
                fail_on_timeout=(fail_on_timeout, BatchProp.FAIL_ON_TIMEOUT),
                allow_empty_selection=(allow_empty_selection, BatchProp.ALLOW_EMPTY_SELECTION),
                continuous=(continuous, BatchProp.CONTINUOUS),
            )
        )
        if rerun_token is not None:
            properties[Prop.RERUN_TOKEN] = rerun_token
        if predictions is not None:
            properties[Prop.PREDICTIONS] = predictions.to_property()
            provider.grant(predictions.iam_action)
        provider.grant(*_SELECTION_ACTIONS.get(assets.kind, ()))

        self.resource = provider.custom_resource(self, contract.BATCH_RESOURCE_TYPE, properties)
        self._continuous_rule: events.Rule | None = None
        self._dead_letters: sqs.IQueue | None = None
        if continuous:
            workflow.continuous = True
            intake = ContinuousIntake.of(self)
            self._continuous_rule = intake.watch(
                self,
                domain_id=domain_id,
                properties=dict(properties),
                resource=_nag.cfn_resource(self.resource.node.default_child),
            )
            self._dead_letters = intake.queue
        node = self.node
        # Starting and following executions needs the workflow's own policy in place.
        node.add_dependency(workflow.policy)
        if grant_project_access:
            node.add_dependency(provider.membership(domain_id, project_id, project_designation, owner=NAME))
        if create_outputs:
            self._add_outputs(node.path)

    @staticmethod
    def _properties(
        *,
        domain_id: str,
        project_id: str,
        assets: AssetSelection,
        types: Sequence[MetadataGenerationType | str] | None,
        max_concurrency: int,
        failure_tolerance: float,
        timeout: cdk.Duration | None,
        run_timeout: cdk.Duration | None,
    ) -> dict[str, Any]:
        _props.check_ids(domain_id, project_id, owner=NAME)
        if not isinstance(assets, AssetSelection):
            raise _invalid("assets", assets, "use AssetSelection.ids([...]), .data_source(id) or .search(...)")
        if (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or not (1 <= max_concurrency <= contract.MAX_CONCURRENCY_MAX)
        ):
            allowed = f"use a whole number from 1 to {contract.MAX_CONCURRENCY_MAX}"
            raise _invalid("max_concurrency", max_concurrency, allowed)
        if (
            isinstance(failure_tolerance, bool)
            or not isinstance(failure_tolerance, (int, float))
            or not (0 <= failure_tolerance <= 100)
        ):
            raise _invalid("failure_tolerance", failure_tolerance, "use a percentage from 0 to 100")
        poll, longest = contract.POLL_INTERVAL_SECONDS, contract.MAX_RUN_TIMEOUT_SECONDS
        return {
            Prop.DOMAIN_ID: domain_id,
            Prop.PROJECT_ID: project_id,
            Prop.TYPES: _props.normalize_types(types, owner=NAME),
            BatchProp.MAX_CONCURRENCY: max_concurrency,
            BatchProp.FAILURE_TOLERANCE: failure_tolerance,
            Prop.TIMEOUT_SECONDS: _props.deploy_timeout_seconds(
                timeout,
                low=60,
                stop="stop the execution",
                hint="; a longer batch needs wait_for_completion=False",
                owner=NAME,
            ),
            BatchProp.RUN_TIMEOUT_SECONDS: _props.duration_seconds(
                "run_timeout",
                run_timeout,
                default=contract.DEFAULT_RUN_TIMEOUT_SECONDS,
                bounds=(poll, longest),
                allowed=f"must be a whole number of seconds from {poll} s (the poll interval) to {longest} s "
                f"({longest // 3600} hours)",
                owner=NAME,
            ),
        }

    def _add_outputs(self, path: str) -> None:
        for output_id, value, what in (
            ("ExecutionArnOutput", self.execution_arn, "execution ARN"),
            ("SucceededCountOutput", self.succeeded_count, "assets whose run succeeded"),
            ("FailedCountOutput", self.failed_count, "assets whose run failed"),
            ("SummaryOutput", self.summary_location, "summary.json (counts and every failure)"),
        ):
            description = f"DataZone metadata-generation batch {what} ({path})"
            cdk.CfnOutput(self, output_id, value=value, description=description)

    @property
    def execution_arn(self) -> str:
        """The batch's Step Functions execution ARN, a token."""
        return self.resource.get_att_string(BatchAttr.EXECUTION_ARN)

    @property
    def succeeded_count(self) -> str:
        """How many assets' runs SUCCEEDED or PARTIALLY_SUCCEEDED, a token (``UNKNOWN`` with
        ``wait_for_completion=False``)."""
        return self.resource.get_att_string(BatchAttr.SUCCEEDED_COUNT)

    @property
    def failed_count(self) -> str:
        """How many assets failed (run FAILED/CANCELED/TIMED_OUT, or a call failed), a token."""
        return self.resource.get_att_string(BatchAttr.FAILED_COUNT)

    @property
    def state_machine_arn(self) -> str:
        """The stack's batch workflow (shared by its batches), a token: match its Step Functions
        "Execution Status Change" events to alarm on a batch that ends FAILED (README)."""
        return self._workflow.state_machine.state_machine_arn

    @property
    def continuous_rule(self) -> events.Rule | None:
        """The EventBridge rule that hears the data source's runs (``continuous=True``; else None):
        its name, with the rule's input, is what a manual catch-up sends the intake (README)."""
        return self._continuous_rule

    @property
    def continuous_dead_letter_queue(self) -> sqs.IQueue | None:
        """Where a continuous batch's events go that could not be delivered or handled (the stack's
        one queue, ``continuous=True``; else None): alarm on its visible messages."""
        return self._dead_letters

    @property
    def summary_location(self) -> str:
        """``s3://…/summary.json``: counts per status and every failure with its reason, a token.
        Known when the execution starts: the workflow writes it whether or not the deploy waits."""
        return self.resource.get_att_string(BatchAttr.SUMMARY)


show_init_signature(MetadataGenerationBatch)


def _definition_string(
    results_bucket: str, worker_arn: str, *, single_type: bool = False, continuous: bool = False
) -> str:
    """The definition as JSON, with the bucket's and the worker's tokens spliced in.

    Serialized here, not by ``Stack.to_json_string``: that drops ``None`` (the ``"ResultPath":
    null`` that keeps a task's input) and turns ``100.0`` into ``100``.
    """
    bucket, worker = "@@RESULTS_BUCKET@@", "@@WORKER_ARN@@"
    shape = definition(bucket, worker, single_type=single_type, continuous=continuous)
    text = json.dumps(shape, separators=(",", ":"))
    pieces: list[str] = []
    for i, chunk in enumerate(text.split(bucket)):
        if i:
            pieces.append(results_bucket)
        for j, part in enumerate(chunk.split(worker)):
            if j:
                pieces.append(worker_arn)
            pieces.append(part)
    return cdk.Fn.join("", pieces)


@jsii.implements(cdk.IStableStringProducer)
class _DefinitionProducer:
    def __init__(self, workflow: _BatchWorkflow) -> None:
        self._workflow = workflow

    def produce(self) -> str:
        workflow = self._workflow
        return _definition_string(
            workflow.bucket.bucket_name,
            workflow.worker.function_arn,
            single_type=workflow.single_type,
            continuous=workflow.continuous,
        )


def _check_continuous(continuous: bool, assets: AssetSelection) -> None:
    """Before anything is made: a continuous batch follows a data source's runs."""
    if not isinstance(continuous, bool):
        raise _invalid("continuous", continuous, "use True or False")
    if continuous and assets.kind != "DATA_SOURCE":
        raise _invalid(
            "continuous",
            continuous,
            f"it follows a data source's runs, and assets is an AssetSelection.{assets.kind.lower()}(...) "
            "selection: use assets=AssetSelection.data_source(<data source id>), or drop continuous=True",
        )


def _flags(**flags: tuple[bool, str]) -> dict[str, bool]:
    """The properties of the flags that are set (leaving out the others keeps the templates of
    batches that do not use them unchanged); a flag that is not a bool is refused."""
    properties: dict[str, bool] = {}
    for prop, (flag, key) in flags.items():
        if not isinstance(flag, bool):
            raise _invalid(prop, flag, "use True or False")
        if flag:
            properties[key] = True
    return properties


_SELECTION_ACTIONS = {
    "DATA_SOURCE": ("datazone:ListDataSourceRuns", "datazone:ListDataSourceRunActivities"),
    "SEARCH": ("datazone:Search",),
}
