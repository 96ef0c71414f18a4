"""The schema catalog: every Avro contract version the node reads, and each one's JSON by fingerprint.

A consumer that meets single-object bytes (``C3 01`` + 8-byte fingerprint) or a CloudEvent's ``dataschema``
(``urn:avro:crc64:<fingerprint>``) fetches the writer schema here; no registry server is needed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from services.api.problems import READ_RESPONSES
from services.api.security import current_principal
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.schemas import SchemaVersion


class SchemaEntry(BaseModel):
    """One version of a named Avro type."""

    fullname: str = Field(description="Tên đầy đủ / full name, e.g. vn.thidua.events.AwardDecided")
    fingerprint: str = Field(description="CRC-64-AVRO, 16 chữ số hex (little-endian như trong thông điệp) / hex")
    version: int | None = Field(description="Phiên bản đã phát hành; null: bản hiện hành chưa đóng băng / version")
    current: bool = Field(description="Là bản dùng để ghi hiện nay / the version writers use now")
    is_event: bool = Field(description="Là loại sự kiện / an event type")
    href: str = Field(description="Đường dẫn tới JSON của lược đồ / where its JSON is")


class SchemaList(BaseModel):
    """The catalog."""

    items: list[SchemaEntry]


Fingerprint = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{16}$", description="16 chữ số hex / 16 hex digits")]


def router(node: Node) -> APIRouter:
    """GET /api/v1/schemas and /api/v1/schemas/{fingerprint}."""
    api = APIRouter(
        prefix="/api/v1/schemas", tags=["schemas"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )
    catalog = node.catalog
    current = {v.fingerprint for v in catalog}
    numbered: dict[bytes, SchemaVersion] = {}  # a frozen version shows its number, even when it is also current
    for version in catalog.all_versions():
        for frozen in catalog.history(version.fullname):
            numbered.setdefault(frozen.fingerprint, frozen)
        numbered.setdefault(version.fingerprint, version)
    ordered = sorted(numbered.values(), key=lambda v: (v.fullname, v.version or 1_000_000))

    def entry(version: SchemaVersion) -> SchemaEntry:
        fp = version.fingerprint.hex()
        return SchemaEntry(
            fullname=version.fullname,
            fingerprint=fp,
            version=version.version,
            current=version.fingerprint in current,
            is_event=version.is_event,
            href=f"/api/v1/schemas/{fp}",
        )

    @api.get("", response_model=SchemaList)
    def list_schemas() -> SchemaList:
        """Mọi phiên bản lược đồ, theo tên rồi phiên bản / every schema version, by name then version."""
        return SchemaList(items=[entry(v) for v in ordered])

    @api.get("/{fingerprint}")
    def get_schema(fingerprint: Fingerprint) -> dict[str, Any]:
        """JSON Avro tự chứa của một phiên bản / the self-contained Avro JSON of one version."""
        found = catalog.by_fingerprint(bytes.fromhex(fingerprint))
        if found is None:
            raise DomainRefusal(
                "UNKNOWN_SCHEMA",
                Kind.NOT_FOUND,
                f"Không có lược đồ Avro với dấu vân tay {fingerprint.lower()}.",
                f"No Avro schema with fingerprint {fingerprint.lower()}.",
                fingerprint=fingerprint.lower(),
            )
        return found.schema

    return api
