"""The example stack's and the batches' templates, pinned; and they must not depend on bytecode caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

import app as example_app
from constructs_lib.metadata_generation_run import _lambda_code_dir
from tests.construct.conftest import BATCHES_STACK, EXAMPLE_STACK, Synthesized


def test_example_stack_matches_snapshot(synthesized: Synthesized, snapshot: SnapshotAssertion) -> None:
    assert synthesized.templates[EXAMPLE_STACK] == snapshot(extension_class=JSONSnapshotExtension)


def test_batches_stack_matches_snapshot(batches: Synthesized, snapshot: SnapshotAssertion) -> None:
    # One batch of each selection kind beside a run: the workflow, its roles and their cdk-nag
    # reasons, the results bucket, the outputs, as a reviewer would see them change.
    assert batches.templates[BATCHES_STACK] == snapshot(extension_class=JSONSnapshotExtension)


def _synth_example(outdir: Path) -> dict[str, Any]:
    app = cdk.App(outdir=str(outdir))
    example_app.build_app(app)
    template: dict[str, Any] = app.synth().get_stack_by_name(EXAMPLE_STACK).template
    return template


def test_template_is_unchanged_by_pycache_in_lambda_source(synthesized: Synthesized, tmp_path: Path) -> None:
    # pip byte-compiles installed packages and tests import the handler: both leave __pycache__
    # beside index.py. Neither may change the asset hash, or every machine gets its own template.
    pycache = Path(_lambda_code_dir()) / "__pycache__"
    pycache.mkdir(exist_ok=True)
    probe = pycache / "probe.cpython-311.pyc"
    strays = [Path(_lambda_code_dir()) / name for name in ("stray.pyc", "stray.pyo")]
    probe.write_bytes(b"not really bytecode")
    for stray in strays:
        stray.write_bytes(b"nor this")
    try:
        assert _synth_example(tmp_path) == synthesized.templates[EXAMPLE_STACK]
    finally:
        probe.unlink()
        for stray in strays:
            stray.unlink()
