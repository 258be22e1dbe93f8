"""Lazy access to botocore, which ``constructs_lib.local`` needs but the construct library does not.

The construct's runtime dependencies are only aws-cdk-lib and constructs; botocore arrives with
boto3 (the ``local`` extra, or the ``dev`` extra in this repository). Importing this package
never fails: the first function that needs botocore asks for it here and gets a clear message.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from pathlib import Path
from types import ModuleType

DISTRIBUTION = "datazone-metadata-generation-constructs"


class MissingDependencyError(RuntimeError):
    """botocore (boto3) is not installed."""


def _source() -> str | None:
    """Where this copy of the package was installed from, in a form ``pip install`` accepts.

    The distribution is not on PyPI, so its name alone would not install; the source it came from
    (PEP 610's ``direct_url.json``), or the checkout it runs from, does.
    """
    try:
        direct = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        direct = None
    if direct:
        origin = json.loads(direct)
        url = str(origin.get("url", ""))
        vcs = origin.get("vcs_info")
        if vcs:
            commit = vcs.get("commit_id")
            return f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
        if url.startswith("file://"):
            return url.removeprefix("file://")
    checkout = Path(__file__).resolve().parents[2]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text():
        return str(checkout)
    return None


def install_hint() -> str:
    source = _source() or "<path-or-git-url-of-the-datazone-metadata-generation-constructs-repository>"
    return (
        "constructs_lib.local needs boto3/botocore (the DataZone service model, and the handler's own "
        f"client): pip install \"{source}[local]\" (or just: pip install 'boto3>=1.44')"
    )


def botocore_module(name: str = "botocore") -> ModuleType:
    """Import ``name`` (``botocore`` or one of its submodules) or explain how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - exercised only without boto3
        raise MissingDependencyError(f"{install_hint()} ({error})") from error
