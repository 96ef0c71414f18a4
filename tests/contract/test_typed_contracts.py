"""The generated contract types (services/kernel/contracts.py) match schemas/, and mypy checks every use of them.

``test_generated_contracts_are_up_to_date`` (test_schemas.py) compares the module with a fresh codegen; here each
TypedDict's keys are compared with its Avro record's fields directly, and a renamed field is shown to fail
``mypy --strict`` at its uses, on a copy of the tree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from services.kernel import contracts
from services.kernel.codegen import named_types, render_contracts
from services.kernel.events import Event
from services.kernel.schemas import SchemaCatalog

pytestmark = pytest.mark.contract
ROOT = Path(__file__).resolve().parents[2]


def test_every_record_enum_and_event_has_its_type(catalog: SchemaCatalog) -> None:
    named = named_types(catalog)
    assert len(named) == len(list(catalog))  # each named type has its own file in schemas/
    for name, schema in named.items():
        if schema["type"] == "enum":
            assert get_args(getattr(contracts, name)) == tuple(schema["symbols"]), name
            continue
        is_event = schema["name"].startswith("vn.thidua.events.")
        typed = getattr(contracts, f"{name}Data" if is_event else name)
        fields = [f for f in schema["fields"] if f["name"] != "meta" or not is_event]
        annotations = {key: getattr(hint, "__forward_arg__", hint) for key, hint in typed.__annotations__.items()}
        assert list(annotations) == [f["name"] for f in fields], name
        optional = {key for key, hint in annotations.items() if hint.startswith("NotRequired[")}
        assert optional == {f["name"] for f in fields if "default" in f}, name  # the writer fills defaults
        nullable = {key for key, hint in annotations.items() if hint.removesuffix("]").endswith(" | None")}
        assert nullable == {f["name"] for f in fields if isinstance(f["type"], list) and "null" in f["type"]}, name
        if is_event:
            event_class = getattr(contracts, name)
            assert issubclass(event_class, Event) and contracts.EVENT_TYPES[name] is event_class
            assert event_class.__annotations__["data"] == f"{name}Data"


def _copy_sources(to: Path) -> None:
    """The Python sources mypy reads, the schemas and the mypy configuration."""
    for package in ("services", "projections"):
        shutil.copytree(
            ROOT / package,
            to / package,
            ignore=lambda folder, names: (
                [n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()]
                + [n for n in names if n == "__pycache__"]
            ),
        )
    shutil.copytree(ROOT / "schemas", to / "schemas", ignore=shutil.ignore_patterns("history"))
    shutil.copy(ROOT / "pyproject.toml", to / "pyproject.toml")


@pytest.mark.slow
def test_a_renamed_avro_field_fails_mypy_strict_at_its_uses(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _copy_sources(tree)
    schema_file = tree / "schemas" / "vn.thidua.events.AwardProposed.avsc"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    (field,) = [f for f in schema["fields"] if f["name"] == "nominee"]
    field["name"] = "nominated"
    schema_file.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    generated = render_contracts(SchemaCatalog.load(tree / "schemas"))
    assert "    nominated: Nominee\n" in generated and "    nominee: Nominee\n" not in generated
    (tree / "services" / "kernel" / "contracts.py").write_text(generated, encoding="utf-8")

    # the handler that writes the event, the aggregate that folds it and the read model that projects it
    uses = ["services/awards/handlers.py", "services/awards/model.py", "projections/awards/evolve.py"]
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache"), *uses],
        cwd=tree,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [line for line in run.stdout.splitlines() if ": error: " in line]
    assert run.returncode == 1 and errors, run.stdout + run.stderr
    assert all("nominee" in e or "nominated" in e for e in errors), errors  # nothing but the rename fails
    reads = {
        f"{path}:{number}"
        for path in uses[1:]
        for number, line in enumerate((tree / path).read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"""\bd\["nominee"\]""", line)
    }
    assert len(reads) == 2 and reads <= {e.split(": error: ")[0] for e in errors}, (reads, errors)
    written = [e for e in errors if e.startswith("services/awards/handlers.py:")]
    assert any('"nominated"' in e for e in written) and any('"nominee"' in e for e in written), errors
