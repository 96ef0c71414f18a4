"""The AsyncAPI 3.0 document of a node's Kafka topics, generated from ``schemas/`` and the topic list (topics.py).

One channel per topic (address ``thidua.{nodeId}.<context>``, the dead-letter and the schema-catalog topics, the
sync topics), one message per event type with its Avro schema (the current, self-contained one), the CloudEvents
binary-mode headers and the Kafka key (the stream id). Committed as docs/asyncapi.yaml; ``thidua topics asyncapi``
prints it and a test keeps the two equal and has the AsyncAPI parser validate it.
"""

from __future__ import annotations

from typing import Any

import yaml

from services.kernel.messaging import CONTENT_TYPE, SEQUENCE_DIGITS, SPEC_VERSION
from services.kernel.schemas import EVENT_NAMESPACE, SchemaCatalog

from .catalog import SCHEMA_CONTENT_TYPE
from .topics import CONTEXT_OF_EVENT, CONTEXTS, PREFIX

AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA_BINDING = "0.5.0"
NODE = {"nodeId": {"description": "Mã nút / node id, e.g. p46 (THIDUA_NODE_ID)", "examples": ["p46", "central"]}}


def _string(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka protocol binding, binary mode: attributes as ce_* headers (UTF-8).",
    "required": [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "ce_dataschema",
        "ce_orgunit",
        "ce_sequence",
        "content-type",
    ],
    "properties": {
        "ce_specversion": _string("CloudEvents version", const=SPEC_VERSION),
        "ce_id": _string("Mã sự kiện (dùng để loại trùng) / event id: deduplicate by it"),
        "ce_source": _string("Nút phát / the node, /thidua/<node id>", examples=["/thidua/p46"]),
        "ce_type": _string(f"Loại sự kiện / event type, {EVENT_NAMESPACE}.<Name>"),
        "ce_time": _string("Thời điểm nghiệp vụ / business time (RFC 3339)", format="date-time"),
        "ce_subject": _string("Luồng sự kiện (cũng là khóa) / the event stream, also the key"),
        "ce_dataschema": _string("urn:avro:crc64:<fingerprint>: the writer schema (catalog topic, /api/v1/schemas)"),
        "ce_orgunit": _string("Đơn vị của sự kiện / the org-unit path the event belongs to", examples=["VN/46/19753"]),
        "ce_sequence": _string(
            f"Vị trí toàn cục, {SEQUENCE_DIGITS} chữ số / global position, zero-padded",
            pattern=f"^[0-9]{{{SEQUENCE_DIGITS}}}$",
        ),
        "ce_correlationid": _string("Mã tương quan / correlation id (optional)"),
        "ce_causationid": _string("Mã nguyên nhân / causation id (optional)"),
        "content-type": _string("Kiểu nội dung / content type of the value", const=CONTENT_TYPE),
    },
}

DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original message's headers, plus why and where it was rejected (dlt_*).",
    "properties": {
        **{
            f"dlt_{k}": _string(d)
            for k, d in {
                "reason": "Mã lỗi ổn định / stable code, e.g. UNKNOWN_SCHEMA, TYPE_MISMATCH, APPLY_FAILED",
                "error": "Lỗi (tiếng Anh) / the error",
                "stage": "decode | apply",
                "projection": "Projection that failed to apply it (apply stage)",
                "topic": "Original topic",
                "partition": "Original partition",
                "offset": "Original offset",
                "timestamp": "Original Kafka timestamp (ms)",
                "group": "Consumer group that rejected it",
                "failed_at": "When (RFC 3339, UTC)",
            }.items()
        },
    },
}


def _key(description: str) -> dict[str, Any]:
    return {"kafka": {"key": _string(description), "bindingVersion": KAFKA_BINDING}}


