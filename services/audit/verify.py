"""``thidua audit verify``: walk the hash chain, the append seals, the checkpoints and the origin proofs of imported
events, compare the log with heads held elsewhere (witnesses' cosigned checkpoints, export manifests), and report the
first break precisely (position, event, what was expected and what was found).

Walking positions in order, for every event: the chain link and hash, the body against the indexed columns; its
chain hash is added to the RFC 6962 tree of the log (for checkpoints and heads) and to the current append batch. At
a seal (the last event of a batch): the batch's count, the key (trusted: ``services/audit/keys.py``; not revoked for
the batch's recording time) and the signature over the batch's root. Events before the node's first key
announcement were written before signing began: the first seal covers them through the chain (each hash commits to
everything before it), and the checkpoints written then still verify. After it, every event must be sealed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from services.kernel import merkle
from services.kernel.codec import AvroCodec
from services.kernel.errors import ThiduaError
from services.kernel.signing import KEY_ACTIVATED, KEY_REVOKED, OriginProof, Seal, batch_root
from services.kernel.store import GENESIS_HASH, foreign_row, link_hash
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event as foreign_table

from .checkpoints import CHECKPOINT, check_signature
from .keys import KeyRing, PublicKey, load_keyring

BATCH = 1000
CHECKED_COLUMNS = (
    "event_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_fingerprint",
    "occurred_at",
    "recorded_at",
    "org_unit_path",
    "node_id",
    "actor_id",
    "correlation_id",
    "causation_id",
)


@dataclass(frozen=True)
class Break:
    """The first place where the log is not what its hashes and signatures say."""

    position: int
    event_id: str | None
    kind: str  # PREV_HASH_MISMATCH | HASH_MISMATCH | COLUMN_MISMATCH | UNDECODABLE | UNSIGNED_EVENTS | ...
    expected: str
    found: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The break as JSON."""
        return {k: getattr(self, k) for k in ("position", "event_id", "kind", "expected", "found", "message")}


@dataclass(frozen=True)
class ExpectedHead:
    """A head of this log held elsewhere: a tree size and root (a witness's cosigned checkpoint, a C2SP checkpoint),
    and/or a position and chain hash (an export manifest, a head given by hand)."""

    source: str
    size: int | None = None
    root: bytes | None = None
    position: int | None = None
    hash: bytes | None = None


