"""Witnessed checkpoints (DESIGN.md § 8): a node's parent (and central) countersign its checkpoints, so a log that
is truncated or rewritten after a witness saw it is caught as soon as one witness holds a later head.

The protocol (transport: the sync topics, ``services/sync/witnessing.py``), in C2SP terms:

1. the **origin** sends its latest checkpoint note (tlog-checkpoint) with an RFC 6962 consistency proof from the
   largest size that witness countersigned before (0: none), computed from that older checkpoint's compact range
   and the events after it — the origin never re-reads its whole log;
2. the **witness** checks the note's signature (the origin's key, learnt over sync or pinned), that the size does not
   go back, and the proof against the root it countersigned last; then it adds a tlog-cosignature/v1 line, records
   ``CheckpointWitnessed`` in its own log (stream ``witness-<origin>``) and answers ``COSIGNED``. A smaller size or a
   failed proof is recorded as ``CheckpointWitnessRefused`` (the alarm stays in the witness's log) and answered
   ``REFUSED``; a proof from another size than the witness's is answered ``NEED_PROOF`` with the witness's size;
3. the origin checks the cosignature (the witness's key) and records ``CheckpointWitnessed`` too (stream
   ``cosigned-<witness>``).

``thidua audit verify --witnesses`` compares the local log with every head the witnesses cosigned
(``services/audit/verify.py``, ``ExpectedHead``).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from services.kernel import merkle
from services.kernel.signing import AUDIT_ACTOR, ROOT_UNIT
from services.kernel.store import EventStore, NewEvent
from services.kernel.tables import event as event_table

from .checkpoints import CHECKPOINT, REFUSED, WITNESSED, TreeState, stream_of
from .keys import KeyRing
from .notes import Checkpoint, NoteError, cosign, cosigned_at, note_signed_by, origin_of, parse_note
from .verify import ExpectedHead

log = logging.getLogger(__name__)
REQUEST, RESPONSE = "vn.thidua.sync.WitnessRequest", "vn.thidua.sync.WitnessResponse"
COSIGNED, NEED_PROOF, REFUSE = "COSIGNED", "NEED_PROOF", "REFUSED"
ROLLBACK, INCONSISTENT, BAD_SIGNATURE, UNKNOWN_KEY = "ROLLBACK", "INCONSISTENT", "BAD_SIGNATURE", "UNKNOWN_KEY"


def witness_stream(origin: str) -> str:
    """At a witness: the stream of what it countersigned (or refused) for ``origin``."""
    return f"witness-{origin}"


def cosigned_stream(witness: str) -> str:
    """At an origin: the stream of the cosignatures ``witness`` sent back."""
    return f"cosigned-{witness}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _last(conn: Connection, store: EventStore, stream: str, types: Sequence[str]) -> dict[str, Any] | None:
    """The datum of the last event of ``stream`` whose type is one of ``types``."""
    c = event_table.c
    row = conn.execute(
        select(c.body).where(c.stream_id == stream, c.event_type.in_(list(types))).order_by(c.stream_version.desc())
    ).first()
    return store.codec.decode(bytes(row.body)).datum if row is not None else None


def _version(conn: Connection, stream: str) -> int:
    c = event_table.c
    found = conn.execute(
        select(c.stream_version).where(c.stream_id == stream).order_by(c.stream_version.desc())
    ).first()
    return int(found.stream_version) if found is not None else 0


# --- the origin ------------------------------------------------------------------------------------------------


def latest_checkpoint(conn: Connection, store: EventStore) -> dict[str, Any] | None:
    """This node's latest C2SP checkpoint (None: none yet, or only v1 checkpoints)."""
    found = _last(conn, store, stream_of(store.node_id), [CHECKPOINT])
    return found if found is not None and found.get("note") else None


def tree_at(conn: Connection, store: EventStore, size: int) -> TreeState | None:
    """The tree of the first ``size`` events: the compact range kept by this node's checkpoint of that size (newest
    first), else computed from the log (a witness asks from a size this node has no checkpoint of: it answers with
    what its log holds, and a rewritten log fails the proof). None when the log holds fewer events."""
    if size == 0:
        return TreeState(0, (), 0)
    c = event_table.c
    rows = conn.execute(select(c.body).where(c.stream_id == stream_of(store.node_id)).order_by(c.stream_version.desc()))
    for row in rows:
        data = store.codec.decode(bytes(row.body)).datum
        if data.get("note") and data["event_count"] == size:
            return TreeState(size, tuple(base64.b64decode(h) for h in data["frontier"]), int(data["head_position"]))
        if data.get("note") and data["event_count"] < size:
            break
    frontier: list[bytes] = []
    count, last = 0, 0
    for row in conn.execute(select(c.position, c.hash).order_by(c.position).limit(size)):
        count, last = merkle.append_leaf(frontier, count, merkle.leaf_hash(bytes(row.hash))), int(row.position)
    return TreeState(size, tuple(frontier), last) if count == size else None