def avro_for_asyncapi(schema: Any) -> Any:
    """The same Avro schema with each dotted ``name`` split into ``namespace`` and ``name`` (one fullname, as Avro
    reads it; the AsyncAPI parser's Avro schema wants simple names), keys sorted."""
    if isinstance(schema, list):
        return [avro_for_asyncapi(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    found = {k: avro_for_asyncapi(v) for k, v in schema.items()}
    if schema.get("type") in ("record", "enum", "fixed") and "." in str(schema.get("name", "")):
        namespace, name = str(schema["name"]).rsplit(".", 1)
        found["name"], found["namespace"] = name, namespace
    return dict(sorted(found.items()))  # one order whatever the catalog's (the committed file stays comparable)


def _event_message(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": schema.get("doc", f"{EVENT_NAMESPACE}.{name}"),
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": avro_for_asyncapi(schema)},
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": _key("Luồng sự kiện / the event stream id (per-stream order: one partition)"),
    }


def document(catalog: SchemaCatalog, version: str = "0.1.0") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the node's topics."""
    events = sorted((v.name, v.schema) for v in catalog.events())
    messages: dict[str, Any] = {name: _event_message(name, schema) for name, schema in events}
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "summary": "Thông điệp không giải mã hoặc áp dụng được / a message a worker could not decode or apply",
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"type": "string", "format": "binary", "description": "The original value, unchanged"},
        "bindings": _key("The original key"),
    }
    messages["SchemaVersion"] = {
        "name": "SchemaVersion",
        "summary": "Một phiên bản lược đồ Avro / one Avro schema version (compacted: the latest per key)",
        "contentType": SCHEMA_CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                "avro_fullname": _string("Tên đầy đủ / full name"),
                "avro_version": _string("Phiên bản, hoặc current / version, or current"),
                "content-type": _string("Kiểu nội dung", const=SCHEMA_CONTENT_TYPE),
            },
        },
        "payload": {"type": "object", "description": "The self-contained Avro schema JSON"},
        "bindings": _key("16 hex digits of the CRC-64-AVRO fingerprint (single-object header order)"),
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def channel(key: str, suffix: str, title: str, names: list[str], parameters: Any = NODE, **more: Any) -> None:
        channels[key] = {
            "address": f"{PREFIX}.{{nodeId}}.{suffix}",
            "title": title,
            **more,
            "parameters": parameters,
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        operations[f"publish_{key}"] = _send(key, names)

    for context in CONTEXTS:
        names = sorted(n for n, c in CONTEXT_OF_EVENT.items() if c == context and n in messages)
        description = (
            "Lịch sử giữ mãi mãi (retention.ms=-1); khóa = luồng, thứ tự theo luồng / kept forever; key = stream id, "
            "ordered per stream. Value: Avro single-object encoding (C3 01, the 8-byte CRC-64-AVRO fingerprint of the "
            "writer schema, the binary datum)."
        )
        channel(context, context, f"Sự kiện {context} / {context} events", names, description=description)
    channel("deadletters", "deadletters", "Thư chết / dead letters", ["DeadLetter"])
    channel("schemas", "schemas", "Danh mục lược đồ / schema catalog (compacted)", ["SchemaVersion"])
    target = {"target": {"description": "Mã nút nhận / the receiving node's id"}}
    channel(
        "sync",
        "sync.{target}",
        "Đồng bộ lên nút khác / events routed to another node (docs/sync.md)",
        sorted(n for n, _ in events),
        parameters={**NODE, **target},
    )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "thidua-sync: Kafka topics of a node",
            "version": version,
            "description": "Chủ đề Kafka của một nút / the Kafka topics of a node, generated from schemas/ and "
            "services/pipeline/topics.py (`thidua topics asyncapi`). Every event is also served as CloudEvents "
            "JSON by GET /api/v1/events and webhooks (docs/api.md).",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "THIDUA_KAFKA_BOOTSTRAP_SERVERS",
                "variables": {"bootstrap": {"default": "127.0.0.1:9092"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"CloudEventHeaders": CLOUDEVENT_HEADERS, "DeadLetterHeaders": DEAD_LETTER_HEADERS},
            "messages": messages,
        },
    }


def _send(channel: str, names: list[str]) -> dict[str, Any]:
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{n}"} for n in names],
    }


def render(catalog: SchemaCatalog) -> str:
    """docs/asyncapi.yaml."""
    return yaml.safe_dump(document(catalog), allow_unicode=True, sort_keys=False, width=120)
