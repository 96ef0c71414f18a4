"""Exports for auditors: the events of a subtree and range as Avro object container files, CSV or JSON Lines,
with a manifest (counts, sha256 of every file, chain head, last checkpoint) that ``verify_export`` checks offline."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastavro import parse_schema, reader, writer

from services.kernel.codec import AvroCodec
from services.kernel.signing import key_id
from services.kernel.store import EventStore, StoredEvent, link_hash

from .checkpoints import CHECKPOINT, extend_tree, last_tree

FORMATS = ("avro", "csv", "jsonl")
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
ENVELOPE = "events"
ENVELOPE_FIELDS = (
    "position",
    "event_id",
    "event_type",
    "stream_id",
    "stream_version",
    "occurred_at",
    "recorded_at",
    "org_unit_path",
    "node_id",
    "actor_id",
    "prev_hash",
    "hash",
    "body",
)
_TS = {"type": "long", "logicalType": "timestamp-micros"}
ENVELOPE_SCHEMA = {
    "type": "record",
    "name": "ExportedEvent",
    "namespace": "vn.thidua.audit",
    "doc": "One stored event: its place in the hash chain and its Avro single-object bytes (body).",
    "fields": [
        {"name": "position", "type": "long"},
        {"name": "event_id", "type": "string"},
        {"name": "event_type", "type": "string"},
        {"name": "stream_id", "type": "string"},
        {"name": "stream_version", "type": "long"},
        {"name": "occurred_at", "type": _TS},
        {"name": "recorded_at", "type": _TS},
        {"name": "org_unit_path", "type": "string"},
        {"name": "node_id", "type": "string"},
        {"name": "actor_id", "type": "string"},
        {"name": "prev_hash", "type": "bytes"},
        {"name": "hash", "type": "bytes", "doc": "sha256(prev_hash || body)"},
        {"name": "body", "type": "bytes"},
    ],
}


@dataclass(frozen=True)
class Selection:
    """What to export: a subtree, a position range and a recorded_at window."""

    subtree: str | None = None
    from_position: int = 1
    to_position: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def admits(self, stored: StoredEvent) -> bool:
        """Whether the window admits the event (subtree and positions are filtered by the query)."""
        return (self.since is None or stored.recorded_at >= self.since) and (
            self.until is None or stored.recorded_at <= self.until
        )


def selected(store: EventStore, selection: Selection, batch: int = 1000) -> Iterator[StoredEvent]:
    """The events of the selection, in position order."""
    after = selection.from_position - 1
    while events := store.read_all(after, batch, under=selection.subtree):
        for stored in events:
            if selection.to_position is not None and stored.position > selection.to_position:
                return
            if selection.admits(stored):
                yield stored
        after = events[-1].position


def envelope(stored: StoredEvent) -> dict[str, Any]:
    """The envelope record of a stored event."""
    return {name: getattr(stored, name) for name in ENVELOPE_FIELDS}


def export(
    store: EventStore,
    selection: Selection,
    out: Path,
    fmt: str = "avro",
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """Write the selection into ``out`` (created) and its manifest (signed with ``key`` if given)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    out.mkdir(parents=True, exist_ok=True)
    events = list(selected(store, selection))
    files = _write(store.codec, events, out, fmt)
    manifest = _manifest(store, selection, fmt, events, files, out)
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    (out / MANIFEST).write_bytes(text)
    if key is not None:
        (out / SIGNATURE).write_text(base64.b64encode(key.sign(text)).decode() + "\n")
    return manifest


