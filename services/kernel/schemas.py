"""The schema catalog: every Avro contract in ``schemas/`` and its frozen history.

``schemas/<namespace>.<Name>.avsc`` holds the current version of each named type (named types used by
other files are resolved by fastavro's ``load_schema``). ``schemas/history/<fullname>/v<N>.avsc`` holds
every released version, self-contained, so the codec can read anything ever written and the compatibility
check can compare the current version with all earlier ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from fastavro.schema import load_schema, parse_schema, to_parsing_canonical_form

from .errors import InvalidSetting

EVENT_NAMESPACE = "vn.thidua.events"
_PACKAGED_SCHEMAS = Path(__file__).resolve().parent / "avro_schemas"  # an installed wheel (setup.py copies them)
_CHECKOUT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"  # a source checkout (editable install)
DEFAULT_SCHEMAS_DIR = _PACKAGED_SCHEMAS if _PACKAGED_SCHEMAS.is_dir() else _CHECKOUT_SCHEMAS
_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")

_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO (Rabin) fingerprint of ``data``, as in the Avro specification."""
    fp = _CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def fingerprint(canonical_form: str) -> bytes:
    """The 8 fingerprint bytes of a schema, little-endian, as single-object encoding writes them."""
    return crc64_avro(canonical_form.encode("utf-8")).to_bytes(8, "little")


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a named Avro type: its full JSON, canonical form and fingerprint."""

    fullname: str
    schema: dict[str, Any]
    version: int | None  # None: the working copy in schemas/, not yet frozen in history

    @cached_property
    def canonical_form(self) -> str:
        """Parsing Canonical Form (the text the fingerprint is computed over)."""
        return str(to_parsing_canonical_form(self.schema))

    @cached_property
    def fingerprint(self) -> bytes:
        """CRC-64-AVRO fingerprint, 8 bytes little-endian."""
        return fingerprint(self.canonical_form)

    @cached_property
    def parsed(self) -> Any:
        """The schema parsed by fastavro, ready for the reader and writer."""
        return parse_schema(self.schema, named_schemas={})

    @property
    def name(self) -> str:
        """Short name, e.g. ``PlanIssued``."""
        return self.fullname.rsplit(".", 1)[-1]

    @property
    def is_event(self) -> bool:
        """Whether this type is an event (namespace ``vn.thidua.events``)."""
        return self.fullname.startswith(EVENT_NAMESPACE + ".")

    def to_json(self) -> str:
        """Self-contained schema JSON (named types inlined), readable by any Avro implementation."""
        return json.dumps(self.schema, ensure_ascii=False, indent=2)


class SchemaCatalog:
    """All current schemas and their history, indexed by full name and by fingerprint."""

    def __init__(self, current: dict[str, SchemaVersion], history: dict[str, list[SchemaVersion]]) -> None:
        self._current = current
        self._history = history
        self._by_fp: dict[bytes, SchemaVersion] = {}
        for version in [*current.values(), *(v for vs in history.values() for v in vs)]:
            self._by_fp.setdefault(version.fingerprint, version)
        self._by_event_name = {v.name: v for v in current.values() if v.is_event}

    @classmethod
    def load(cls, directory: Path = DEFAULT_SCHEMAS_DIR) -> SchemaCatalog:
        """Load ``directory/*.avsc`` and ``directory/history/<fullname>/v<N>.avsc``."""
        files = sorted(directory.glob("*.avsc"))
        if not files:
            raise _no_contracts(directory)
        current = {}
        for path in files:
            schema = _expanded(load_schema(str(path), _write_hint=False))
            fullname = _fullname(schema)
            if path.name != f"{fullname}.avsc":
                raise ValueError(f"{path.name} must be named {fullname}.avsc")
            current[fullname] = SchemaVersion(fullname, schema, None)
        history: dict[str, list[SchemaVersion]] = {}
        for folder in sorted((directory / "history").glob("*")):
            versions = []
            for path in folder.glob("v*.avsc"):
                match = _VERSION_FILE.match(path.name)
                if match:
                    schema = json.loads(path.read_text(encoding="utf-8"))
                    versions.append(SchemaVersion(folder.name, schema, int(match.group(1))))
            history[folder.name] = sorted(versions, key=lambda v: v.version or 0)
        return cls(current, history)

    def current(self, fullname: str) -> SchemaVersion:
        """The current version of a named type."""
        return self._current[fullname]

    def event(self, name: str) -> SchemaVersion:
        """The current version of an event type, by short name (``PlanIssued``)."""
        return self._by_event_name[name]

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        """Any version (current or historical) with this fingerprint."""
        return self._by_fp.get(fp)

    def history(self, fullname: str) -> list[SchemaVersion]:
        """Frozen versions of a type, oldest first."""
        return list(self._history.get(fullname, []))

    def __iter__(self) -> Iterator[SchemaVersion]:
        return iter(self._current.values())

    def events(self) -> list[SchemaVersion]:
        """Current versions of every event type."""
        return [v for v in self._current.values() if v.is_event]

    def all_versions(self) -> list[SchemaVersion]:
        """Every distinct version known, current and historical (one per fingerprint)."""
        return list(self._by_fp.values())


def _no_contracts(directory: Path) -> InvalidSetting:
    state_vi, state_en = (
        ("không có tệp .avsc nào", "holds no .avsc file") if directory.is_dir() else ("không tồn tại", "does not exist")
    )
    return InvalidSetting(
        f"Thư mục lược đồ Avro {directory} {state_vi} (THIDUA_SCHEMAS_DIR): bỏ biến này để dùng lược đồ đi kèm "
        "gói, hoặc trỏ nó tới thư mục schemas/ của mã nguồn.",
        f"The Avro schemas folder {directory} {state_en} (THIDUA_SCHEMAS_DIR): unset it to use the schemas "
        "shipped with the package, or point it at the source's schemas/ folder.",
        setting="THIDUA_SCHEMAS_DIR",
        path=str(directory),
    )


def _fullname(schema: dict[str, Any]) -> str:
    name = schema["name"]
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _expanded(schema: Any) -> Any:
    """fastavro's loaded schema, cleaned of its private keys, as plain JSON-able data."""
    if isinstance(schema, dict):
        return {k: _expanded(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_expanded(v) for v in schema]
    return schema


def freeze(catalog: SchemaCatalog, directory: Path = DEFAULT_SCHEMAS_DIR) -> list[SchemaVersion]:
    """Write every current schema that differs from its latest frozen version as the next version."""
    written = []
    for version in catalog:
        history = catalog.history(version.fullname)
        if history and history[-1].fingerprint == version.fingerprint:
            continue
        number = (history[-1].version or 0) + 1 if history else 1
        folder = directory / "history" / version.fullname
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"v{number}.avsc").write_text(version.to_json() + "\n", encoding="utf-8")
        written.append(SchemaVersion(version.fullname, version.schema, number))
    return written
