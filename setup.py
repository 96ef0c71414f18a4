"""Build hook (everything else is in pyproject.toml): the Avro contracts ship inside the wheel.

The contracts live in ``schemas/`` at the top of the repository, where contributors, the Java interop tool and
``thidua schemas freeze`` expect them; an installed node reads its copy at ``services/kernel/avro_schemas/``
(``services.kernel.schemas.DEFAULT_SCHEMAS_DIR``). A wheel or a non-editable install gets that copy; an editable
install reads ``schemas/`` in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGED = Path("services", "kernel", "avro_schemas")


class BuildPyWithSchemas(build_py):
    """``build_py`` plus a copy of ``schemas/`` (every ``.avsc`` and the README) into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "schemas", target, ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithSchemas})
