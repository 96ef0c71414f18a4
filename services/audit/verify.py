"""``thidua audit verify``: walk the hash chain, its checkpoints and the origin links of imported events, and
report the first break precisely (position, event, what was expected and what was found)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from services.kernel.codec import AvroCodec
from services.kernel.errors import ThiduaError
from services.kernel.store import GENESIS_HASH, foreign_row, link_hash
from services.kernel.tables import event as event_table
from services.kernel.tables import foreign_event as foreign_table

from .checkpoints import CHECKPOINT, check_signature
from .keys import PublicKey

BATCH = 1000
CHECKED_COLUMNS = (
    "event_id", "stream_id", "stream_version", "event_type", "schema_fingerprint", "occurred_at", "recorded_at",
    "org_unit_path", "node_id", "actor_id", "correlation_id", "causation_id",
)  # fmt: skip


@dataclass(frozen=True)
class Break:
    """The first place where the log is not what its hashes and signatures say."""

    position: int
    event_id: str | None
    kind: (
        str  # PREV_HASH_MISMATCH | HASH_MISMATCH | COLUMN_MISMATCH | UNDECODABLE | CHECKPOINT_* | FOREIGN_* | ORIGIN_*
    )
    expected: str
    found: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The break as JSON."""
        return {k: getattr(self, k) for k in ("position", "event_id", "kind", "expected", "found", "message")}


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
    first_break: Break | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no break was found."""
        return self.first_break is None

    @property
    def unsigned_tail(self) -> int:
        """Positions after the last verified checkpoint's head (tampering there is only caught by the chain)."""
        return self.to_position - (self.last_signed_position or 0)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (API and --json)."""
        keys = ("from_position", "to_position", "events", "checkpoints", "origin_links", "foreign")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out |= {"ok": self.ok, "last_signed_position": self.last_signed_position, "head_hash": self.head_hash}
        out |= {"unsigned_tail": self.unsigned_tail, "notes": self.notes}
        out["first_break"] = self.first_break.to_json() if self.first_break else None
        return out


def verify_chain(
    engine: Engine,
    codec: AvroCodec,
    keys: list[PublicKey],
    from_position: int | None = None,
    to_position: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Walk positions ``from_position``..``to_position`` (default: the whole log) and stop at the first break."""
    with engine.connect() as conn:
        head = int(conn.execute(select(func.coalesce(func.max(event_table.c.position), 0))).scalar_one())
        start, end = max(from_position or 1, 1), min(to_position or head, head)
        report = VerifyReport(start, end)
        walker = _Walker(conn, codec, keys, report)
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
    return report


def _hash_before(conn: Connection, start: int) -> bytes:
    c = event_table.c
    found = conn.execute(select(c.hash).where(c.position < start).order_by(c.position.desc()).limit(1)).scalar()
    return bytes(found) if found is not None else GENESIS_HASH


def _rows(conn: Connection, start: int, end: int) -> Iterator[Any]:
    c = event_table.c
    after = start - 1
    while True:
        batch = conn.execute(
            select(event_table).where(c.position > after, c.position <= end).order_by(c.position).limit(BATCH)
        ).all()
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1].position


class _Walker:
    """The checks of one row, given the hash its predecessor has."""

    def __init__(self, conn: Connection, codec: AvroCodec, keys: list[PublicKey], report: VerifyReport) -> None:
        self.conn, self.codec, self.keys, self.report = conn, codec, keys, report
        self.origin_hashes: dict[tuple[str, int], bytes] = {}

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
        if row.event_type == CHECKPOINT:
            return self._checkpoint(row, broken)
        return self._foreign(row, broken)

    def _checkpoint(self, row: Any, broken: Callable[..., Break]) -> Break | None:
        data = self.codec.decode(bytes(row.body)).datum
        wrong = check_signature(data, self.keys)
        if wrong is not None:
            return broken("CHECKPOINT_SIGNATURE", "a valid signature by a trusted key", data["key_id"], wrong)
        c = event_table.c
        target = data["head_position"]
        stored = self.conn.execute(select(c.hash).where(c.position == target)).scalar()
        found = bytes(stored).hex() if stored is not None else (GENESIS_HASH.hex() if target == 0 else "missing")
        if found != data["head_hash"]:
            message = f"the checkpoint signed position {target} with another hash: events up to it were rewritten"
            return broken("CHECKPOINT_HASH_MISMATCH", data["head_hash"], found, message)
        count = int(
            self.conn.execute(select(func.count()).select_from(event_table).where(c.position <= target)).scalar_one()
        )
        if count != data["event_count"]:
            message = f"the checkpoint counted {data['event_count']} events up to position {target}"
            return broken("CHECKPOINT_COUNT_MISMATCH", data["event_count"], count, message)
        self.report.checkpoints += 1
        self.report.last_signed_position = max(self.report.last_signed_position or 0, target)
        if target < self.report.from_position:
            self.report.notes.append(f"checkpoint at {row.position} covers {target}, before the walked range")
        return None

    def _foreign(self, row: Any, broken: Callable[..., Break]) -> Break | None:
        fe = self.conn.execute(select(foreign_table).where(foreign_table.c.position == row.position)).first()
        if fe is None:
            return None
        self.report.foreign += 1
        if fe.event_id != row.event_id or fe.origin_node != row.node_id:
            return broken(
                "FOREIGN_RECORD_MISMATCH", f"{row.event_id}@{row.node_id}", f"{fe.event_id}@{fe.origin_node}",
                "the import record of this position names another event or origin",
            )  # fmt: skip
        if fe.origin_hash is None or fe.origin_position is None:
            return None
        origin_hash = bytes(fe.origin_hash)
        before = self.origin_hashes.get((fe.origin_node, fe.origin_position - 1))
        if before is not None:
            computed = link_hash(before, bytes(row.body))
            if computed != origin_hash:
                message = f"the body does not hash to the origin's hash at {fe.origin_node}#{fe.origin_position}"
                return broken("ORIGIN_HASH_MISMATCH", origin_hash.hex(), computed.hex(), message)
            self.report.origin_links += 1
        self.origin_hashes[(fe.origin_node, int(fe.origin_position))] = origin_hash
        return None


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
