"""Schema compatibility under Avro's resolution rules (the specification's "Schema Resolution").

``can_read(reader, writer)`` answers whether data written with ``writer`` can be read with ``reader``; it
returns the reasons it cannot, each with the path where the schemas disagree. Full transitive compatibility
of a type = every pair (current, earlier version) readable in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .schemas import SchemaCatalog

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


class _Names:
    """Named types met while walking an expanded schema, so later references resolve."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def resolve(self, schema: Any, namespace: str | None) -> Any:
        if isinstance(schema, str) and schema not in PRIMITIVES:
            full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
            return self.types.get(full) or self.types[schema]
        if isinstance(schema, dict) and schema.get("type") in PRIMITIVES:
            return schema["type"]  # {"type": "long", "logicalType": ...} reads as its underlying type
        if isinstance(schema, dict) and schema.get("type") in {"record", "enum", "fixed", "error"}:
            full = _fullname(schema, namespace)
            self.types.setdefault(full, schema)
            self.types.setdefault(full.rsplit(".", 1)[-1], schema)
        return schema


def _fullname(schema: dict[str, Any], namespace: str | None) -> str:
    name = schema["name"]
    ns = schema.get("namespace", namespace)
    return name if "." in name or not ns else f"{ns}.{name}"


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    return str(schema["type"])


@dataclass
class _Checker:
    reader_names: _Names
    writer_names: _Names

    def check(
        self, reader: Any, writer: Any, path: str, rns: str | None, wns: str | None, seen: set[tuple[str, str]]
    ) -> list[str]:
        reader = self.reader_names.resolve(reader, rns)
        writer = self.writer_names.resolve(writer, wns)
        rk, wk = _kind(reader), _kind(writer)
        if wk == "union":
            return [
                e for i, b in enumerate(writer) for e in self.check(reader, b, f"{path}<union:{i}>", rns, wns, seen)
            ]
        if rk == "union":
            if any(not self.check(b, writer, path, rns, wns, set(seen)) for b in reader):
                return []
            return [f"{path}: no branch of the reader union reads writer type {wk}"]
        if rk in PRIMITIVES or wk in PRIMITIVES:
            if rk == wk or rk in PROMOTIONS.get(wk, set()):
                return []
            return [f"{path}: reader type {rk} cannot read writer type {wk}"]
        if rk != wk:
            return [f"{path}: reader type {rk} cannot read writer type {wk}"]
        errors: list[str] = getattr(self, f"_{rk}")(reader, writer, path, rns, wns, seen)
        return errors

    def _names_match(self, reader: dict[str, Any], writer: dict[str, Any], rns: str | None, wns: str | None) -> bool:
        rname, wname = _fullname(reader, rns), _fullname(writer, wns)
        aliases = set(reader.get("aliases", []))
        return rname == wname or wname in aliases or wname.rsplit(".", 1)[-1] in aliases

    def _record(self, reader, writer, path, rns, wns, seen) -> list[str]:  # type: ignore[no-untyped-def]
        if not self._names_match(reader, writer, rns, wns):
            return [f"{path}: record {_fullname(reader, rns)} cannot read record {_fullname(writer, wns)}"]
        key = (_fullname(reader, rns), _fullname(writer, wns))
        if key in seen:
            return []
        seen = seen | {key}
        rns2, wns2 = _fullname(reader, rns).rpartition(".")[0], _fullname(writer, wns).rpartition(".")[0]
        written = {f["name"]: f for f in writer["fields"]}
        errors = []
        for field in reader["fields"]:
            names = [field["name"], *field.get("aliases", [])]
            source = next((written[n] for n in names if n in written), None)
            where = f"{path}.{field['name']}"
            if source is None:
                if "default" not in field:
                    errors.append(f"{where}: field missing in writer and has no default in reader")
                continue
            errors += self.check(field["type"], source["type"], where, rns2, wns2, seen)
        return errors

    def _enum(self, reader, writer, path, rns, wns, seen) -> list[str]:  # type: ignore[no-untyped-def]
        if not self._names_match(reader, writer, rns, wns):
            return [f"{path}: enum {_fullname(reader, rns)} cannot read enum {_fullname(writer, wns)}"]
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            return [f"{path}: reader enum lacks symbols {missing} and has no default"]
        return []

    def _fixed(self, reader, writer, path, rns, wns, seen) -> list[str]:  # type: ignore[no-untyped-def]
        if not self._names_match(reader, writer, rns, wns) or reader["size"] != writer["size"]:
            return [f"{path}: fixed types differ in name or size"]
        return []

    def _array(self, reader, writer, path, rns, wns, seen) -> list[str]:  # type: ignore[no-untyped-def]
        return self.check(reader["items"], writer["items"], f"{path}[]", rns, wns, seen)

    def _map(self, reader, writer, path, rns, wns, seen) -> list[str]:  # type: ignore[no-untyped-def]
        return self.check(reader["values"], writer["values"], f"{path}{{}}", rns, wns, seen)


def can_read(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Reasons why data written with ``writer`` cannot be read with ``reader``; empty if it can."""
    checker = _Checker(_Names(), _Names())
    _register_all(reader, checker.reader_names, None)
    _register_all(writer, checker.writer_names, None)
    return checker.check(reader, writer, _fullname(reader, None), None, None, set())


def _register_all(schema: Any, names: _Names, namespace: str | None) -> None:
    """Index every named type defined anywhere in ``schema`` (definitions may follow their first use)."""
    if isinstance(schema, list):
        for branch in schema:
            _register_all(branch, names, namespace)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in {"record", "error", "enum", "fixed"}:
            names.resolve(schema, namespace)
            inner_ns = _fullname(schema, namespace).rpartition(".")[0]
            for field in schema.get("fields", []):
                _register_all(field["type"], names, inner_ns)
        elif kind == "array":
            _register_all(schema["items"], names, namespace)
        elif kind == "map":
            _register_all(schema["values"], names, namespace)


@dataclass(frozen=True)
class CompatibilityReport:
    """Result of checking one type against all its earlier versions."""

    fullname: str
    versions_checked: list[int]
    errors: list[str]
    frozen: bool  # whether the current version is in history

    @property
    def ok(self) -> bool:
        """True when the type reads and is read by every earlier version."""
        return not self.errors


def check_catalog(catalog: SchemaCatalog) -> list[CompatibilityReport]:
    """Full transitive compatibility of every current schema with every frozen version of it."""
    reports = []
    for current in catalog:
        errors: list[str] = []
        history = catalog.history(current.fullname)
        for old in history:
            errors += [f"v{old.version} cannot read current: {e}" for e in can_read(old.schema, current.schema)]
            errors += [f"current cannot read v{old.version}: {e}" for e in can_read(current.schema, old.schema)]
        frozen = any(old.fingerprint == current.fingerprint for old in history)
        reports.append(CompatibilityReport(current.fullname, [o.version or 0 for o in history], errors, frozen))
    return reports