@dataclass
class VerifyReport:
    """What a walk checked, and its first break (None: intact)."""

    from_position: int
    to_position: int
    events: int = 0
    checkpoints: int = 0
    origin_links: int = 0
    foreign: int = 0
    last_signed_position: int | None = None
    head_hash: str | None = None
    sealed_batches: int = 0
    sealed_events: int = 0
    legacy_events: int = 0  # before the node's first key announcement (signing began)
    signing_since: int | None = None
    last_sealed_position: int | None = None
    origin_signatures: int = 0  # imported events whose origin proof verified
    origin_unsigned: int = 0  # imported without an origin proof (the origin did not sign then)
    origin_unverified: int = 0  # origin proof by a key this node does not know (yet)
    tree_size: int = 0
    root_hash: str | None = None
    heads_checked: int = 0
    first_break: Break | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no break was found."""
        return self.first_break is None

    @property
    def unsigned_tail(self) -> int:
        """Positions after the last verified checkpoint's head (caught by seals and witnesses, not by a checkpoint)."""
        return self.to_position - (self.last_signed_position or 0)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (API and --json)."""
        keys = (
            "from_position",
            "to_position",
            "events",
            "checkpoints",
            "origin_links",
            "foreign",
            "last_signed_position",
            "head_hash",
            "sealed_batches",
            "sealed_events",
            "legacy_events",
            "signing_since",
            "last_sealed_position",
            "origin_signatures",
            "origin_unsigned",
            "origin_unverified",
            "tree_size",
            "root_hash",
            "heads_checked",
            "unsigned_tail",
            "ok",
            "notes",
        )
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out["first_break"] = self.first_break.to_json() if self.first_break else None
        return out


def verify_chain(
    engine: Engine,
    codec: AvroCodec,
    keys: list[PublicKey],
    from_position: int | None = None,
    to_position: int | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    node_id: str | None = None,
    peers: Iterable[str] = (),
    heads: Sequence[ExpectedHead] = (),
) -> VerifyReport:
    """Walk positions ``from_position``..``to_position`` (default: the whole log) and stop at the first break; then
    compare the log with ``heads`` (only on a walk from the first position). ``keys`` are the anchors (files);
    ``node_id`` is this node (default: the first anchor's); ``peers`` the nodes whose keys the log may hold."""
    own = node_id or (keys[0].node_id if keys else "")
    with engine.connect() as conn:
        head = int(conn.execute(select(func.coalesce(func.max(event_table.c.position), 0))).scalar_one())
        start, end = max(from_position or 1, 1), min(to_position or head, head)
        report = VerifyReport(start, end)
        ring = load_keyring(conn, codec, own, keys, peers)
        walker = _Walker(conn, codec, ring, own, report, heads)
        walker.begin(start)
        expected = _hash_before(conn, start)
        for row in _rows(conn, start, end):
            problem = walker.check(row, expected)
            if problem is not None:
                report.first_break = problem
                break
            expected = bytes(row.hash)
            report.events += 1
            report.head_hash = expected.hex()
            if progress is not None:
                progress(1)
        if report.first_break is None:
            report.first_break = walker.finish(head)
    return report


def _hash_before(conn: Connection, start: int) -> bytes:
    c = event_table.c
    found = conn.execute(select(c.hash).where(c.position < start).order_by(c.position.desc()).limit(1)).scalar()
    return bytes(found) if found is not None else GENESIS_HASH


_FOREIGN = [
    foreign_table.c[name].label(f"fe_{name}")
    for name in ("event_id", "origin_node", "origin_position", "origin_hash", "origin_signature")
]


def _rows(conn: Connection, start: int, end: int) -> Iterator[Any]:
    """Events in position order with their import record, if any (``fe_*`` columns), a batch per query."""
    c = event_table.c
    after = start - 1
    joined = event_table.outerjoin(foreign_table, foreign_table.c.position == c.position)
    while True:
        batch = conn.execute(
            select(event_table, *_FOREIGN)
            .select_from(joined)
            .where(c.position > after, c.position <= end)
            .order_by(c.position)
            .limit(BATCH)
        ).all()
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1].position


@dataclass(frozen=True)
class _Pending:
    """An event of the current (not yet sealed) batch."""

    position: int
    event_id: str
    hash: bytes
    recorded_at: datetime


