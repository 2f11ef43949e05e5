"""Puts schemas/ and templates/ into the wheel as hub/_data/, where an installed hub finds them.

They stay at the top of the checkout (the layout is fixed); pyproject.toml holds everything else.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = ("schemas", "templates")


class BuildWithData(build_py):
    """build_py, then a copy of schemas/ and templates/ under hub/_data in the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads them from the checkout (hub/settings.py)
        target = Path(self.build_lib) / "hub" / "_data"
        for name in DATA:
            shutil.copytree(ROOT / name, target / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithData})
