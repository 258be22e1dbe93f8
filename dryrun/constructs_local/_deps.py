"""What the dry run needs besides the construct library, checked before a command starts.

This distribution depends on boto3 and on the one moto release its Step Functions adapter patches;
pip installs them with it. A copy installed some other way (a vendored folder, ``--no-deps``, a
later ``pip install moto`` of another version) gets the missing or wrong module named, with the
command that installs this distribution from where it came from.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from pathlib import Path
from types import ModuleType

DISTRIBUTION = "datazone-metadata-generation-dryrun"


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
            # This distribution lives in a folder of the repository (PEP 610 "subdirectory").
            folder = origin.get("subdirectory")
            return (
                f"{vcs.get('vcs', 'git')}+{url}"
                + (f"@{commit}" if commit else "")
                + (f"#subdirectory={folder}" if folder else "")
            )
        if url.startswith("file://"):
            return url.removeprefix("file://")
    checkout = Path(__file__).resolve().parents[1]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text():
        return str(checkout)
    return None


def install_command() -> str:
    """The exact command that installs this distribution, and with it what it needs."""
    source = _source() or "<repository>/dryrun"
    return f'pip install "{source}"'


def install_hint() -> str:
    return f"constructs_local needs {_NEEDS['boto3']}: {install_command()} (or just: pip install 'boto3>=1.44')"


#: The moto release constructs_local.stepfunctions.interpreter patches (it reaches into its internals).
MOTO_VERSION = "5.2.5"
#: Imported by the batch workflow's interpreter; it pulls in moto's own extras (antlr4, jsonpath).
MOTO_INTERPRETER = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk"
_NEEDS = {
    "boto3": "boto3/botocore (the DataZone service model, and the handler's own client)",
    "moto": f"moto[stepfunctions,s3,events]=={MOTO_VERSION} (a MetadataGenerationBatch's workflow runs in moto's "
    "Step Functions interpreter; a continuous batch's events are matched by moto's EventBridge patterns)",
}


def _missing(module: str, error: ImportError) -> MissingDependencyError:
    # jsonpath-ng comes with moto's extras (its events' input paths are read with it).
    what = _NEEDS["moto" if module.partition(".")[0] in ("moto", "jsonpath_ng") else "boto3"]
    missing = error.name or module
    return MissingDependencyError(
        f"the local dry run needs {what}, and module {missing!r} is not installed: {install_command()}"
    )


def botocore_module(name: str = "botocore") -> ModuleType:
    """Import ``name`` (botocore, boto3, moto or one of their submodules) or say how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise _missing(name, error) from error


def check_local(*, batches: bool) -> None:
    """Before a local command starts anything: every module it will need is importable, else the
    missing one and the command that installs it (it used to surface mid-deploy, or as boto3)."""
    batch_modules = ("moto", MOTO_INTERPRETER, "moto.events.models", "jsonpath_ng.ext")
    for module in ("botocore.session", "boto3", *(batch_modules if batches else ())):
        botocore_module(module)
    if batches:
        version = botocore_module("moto").__version__
        if version != MOTO_VERSION:
            raise MissingDependencyError(
                f"the local dry run needs {_NEEDS['moto']}, not moto {version} (its interpreter is patched): "
                f"{install_command()}"
            )
