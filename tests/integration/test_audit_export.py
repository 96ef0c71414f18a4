"""Audit exports: written, copied elsewhere and verified offline; one changed byte is detected; Avro files are
standard object container files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastavro import reader
from sqlalchemy import Engine

from services.audit.checkpoints import write_checkpoint
from services.audit.export import Selection, export, verify_export
from services.kernel.codec import AvroCodec
from services.kernel.store import EventStore
from tests.factories import guidance_issued, org_unit_registered

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    built = EventStore(engine, codec, "p46")
    for i in range(5):
        built.append(f"unit-{i}", 0, [org_unit_registered(f"U-{i:05d}")])
    built.append("guidance-1", 0, [guidance_issued()])
    write_checkpoint(built, KEY)
    return built


@pytest.mark.parametrize("fmt", ["avro", "csv", "jsonl"])
def test_export_verifies_after_a_copy_and_a_changed_byte_is_found(store: EventStore, tmp_path: Path, fmt: str) -> None:
    manifest = export(store, Selection(), tmp_path / "out", fmt, KEY)
    assert manifest["count"] == 7 and manifest["chain_head"]["position"] == 7
    assert manifest["counts"] == {"CheckpointSigned": 1, "GuidanceIssued": 1, "OrgUnitRegistered": 5}
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(tmp_path / "out", copy)
    check = verify_export(copy, KEY.public_key())
    assert check.ok, check.errors
    assert (check.events, check.links, check.signed_by is not None) == (7, 6, True)
    target = copy / f"events.{fmt}"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    broken = verify_export(copy, KEY.public_key())
    assert not broken.ok and "sha256" in broken.errors[0]


def test_changed_manifest_breaks_its_signature(store: EventStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(store, Selection(), out, "jsonl", KEY)
    text = (out / "manifest.json").read_text().replace('"count": 7', '"count": 6')
    (out / "manifest.json").write_text(text)
    errors = verify_export(out, KEY.public_key()).errors
    assert any("manifest.sig" in e for e in errors) and any("counts" in e for e in errors)


def test_avro_files_are_object_container_files_with_their_schemas(store: EventStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(store, Selection(subtree="VN/31", to_position=5), out, "avro")
    with (out / "OrgUnitRegistered.avro").open("rb") as handle:
        avro = reader(handle)
        units = [r["unit"]["code"] for r in avro]
        assert avro.writer_schema["name"] == "vn.thidua.events.OrgUnitRegistered"
    assert units == [f"U-{i:05d}" for i in range(5)]
    assert not (out / "GuidanceIssued.avro").exists()  # outside the subtree
    assert verify_export(out).ok
