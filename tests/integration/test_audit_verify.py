"""Tamper evidence on SQLite and PostgreSQL: signed checkpoints, and ``verify`` finds each kind of tampering."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete, select, update

from services.audit.checkpoints import write_checkpoint
from services.audit.keys import PublicKey, trusted_keys
from services.audit.verify import verify_chain
from services.kernel.codec import AvroCodec
from services.kernel.store import EventStore, link_hash
from services.kernel.tables import event as event_table
from tests.factories import org_unit_registered

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    """Eight events, a checkpoint, four more events and a second checkpoint (positions 1..14)."""
    built = EventStore(engine, codec, "p46")
    for i in range(8):
        built.append(f"unit-{i}", 0, [org_unit_registered(f"U-{i:05d}")])
    write_checkpoint(built, KEY)
    for i in range(8, 12):
        built.append(f"unit-{i}", 0, [org_unit_registered(f"U-{i:05d}")])
    write_checkpoint(built, KEY)
    return built


def keys() -> list[PublicKey]:
    return trusted_keys(KEY, "p46", None)


def verify(store: EventStore, **kw):  # type: ignore[no-untyped-def]
    return verify_chain(store.engine, store.codec, keys(), **kw)


def rows(store: EventStore) -> list:  # type: ignore[type-arg]
    with store.engine.connect() as conn:
        return list(conn.execute(select(event_table).order_by(event_table.c.position)))


def set_row(store: EventStore, position: int, **values) -> None:  # type: ignore[no-untyped-def]
    with store.engine.begin() as conn:
        conn.execute(update(event_table).where(event_table.c.position == position).values(**values))


def test_intact_log_verifies_with_its_checkpoints(store: EventStore) -> None:
    report = verify(store)
    assert report.ok, report.first_break
    assert (report.events, report.checkpoints, report.last_signed_position) == (14, 2, 13)
    assert report.unsigned_tail == 1
    assert verify(store, from_position=5, to_position=10).ok


def test_edited_payload_is_found(store: EventStore) -> None:
    body = bytearray(rows(store)[3].body)
    body[body.rindex(b"AGENCY_LOCALITY") + 14] ^= 0x01  # a letter of the subject category: still decodable
    set_row(store, 4, body=bytes(body))
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (4, "HASH_MISMATCH")
    assert found.event_id == rows(store)[3].event_id


def test_edited_column_is_found(store: EventStore) -> None:
    set_row(store, 6, org_unit_path="VN/01")
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (6, "COLUMN_MISMATCH")
    assert (found.expected, found.found) == ("VN/31/11086/U-00005", "VN/01")


def test_deleted_row_is_found(store: EventStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(event_table).where(event_table.c.position == 3))
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (4, "PREV_HASH_MISMATCH")


def test_swapped_rows_are_found(store: EventStore) -> None:
    before = rows(store)
    columns = [c.name for c in event_table.c if c.name != "position"]
    a, b = before[1], before[2]
    set_row(store, 2, event_id="tmp", stream_id="tmp")  # free the unique keys while swapping
    set_row(store, 3, **{c: getattr(a, c) for c in columns})
    set_row(store, 2, **{c: getattr(b, c) for c in columns})
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (2, "PREV_HASH_MISMATCH")


def test_rewritten_chain_is_caught_by_the_signed_checkpoint(store: EventStore) -> None:
    """An attacker who edits a body and recomputes every later hash still cannot re-sign the checkpoint."""
    old = rows(store)
    body = bytearray(old[1].body)
    body[body.rindex(b"AGENCY_LOCALITY") + 14] ^= 0x01  # a letter of the subject category: still decodable
    prev = old[0].hash
    with store.engine.begin() as conn:
        for row in old[1:]:
            new_body = bytes(body) if row.position == 2 else row.body
            new_hash = link_hash(prev, new_body)
            conn.execute(
                update(event_table)
                .where(event_table.c.position == row.position)
                .values(body=new_body, prev_hash=prev, hash=new_hash)
            )
            prev = new_hash
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (9, "CHECKPOINT_HASH_MISMATCH")


def test_checkpoint_signed_by_an_unknown_key_is_refused(store: EventStore) -> None:
    other = trusted_keys(Ed25519PrivateKey.generate(), "p46", None)
    found = verify_chain(store.engine, store.codec, other).first_break
    assert found is not None and (found.position, found.kind) == (9, "CHECKPOINT_SIGNATURE")