class _Walker:
    """The checks of one row, given the hash its predecessor has; the state of the walk."""

    def __init__(
        self,
        conn: Connection,
        codec: AvroCodec,
        ring: KeyRing,
        node: str,
        report: VerifyReport,
        heads: Sequence[ExpectedHead],
    ) -> None:
        self.conn, self.codec, self.ring, self.node, self.report = conn, codec, ring, node, report
        self.heads = list(heads)
        self.origin_hashes: dict[tuple[str, int], bytes] = {}
        self.frontier: list[bytes] = []
        self.size = 0
        self.previous: tuple[int, bytes] = (0, GENESIS_HASH)  # position and hash of the last event walked
        self.pending: list[_Pending] = []
        self.signing = False
        self.partial = False  # walking from a later position: the first batch may have begun before it
        self.wanted = {h.size for h in self.heads if h.size is not None}
        self.roots: dict[int, tuple[bytes, int]] = {}  # tree size -> (root, position of its last event)
        self.positions = {h.position: h for h in self.heads if h.position is not None}
        self.deferred: list[tuple[Any, str, OriginProof, bytes]] = []  # imported events whose origin key is unknown

    def begin(self, start: int) -> None:
        """Prepare a walk from ``start``: the tree of the events before it, and whether signing had begun."""
        if start <= 1:
            return
        self.partial = True
        c = event_table.c
        for row in self.conn.execute(select(c.position, c.hash).where(c.position < start).order_by(c.position)):
            self.size = merkle.append_leaf(self.frontier, self.size, merkle.leaf_hash(bytes(row.hash)))
            self.previous = (int(row.position), bytes(row.hash))
        own = [k.position for k in self.ring.of_node(self.node) if k.position is not None]
        self.signing = bool(own) and min(own) < start

    def check(self, row: Any, expected_prev: bytes) -> Break | None:
        """The first problem of ``row``, or None."""
        position, event_id = int(row.position), row.event_id

        def broken(kind: str, expected: Any, found: Any, message: str) -> Break:
            return Break(position, event_id, kind, str(expected), str(found), message)

        if bytes(row.prev_hash) != expected_prev:
            return broken(
                "PREV_HASH_MISMATCH",
                expected_prev.hex(),
                bytes(row.prev_hash).hex(),
                "the event does not link to the event stored before it: an event was deleted, inserted or moved here",
            )
        computed = link_hash(bytes(row.prev_hash), bytes(row.body))
        if computed != bytes(row.hash):
            return broken(
                "HASH_MISMATCH",
                computed.hex(),
                bytes(row.hash).hex(),
                "sha256(prev_hash || body) differs: the body was changed",
            )
        try:
            facts = foreign_row(self.codec, bytes(row.body))
        except (ThiduaError, KeyError, TypeError, ValueError) as exc:  # undecodable stored bytes are a finding
            return broken(
                "UNDECODABLE", "a decodable Avro event", type(exc).__name__, f"the body cannot be decoded: {exc}"
            )
        for column in CHECKED_COLUMNS:
            if _norm(getattr(row, column)) != _norm(facts[column]):
                return broken(
                    "COLUMN_MISMATCH",
                    facts[column],
                    getattr(row, column),
                    f"column {column} disagrees with the event's body",
                )
        if row.event_type in (KEY_ACTIVATED, KEY_REVOKED):
            self._key_event(row)
        if row.event_type == CHECKPOINT and row.node_id == self.node:
            problem = self._checkpoint(row, broken)
        else:
            problem = self._foreign(row, broken)
        if problem is not None:
            return problem
        return self._leaf(row, broken)

    # --- keys, seals and the tree ----------------------------------------------------------------------------------

    def _key_event(self, row: Any) -> None:
        datum = self.codec.decode(bytes(row.body)).datum
        if row.event_type == KEY_ACTIVATED and row.node_id == self.node and not self.signing:
            self.signing = True  # signing began with this announcement: what came before is legacy
            self.report.signing_since = int(row.position)
            self.report.legacy_events += len(self.pending)
            self.pending = []
        known = self.ring.get(datum["key_id"], row.node_id)
        if known is None or (row.event_type == KEY_REVOKED and known.revoked_since is None):
            # a key event the first pass did not see (a node outside the topology): learn it now
            self.ring.add_event(row.event_type, datum, int(row.position), row.signature, bytes(row.hash))
            self.ring.settle()

    def _leaf(self, row: Any, broken: Callable[..., Break]) -> Break | None:
        position, hash_ = int(row.position), bytes(row.hash)
        self.previous = (position, hash_)
        self.size = merkle.append_leaf(self.frontier, self.size, merkle.leaf_hash(hash_))
        if self.size in self.wanted:
            self.roots[self.size] = (merkle.root_of_frontier(self.frontier), position)
        if position in self.positions and self.positions[position].hash not in (None, hash_):
            head = self.positions[position]
            message = f"{head.source} holds another event hash at position {position}: history was rewritten"
            return broken("HEAD_MISMATCH", (head.hash or b"").hex(), hash_.hex(), message)
        self.pending.append(_Pending(position, row.event_id, hash_, _utc(row.recorded_at)))
        if row.signature is None:
            return None
        return self._seal(row, bytes(row.signature), broken)

    def _seal(self, row: Any, raw: bytes, broken: Callable[..., Break]) -> Break | None:
        try:
            found = Seal.from_bytes(raw)
        except ValueError as exc:
            return broken("APPEND_SIGNATURE", "a version 1 append seal", raw[:8].hex(), f"the seal is malformed: {exc}")
        if found.count > len(self.pending) and self.partial and self.report.sealed_batches == 0:
            self._prepend_before_start(found.count - len(self.pending))
        if found.count > len(self.pending):
            message = f"the seal covers {found.count} events, but only {len(self.pending)} came since the last seal"
            return broken("APPEND_SIGNATURE", found.count, len(self.pending), message)
        uncovered, batch = self.pending[: -found.count], self.pending[-found.count :]
        if uncovered:
            if self.signing and uncovered[0].position >= (self.report.signing_since or 0):
                first = uncovered[0]
                why = "events were written without the node's signing key (not by this node's store)"
                what = f"{len(uncovered)} event(s) outside any sealed batch"
                return Break(first.position, first.event_id, "UNSIGNED_EVENTS", "a seal of the node's key", what, why)
            self.report.legacy_events += len(uncovered)
        key = self.ring.get(found.key_id, self.node)
        if key is None:
            message = (
                f"key {found.key_id} is not a key of node {self.node} (not announced in the log, not in a key file)"
            )
            return broken("APPEND_SIGNATURE", "a trusted key of this node", found.key_id, message)
        if not key.trusted:
            message = f"key {found.key_id} is announced in the log but no trusted key vouches for it"
            return broken("APPEND_SIGNATURE", "a trusted key of this node", found.key_id, message)
        if key.position is not None and key.position > batch[0].position:
            message = f"key {found.key_id} sealed events before its announcement at position {key.position}"
            return broken("APPEND_SIGNATURE", f"announced before {batch[0].position}", key.position, message)
        if not found.verifies(key.public, self.node, batch_root([p.hash for p in batch])):
            message = f"the seal by key {found.key_id} does not verify over events {batch[0].position}..{row.position}"
            return broken("APPEND_SIGNATURE", "a valid Ed25519 signature", found.key_id, message)
        latest = max(p.recorded_at for p in batch)
        if key.revoked_since is not None and latest > key.revoked_since:
            message = f"key {found.key_id} is revoked since {key.revoked_since.isoformat()} ({key.revoked_reason})"
            return broken(
                "REVOKED_KEY", f"recorded before {key.revoked_since.isoformat()}", latest.isoformat(), message
            )
        self.report.sealed_batches += 1
        self.report.sealed_events += found.count
        self.report.last_sealed_position = int(row.position)
        self.pending = []
        return None

    def _prepend_before_start(self, missing: int) -> None:
        """A walk that starts inside a batch: the batch's events before the start, read by their hashes."""
        c = event_table.c
        first = self.pending[0].position if self.pending else self.report.from_position
        rows = self.conn.execute(
            select(c.position, c.event_id, c.hash, c.recorded_at)
            .where(c.position < first)
            .order_by(c.position.desc())
            .limit(missing)
        ).all()
        before = [_Pending(int(r.position), r.event_id, bytes(r.hash), _utc(r.recorded_at)) for r in reversed(rows)]
        self.pending = before + self.pending

    def finish(self, head: int) -> Break | None:
        """After the last row: the unsigned tail, origin proofs that waited for their key, heads held elsewhere."""
        report = self.report
        if self.pending and self.signing and report.to_position == head:
            first = self.pending[0]
            return Break(
                first.position,
                first.event_id,
                "UNSIGNED_EVENTS",
                "a seal of the node's key",
                f"{len(self.pending)} event(s) after the last sealed batch",
                "the events after the last seal carry no seal of the node's key: appended without it "
                "(not by this node's store), or the end of their batch was removed",
            )
        if self.pending and not self.signing:
            report.legacy_events += len(self.pending)
        if self.pending and self.signing and report.to_position < head:
            report.notes.append(f"the batch around --to {report.to_position} continues after it: its seal not checked")
        for row, origin, proof, origin_hash in self.deferred:
            problem = self._origin_proof(row, origin, proof, origin_hash, final=True)
            if problem is not None:
                return problem
        report.tree_size = self.size
        report.root_hash = base64.b64encode(merkle.root_of_frontier(self.frontier)).decode()
        if not self.signing:
            report.notes.append("no key announcement of this node in the log: written before signed appends began")
        return self._heads(head)

    def _heads(self, head: int) -> Break | None:
        if not self.heads:
            return None
        if self.partial or self.report.to_position < head:
            self.report.notes.append("heads held elsewhere are compared only on a walk of the whole log")
            return None
        last = self.report.to_position
        for expected in sorted(self.heads, key=lambda h: -(h.size or 0)):
            self.report.heads_checked += 1
            if expected.size is not None and expected.size > self.size:
                at = expected.position if expected.position and expected.position > last else last + 1
                message = (
                    f"{expected.source} holds a head of {expected.size} events; this log has only {self.size}: events "
                    f"after position {last} were removed (the tail was truncated)"
                )
                return Break(at, None, "TRUNCATED", f"{expected.size} events", f"{self.size} events", message)
            if expected.size is not None and expected.root is not None:
                root, position = self.roots.get(expected.size, (merkle.EMPTY_ROOT, 0))
                if root != expected.root:
                    message = (
                        f"{expected.source} holds another root for the first {expected.size} events: history up to "
                        f"position {position} was rewritten"
                    )
                    return Break(
                        position,
                        None,
                        "WITNESSED_ROOT_MISMATCH",
                        base64.b64encode(expected.root).decode(),
                        base64.b64encode(root).decode(),
                        message,
                    )
            if expected.position is not None and expected.position > last:
                message = f"{expected.source} holds an event at position {expected.position}; this log ends at {last}"
                return Break(
                    expected.position,
                    None,
                    "TRUNCATED",
                    f"position {expected.position}",
                    f"last {last}",
                    message + ": the tail was truncated",
                )
            if expected.position is not None and expected.hash is not None and expected.position <= last:
                stored = self.conn.execute(
                    select(event_table.c.hash).where(event_table.c.position == expected.position)
                ).scalar()
                if stored is None:
                    message = f"{expected.source} holds an event at position {expected.position}, missing here"
                    return Break(expected.position, None, "TRUNCATED", expected.hash.hex(), "missing", message)
        return None

    # --- checkpoints and imported events ---------------------------------------------------------------------------

    def _checkpoint(self, row: Any, broken: Callable[..., Break]) -> Break | None:
        data = self.codec.decode(bytes(row.body)).datum
        wrong = checkpoint_problem(self.ring, data, self.node)
        if wrong is not None:
            return broken("CHECKPOINT_SIGNATURE", "a valid signature by a trusted key", data["key_id"], wrong)
        c = event_table.c
        target = data["head_position"]
        if target == self.previous[0]:  # the usual case: signed under the lock right after its head
            found, count = self.previous[1].hex(), self.size
        else:
            stored = self.conn.execute(select(c.hash).where(c.position == target)).scalar()
            found = bytes(stored).hex() if stored is not None else (GENESIS_HASH.hex() if target == 0 else "missing")
            count = -1
        if found != data["head_hash"]:
            message = f"the checkpoint signed position {target} with another hash: events up to it were rewritten"
            return broken("CHECKPOINT_HASH_MISMATCH", data["head_hash"], found, message)
        if count < 0:
            query = select(func.count()).select_from(event_table).where(c.position <= target)
            count = int(self.conn.execute(query).scalar_one())
        if count != data["event_count"]:
            message = f"the checkpoint counted {data['event_count']} events up to position {target}"
            return broken("CHECKPOINT_COUNT_MISMATCH", data["event_count"], count, message)
        if data.get("note"):
            problem = self._checkpoint_tree(data, target, broken)
            if problem is not None:
                return problem
        self.report.checkpoints += 1
        self.report.last_signed_position = max(self.report.last_signed_position or 0, target)
        if target < self.report.from_position:
            self.report.notes.append(f"checkpoint at {row.position} covers {target}, before the walked range")
        return None

    def _checkpoint_tree(self, data: dict[str, Any], target: int, broken: Callable[..., Break]) -> Break | None:
        """A C2SP checkpoint: its root and compact range are those of the first ``event_count`` events."""
        if self.size == data["event_count"]:
            frontier = list(self.frontier)
        else:  # events between the head and the checkpoint (not written so by the store): rebuild that tree
            hashes: Any = self.conn.execute(
                select(event_table.c.hash).where(event_table.c.position <= target).order_by(event_table.c.position)
            ).scalars()
            frontier = merkle.extend([], 0, [merkle.leaf_hash(bytes(h)) for h in hashes])[0]
        root = base64.b64encode(merkle.root_of_frontier(frontier)).decode()
        if root != data["root_hash"]:
            message = f"the checkpoint's Merkle root over the first {data['event_count']} events is not this log's"
            return broken("CHECKPOINT_ROOT_MISMATCH", data["root_hash"], root, message)
        if [base64.b64decode(h) for h in data["frontier"]] != frontier:
            message = "the checkpoint's compact range is not this log's (its consistency proofs would fail)"
            return broken("CHECKPOINT_ROOT_MISMATCH", "the log's compact range", "another", message)
        return None

    def _foreign(self, row: Any, broken: Callable[..., Break]) -> Break | None:
        if row.fe_event_id is None:
            return None
        self.report.foreign += 1
        origin = row.fe_origin_node
        if row.fe_event_id != row.event_id or origin != row.node_id:
            return broken(
                "FOREIGN_RECORD_MISMATCH",
                f"{row.event_id}@{row.node_id}",
                f"{row.fe_event_id}@{origin}",
                "the import record of this position names another event or origin",
            )
        if row.fe_origin_hash is None or row.fe_origin_position is None:
            return None
        origin_hash, origin_position = bytes(row.fe_origin_hash), int(row.fe_origin_position)
        before = self.origin_hashes.get((origin, origin_position - 1))
        if before is not None:
            computed = link_hash(before, bytes(row.body))
            if computed != origin_hash:
                message = f"the body does not hash to the origin's hash at {origin}#{origin_position}"
                return broken("ORIGIN_HASH_MISMATCH", origin_hash.hex(), computed.hex(), message)
            self.report.origin_links += 1
        self.origin_hashes[(origin, origin_position)] = origin_hash
        if row.fe_origin_signature is None:
            self.report.origin_unsigned += 1
            return None
        try:
            proof = OriginProof.from_bytes(bytes(row.fe_origin_signature))
        except ValueError as exc:
            return broken("ORIGIN_SIGNATURE", "an origin proof", "malformed", f"the origin proof is malformed: {exc}")
        return self._origin_proof(row, origin, proof, origin_hash, final=False)

    def _origin_proof(self, row: Any, origin: str, proof: OriginProof, origin_hash: bytes, final: bool) -> Break | None:
        key = self.ring.get(proof.seal.key_id, origin)
        if key is None or not key.trusted:
            if not final:
                self.deferred.append((row, origin, proof, origin_hash))  # its key may be imported later in the log
            else:
                self.report.origin_unverified += 1
            return None
        wrong = proof.check(key.public, origin, bytes(row.body), origin_hash)
        if wrong is None and key.revoked_since is not None and _utc(row.recorded_at) > key.revoked_since:
            wrong = f"key {key.key_id} of {origin} is revoked since {key.revoked_since.isoformat()}"
        if wrong is not None:
            return Break(
                int(row.position),
                row.event_id,
                "ORIGIN_SIGNATURE",
                f"{origin}'s seal",
                proof.seal.key_id,
                f"the imported event is not what {origin} signed: {wrong}",
            )
        self.report.origin_signatures += 1
        return None


