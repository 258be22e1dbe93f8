"""Lazy access to botocore, which ``constructs_lib.local`` needs but the construct library does not.

The construct's runtime dependencies are only aws-cdk-lib and constructs; botocore arrives with
boto3 (the ``local`` extra, or the ``dev`` extra in this repository). Importing this package
never fails: the first function that needs botocore asks for it here and gets a clear message.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = (
    "constructs_lib.local needs boto3/botocore (the DataZone service model, and the handler's own "
    "client): pip install 'datazone-metadata-generation-constructs[local]' (or boto3>=1.44)"
)


class MissingDependencyError(RuntimeError):
    """botocore (boto3) is not installed."""


def botocore_module(name: str = "botocore") -> ModuleType:
    """Import ``name`` (``botocore`` or one of its submodules) or explain how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - exercised only without boto3
        raise MissingDependencyError(f"{INSTALL_HINT} ({error})") from error
