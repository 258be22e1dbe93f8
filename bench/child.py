"""One measured synthesis, run as ``python -m bench.child SIDE RUNS OUTPUTS OUTDIR`` in a fresh process.

Prints one JSON line: the phases as this process saw them and the peak RSS of this process and
of its descendants (the jsii kernel's Node processes), read from ``/proc`` before they exit.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

START = time.perf_counter()

from bench.scenarios import Side, build_app, import_side  # noqa: E402 - the clock starts before any import


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def peak_rss_kib() -> tuple[int, int, str]:
    """(this process, its descendants summed, method): peak resident set sizes in KiB.

    The sum of per-process peaks bounds the combined peak from above (peaks need not coincide).
    """
    own = _status_kib(os.getpid(), "VmHWM")
    if own is None:  # no /proc: only this process, from getrusage (KiB on Linux, bytes on macOS)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return (rss // 1024 if sys.platform == "darwin" else rss), 0, "getrusage (Python only)"
    children = sum(_status_kib(pid, "VmHWM") or 0 for pid in _descendants(os.getpid()))
    return own, children, "/proc VmHWM"


def main(argv: list[str]) -> int:
    side, runs, outputs, outdir = Side(argv[0]), int(argv[1]), argv[2] == "on", argv[3]
    import aws_cdk  # noqa: F401, PLC0415 - the import (and jsii kernel start) is its own phase

    imported = time.perf_counter()
    import_side(side)
    side_imported = time.perf_counter()
    app = build_app(side, runs, outputs=outputs, outdir=outdir)
    built = time.perf_counter()
    app.synth()
    synthesized = time.perf_counter()
    own, children, method = peak_rss_kib()
    result = {
        "import_s": imported - START,
        "side_import_s": side_imported - imported,
        "build_s": built - side_imported,
        "synth_s": synthesized - built,
        "rss_self_kib": own,
        "rss_children_kib": children,
        "rss_method": method,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