def checkpoint_problem(ring: KeyRing, data: dict[str, Any], node: str) -> str | None:
    """None when a checkpoint of ``node`` is signed by a key of ``node`` that ``ring`` trusts; else what is wrong."""
    key = ring.trusted(data["key_id"], node)
    if key is None:
        return f"key {data['key_id']} is not trusted (GET /api/v1/keys, audit_trusted_keys_dir)"
    return check_signature(data, key.public)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def seen_by(
    report: dict[str, Any], path_at: Callable[[int], str | None], covers: Callable[[str], bool]
) -> dict[str, Any]:
    """``report`` (``VerifyReport.to_json``) as a reader of one subtree may see it: a break is named (event,
    expected and found values) only when its event lies in the subtree (``covers``); else only its position and
    kind, marked ``outside_subtree``."""
    broken = report["first_break"]
    if broken is None:
        return report
    path = path_at(broken["position"])
    if path is not None and covers(path):
        return report
    return {**report, "first_break": {"position": broken["position"], "kind": broken["kind"], "outside_subtree": True}}


def event_path(engine: Engine, position: int) -> str | None:
    """The org-unit path of the event at ``position`` (None if there is none)."""
    with engine.connect() as conn:
        return conn.execute(select(event_table.c.org_unit_path).where(event_table.c.position == position)).scalar()
