"""``python -m bench``: see bench/README.md."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from bench import batch, catalog
from bench.run import FULL_SIZES, QUICK_SIZES, Options, run


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    if len(sizes) < 2 or sizes[0] < 1:
        raise argparse.ArgumentTypeError("give at least two positive sizes, e.g. 1,10,100")
    return sizes


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip() and int(part) > 0)


def _catalog(args: argparse.Namespace, quick: bool) -> catalog.Options | None:
    if args.no_catalog:
        return None
    defaults = catalog.Options()
    dry_runs = args.catalog_dry_runs if args.catalog_dry_runs is not None else ((50,) if quick else None)
    return catalog.Options(
        assets=args.catalog_assets if args.catalog_assets is not None else (2_000 if quick else defaults.assets),
        dry_run_sizes=dry_runs if dry_runs is not None else defaults.dry_run_sizes,
    )


def _outputs(text: str) -> tuple[bool, ...]:
    return {"on": (True,), "off": (False,), "both": (True, False)}[text]


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("run", help="run the benchmark and print (or --write) the markdown report")
    bench.add_argument("--write", type=Path, help="write the report here (e.g. docs/benchmark.md)")
    bench.add_argument("--quick", action="store_true", help="smoke run: N=1,10, one pair, 3 imports, no limits")
    bench.add_argument("--sizes", type=_sizes, help=f"N values (default {','.join(map(str, FULL_SIZES))})")
    bench.add_argument("--reps", type=int, help="alternating pairs per N (default 5, at least 5 for real figures)")
    bench.add_argument("--outputs", choices=("on", "off", "both"), default="both", help="outputs settings to time")
    bench.add_argument("--minutes", type=float, default=10.0, help="T, the run's duration for the cost model")
    bench.add_argument("--no-limits", action="store_true", help="skip the limits search")
    bench.add_argument("--no-batch", action="store_true", help="skip the MetadataGenerationBatch section")
    bench.add_argument("--no-catalog", action="store_true", help="skip the catalog section (issue 15)")
    bench.add_argument(
        "--catalog-only",
        action="store_true",
        help="run only the catalog section (write it to docs/benchmark-catalog.md)",
    )
    bench.add_argument("--catalog-assets", type=int, help="N of the worker's function-level steps (default 100000)")
    bench.add_argument(
        "--catalog-dry-runs", type=_counts, help="assets of each catalog dry run, e.g. 2000,10000 (0: none)"
    )
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quick = bool(args.quick)
    options = Options(
        sizes=args.sizes or (QUICK_SIZES if quick else FULL_SIZES),
        repetitions=args.reps or (1 if quick else 5),
        timed_outputs=(True,) if quick and args.outputs == "both" else _outputs(args.outputs),
        import_repetitions=3 if quick else 15,
        minutes=args.minutes,
        limits=not (quick or args.no_limits),
        unvalidated_sizes=() if quick else (min(args.sizes or FULL_SIZES), max(args.sizes or FULL_SIZES)),
        warmup=not quick,
        batch_sizes=() if args.no_batch else ((10, 1_000) if quick else batch.SYNTH_SIZES),
        batch_repetitions=1 if quick else 3,
        dry_run_assets=0 if args.no_batch else (100 if quick else batch.DryRunSettings.assets),
        catalog=_catalog(args, quick),
        catalog_only=bool(args.catalog_only),
    )
    from bench.report import render  # noqa: PLC0415 - keeps --help instant

    results = run(options)
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    if options.catalog_only:
        from bench import catalog_report  # noqa: PLC0415

        assert results.catalog is not None, "--catalog-only with --no-catalog measures nothing"
        results.catalog.seconds = results.seconds
        text = catalog_report.render(results.catalog, command)
    else:
        text = render(results, command)
    if args.write:
        target = Path(args.write)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, target)
        print(f"wrote {target} ({results.seconds / 60:.1f} min)", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
