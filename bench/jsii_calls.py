"""jsii round trips (Python → Node requests) per side, counted in one process: noise-free.

Every construct, method call and property read from Python is one request to the jsii kernel;
on a busy machine each costs a context switch or two, so they explain most of the Python-side
difference between the sides. ``python -m bench.jsii_calls`` prints JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.scenarios import Side, build_app

SIZES = (1, 100)


def _install_counter() -> Counter[str]:
    """Count every request the jsii process provider sends (private API; the benchmark's own use)."""
    from jsii._kernel.providers import process  # noqa: PLC0415 - only this diagnostic patches jsii

    counts: Counter[str] = Counter()
    original: Callable[..., Any] = process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        counts[type(request).__name__] += 1
        return original(self, request, response_type)

    process._NodeProcess.send = send  # type: ignore[method-assign]
    return counts


def count(sizes: tuple[int, ...] = SIZES) -> dict[str, dict[str, dict[str, int]]]:
    """{side: {"N/outputs": {"build": ..., "synth": ...}}}"""
    counts = _install_counter()
    for side in Side:  # import-time and first-use requests are not per-App costs
        with tempfile.TemporaryDirectory(prefix="bench-jsii-") as outdir:
            build_app(side, 1, outputs=True, outdir=outdir).synth()
    result: dict[str, dict[str, dict[str, int]]] = {}
    for side in Side:
        for outputs in (True, False):
            for runs in sizes:
                with tempfile.TemporaryDirectory(prefix="bench-jsii-") as outdir:
                    counts.clear()
                    app = build_app(side, runs, outputs=outputs, outdir=outdir)
                    built = sum(counts.values())
                    counts.clear()
                    app.synth()
                    key = f"{runs}/{'on' if outputs else 'off'}"
                    result.setdefault(side.value, {})[key] = {"build": built, "synth": sum(counts.values())}
    return result


if __name__ == "__main__":
    print(json.dumps(count(tuple(int(n) for n in sys.argv[1:]) or SIZES)))
    sys.exit(0)
