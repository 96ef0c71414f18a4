"""The one codec: Avro single-object encoding (``C3 01`` + CRC-64-AVRO fingerprint + Avro binary body).

Every message names its writer schema by fingerprint, so no registry server is needed: decoding finds the
writer schema in the catalog (current or historical) and resolves it to the current reader schema.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from .avrowriter import Writer, compile_writer
from .errors import DecodeError, SchemaViolation, UnknownSchema
from .schemas import SchemaCatalog, SchemaVersion

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8
_WRONG_DATA = (TypeError, ValueError, AttributeError, KeyError, OverflowError, struct.error)  # how writers say it


@dataclass(frozen=True)
class Decoded:
    """A decoded message: the type's full name, the datum, and the writer schema's fingerprint."""

    fullname: str
    datum: dict[str, Any]
    writer_fingerprint: bytes

    @property
    def name(self) -> str:
        """Short type name, e.g. ``PlanIssued``."""
        return self.fullname.rsplit(".", 1)[-1]


def split_header(data: bytes) -> tuple[bytes, bytes]:
    """(fingerprint, body) of single-object bytes; raises DecodeError when the header is wrong."""
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise DecodeError(
            "Thông điệp không theo mã hóa đối tượng đơn Avro (thiếu tiền tố C3 01).",
            "Message is not Avro single-object encoded (missing C3 01 marker).",
            prefix=data[:HEADER_SIZE].hex(),
        )
    return data[2:HEADER_SIZE], data[HEADER_SIZE:]


class AvroCodec:
    """Encodes and decodes the catalog's types in Avro single-object encoding."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self.catalog = catalog
        # id(version) -> (version, its compiled writer or None: fastavro); holding the version keeps its id unique
        self._writers: dict[int, tuple[SchemaVersion, Writer | None]] = {}

    def encode(self, fullname: str, datum: Mapping[str, Any]) -> bytes:
        """Encode ``datum`` with the current schema of ``fullname``."""
        return self.encode_with(self.catalog.current(fullname), datum)

    def encode_with(self, version: SchemaVersion, datum: Mapping[str, Any]) -> bytes:
        """Encode ``datum`` with a given schema version (also used by tests of old writers)."""
        held = self._writers.get(id(version))
        if held is None or held[0] is not version:
            held = self._writers[id(version)] = (version, compile_writer(version.schema, MAGIC + version.fingerprint))
        try:
            if held[1] is not None:
                return held[1](datum)
            out = io.BytesIO()
            out.write(MAGIC)
            out.write(version.fingerprint)
            schemaless_writer(out, version.parsed, datum)
            return out.getvalue()
        except _WRONG_DATA as exc:
            raise SchemaViolation(version.fullname, f"{type(exc).__name__}: {exc}") from exc

    def decode(self, data: bytes) -> Decoded:
        """Decode single-object bytes, resolving the writer schema to the current reader schema."""
        fp, body = split_header(data)
        writer = self.catalog.by_fingerprint(fp)
        if writer is None:
            raise UnknownSchema(fp)
        try:
            reader = self.catalog.current(writer.fullname)
        except KeyError:
            reader = writer
        try:
            datum = schemaless_reader(io.BytesIO(body), writer.parsed, None if reader is writer else reader.parsed)
        except Exception as exc:  # fastavro raises several types for corrupt bodies
            raise DecodeError(
                f"Không giải mã được thân thông điệp {writer.name}: {exc}.",
                f"Cannot decode the body of a {writer.name} message: {exc}.",
                fullname=writer.fullname,
            ) from exc
        return Decoded(writer.fullname, datum, fp)  # type: ignore[arg-type]
