"""Origin proofs for the events a node sends (docs/audit.md): each event routed to another node carries, in the
``ce_signature`` header, its batch's seal and its inclusion path in the batch (``services/kernel/signing.py``), so
the receiver checks the origin's signature on that one event without the origin's other events.

The sender reads the store in position order; a seal sits on the last event of its batch, so the batches of the
events read are found among them, in the events just after (a read that stopped inside a batch) and just before (a
batch that began before the read). Events written before the node signed (before its first key announcement) have
no seal and travel without a proof.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from sqlalchemy import Engine, func, select

from services.kernel.signing import KEY_ACTIVATED, Seal, keys_stream, origin_proofs
from services.kernel.store import StoredEvent
from services.kernel.tables import event as event_table

SIGNATURE_HEADER = "ce_signature"
Row = tuple[int, bytes, bytes, bytes | None]  # position, chain hash, predecessor's hash, seal
_LOOKAHEAD = 2_000  # rows read at a time past the read batch while looking for its last seal


class ProofBuilder:
    """Origin proofs of a node's own events, by position."""

    def __init__(self, engine: Engine, node_id: str) -> None:
        self.engine = engine
        self.node_id = node_id
        self._signing_since: int | None = None

    def signing_since(self) -> int | None:
        """Position of the node's first key announcement (None: the node does not sign yet)."""
        if self._signing_since is None:
            c = event_table.c
            with self.engine.connect() as conn:
                self._signing_since = conn.execute(
                    select(func.min(c.position)).where(
                        c.stream_id == keys_stream(self.node_id), c.event_type == KEY_ACTIVATED
                    )
                ).scalar()
        return self._signing_since

    def headers(self, events: Sequence[StoredEvent], wanted: set[int]) -> dict[int, bytes]:
        """``ce_signature`` values (base64 of the origin proof) for the events at positions ``wanted`` of ``events``
        (a contiguous read of the store)."""
        since = self.signing_since()
        wanted = {p for p in wanted if since is not None and p >= since}
        if not wanted:
            return {}
        rows = [(e.position, e.hash, e.prev_hash, e.signature) for e in events]
        rows += self._after(rows[-1][0], [r for r in rows if r[0] >= min(wanted)])
        out: dict[int, bytes] = {}
        for index in range(len(rows) - 1, -1, -1):
            _position, _, _, signature = rows[index]
            if signature is None:
                continue
            count = Seal.from_bytes(signature).count
            start = index - count + 1
            batch = rows[max(start, 0) : index + 1]
            if start < 0:
                batch = self._before(rows[0][0], -start) + batch
            mine = [i for i, row in enumerate(batch) if row[0] in wanted]
            if mine:
                proofs = origin_proofs(signature, [r[1] for r in batch], batch[0][2], mine)
                out |= {batch[i][0]: base64.b64encode(proofs[i]) for i in mine}
        return out

    def _after(self, last: int, tail: list[Row]) -> list[Row]:
        """Rows after ``last`` up to the seal of the batch the read stopped in (none if it ended on a seal)."""
        if not tail or tail[-1][3] is not None:
            return []
        c = event_table.c
        found: list[Row] = []
        with self.engine.connect() as conn:
            while True:
                chunk = conn.execute(
                    select(c.position, c.hash, c.prev_hash, c.signature)
                    .where(c.position > last)
                    .order_by(c.position)
                    .limit(_LOOKAHEAD)
                ).all()
                for row in chunk:
                    found.append((int(row.position), bytes(row.hash), bytes(row.prev_hash), row.signature))
                    if row.signature is not None:
                        return found
                if len(chunk) < _LOOKAHEAD:
                    return found  # the batch is still being written? (never: a seal commits with its rows)
                last = chunk[-1].position

    def _before(self, first: int, count: int) -> list[Row]:
        """The ``count`` rows just before position ``first``."""
        c = event_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.position, c.hash, c.prev_hash, c.signature)
                .where(c.position < first)
                .order_by(c.position.desc())
                .limit(count)
            ).all()
        return [(int(r.position), bytes(r.hash), bytes(r.prev_hash), r.signature) for r in reversed(rows)]
