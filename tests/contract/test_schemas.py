"""Contracts: every schema round-trips through the codec; the catalog is compatible with its history."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fastavro.utils import generate_many
from typer.testing import CliRunner

from services.cli.main import app
from services.kernel.codec import MAGIC, AvroCodec
from services.kernel.codegen import render_contracts
from services.kernel.compat import can_read, check_catalog
from services.kernel.errors import DecodeError, UnknownSchema
from services.kernel.schemas import SchemaCatalog, SchemaVersion

pytestmark = pytest.mark.contract


def test_catalog_has_the_first_events(catalog: SchemaCatalog) -> None:
    names = {v.name for v in catalog.events()}
    assert names == {
        "OrgUnitRegistered",
        "EmulationBlocRegistered",
        "PlanIssued",
        "PlanAmended",
        "CriteriaRegistered",
        "TargetsRegistered",
        "ReportSubmitted",
        "ReportReviewed",
        "AwardProposed",
        "AwardForwarded",
        "AwardDecided",
        "GuidanceIssued",
        "PlanNumberAssigned",
        "AwardReturned",
        "CheckpointSigned",
        "CheckpointWitnessed",
        "CheckpointWitnessRefused",
        "SigningKeyActivated",
        "SigningKeyRevoked",
    }
    for version in catalog:
        assert version.schema.get("doc"), f"{version.fullname} has no doc"


@pytest.mark.parametrize("name", sorted(v.fullname for v in SchemaCatalog.load()))
def test_codec_round_trip_of_random_data(codec: AvroCodec, name: str) -> None:
    version = codec.catalog.current(name)
    for datum in generate_many(version.parsed, 25):
        data = codec.encode(name, datum)
        assert data[:2] == MAGIC and data[2:10] == version.fingerprint
        decoded = codec.decode(data)
        assert decoded.fullname == name and codec.encode(name, decoded.datum) == data


def test_fingerprint_is_crc64_avro_little_endian() -> None:
    # Spec example checked with Avro Java's SchemaNormalization.parsingFingerprint64("int") = 0x7275d51a3f395c8f
    assert SchemaVersion("int", "int", None).fingerprint.hex() == "8f5c393f1ad57572"  # type: ignore[arg-type]


def test_decode_errors_are_explicit(codec: AvroCodec) -> None:
    with pytest.raises(DecodeError):
        codec.decode(b"garbage")
    with pytest.raises(UnknownSchema) as raised:
        codec.decode(MAGIC + bytes(8) + b"\x00")
    assert raised.value.code == "UNKNOWN_SCHEMA"
    valid = codec.encode("vn.thidua.common.IndicatorValue", {"indicator_code": "T1", "value": 1.5, "note": None})
    with pytest.raises(DecodeError):
        codec.decode(valid[:-3])


def test_repository_schemas_are_compatible_and_frozen(catalog: SchemaCatalog) -> None:
    reports = check_catalog(catalog)
    assert all(r.ok for r in reports), [r.errors for r in reports if not r.ok]
    assert all(r.frozen for r in reports), [r.fullname for r in reports if not r.frozen]


def test_generated_contracts_are_up_to_date(catalog: SchemaCatalog) -> None:
    generated = Path(__file__).resolve().parents[2] / "services" / "kernel" / "contracts.py"
    assert generated.read_text(encoding="utf-8") == render_contracts(catalog)


def _evolve(schema: dict, change) -> dict:  # type: ignore[no-untyped-def, type-arg]
    new = copy.deepcopy(schema)
    change(new)
    return new


def test_compatible_evolution_reads_both_ways(catalog: SchemaCatalog) -> None:
    old = catalog.event("ReportReviewed").schema
    new = _evolve(old, lambda s: s["fields"].append({"name": "score", "type": ["null", "int"], "default": None}))
    assert can_read(new, old) == [] and can_read(old, new) == []
    promoted = _evolve(old, lambda s: s["fields"][2].update(type="long"))  # version: int -> long
    assert can_read(promoted, old) == []
    assert can_read(old, promoted)  # but an int reader cannot read long data


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda s: s["fields"].append({"name": "score", "type": "int"}), "no default"),
        (lambda s: s["fields"].pop(1), "no default"),
        (lambda s: s["fields"][1].update(type="int"), "cannot read writer type"),
        (
            lambda s: s["fields"][0]["type"]["fields"][6]["type"]["fields"][2]["type"].update(name="OrgTier"),
            "cannot read",
        ),
    ],
)
def test_breaking_changes_are_detected(catalog: SchemaCatalog, change, fragment: str) -> None:  # type: ignore[no-untyped-def]
    old = catalog.event("ReportReviewed").schema
    new = _evolve(old, change)
    errors = can_read(new, old) + can_read(old, new)
    assert errors and any(fragment in e for e in errors), errors


def test_enum_without_default_cannot_drop_symbols() -> None:
    writer = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    reader = {"type": "enum", "name": "E", "symbols": ["A"]}
    assert can_read(reader, writer) and not can_read(writer, reader)
    assert not can_read({**reader, "default": "A"}, writer)


def test_cli_check_fails_on_a_breaking_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = Path(__file__).resolve().parents[2] / "schemas"
    for path in source.rglob("*.avsc"):
        target = tmp_path / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    monkeypatch.setenv("THIDUA_SCHEMAS_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["schemas", "check"]).exit_code == 0
    name = tmp_path / "vn.thidua.events.ReportReviewed.avsc"
    schema = json.loads(name.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "score", "type": "int", "doc": "breaking: no default"})
    name.write_text(json.dumps(schema), encoding="utf-8")
    result = runner.invoke(app, ["schemas", "check"])
    assert result.exit_code == 1 and "BREAKING" in result.output
