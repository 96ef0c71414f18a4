"""Heads of this node's log held elsewhere, for ``thidua audit verify --witnesses`` and ``--expect-head``.

* ``--witnesses``: the largest head each witness cosigned, read from the witness's own sync topic addressed to this
  node (``thidua.<witness>.sync.<node>``: written only by the witness, kept forever, so an insider here cannot take
  it back), each cosignature checked with the witness's key; and the cosignatures recorded in this node's log.
* ``--expect-head``: an export manifest (``manifest.json`` or its folder: chain head and tree head), a C2SP
  checkpoint note of this log (a file), or ``POSITION:HASH`` (hex chain hash) given by hand.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from services.kernel.codec import AvroCodec
from services.kernel.errors import DecodeError
from services.kernel.signing import KEY_ACTIVATED, KEY_REVOKED
from services.pipeline.topics import Topics, mirrored

from .keys import KeyRing
from .notes import Checkpoint, NoteError, parse_note
from .verify import ExpectedHead
from .witness import RESPONSE, cosigned_response_head

TOPIC_POSITIONS = 10**15  # where keys learnt from a topic sort: after every key of the log


class HeadError(ValueError):
    """An --expect-head value that is none of the accepted forms."""


def expected_head(value: str) -> ExpectedHead:
    """Parse one ``--expect-head`` value."""
    path = Path(value)
    if path.is_dir():
        path = path / "manifest.json"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("{"):
            return _manifest_head(json.loads(text), str(path))
        return _note_head(text, str(path))
    position, sep, digest = value.partition(":")
    if sep and position.isdigit():
        try:
            return ExpectedHead(f"--expect-head {value}", position=int(position), hash=bytes.fromhex(digest))
        except ValueError as exc:
            raise HeadError(f"{value}: the hash is not hex") from exc
    raise HeadError(f"{value}: not a manifest, a checkpoint note file, nor POSITION:HASH")


def _manifest_head(manifest: dict[str, Any], source: str) -> ExpectedHead:
    head, tree = manifest.get("chain_head") or {}, manifest.get("tree") or {}
    if not head and not tree:
        raise HeadError(f"{source}: the manifest has no chain head")
    return ExpectedHead(
        f"export manifest {source} ({manifest.get('created_at', '?')})",
        tree.get("size"),
        base64.b64decode(tree["root"]) if tree.get("root") else None,
        head.get("position"),
        bytes.fromhex(head["hash"]) if head.get("hash") else None,
    )


def _note_head(text: str, source: str) -> ExpectedHead:
    try:
        body = Checkpoint.parse(parse_note(text).text)
    except (NoteError, binascii.Error) as exc:
        raise HeadError(f"{source}: {exc}") from exc
    return ExpectedHead(f"checkpoint note {source}", body.size, body.root)


def witness_topic_heads(
    consumer: KafkaConsumer, codec: AvroCodec, ring: KeyRing, node: str, witnesses: list[str], remote_prefix: str = ""
) -> tuple[list[ExpectedHead], list[str]]:
    """The largest verified cosigned head per witness from its sync topic to ``node``; and notes (what was not
    read, cosignatures that did not verify)."""
    from services.sync.reconcile import read_topic

    heads, notes = [], []
    for witness in witnesses:
        topic = mirrored(Topics(witness).sync_to(node), witness, remote_prefix)
        best: ExpectedHead | None = None
        bad = 0
        records = read_topic(consumer, topic)
        _learn_keys(ring, codec, witness, records)
        for record in records:
            try:
                decoded = codec.decode(record.value or b"")
            except DecodeError:
                continue
            if decoded.fullname != RESPONSE or decoded.datum.get("status") != "COSIGNED":
                continue
            head = cosigned_response_head(decoded.datum, ring, node)
            if head is None:
                bad += 1
            elif best is None or (head.size or 0) > (best.size or 0):
                best = head
        if best is not None:
            heads.append(best)
        else:
            notes.append(f"no cosignature of {witness} on {topic}")
        if bad:
            notes.append(f"{bad} cosignature(s) on {topic} did not verify with {witness}'s known keys")
    return heads, notes


def _learn_keys(ring: KeyRing, codec: AvroCodec, witness: str, records: list[Any]) -> None:
    """The witness's key announcements on its own topic (the same announcements this node imports: they may be gone
    from a log whose tail was dropped), learnt as the import would (first key on first use, then chained)."""
    for record in records:
        try:
            decoded = codec.decode(record.value or b"")
        except DecodeError:
            continue
        if decoded.name in (KEY_ACTIVATED, KEY_REVOKED) and decoded.datum["meta"]["node_id"] == witness:
            ring.add_event(decoded.name, decoded.datum, TOPIC_POSITIONS + record.offset, None, b"")
    ring.settle()
