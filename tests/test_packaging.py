"""The wheel built from pyproject.toml: hub and channels, the `hub` command, no dev stack."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser

import pytest

from hub.settings import REPO_ROOT

# What a build reads; devstack/ is copied too, so that leaving it out is the build's doing.
SOURCES = ["pyproject.toml", "README.md", "hub", "channels", "devstack", "schemas", "templates"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    # Built from a copy so that the build's own folders (build/, *.egg-info) stay out of the
    # checkout; without isolation, so no download: the venv's setuptools builds it.
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}")]
    return wheel.read(path).decode("utf-8")


def test_the_wheel_holds_the_hub_and_its_channels(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for module in (
        "hub/__init__.py",
        "hub/runtime/app.py",
        "hub/cli/main.py",
        "channels/base.py",
        "channels/email/__init__.py",
        "channels/telegram/__init__.py",
    ):
        assert module in names, module


def test_the_wheel_holds_no_dev_stack(wheel: zipfile.ZipFile) -> None:
    assert [n for n in wheel.namelist() if n.startswith("devstack/")] == []
    assert "devstack" not in _dist_info(wheel, "top_level.txt").split()


def test_the_hub_command_is_an_entry_point(wheel: zipfile.ZipFile) -> None:
    entry_points = _dist_info(wheel, "entry_points.txt")
    assert "[console_scripts]" in entry_points
    assert "hub = hub.cli.main:main" in entry_points


def test_aiosmtpd_is_a_development_dependency_only(wheel: zipfile.ZipFile) -> None:
    metadata = HeaderParser().parsestr(_dist_info(wheel, "METADATA"))
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("aiosmtplib") for r in requires)  # the parse found the list
    runtime = [r for r in requires if "extra ==" not in r]
    assert [r for r in runtime if r.lower().startswith("aiosmtpd")] == []
