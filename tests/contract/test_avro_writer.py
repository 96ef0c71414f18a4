"""The codec's compiled writers write exactly fastavro's bytes, and refuse what fastavro refuses."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from fastavro.utils import generate_many

from services.kernel.avrowriter import compile_writer, write_long
from services.kernel.codec import AvroCodec
from services.kernel.errors import SchemaViolation
from services.kernel.schemas import SchemaCatalog, SchemaVersion

pytestmark = pytest.mark.contract

ALL_VERSIONS = SchemaCatalog.load().all_versions()


def fastavro_bytes(schema: Any, datum: Any) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, parse_schema(schema, named_schemas={}), datum)
    return out.getvalue()


def compiled(schema: Any) -> Any:
    writer = compile_writer(schema)
    assert writer is not None, "the compiler should support this schema"
    return writer


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"{v.fullname}@{v.version or 'current'}")
def test_every_schema_version_compiles_to_fastavro_bytes(version: SchemaVersion) -> None:
    writer = compiled(version.schema)
    for datum in generate_many(version.parsed, 40):
        assert writer(datum) == fastavro_bytes(version.schema, datum)


RICH = {
    "type": "record",
    "name": "Rich",
    "namespace": "t.a",
    "fields": [
        {"name": "n", "type": "long"},
        {"name": "i", "type": "int", "default": 7},
        {"name": "d", "type": "double"},
        {"name": "f", "type": "float"},
        {"name": "b", "type": "boolean"},
        {"name": "s", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN"]}, "default": "GREEN"},
        {"name": "again", "type": "Colour"},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "Inner",
                "namespace": "t.b",
                "fields": [{"name": "x", "type": ["null", "string"]}],
            },
        },
        {"name": "inners", "type": {"type": "array", "items": "t.b.Inner"}, "default": []},
        {"name": "late", "type": ["string", "null"]},
        {"name": "m", "type": {"type": "map", "values": ["null", "double"]}, "default": {}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "on", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
        {"name": "nothing", "type": "null"},
        {"name": "uuid", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "oi", "type": ["null", "int"], "default": None},
        {"name": "ol", "type": ["null", "long"], "default": None},
        {"name": "od", "type": ["null", "double"], "default": None},
        {"name": "ob", "type": ["null", "boolean"], "default": None},
        {"name": "os", "type": ["null", "string"], "default": None},
        {"name": "oa", "type": ["null", {"type": "array", "items": "long"}], "default": None},
        {"name": "om", "type": ["null", {"type": "map", "values": "string"}], "default": None},
        {"name": "orec", "type": ["null", "t.b.Inner"], "default": None},
        {"name": "oe", "type": ["null", "Colour"], "default": None},
    ],
}
DAY = datetime(2026, 5, 4, 8, 30, 0, 123456, tzinfo=UTC)
FULL = {
    "n": -(2**63),
    "i": 2**31 - 1,
    "d": 1.5,
    "f": 0.25,
    "b": True,
    "s": "Thi đua khen thưởng " * 5,
    "e": "RED",
    "again": "GREEN",
    "inner": {"x": "y"},
    "inners": [{"x": None}] * 70,
    "late": None,
    "m": {"a": 1.0, "b": None},
    "at": DAY,
    "on": date(2030, 12, 31),
    "nothing": None,
    "uuid": "0d6f1c1e-7d0b-4a4c-9a4e-6b1f0f5c9b2a",
}
EDGES = [
    FULL,
    {**FULL, "n": 2**63 - 1, "d": 3, "f": "NaN", "b": 0, "late": "x", "on": None, "at": 1_700_000_000_000_000},
    {k: v for k, v in FULL.items() if k not in ("i", "e", "inners", "m", "late", "on")},  # defaults and nulls
    *({**FULL, "n": n} for n in (0, 1, -1, 63, 64, -64, -65, 2**31, -(2**31) - 1, 10**15)),
]


@pytest.mark.parametrize("datum", EDGES)
def test_edge_values_give_fastavro_bytes(datum: dict[str, Any]) -> None:
    assert compiled(RICH)(datum) == fastavro_bytes(RICH, datum)


def test_named_types_resolve_where_they_were_defined() -> None:
    inner = {
        "type": "record",
        "name": "In",
        "fields": [
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
            {"name": "again", "type": "E"},
        ],
    }
    other = {"type": "record", "name": "Other", "namespace": "y", "fields": [{"name": "in", "type": "x.In"}]}
    fields = [{"name": "first", "type": inner}, {"name": "other", "type": other}, {"name": "short", "type": "In"}]
    schema = {"type": "record", "name": "Outer", "namespace": "x", "fields": fields}
    one, two = {"e": "A", "again": "B"}, {"e": "B", "again": "A"}
    datum = {"first": one, "other": {"in": two}, "short": one}
    assert compiled(schema)(datum) == fastavro_bytes(schema, datum)


def test_long_is_zigzag_varint() -> None:
    assert [write_long(n) for n in (0, -1, 1, -64, 64)] == [b"\x00", b"\x01", b"\x02", b"\x7f", b"\x80\x01"]
    with pytest.raises(OverflowError):
        write_long(2**63)


ODD = [
    1.5,
    -2.5,
    True,
    0,
    "1",
    "NaN",
    None,
    2**31,
    -(2**31) - 1,
    2**63,
    -(2**63) - 1,
    Decimal("2.5"),
    b"x",
    [],
    ["a"],
    [1, 2],
    {},
    {"x": "y"},
    {"x": 3},
    {1: "a"},
    ("a",),
    "RED",
    "BLUE",
    DAY,
    DAY.date(),
]


def outcome(write: Any, datum: Any) -> tuple[str, Any]:
    try:
        return "bytes", write(datum)
    except Exception as exc:  # noqa: BLE001 - which exception differs between writers; that one raises matters
        return "refused", type(exc).__name__


@pytest.mark.parametrize("field", [f["name"] for f in RICH["fields"]])
def test_odd_values_are_written_or_refused_as_fastavro_does(field: str) -> None:
    writer = compiled(RICH)
    for value in ODD:
        datum = {**FULL, field: value}
        ours, theirs = outcome(writer, datum), outcome(lambda d: fastavro_bytes(RICH, d), datum)
        assert ours[0] == theirs[0] and (ours[0] == "refused" or ours == theirs), (value, ours, theirs)


def test_missing_required_field_is_refused_by_both() -> None:
    datum = {k: v for k, v in FULL.items() if k != "s"}
    with pytest.raises(Exception):  # noqa: B017, PT011 - fastavro's own error for a missing field
        fastavro_bytes(RICH, datum)
    with pytest.raises(KeyError):
        compiled(RICH)(datum)


def test_codec_wraps_every_refusal_as_schema_violation(codec: AvroCodec) -> None:
    version = codec.catalog.current("vn.thidua.common.IndicatorValue")
    for bad in ({"indicator_code": 1, "value": 1.0}, {"indicator_code": "T1", "value": "x"}, {"value": 1.0}):
        with pytest.raises(SchemaViolation):
            codec.encode_with(version, bad)


@pytest.mark.parametrize(
    "schema",
    [
        ["string", "long"],
        {"type": "record", "name": "R", "fields": [{"name": "u", "type": ["null", "string", "long"]}]},
        {"type": "record", "name": "R", "fields": [{"name": "b", "type": "bytes"}]},
        {"type": "fixed", "name": "F", "size": 4},
        {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]},
        {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
    ],
)
def test_unsupported_schemas_are_left_to_fastavro(schema: Any) -> None:
    assert compile_writer(schema) is None


def test_codec_falls_back_to_fastavro_for_unsupported_schemas(codec: AvroCodec) -> None:
    schema = {"type": "record", "name": "U", "namespace": "t", "fields": [{"name": "u", "type": ["string", "long"]}]}
    version = SchemaVersion("t.U", schema, None)
    assert codec.encode_with(version, {"u": 5})[10:] == fastavro_bytes(schema, {"u": 5})
