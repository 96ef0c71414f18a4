"""Command groups other packages add to ``thidua`` through the ``thidua.commands`` entry points: listed without
being imported, loaded when called, and a module of their extra that is missing said in two lines."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.cli.kit import COMMANDS_GROUP, LazyGroup
from services.cli.main import app

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

LISTED_NOT_IMPORTED = """
import sys
from typer.testing import CliRunner
from services.cli.main import app
result = CliRunner().invoke(app, ["--help"])
assert result.exit_code == 0, result.output
assert "bench" in result.output, result.output
loaded = sorted(m for m in sys.modules if m == "bench" or m.startswith("bench."))
assert not loaded, f"thidua --help imported {loaded}"
"""


def test_bench_is_registered_by_an_entry_point_not_by_the_product() -> None:
    (bench,) = [e for e in entry_points(group=COMMANDS_GROUP) if e.name == "bench"]
    assert bench.module == "bench.cli" and bench.extras == ["bench"]
    product = [p for p in (ROOT / "services").rglob("*.py") if "bench" in _imports(p)]
    assert product == [], f"product modules import bench: {product}"


def _imports(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_thidua_help_lists_bench_without_importing_it() -> None:
    done = subprocess.run([sys.executable, "-c", LISTED_NOT_IMPORTED], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_group_help_is_its_own_once_asked_for() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0, result.output
    assert "Benchmarks" in result.output and "append" in result.output


def test_a_missing_module_of_the_extra_is_two_lines_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_matplotlib(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_matplotlib)
    result = CliRunner().invoke(app, ["bench", "append", "--plot", "chart.png"])
    assert result.exit_code == 3, result.output
    assert "pip install 'thidua-sync[bench]'" in result.stderr
    assert result.stderr.startswith("Lỗi: Lệnh `thidua bench` cần gói tùy chọn bench (thiếu matplotlib)")
    assert "Error [MISSING_EXTRA]" in result.stderr and "Traceback" not in result.stderr


def test_a_module_outside_the_extra_is_not_blamed_on_it() -> None:
    (bench,) = [e for e in entry_points(group=COMMANDS_GROUP) if e.name == "bench"]
    group = LazyGroup(bench)
    assert group.missing_extra(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None
    found = group.missing_extra(ModuleNotFoundError("No module named 'eventsourcing'", name="eventsourcing.postgres"))
    assert found is not None and "thidua-sync[bench]" in found.message_en


def test_a_missing_plugin_module_says_the_installation_lacks_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    (bench,) = [e for e in entry_points(group=COMMANDS_GROUP) if e.name == "bench"]
    ghost = type(bench)(name="ghost", value="thidua_ghost_plugin.cli:app", group=COMMANDS_GROUP)
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    root.add_command(LazyGroup(ghost))
    try:
        with pytest.raises(SystemExit) as exited:
            root.main(["ghost", "--help"], prog_name="thidua")
    finally:
        root.commands.pop("ghost")
    assert exited.value.code == 3
    assert "This installation has no `thidua ghost`" in capsys.readouterr().err
