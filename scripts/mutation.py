"""Mutation testing of the code that ships, and its report (docs/mutation.md).

Run it as ``bash scripts/mutation`` (see docs/development.md). Each group of ``[tool.mutation]``
in pyproject.toml is mutated in its own copy of the working tree (build/mutation/<group>), with
mutmut's settings for that group written into the copy's pyproject.toml. The groups are apart
because the construct tests hash the handler's source into the template (snapshots, asset
hashes): mutmut's rewritten handler would fail them before any mutant ran.
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "mutation"
REPORT = REPO / "docs" / "mutation.md"
REASONS = REPO / "docs" / "mutation-survivors.toml"
TARGET_SCORE = 92.0

# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code), folded into what counts.
KILLED = "killed"
SURVIVED = "survived"
NO_TESTS = "no tests"
TIMEOUT = "timeout"
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class Group:
    name: str
    settings: dict[str, Any]
    max_children: int

    @property
    def files(self) -> list[str]:
        return list(self.settings["only_mutate"])

    @property
    def workdir(self) -> Path:
        return WORK / self.name


@dataclass
class Survivor:
    name: str
    status: str
    change: str
    why: str | None = None


@dataclass
class FileResult:
    path: str
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def caught(self) -> int:
        # A mutant that makes a test run past its time limit was detected by the suite.
        return self.counts.get(KILLED, 0) + self.counts.get(TIMEOUT, 0)

    @property
    def score(self) -> float:
        return 100.0 * self.caught / self.total if self.total else 0.0


def load_groups(pyproject: Path = REPO / "pyproject.toml") -> list[Group]:
    table = tomllib.loads(pyproject.read_text())["tool"]["mutation"]
    shared: dict[str, Any] = table.get("mutmut", {})
    groups = []
    for name, raw in table["groups"].items():
        settings = {**shared, **{k: v for k, v in raw.items() if k != "max_children"}}
        groups.append(Group(name=name, settings=settings, max_children=int(raw.get("max_children", 1))))
    return groups


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"[tool.mutation] values must be strings, numbers, booleans or lists, not {value!r}")


def tracked_files() -> list[str]:
    """The working tree as git sees it: committed, changed and new files, not ignored ones."""
    out = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({name for name in out.split("\0") if name and os.path.lexists(REPO / name)})


def git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", *args],  # noqa: S607
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def sync_copy(group: Group) -> None:
    """Mirror the working tree into the group's copy. Unchanged files keep their time stamps, which
    is how mutmut knows that their mutants (and cached results, with --keep) are still good."""
    dest = group.workdir
    wanted = set(tracked_files())
    for name in wanted:
        copy_one(REPO / name, dest / name)
    for path in sorted(dest.rglob("*"), reverse=True):
        rel = path.relative_to(dest).as_posix()
        if rel.startswith(("mutants", "pyproject.toml")) or "__pycache__" in rel:
            continue
        if (path.is_file() or path.is_symlink()) and rel not in wanted:
            path.unlink()
    # mutmut reads its settings from the copy's pyproject.toml: the repo's, plus this group's.
    settings = "\n".join(f"{key} = {toml_value(value)}" for key, value in group.settings.items())
    text = (REPO / "pyproject.toml").read_text() + f"\n# Written by scripts/mutation.\n[tool.mutmut]\n{settings}\n"
    if not (dest / "pyproject.toml").exists() or (dest / "pyproject.toml").read_text() != text:
        (dest / "pyproject.toml").write_text(text)


def copy_one(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        if dst.is_symlink() and os.readlink(dst) == os.readlink(src):
            return
        dst.unlink(missing_ok=True)
        dst.symlink_to(os.readlink(src))
    elif dst.is_symlink() or not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
        dst.unlink(missing_ok=True)
        shutil.copy2(src, dst)


def run_group(group: Group, *, keep: bool, patterns: list[str]) -> subprocess.Popen[bytes]:
    if not keep:
        shutil.rmtree(group.workdir / "mutants", ignore_errors=True)
    sync_copy(group)
    log = (group.workdir / "mutmut.log").open("wb")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # Every forked child adds its constructs to the one shared jsii kernel, which keeps them: over
    # a thousand mutants Node's default heap (about 4 GB) runs out and the kernel dies.
    env.setdefault("NODE_OPTIONS", "--max-old-space-size=16384")
    # A user's editable install maps constructs_lib to the repo; the copy's own tree must win.
    env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(group.max_children), *patterns]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=group.workdir, stdout=log, stderr=subprocess.STDOUT, env=env
    )


@contextmanager
def inside(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def changed_lines(diff: str) -> str:
    """The lines a mutant changed, as ``old → new`` (what docs/mutation.md shows)."""
    minus = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    plus = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return f"{' / '.join(minus) or '∅'} → {' / '.join(plus) or '∅'}"


def read_results(group: Group, reasons: Mapping[str, Mapping[str, str]]) -> list[FileResult]:
    from mutmut.configuration import reset_config  # noqa: PLC0415 (a dev tool: imported only to report)
    from mutmut.mutation.data import SourceFileMutationData  # noqa: PLC0415
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: PLC0415
    from mutmut.state import reset_state  # noqa: PLC0415
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415

    results = []
    with inside(group.workdir):
        reset_config()
        reset_state()
        for path in group.files:
            data = SourceFileMutationData(path=Path(path))
            data.load()
            result = FileResult(path=path)
            for name, code in sorted(data.exit_code_by_key.items()):
                status = status_by_exit_code[code]
                result.counts[status] = result.counts.get(status, 0) + 1
                if status in (KILLED, TIMEOUT):
                    continue
                change = changed_lines(get_diff_for_mutant(name, path=path))
                recorded = reasons.get(name, {})
                why = recorded.get("why") if recorded.get("change") == change else None
                result.survivors.append(Survivor(name=name, status=status, change=change, why=why))
            results.append(result)
    return results


def load_reasons() -> dict[str, dict[str, str]]:
    if not REASONS.exists():
        return {}
    return tomllib.loads(REASONS.read_text())


def revision() -> str:
    # The report itself (about to change) does not make the tree it describes dirty.
    dirty = git("status", "--porcelain", "--", ".", ":!docs/mutation.md").strip()
    return git("rev-parse", "--short", "HEAD").strip() + (" plus uncommitted changes" if dirty else "")


def mutmut_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version("mutmut")


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def render(groups: list[Group], results: dict[str, list[FileResult]], seconds: dict[str, float]) -> str:
    lines = [
        "# Mutation testing",
        "",
        "Generated by `bash scripts/mutation` (see docs/development.md); do not edit by hand. Reasons for",
        "the survivors live in `docs/mutation-survivors.toml`.",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Revision: {revision()}",
        f"- mutmut {mutmut_version()}, every mutant of every function; the score counts every mutant:",
        "  (killed + timed out) / all, so a mutant no test reaches counts as a survivor.",
        f"- Target: ≥ {TARGET_SCORE:g} % per module.",
        "",
        "| module | tests | mutants | killed | timed out | survived | no tests | not checked | score | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for group in groups:
        tests = ", ".join(f"`{t}`" for t in group.settings["pytest_add_cli_args_test_selection"])
        for res in results[group.name]:
            c = res.counts
            lines.append(
                f"| `{res.path}` | {tests} | {res.total:,} | {c.get(KILLED, 0):,} | {c.get(TIMEOUT, 0):,} | "
                f"{c.get(SURVIVED, 0):,} | {c.get(NO_TESTS, 0):,} | {c.get(NOT_CHECKED, 0):,} | {res.score:.1f} % | "
                f"{'met' if res.score >= TARGET_SCORE else '**missed**'} |"
            )
    lines += ["", "Wall time of each group's last full run (later partial runs are not counted):", ""]
    lines += [
        f"- {g.name}: {seconds[g.name] / 60:.1f} min, {g.max_children} worker(s)"
        if seconds[g.name]
        else f"- {g.name}: not recorded (no full run of this group has completed through the script)"
        for g in groups
    ]
    for group in groups:
        for res in results[group.name]:
            lines += ["", f"## Survivors in `{res.path}` ({len(res.survivors)})", ""]
            if not res.survivors:
                lines.append("None.")
                continue
            lines += ["| mutant | change | why it survives |", "|---|---|---|"]
            for s in res.survivors:
                short = s.name.rpartition(".")[2]
                status = "" if s.status == SURVIVED else f" ({s.status})"
                why = escape(s.why) if s.why else "**no reason recorded**"
                lines.append(f"| `{short}`{status} | `{escape(s.change)}` | {why} |")
    return "\n".join(lines) + "\n"


def unexplained_stub(results: dict[str, list[FileResult]]) -> str:
    out = []
    for file_results in results.values():
        for res in file_results:
            for s in res.survivors:
                if s.why is None:
                    out += [f'["{s.name}"]', f"change = {json.dumps(s.change, ensure_ascii=False)}", 'why = ""', ""]
    return "\n".join(out)


SECONDS = WORK / "seconds.json"


def run_all(groups: list[Group], args: argparse.Namespace) -> bool:
    """Run the groups side by side, each mutmut with its own workers (and, for the construct
    groups, its own jsii kernel: see pyproject.toml)."""
    started = time.monotonic()
    patterns = {g.name: list(args.patterns) for g in groups}
    if args.retest_survivors:
        # A kill stands when tests are only added; what survived or was never checked runs again.
        reasons = load_reasons()
        patterns = {g.name: [s.name for r in read_results(g, reasons) for s in r.survivors] for g in groups}
    keep = args.keep or args.retest_survivors or bool(args.patterns)
    procs = {g.name: run_group(g, keep=keep, patterns=patterns[g.name]) for g in groups}
    times = {}
    for name, proc in procs.items():
        if proc.wait() != 0:
            print(f"mutmut failed in group {name}: see {WORK / name / 'mutmut.log'}", file=sys.stderr)
        times[name] = time.monotonic() - started
    failed = [name for name, proc in procs.items() if proc.returncode != 0]
    # A partial run (--keep, patterns, --retest-survivors) keeps the last full run's time; another
    # invocation (another --group) may have finished meanwhile: keep its times too.
    if not keep and not failed:
        latest = json.loads(SECONDS.read_text()) if SECONDS.exists() else {}
        SECONDS.write_text(json.dumps({**latest, **times}))
    return not failed


def write_report() -> None:
    ran = [g for g in load_groups() if (g.workdir / "mutants").is_dir()]
    reasons = load_reasons()
    results = {g.name: read_results(g, reasons) for g in ran}
    seconds: dict[str, float] = json.loads(SECONDS.read_text()) if SECONDS.exists() else {}
    REPORT.write_text(render(ran, results, {g.name: seconds.get(g.name, 0.0) for g in ran}))
    stub = unexplained_stub(results)
    (WORK / "unexplained.toml").write_text(stub)
    for group in ran:
        for res in results[group.name]:
            print(f"{res.path}: {res.total} mutants, {len(res.survivors)} survived, {res.score:.1f} %")
    print(f"wrote {REPORT.relative_to(REPO)}", end="")
    print(f"; survivors without a reason: {WORK / 'unexplained.toml'}" if stub else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", help="only these groups of [tool.mutation.groups]")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the last run's results (mutmut re-tests changed functions only)"
    )
    parser.add_argument("--report-only", action="store_true", help="rewrite docs/mutation.md from the last run")
    parser.add_argument(
        "--retest-survivors",
        action="store_true",
        help="keep the last run's kills and test only its survivors again (after adding tests; a changed "
        "function's new mutants stay unchecked, and count as survivors, until a full run)",
    )
    parser.add_argument("patterns", nargs="*", help="re-test only mutants matching these mutmut names (with --keep)")
    args = parser.parse_args(argv)

    groups = [g for g in load_groups() if not args.group or g.name in args.group]
    if not groups:
        parser.error(f"--group: none of {args.group} is in [tool.mutation.groups]")
    WORK.mkdir(parents=True, exist_ok=True)
    if not args.report_only and not run_all(groups, args):
        return 1
    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
