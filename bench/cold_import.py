"""Cold import of the synthesized handler against ``import boto3``, each in a fresh interpreter.

Both run with ``-X importtime`` and ``PYTHONDONTWRITEBYTECODE=1`` from a copy of the asset without
``__pycache__``: Lambda's code directory is read-only, so the handler's modules are compiled on
every cold start while boto3 comes precompiled with the runtime, as here. The module imported is
:data:`ENTRY_MODULE`, what the functions' ``Handler`` names (it imports the rest of the asset).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")
ENTRY_MODULE = "entry"
CLIENT_SNIPPET = (
    "import time, boto3; t = time.perf_counter(); "
    "boto3.client('datazone', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x'); "
    "print((time.perf_counter() - t) * 1000)"
)


@dataclass(frozen=True)
class ColdImport:
    handler_us: list[int]  # cumulative import time of ``entry`` (and the modules it imports)
    boto3_us: list[int]  # cumulative import time of ``boto3``
    handler_wall_ms: list[float]  # whole ``python -c "import entry"`` process
    boto3_wall_ms: list[float]
    client_ms: list[float]  # boto3.client("datazone") in a fresh process (the handler builds it lazily)
    python: str

    @property
    def ratio(self) -> float:
        return statistics.median(self.handler_us) / statistics.median(self.boto3_us)

    @property
    def pair_ratio(self) -> float:
        return statistics.median(h / b for h, b in zip(self.handler_us, self.boto3_us, strict=True))

    @property
    def cold_init_ms(self) -> float:
        """What a cold start of our function spends before its first DataZone call (local CPU)."""
        return statistics.median(self.handler_us) / 1000 + statistics.median(self.client_ms)


def cumulative_us(stderr: str, module: str) -> int:
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and match.group(4) == module and len(match.group(3)) == 1:  # top level: one space
            return int(match.group(2))
    raise ValueError(f"no top-level import of {module!r} in -X importtime output")


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return (time.perf_counter() - started) * 1000, done.stdout, done.stderr


def measure(asset_dir: Path, repetitions: int = 9) -> ColdImport:
    with tempfile.TemporaryDirectory(prefix="bench-handler-") as scratch:
        code = Path(scratch) / "task"
        shutil.copytree(asset_dir, code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        env.update({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(code)})
        handler_cmd = [sys.executable, "-X", "importtime", "-c", f"import {ENTRY_MODULE}"]
        boto3_cmd = [sys.executable, "-X", "importtime", "-c", "import boto3"]
        result = ColdImport([], [], [], [], [], sys.version.split()[0])
        _run(boto3_cmd, code, env)  # warm the OS file cache for both
        for index in range(repetitions):
            order = [(handler_cmd, ENTRY_MODULE), (boto3_cmd, "boto3")]
            for command, module in order if index % 2 == 0 else reversed(order):
                wall, _, stderr = _run(command, code, env)
                if module == ENTRY_MODULE:
                    result.handler_us.append(cumulative_us(stderr, ENTRY_MODULE))
                    result.handler_wall_ms.append(wall)
                else:
                    result.boto3_us.append(cumulative_us(stderr, "boto3"))
                    result.boto3_wall_ms.append(wall)
            _, stdout, _ = _run([sys.executable, "-c", CLIENT_SNIPPET], code, env)
            result.client_ms.append(float(stdout.strip()))
        return result
