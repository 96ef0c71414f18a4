"""Consumed records, the ways one can be rejected, and the dead-letter message that says why and where from.

A dead letter keeps the original key, value and headers, and adds ``dlt_*`` headers: the reason code, the error,
the stage (decode or apply), the projection (for apply failures), the source topic, partition, offset and
timestamp, the consumer group, and when it failed. An operator can fix the cause and re-publish the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from services.kernel.codec import AvroCodec, split_header
from services.kernel.errors import DecodeError, ThiduaError, UnknownSchema
from services.kernel.events import Event, decode_event
from services.kernel.messaging import header_map, sequence_of

DLT_PREFIX = "dlt_"
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Record:
    """A consumed Kafka message, as the projection worker sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None

    @property
    def tp(self) -> tuple[str, int]:
        """(topic, partition)."""
        return (self.topic, self.partition)

    def header_text(self) -> dict[str, str]:
        """Headers as text (undecodable header bytes are replaced, never fatal)."""
        return {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for k, v in self.headers}


class UnknownEventType(DecodeError):
    """Valid single-object Avro of a type that is not an event this node projects."""

    code = "UNKNOWN_EVENT_TYPE"

    def __init__(self, fullname: str) -> None:
        super().__init__(
            f"Thông điệp Avro hợp lệ nhưng {fullname} không phải là loại sự kiện mà nút này xử lý.",
            f"Valid Avro, but {fullname} is not an event type this node projects.",
            fullname=fullname,
        )


class TypeMismatch(DecodeError):
    """The ``ce_type`` header names another type than the writer schema of the value."""

    code = "TYPE_MISMATCH"

    def __init__(self, header: str, fullname: str) -> None:
        super().__init__(
            f"Tiêu đề ce_type={header} không khớp với lược đồ của thông điệp ({fullname}).",
            f"Header ce_type={header} does not match the message's writer schema ({fullname}).",
            ce_type=header,
            fullname=fullname,
        )


def decode_record(record: Record, codec: AvroCodec, types: Mapping[str, type[Event]]) -> Event:
    """The event a record carries, with the store position from ``ce_sequence``; raises a DecodeError."""
    if not record.value:
        raise DecodeError("Thông điệp rỗng.", "Empty message (no value).")
    fingerprint, _ = split_header(record.value)
    writer = codec.catalog.by_fingerprint(fingerprint)
    if writer is None:
        raise UnknownSchema(fingerprint)
    if not writer.is_event or writer.name not in types:
        raise UnknownEventType(writer.fullname)
    headers = record.header_text()
    if headers.get("ce_type", writer.fullname) != writer.fullname:
        raise TypeMismatch(headers["ce_type"], writer.fullname)
    return decode_event(record.value, codec, types, sequence_of(headers))


@dataclass(frozen=True)
class Rejected:
    """A record that goes to the dead-letter topic: why (a stable code and the error) and at which stage."""

    record: Record
    stage: str  # decode | apply
    code: str
    error: str
    projection: str | None = None

    @classmethod
    def of(cls, record: Record, stage: str, exc: BaseException, projection: str | None = None) -> Rejected:
        """A rejection for an exception (ThiduaError codes are kept; anything else is APPLY_FAILED/DECODE_FAILED)."""
        code = exc.code if isinstance(exc, ThiduaError) else f"{stage.upper()}_FAILED"
        text = exc.message_en if isinstance(exc, ThiduaError) else f"{type(exc).__name__}: {exc}"
        return cls(record, stage, code, text[:MAX_ERROR_CHARS], projection)

    @property
    def correlation_id(self) -> str | None:
        """The correlation id (or event id) the original headers carry, for the logs."""
        headers = header_map([(k, v) for k, v in self.record.headers if isinstance(v, bytes)])
        return headers.get("ce_correlationid") or headers.get("ce_id")


def dead_letter_headers(rejected: Rejected, group: str, now: datetime | None = None) -> list[tuple[str, bytes]]:
    """The original headers (minus any earlier ``dlt_*``) plus the reasons and the origin of the rejection."""
    record = rejected.record
    facts = {
        "reason": rejected.code,
        "error": rejected.error,
        "stage": rejected.stage,
        "projection": rejected.projection or "",
        "topic": record.topic,
        "partition": str(record.partition),
        "offset": str(record.offset),
        "timestamp": "" if record.timestamp_ms is None else str(record.timestamp_ms),
        "group": group,
        "failed_at": (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }
    kept = [(k, v) for k, v in record.headers if not k.startswith(DLT_PREFIX)]
    return kept + [(DLT_PREFIX + k, v.encode("utf-8")) for k, v in facts.items()]
