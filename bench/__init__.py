"""Benchmark: ``MetadataGenerationRun`` against the ``AwsCustomResource`` users would write instead.

Run ``python -m bench run --write docs/benchmark.md`` from the repository root (see bench/README.md).
Nothing here is imported by the library or collected by the default test run.
"""