def cosigned_size(conn: Connection, store: EventStore, witness: str) -> int:
    """The largest tree size ``witness`` countersigned for this node, as recorded here."""
    found = _last(conn, store, cosigned_stream(witness), [WITNESSED])
    return int(found["tree_size"]) if found else 0


def build_request(
    conn: Connection, store: EventStore, checkpoint: dict[str, Any], witness: str, old_size: int, now: datetime
) -> dict[str, Any] | None:
    """A WitnessRequest for ``checkpoint`` with the consistency proof from ``old_size`` (None: this node holds no
    checkpoint of that size, so it cannot prove consistency from it)."""
    start = tree_at(conn, store, old_size)
    if start is None or old_size > checkpoint["event_count"]:
        return None
    c = event_table.c
    hashes: Any = conn.execute(
        select(c.hash)
        .where(c.position > start.head_position, c.position <= checkpoint["head_position"])
        .order_by(c.position)
    ).scalars()
    leaves = [merkle.leaf_hash(bytes(h)) for h in hashes]
    proof = merkle.consistency_proof(start.frontier, old_size, leaves)
    return {
        "origin_node": store.node_id,
        "witness_node": witness,
        "checkpoint": checkpoint["note"],
        "head_position": checkpoint["head_position"],
        "old_size": old_size,
        "proof": [_b64(p) for p in proof],
        "sent_at": now,
    }


def accept_response(conn: Connection, store: EventStore, ring: KeyRing, response: dict[str, Any]) -> str:
    """Record a COSIGNED answer whose cosignature verifies (``CheckpointWitnessed`` in ``cosigned-<witness>``);
    return what was done: RECORDED, DUPLICATE, BAD_COSIGNATURE, or the answer's status when it is not COSIGNED."""
    witness = response["witness_node"]
    if response["status"] != COSIGNED:
        return str(response["status"])
    try:
        note = parse_note(response["checkpoint"])
        body = Checkpoint.parse(note.text)
    except NoteError:
        return "BAD_COSIGNATURE"
    moment = _cosignature_time(note, witness, ring)
    own = [k for k in ring.of_node(store.node_id) if k.trusted]
    if (
        moment is None
        or body.origin != origin_of(store.node_id)
        or not any(note_signed_by(note, body.origin, k.public) for k in own)
    ):
        return "BAD_COSIGNATURE"
    if cosigned_size(conn, store, witness) >= body.size:
        return "DUPLICATE"
    payload = {
        "origin_node": store.node_id,
        "witness_node": witness,
        "tree_size": body.size,
        "root_hash": _b64(body.root),
        "head_position": response.get("head_position") or 0,
        "checkpoint": note.render(),
        "cosigned_at": moment,
    }
    stream = cosigned_stream(witness)
    store.append_in(
        conn, stream, _version(conn, stream), [NewEvent(WITNESSED, payload, ROOT_UNIT, AUDIT_ACTOR, moment)]
    )
    return "RECORDED"


def _cosignature_time(note: Any, witness: str, ring: KeyRing) -> datetime | None:
    for key in ring.of_node(witness):
        if key.trusted:
            stamp = cosigned_at(note, origin_of(witness), key.public)
            if stamp is not None:
                return datetime.fromtimestamp(stamp, UTC)
    return None


# --- the witness -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Witnessed:
    """What a witness countersigned last for an origin."""

    size: int
    root: bytes
    checkpoint: str
    head_position: int


def witnessed(conn: Connection, store: EventStore, origin: str) -> Witnessed | None:
    """The largest checkpoint of ``origin`` this node countersigned."""
    found = _last(conn, store, witness_stream(origin), [WITNESSED])
    if found is None:
        return None
    return Witnessed(
        found["tree_size"], base64.b64decode(found["root_hash"]), found["checkpoint"], found["head_position"]
    )


