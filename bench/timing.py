"""Wall-clock synthesis, each in a fresh process, ours and peer alternating pair by pair."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.scenarios import Side
from bench.template_metrics import TemplateMetrics

REPO = Path(__file__).resolve().parent.parent

#: Keeps jsii and the CDK quiet and offline; the same for both sides.
#: Turns off aws-cdk-lib's built-in CloudFormation validation (its WebAssembly engine costs both
#: sides the same seconds per process); used for the secondary timing that isolates construct cost.
NO_CDK_VALIDATION = {"CDK_VALIDATION": "false"}

CHILD_ENV = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "1",
}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CHILD_ENV)
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Sample:
    side: Side
    runs: int
    outputs: bool
    wall_s: float
    cpu_s: float
    import_s: float
    side_import_s: float
    build_s: float
    synth_s: float
    rss_kib: int
    rss_self_kib: int
    rss_method: str


@dataclass
class Series:
    """All samples of one (N, outputs) cell, in the order they ran."""

    runs: int
    outputs: bool
    pairs: list[tuple[Sample, Sample]] = field(default_factory=list)  # (ours, peer)
    metrics: dict[Side, TemplateMetrics] = field(default_factory=dict)

    def samples(self, side: Side) -> list[Sample]:
        return [pair[0] if side is Side.OURS else pair[1] for pair in self.pairs]

    def median(self, side: Side, attribute: str) -> float:
        return statistics.median(float(getattr(s, attribute)) for s in self.samples(side))

    def ratios(self, attribute: str = "wall_s") -> list[float]:
        return [getattr(ours, attribute) / getattr(peer, attribute) for ours, peer in self.pairs]

    def ratio_median(self, attribute: str = "wall_s") -> float:
        return statistics.median(self.ratios(attribute))


class ChildFailedError(RuntimeError):
    pass


def run_child(side: Side, runs: int, outputs: bool, outdir: str, env: dict[str, str] | None = None) -> Sample:
    """Synthesize in a fresh interpreter; wall time from spawn to exit, CPU of it and its children."""
    command = [sys.executable, "-m", "bench.child", side.value, str(runs), "on" if outputs else "off", outdir]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        command, cwd=REPO, env=child_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    # Popen has reaped the child; its CPU time, and that of the Node processes it reaped, is now
    # part of RUSAGE_CHILDREN (children run one at a time, so the difference is this child's).
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if process.returncode != 0:
        raise ChildFailedError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-4000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    data = json.loads(lines[-1])
    return Sample(
        side=side,
        runs=runs,
        outputs=outputs,
        wall_s=wall,
        cpu_s=cpu,
        import_s=data["import_s"],
        side_import_s=data["side_import_s"],
        build_s=data["build_s"],
        synth_s=data["synth_s"],
        rss_kib=data["rss_self_kib"] + data["rss_children_kib"],
        rss_self_kib=data["rss_self_kib"],
        rss_method=data["rss_method"],
    )
