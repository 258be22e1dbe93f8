"""Two distributions from this repository, installed as users install them.

The construct library's wheel holds the constructs and the Lambda handler and nothing else; the
local dry run (``dryrun/``) is a distribution of its own that depends on the library, never the
other way round. Both are built from the tracked files only, so nothing untracked can make it pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY = "datazone_metadata_generation_constructs"
DRYRUN = "datazone_metadata_generation_dryrun"


def _tracked_copy(target: Path) -> Path:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True).stdout
    for name in tracked.splitlines():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_symlink():  # constructs_lib/_handler: git keeps it as a link
            (target / name).symlink_to(os.readlink(REPO / name))
        elif (REPO / name).is_file():
            shutil.copy2(REPO / name, target / name)
    return target


def _pip(python: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )


def _metadata(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        paths = [n for n in archive.namelist() if n.endswith(f".dist-info/{name}")]
        return archive.read(paths[0]).decode() if paths else ""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("distributions")
    source = _tracked_copy(root / "source")
    out = root / "wheels"
    python = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "python"
    for folder in (source, source / "dryrun"):
        _pip(python, "wheel", "--quiet", "--no-deps", "--wheel-dir", out, folder)
    found = {w.name.split("-")[0]: w for w in out.glob("*.whl")}
    assert set(found) == {LIBRARY, DRYRUN}
    return found


@pytest.mark.slow
def test_the_library_wheel_holds_the_constructs_and_the_handler_only(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels[LIBRARY]) as archive:
        packages = {n.split("/")[0] for n in archive.namelist() if not n.split("/")[0].endswith(".dist-info")}
        modules = [n for n in archive.namelist() if n.endswith(".py")]
    assert packages == {"constructs_lib"}
    assert not [m for m in modules if "/local/" in m or "moto" in m]
    assert "constructs_lib/_handler/index.py" in modules
    metadata = _metadata(wheels[LIBRARY], "METADATA").splitlines()
    requires = [line for line in metadata if line.startswith("Requires-Dist")]
    assert not [r for r in requires if "moto" in r and "extra ==" not in r]
    assert not [r for r in requires if 'extra == "local"' in r]
    assert "constructs-local" not in _metadata(wheels[LIBRARY], "entry_points.txt")


@pytest.mark.slow
def test_the_dry_run_wheel_holds_the_emulator_and_depends_on_the_library(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels[DRYRUN]) as archive:
        names = set(archive.namelist())
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"constructs_local"}
    for module in ("datazone/models.py", "datazone/responses.py", "datazone/urls.py", "datazone/exceptions.py"):
        assert f"constructs_local/{module}" in names
    assert "constructs_local/cloudformation/replay.py" in names
    metadata = _metadata(wheels[DRYRUN], "METADATA")
    assert "Requires-Dist: datazone-metadata-generation-constructs" in metadata
    assert "Requires-Dist: moto[events,s3,stepfunctions]==5.2.5" in metadata
    assert "constructs-local = constructs_local.cli:main" in _metadata(wheels[DRYRUN], "entry_points.txt")


@pytest.mark.slow
def test_installed_as_users_install_them(tmp_path: Path, wheels: dict[str, Path]) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, *code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    _pip(python, "install", "--quiet", wheels[LIBRARY])
    assert run("-c", "import constructs_lib._handler.contract").returncode == 0
    for emulator in ("constructs_local", "constructs_lib.local", "moto"):
        assert run("-c", f"import {emulator}").returncode != 0, emulator
    assert not (env_dir / "bin" / "constructs-local").exists()

    # The library comes from the wheel next to it: it is not on PyPI.
    _pip(python, "install", "--quiet", "--find-links", wheels[LIBRARY].parent, wheels[DRYRUN])
    done = subprocess.run(
        [env_dir / "bin" / "constructs-local", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "deploy" in done.stdout
    both = "import constructs_lib, constructs_local; print(constructs_lib.__version__, constructs_local.__version__)"
    versions = run("-c", both)
    library_version, dryrun_version = versions.stdout.split()
    assert library_version == dryrun_version
