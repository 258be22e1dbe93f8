"""Where and with what the benchmark ran: machine, versions, time."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("aws-cdk-lib", "constructs", "jsii", "boto3", "botocore", "datazone-metadata-generation-constructs")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _command(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603 - fixed commands (git, node)
            args,
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def git_revision() -> str:
    revision = _command("git", "rev-parse", "--short", "HEAD")
    dirty = _command("git", "status", "--porcelain", "--", "constructs_lib", "lambda_src")
    return revision + (" + uncommitted changes in constructs_lib/lambda_src" if dirty and dirty != "unknown" else "")


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def describe() -> dict[str, str]:
    facts = {
        "date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{_cpu_model()}, {os.cpu_count()} logical CPUs, {_memory_gib()} RAM",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Node.js": _command("node", "--version"),
        "library revision": git_revision(),
    }
    facts.update({package: _version(package) for package in PACKAGES})
    return facts