def _write(codec: AvroCodec, events: list[StoredEvent], out: Path, fmt: str) -> dict[str, int]:
    """Write the files; return records per file name."""
    if fmt == "avro":
        records = {f"{ENVELOPE}.avro": _avro(out / f"{ENVELOPE}.avro", ENVELOPE_SCHEMA, map(envelope, events))}
        for name in sorted({e.event_type for e in events}):
            schema = codec.catalog.event(name).schema
            data = (codec.decode(e.body).datum for e in events if e.event_type == name)
            records[f"{name}.avro"] = _avro(out / f"{name}.avro", schema, data)
        return records
    rows = [_flat(codec, e) for e in events]
    if fmt == "csv":
        with (out / f"{ENVELOPE}.csv").open("w", newline="", encoding="utf-8") as handle:
            table = csv.DictWriter(handle, [*ENVELOPE_FIELDS, "payload"])
            table.writeheader()
            table.writerows(rows)
        return {f"{ENVELOPE}.csv": len(rows)}
    with (out / f"{ENVELOPE}.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return {f"{ENVELOPE}.jsonl": len(rows)}


def _avro(path: Path, schema: dict[str, Any], records: Any) -> int:
    items = list(records)
    with path.open("wb") as handle:
        writer(handle, parse_schema(schema, named_schemas={}), items, codec="deflate")
    return len(items)


def _flat(codec: AvroCodec, stored: StoredEvent) -> dict[str, Any]:
    """A text row: hashes in hex, body in base64, the decoded event as JSON."""
    row = envelope(stored)
    row["prev_hash"], row["hash"] = stored.prev_hash.hex(), stored.hash.hex()
    row["body"] = base64.b64encode(stored.body).decode()
    for key in ("occurred_at", "recorded_at"):
        row[key] = row[key].isoformat()
    row["payload"] = json.dumps(codec.decode(stored.body).datum, ensure_ascii=False, sort_keys=True, default=_jsonable)
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def sha256_file(path: Path) -> str:
    """sha256 (hex) of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(
    store: EventStore, selection: Selection, fmt: str, events: list[StoredEvent], files: dict[str, int], out: Path
) -> dict[str, Any]:
    head = store.read_all(store.head_position() - 1, 1)
    with store.engine.connect() as conn:  # the RFC 6962 tree of the whole log at its head (--expect-head compares)
        tree = extend_tree(conn, last_tree(conn, store), head[0].position if head else 0)
    checkpoints = [e for e in events if e.event_type == CHECKPOINT]
    return {
        "format": fmt,
        "version": 1,
        "node_id": store.node_id,
        "created_at": datetime.now(UTC).isoformat(),
        "selection": {
            "subtree": selection.subtree,
            "from_position": selection.from_position,
            "to_position": selection.to_position,
            "since": selection.since.isoformat() if selection.since else None,
            "until": selection.until.isoformat() if selection.until else None,
        },
        "count": len(events),
        "counts": dict(sorted(Counter(e.event_type for e in events).items())),
        "first_position": events[0].position if events else None,
        "last_position": events[-1].position if events else None,
        "chain_head": {"position": head[0].position, "hash": head[0].hash.hex()} if head else None,
        "tree": {"size": tree.size, "root": base64.b64encode(tree.root).decode()},
        "last_checkpoint_position": checkpoints[-1].position if checkpoints else None,
        "files": [
            {"name": name, "records": records, "bytes": (out / name).stat().st_size, "sha256": sha256_file(out / name)}
            for name, records in files.items()
        ],
    }


@dataclass
class ExportCheck:
    """What ``verify_export`` found."""

    directory: Path
    files: int = 0
    events: int = 0
    links: int = 0
    errors: list[str] = field(default_factory=list)
    signed_by: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the export is intact."""
        return not self.errors


def verify_export(directory: Path, public_key: Any = None) -> ExportCheck:
    """Check an export offline: files and their sha256 as the manifest says, records per file, every event's hash
    (sha256(prev_hash || body)), the links between consecutive positions, counts per type, and the signature of
    the manifest when ``public_key`` (Ed25519) is given."""
    check = ExportCheck(directory)
    path = directory / MANIFEST
    if not path.exists():
        check.errors.append(f"{MANIFEST} is missing")
        return check
    text = path.read_bytes()
    manifest = json.loads(text)
    listed = {f["name"] for f in manifest["files"]}
    extra = sorted(p.name for p in directory.iterdir() if p.name not in listed | {MANIFEST, SIGNATURE})
    if extra:
        check.errors.append(f"files not in the manifest: {extra}")
    for entry in manifest["files"]:
        _check_file(check, directory / entry["name"], entry)
    if check.ok:
        _check_events(check, directory, manifest)
    _check_signature(check, directory, text, public_key)
    return check


def _check_signature(check: ExportCheck, directory: Path, text: bytes, public_key: Any) -> None:
    if public_key is None:
        return
    sig = directory / SIGNATURE
    try:
        public_key.verify(base64.b64decode(sig.read_text()), text)
        check.signed_by = key_id(public_key)
    except Exception as exc:  # noqa: BLE001 - missing file, bad base64 or bad signature: all mean "not signed by it"
        check.errors.append(f"{SIGNATURE} does not verify with key {key_id(public_key)}: {type(exc).__name__}")


def _check_file(check: ExportCheck, path: Path, entry: dict[str, Any]) -> None:
    if not path.exists():
        check.errors.append(f"{entry['name']}: missing")
        return
    check.files += 1
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        check.errors.append(f"{entry['name']}: sha256 {digest} but the manifest says {entry['sha256']}")
    elif path.stat().st_size != entry["bytes"]:
        check.errors.append(f"{entry['name']}: {path.stat().st_size} bytes but the manifest says {entry['bytes']}")
    elif _records(path) != entry["records"]:
        check.errors.append(f"{entry['name']}: {_records(path)} records but the manifest says {entry['records']}")


def _records(path: Path) -> int:
    return sum(1 for _ in _read(path))


def _read(path: Path) -> Iterator[dict[str, Any]]:
    """Envelope rows of any format, with bytes as bytes."""
    if path.suffix == ".avro":
        with path.open("rb") as handle:
            yield from (dict(r) for r in reader(handle))  # type: ignore[arg-type]
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            yield from (_unflat(r) for r in csv.DictReader(handle))
    else:
        with path.open(encoding="utf-8") as handle:
            yield from (_unflat(json.loads(line)) for line in handle if line.strip())


def _unflat(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["prev_hash"], row["hash"] = bytes.fromhex(row["prev_hash"]), bytes.fromhex(row["hash"])
    row["body"] = base64.b64decode(row["body"])
    row["position"] = int(row["position"])
    return row


def _check_events(check: ExportCheck, directory: Path, manifest: dict[str, Any]) -> None:
    name = next(f["name"] for f in manifest["files"] if f["name"].startswith(ENVELOPE + "."))
    counts: Counter[str] = Counter()
    previous: dict[str, Any] | None = None
    for row in _read(directory / name):
        check.events += 1
        counts[row["event_type"]] += 1
        if link_hash(row["prev_hash"], row["body"]) != row["hash"]:
            check.errors.append(f"position {row['position']} ({row['event_id']}): hash does not match prev_hash+body")
        if previous is not None and row["position"] == previous["position"] + 1:
            if row["prev_hash"] != previous["hash"]:
                check.errors.append(f"position {row['position']}: does not link to position {previous['position']}")
            else:
                check.links += 1
        previous = row
    if dict(counts) != manifest["counts"] or check.events != manifest["count"]:
        check.errors.append(f"counts {dict(counts)} but the manifest says {manifest['counts']}")
