"""How many runs one stack can hold before it stops being deployable, found by search.

``python -m bench.limits SIDE OUTPUTS`` searches one (side, outputs) cell in one long-lived
process (a fresh App per probe) and prints a JSON line. Each probe synthesizes with the CDK CLI's
default context (path and asset metadata, version reporting: what ``cdk deploy`` would deploy)
and is judged by the template limits in :mod:`bench.template_metrics`; a synthesis that raises
(for example the construct's own output-limit check, or the CDK's 500-resource check) counts as
not deployable, and its message is kept.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from bench.scenarios import Side, build_app
from bench.template_metrics import measure

SEARCH_CAP = 4096


@dataclass(frozen=True)
class Probe:
    runs: int
    ok: bool
    reason: str  # why not deployable; empty when ok
    resources: int | None = None
    outputs: int | None = None
    template_bytes: int | None = None
    max_role_policy_chars: int | None = None
    synth_error: bool = False
    seconds: float = 0.0


@dataclass
class Search:
    side: str
    outputs: bool
    max_runs: int = 0  # largest deployable N (0: not even one)
    first_failing: int | None = None  # smallest N that is not deployable (None: none up to the cap)
    probes: list[Probe] = field(default_factory=list)

    @property
    def at_max(self) -> Probe | None:
        return next((p for p in self.probes if p.runs == self.max_runs), None)

    @property
    def at_failure(self) -> Probe | None:
        return next((p for p in self.probes if p.runs == self.first_failing), None)


def first_line_of_error(error: BaseException) -> str:
    text = str(error).strip()
    # jsii wraps the JavaScript error; keep CDK's message, not the kernel's stack.
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("at ")]
    return " ".join(lines)[:600]


def probe(side: Side, runs: int, outputs: bool) -> Probe:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as outdir:
        try:
            app = build_app(side, runs, outputs=outputs, outdir=outdir, cli_context=True)
            app.synth()
        except Exception as error:
            return Probe(
                runs, False, first_line_of_error(error), synth_error=True, seconds=time.perf_counter() - started
            )
        metrics = measure(outdir, with_assets=False)
    problems = metrics.violations()
    return Probe(
        runs,
        not problems,
        "; ".join(problems),
        metrics.resources,
        metrics.outputs,
        metrics.template_bytes,
        metrics.max_role_policy_chars,
        seconds=time.perf_counter() - started,
    )


def search(check: Callable[[int], Probe], side: str, outputs: bool, cap: int = SEARCH_CAP) -> Search:
    """Largest N with check(N).ok, assuming deployability only gets worse as N grows.

    Doubles N from 1 until a probe fails (or the cap), then bisects between the last good and
    the first bad N.
    """
    result = Search(side, outputs)
    seen: dict[int, Probe] = {}

    def ok(runs: int) -> bool:
        if runs not in seen:
            seen[runs] = check(runs)
            result.probes.append(seen[runs])
        return seen[runs].ok

    good, bad = 0, None
    runs = 1
    while runs <= cap:
        if not ok(runs):
            bad = runs
            break
        good = runs
        runs *= 2
    if bad is None:
        result.max_runs = good
        return result
    while bad - good > 1:
        middle = (good + bad) // 2
        if ok(middle):
            good = middle
        else:
            bad = middle
    result.max_runs, result.first_failing = good, bad
    return result


def main(argv: list[str]) -> int:
    side, outputs = Side(argv[0]), argv[1] == "on"
    found = search(lambda runs: probe(side, runs, outputs), side.value, outputs)
    print(json.dumps({**asdict(found), "probes": [asdict(p) for p in found.probes]}), flush=True)
    return 0


def from_json(data: dict[str, object]) -> Search:
    probes = [Probe(**p) for p in data.pop("probes")]  # type: ignore[attr-defined]
    found = Search(**data)  # type: ignore[arg-type]
    found.probes = probes
    return found


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
