"""The layers of ../shared/DESIGN.md § 11 hold: import-linter checks the contracts of pyproject.toml on the tree, and
fails on a copy of the tree with one upward import (or one import of the benchmarks) added; every module directly
under ``services/`` is named in a layer, so a new one cannot slip past the check."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import services

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "projections", "bench", "tests")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def contracts() -> list[dict[str, object]]:
    """The import-linter contracts of pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["tool"]["importlinter"]["contracts"])


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the tree at ``root`` (its pyproject.toml, its packages first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _python_only(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or not (n.endswith(".py") or Path(folder, n).is_dir())]


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The product, benchmarks and tests (Python files only) and pyproject.toml, copied under ``tmp_path``."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_its_layers() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 3 kept, 0 broken." in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a read model taking its labels from the HTTP API again
        ("projections/plans/views.py", "from services.api import problems", "projections is not allowed to import"),
        # the kernel reaching up into a bounded context
        ("services/kernel/store.py", "from services.awards import handlers", "services.kernel is not allowed to"),
        # a domain context reaching up into a read model
        ("services/reporting/model.py", "import projections.rollup.views", "services.reporting is not allowed to"),
        # webhooks importing the API they sit below
        ("services/webhooks/signing.py", "import services.api.refusals", "services.webhooks is not allowed to"),
        # a read model calling a command handler instead of a pure rule
        ("projections/guidance/offers.py", "from services.awards import handlers", "projections is not allowed to"),
        # the product importing a benchmark rig
        ("services/sync/service.py", "from bench import harness", "services is not allowed to import bench"),
    ],
)
def test_one_new_upward_import_fails_the_check(tree_copy: Path, module: str, line: str, broken: str) -> None:
    assert lint_imports(tree_copy).returncode == 0  # the copy itself is clean
    target = tree_copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # injected\n", encoding="utf-8")
    run = lint_imports(tree_copy)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 kept, 1 broken" in run.stdout and broken in run.stdout, run.stdout


def test_every_module_under_services_is_in_a_layer() -> None:
    (layers,) = [c["layers"] for c in contracts() if c["type"] == "layers"]
    named = {m.strip() for layer in layers for m in str(layer).replace("|", ":").split(":")}
    found = {f"services.{m.name}" for m in pkgutil.iter_modules(services.__path__)}
    assert len(found) > 15 and {"services.kernel", "services.cli", "services.domain"} <= found
    assert sorted(found - named) == [], "name the new module in a layer of [tool.importlinter] (pyproject.toml)"
    assert {"projections", "services.kernel", "services.api", "services.web"} <= named


def test_the_product_may_not_import_benchmarks_or_tests() -> None:
    (forbidden,) = [c for c in contracts() if c["id"] == "product-self-contained"]
    assert forbidden["source_modules"] == ["services", "projections"]
    assert forbidden["forbidden_modules"] == ["bench", "tests"]
