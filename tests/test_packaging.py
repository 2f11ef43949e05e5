"""The wheel built from pyproject.toml: hub and channels, the `hub` command, no dev stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path

import pytest

from hub.settings import REPO_ROOT

# What a build reads; devstack/ is copied too, so that leaving it out is the build's doing.
SOURCES = [
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "hub",
    "channels",
    "devstack",
    "schemas",
    "templates",
]


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


# Run from the unpacked wheel, as an installed hub would: where it looks, and what it finds.
INSTALLED_LOOKUP = """
import sys
from hub.intake.schemas import SchemaCatalog
from hub.settings import Settings
settings = Settings()
catalog = SchemaCatalog(settings.schemas_dir)
print(settings.schemas_dir, settings.templates_dir, sep="\\n")
assert (settings.templates_dir / "_default").is_dir(), settings.templates_dir
"""


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


def test_an_installed_wheel_finds_its_schemas_and_templates(
    wheel: zipfile.ZipFile, tmp_path: Path
) -> None:
    names = wheel.namelist()
    assert "hub/_data/schemas/announcement.published.v1.schema.json" in names
    assert any(n.startswith("hub/_data/templates/_default/") for n in names)
    site = tmp_path / "site"
    wheel.extractall(site)
    # The unpacked wheel comes first on the path, before this checkout's editable install.
    done = subprocess.run(
        [sys.executable, "-c", INSTALLED_LOOKUP],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site), "HUB_ENV": "development"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    schemas, templates = done.stdout.split()
    assert Path(schemas) == site / "hub" / "_data" / "schemas"
    assert Path(templates) == site / "hub" / "_data" / "templates"