def answer(
    conn: Connection, store: EventStore, ring: KeyRing, request: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Check a WitnessRequest and answer it, recording what was decided in this node's log (in ``conn``'s
    transaction, under the append lock)."""
    store.lock(conn)
    origin = request["origin_node"]
    last = witnessed(conn, store, origin)
    base: dict[str, Any] = {
        "origin_node": origin,
        "witness_node": store.node_id,
        "witnessed_size": last.size if last else 0,
        "witnessed_root": _b64(last.root) if last else "",
        "head_position": request["head_position"],
        "answered_at": now,
    }
    try:
        note = parse_note(request["checkpoint"])
        body = Checkpoint.parse(note.text)
    except NoteError as exc:
        return base | {"status": REFUSE, "tree_size": 0, "root_hash": "", "reason": f"{BAD_SIGNATURE}: {exc}"}
    base |= {"tree_size": body.size, "root_hash": _b64(body.root)}
    keys = [k for k in ring.of_node(origin) if k.trusted]
    verdicts = [note_signed_by(note, origin_of(origin), k.public) for k in keys]
    if body.origin != origin_of(origin) or True not in verdicts:
        reason = UNKNOWN_KEY if not keys or set(verdicts) == {None} else BAD_SIGNATURE
        if reason == BAD_SIGNATURE:
            _refuse(
                conn, store, origin, body, note.render(), last, reason, "the origin's signature does not verify", now
            )
        return base | {"status": REFUSE, "reason": reason}
    if last is not None and body.size < last.size:
        detail = f"tree size {body.size} is smaller than the {last.size} events already countersigned: a rollback"
        _refuse(conn, store, origin, body, note.render(), last, ROLLBACK, detail, now)
        return base | {"status": REFUSE, "reason": ROLLBACK}
    if last is not None and body.size == last.size:
        if body.root == last.root:
            return base | {"status": COSIGNED, "checkpoint": last.checkpoint}
        detail = f"another root for the same {body.size} events: the history was rewritten"
        _refuse(conn, store, origin, body, note.render(), last, INCONSISTENT, detail, now)
        return base | {"status": REFUSE, "reason": INCONSISTENT}
    old_size = last.size if last else 0
    if request["old_size"] != old_size:
        return base | {"status": NEED_PROOF}
    proof = [base64.b64decode(p) for p in request["proof"]]
    old_root = last.root if last else merkle.EMPTY_ROOT
    if not merkle.verify_consistency(old_size, body.size, old_root, body.root, proof):
        detail = f"no valid consistency proof from the {old_size} events countersigned to {body.size}: rewritten"
        _refuse(conn, store, origin, body, note.render(), last, INCONSISTENT, detail, now)
        return base | {"status": REFUSE, "reason": INCONSISTENT}
    stamp = int(now.timestamp())
    cosigned = note.with_signature(cosign(note, origin_of(store.node_id), store_key(store), stamp)).render()
    payload = {
        "origin_node": origin,
        "witness_node": store.node_id,
        "tree_size": body.size,
        "root_hash": _b64(body.root),
        "head_position": request["head_position"],
        "checkpoint": cosigned,
        "cosigned_at": datetime.fromtimestamp(stamp, UTC),
    }
    stream = witness_stream(origin)
    store.append_in(conn, stream, _version(conn, stream), [NewEvent(WITNESSED, payload, ROOT_UNIT, AUDIT_ACTOR, now)])
    return base | {
        "status": COSIGNED,
        "checkpoint": cosigned,
        "witnessed_size": body.size,
        "witnessed_root": _b64(body.root),
    }


def store_key(store: EventStore) -> Any:
    """The witness's signing key (its store's signer)."""
    if store.signer is None:
        raise ValueError("a witness needs a signing key")
    return store.signer.current()


def _refuse(
    conn: Connection,
    store: EventStore,
    origin: str,
    body: Checkpoint,
    note: str,
    last: Witnessed | None,
    reason: str,
    detail: str,
    now: datetime,
) -> None:
    """Record a refusal (once per refused checkpoint) and log it loudly."""
    stream = witness_stream(origin)
    previous = _last(conn, store, stream, [REFUSED])
    if previous is not None and previous["tree_size"] == body.size and previous["root_hash"] == _b64(body.root):
        return
    payload = {
        "origin_node": origin,
        "witness_node": store.node_id,
        "tree_size": body.size,
        "root_hash": _b64(body.root),
        "checkpoint": note,
        "reason": reason,
        "witnessed_size": last.size if last else 0,
        "witnessed_root": _b64(last.root) if last else "",
        "detail": detail,
        "refused_at": now,
    }
    store.append_in(conn, stream, _version(conn, stream), [NewEvent(REFUSED, payload, ROOT_UNIT, AUDIT_ACTOR, now)])
    log.error("witness refused a checkpoint", extra={"origin": origin, "reason": reason, "detail": detail})


def refusals(conn: Connection, store: EventStore, origins: Sequence[str]) -> list[dict[str, Any]]:
    """Every refusal this node recorded as a witness of ``origins``, oldest first."""
    c = event_table.c
    rows = conn.execute(
        select(c.body)
        .where(c.stream_id.in_([witness_stream(o) for o in origins]), c.event_type == REFUSED)
        .order_by(c.position)
    )
    return [store.codec.decode(bytes(r.body)).datum for r in rows]


def _last_versioned(conn: Connection, store: EventStore, stream: str, kind: str) -> tuple[int, dict[str, Any]] | None:
    c = event_table.c
    row = conn.execute(
        select(c.stream_version, c.body)
        .where(c.stream_id == stream, c.event_type == kind)
        .order_by(c.stream_version.desc())
    ).first()
    return (int(row.stream_version), store.codec.decode(bytes(row.body)).datum) if row is not None else None


def status(conn: Connection, store: EventStore, witnesses: Sequence[str], peers: Sequence[str]) -> list[dict[str, Any]]:
    """What this node's witnesses cosigned (OK, or BEHIND its latest checkpoint) and, as a witness, the last
    checkpoint it countersigned for each peer (COSIGNED, or REFUSED when a refusal came after it)."""
    latest = latest_checkpoint(conn, store)
    size = int(latest["event_count"]) if latest else 0
    rows = []
    for target in witnesses:
        found = _last(conn, store, cosigned_stream(target), [WITNESSED])
        cosigned = int(found["tree_size"]) if found else 0
        rows.append(
            {
                "role": "my witness",
                "node": target,
                "tree_size": cosigned,
                "at": found["cosigned_at"] if found else None,
                "status": "OK" if cosigned >= size else "BEHIND",
                "detail": f"the latest checkpoint covers {size} events",
            }
        )
    for origin in peers:
        ok = _last_versioned(conn, store, witness_stream(origin), WITNESSED)
        refused = _last_versioned(conn, store, witness_stream(origin), REFUSED)
        if ok is None and refused is None:
            continue
        if refused is not None and (ok is None or refused[0] > ok[0]):
            data = refused[1]
            rows.append(
                {
                    "role": "witness of",
                    "node": origin,
                    "tree_size": data["tree_size"],
                    "at": data["refused_at"],
                    "status": "REFUSED",
                    "detail": f"{data['reason']}: {data['detail']}",
                }
            )
        elif ok is not None:
            data = ok[1]
            rows.append(
                {
                    "role": "witness of",
                    "node": origin,
                    "tree_size": data["tree_size"],
                    "at": data["cosigned_at"],
                    "status": "COSIGNED",
                    "detail": "",
                }
            )
    return rows


# --- heads for verify ------------------------------------------------------------------------------------------


def local_heads(conn: Connection, store: EventStore, witnesses: Sequence[str]) -> list[ExpectedHead]:
    """The largest head each witness cosigned, as recorded in this node's own log (an insider can delete these;
    the witnesses' own records and their sync topics cannot be)."""
    heads = []
    for witness in witnesses:
        found = _last(conn, store, cosigned_stream(witness), [WITNESSED])
        if found is not None:
            heads.append(head_of(found, f"witness {witness} (cosignature recorded here)"))
    return heads


def head_of(datum: dict[str, Any], source: str) -> ExpectedHead:
    """An expected head from a CheckpointWitnessed datum or a COSIGNED WitnessResponse."""
    when = datum.get("cosigned_at") or datum.get("answered_at")
    stamp = f" at {when.isoformat()}" if isinstance(when, datetime) else ""
    return ExpectedHead(
        f"{source}{stamp}",
        int(datum["tree_size"]),
        base64.b64decode(datum["root_hash"]),
        int(datum.get("head_position") or 0) or None,
    )


def cosigned_response_head(response: dict[str, Any], ring: KeyRing, origin: str) -> ExpectedHead | None:
    """The head of a COSIGNED response read from a witness's sync topic, if its cosignature verifies."""
    if response.get("status") != COSIGNED or response.get("origin_node") != origin:
        return None
    try:
        note = parse_note(response["checkpoint"])
    except NoteError:
        return None
    moment = _cosignature_time(note, response["witness_node"], ring)
    if moment is None:
        return None
    return head_of(response | {"answered_at": moment}, f"witness {response['witness_node']} (its sync topic)")
