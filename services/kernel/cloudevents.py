"""A stored event as a CloudEvents 1.0 JSON object (structured mode), for the HTTP feed and webhooks.

The attributes are those the relay sends as Kafka headers (``services.kernel.messaging``), so a consumer sees the
same ``id``, ``type``, ``source``, ``subject``, ``dataschema``, ``orgunit`` and ``sequence`` on every transport;
``data`` is the Avro datum (``meta`` envelope and payload) as JSON: dates and times in ISO 8601, bytes in hex.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.kernel.codec import AvroCodec
from services.kernel.messaging import cloudevent_headers
from services.kernel.store import StoredEvent

DATA_CONTENT_TYPE = "application/json"
MEDIA_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    """One event in CloudEvents 1.0 structured JSON."""

    model_config = ConfigDict(extra="allow")

    specversion: str = Field(description="Phiên bản CloudEvents / CloudEvents version (1.0)")
    id: str = Field(description="Mã sự kiện (event_id), dùng để khử trùng / event id, for deduplication")
    source: str = Field(description="Nút phát sinh / origin, /thidua/<node>")
    type: str = Field(description="Loại sự kiện / event type, e.g. vn.thidua.events.AwardDecided")
    time: str = Field(description="Thời điểm nghiệp vụ / business time (occurred_at)")
    subject: str = Field(description="Luồng / stream id")
    dataschema: str = Field(description="Lược đồ Avro / writer schema, urn:avro:crc64:<fingerprint>")
    datacontenttype: str = Field(description="application/json")
    orgunit: str = Field(description="Đơn vị của sự kiện / org-unit path of the event")
    sequence: str = Field(description="Vị trí toàn cục, đệm 0 / global position, zero-padded")
    data: dict[str, Any] = Field(description="Dữ liệu sự kiện (meta + payload) / the event's datum")


def jsonable(value: Any) -> Any:
    """An Avro datum as JSON-ready data."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def attributes(stored: StoredEvent) -> dict[str, str]:
    """The CloudEvents attributes of a stored event (shared with the Kafka relay's headers)."""
    found = {name[3:]: raw.decode("utf-8") for name, raw in cloudevent_headers(stored) if name.startswith("ce_")}
    found.setdefault("sequence", str(stored.position).zfill(20))
    return {**found, "datacontenttype": DATA_CONTENT_TYPE}


def to_cloudevent(stored: StoredEvent, codec: AvroCodec) -> dict[str, Any]:
    """The structured CloudEvent of a stored event."""
    return {**attributes(stored), "data": jsonable(codec.decode(stored.body).datum)}
