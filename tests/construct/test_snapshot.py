"""The example stack's and the batches' templates, pinned; and they must not depend on bytecode caches."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

import app as example_app
from constructs_lib._provider import lambda_code_dir
from tests.construct.conftest import BATCHES_STACK, EXAMPLE_STACK, Synthesized

_ASSET_KEY = re.compile(r"[0-9a-f]{64}\.zip")


def _without_asset_hashes(value: Any) -> Any:
    """The template with each code asset's S3 key (a hash of its files) replaced: the snapshots pin
    what a reviewer should see change, and any edit of the handler changes that hash.
    ``test_template_is_unchanged_by_pycache_in_lambda_source`` keeps the hash itself honest."""
    if isinstance(value, dict):
        return {k: _without_asset_hashes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_asset_hashes(v) for v in value]
    if isinstance(value, str) and _ASSET_KEY.fullmatch(value):
        return "<asset hash>.zip"
    return value


def test_example_stack_matches_snapshot(synthesized: Synthesized, snapshot: SnapshotAssertion) -> None:
    template = _without_asset_hashes(synthesized.templates[EXAMPLE_STACK])
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def test_batches_stack_matches_snapshot(batches: Synthesized, snapshot: SnapshotAssertion) -> None:
    # One batch of each selection kind beside a run: the workflow, its roles and their cdk-nag
    # reasons, the results bucket, the outputs, as a reviewer would see them change.
    template = _without_asset_hashes(batches.templates[BATCHES_STACK])
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def _synth_example(outdir: Path) -> dict[str, Any]:
    app = cdk.App(outdir=str(outdir))
    example_app.build_app(app)
    template: dict[str, Any] = app.synth().get_stack_by_name(EXAMPLE_STACK).template
    return template


def test_template_is_unchanged_by_pycache_in_lambda_source(synthesized: Synthesized, tmp_path: Path) -> None:
    # pip byte-compiles installed packages and tests import the handler: both leave __pycache__
    # beside index.py. Neither may change the asset hash, or every machine gets its own template.
    pycache = Path(lambda_code_dir()) / "__pycache__"
    pycache.mkdir(exist_ok=True)
    probe = pycache / "probe.cpython-311.pyc"
    strays = [Path(lambda_code_dir()) / name for name in ("stray.pyc", "stray.pyo")]
    probe.write_bytes(b"not really bytecode")
    for stray in strays:
        stray.write_bytes(b"nor this")
    try:
        assert _synth_example(tmp_path) == synthesized.templates[EXAMPLE_STACK]
    finally:
        probe.unlink()
        for stray in strays:
            stray.unlink()
