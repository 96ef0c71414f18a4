"""Trust on SQLite and PostgreSQL: signed appends, C2SP checkpoints, witnesses, key rotation and revocation.

The attacks are done the way an insider with write access to the database would: by SQL, with valid Avro, columns
that agree with the body and a correct sha256 link; verify must name where and what."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymerkle import InmemoryTree
from sqlalchemy import Engine, delete, insert, update

from services.audit import witness
from services.audit.checkpoints import statement, stream_of, write_checkpoint
from services.audit.export import Selection, export
from services.audit.keys import PublicKey, load_keyring, trusted_keys
from services.audit.notes import Checkpoint, parse_note
from services.audit.rotation import revoke_key, rotate_key
from services.audit.verify import ExpectedHead, verify_chain
from services.kernel import merkle
from services.kernel.codec import AvroCodec
from services.kernel.db import make_engine
from services.kernel.signing import AUDIT_ACTOR, ROOT_UNIT, LocalKey, Seal, key_id, seal
from services.kernel.store import EventStore, NewEvent, StoredEvent, link_hash
from services.kernel.tables import event as event_table
from services.kernel.tables import metadata as store_metadata
from tests.factories import org_unit_registered

KEY = Ed25519PrivateKey.generate()


def signed_store(engine: Engine, codec: AvroCodec, node: str = "p46", key: Ed25519PrivateKey = KEY) -> EventStore:
    return EventStore(engine, codec, node, signer=LocalKey(key))


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    """A signed log: 6 units in 3 appends, a checkpoint, 2 more units (positions: 1 the key, 2..7, 8, 9..10)."""
    built = signed_store(engine, codec)
    for i in range(3):
        built.append(f"unit-{i}", 0, [org_unit_registered(f"U-{i:05d}a"), org_unit_registered(f"U-{i:05d}b")])
    write_checkpoint(built)
    for i in range(3, 5):
        built.append(f"unit-{i}", 0, [org_unit_registered(f"U-{i:05d}")])
    return built


def anchors(node: str = "p46", key: Ed25519PrivateKey = KEY) -> list[PublicKey]:
    return trusted_keys(key, node, None)


def verify(store: EventStore, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("node_id", store.node_id)
    return verify_chain(store.engine, store.codec, kw.pop("keys", anchors(store.node_id)), **kw)


def rows(store: EventStore) -> list[StoredEvent]:
    return store.read_all(0, 10_000)


def forge(store: EventStore, code: str = "U-FORGED", signature: bytes | None = None) -> int:
    """Append by SQL a valid OrgUnitRegistered after the head: right columns, right sha256 link; return its position."""
    last = rows(store)[-1]
    row = EventStore(store.engine, store.codec, store.node_id)._row(
        f"unit-{code}", 1, org_unit_registered(code), last.hash
    )
    row["signature"] = signature
    with store.engine.begin() as conn:  # the position from the table's own counter, as any insert gets it
        return int(conn.execute(insert(event_table).values(**row).returning(event_table.c.position)).scalar_one())


def test_every_batch_is_sealed_and_the_checkpoint_is_a_c2sp_note_over_the_log(store: EventStore) -> None:
    report = verify(store)
    assert report.ok, report.first_break
    assert (report.events, report.sealed_batches, report.sealed_events, report.legacy_events) == (10, 7, 10, 0)
    assert (report.signing_since, report.checkpoints, report.last_sealed_position) == (1, 1, 10)
    stored = rows(store)
    assert [s.position for s in stored if s.signature] == [1, 3, 5, 7, 8, 9, 10]
    assert Seal.from_bytes(stored[2].signature or b"").count == 2
    checkpoint = store.codec.decode(stored[7].body).datum
    note = parse_note(checkpoint["note"])
    body = Checkpoint.parse(note.text)
    reference = InmemoryTree()  # an independent RFC 6962 implementation over the same chain hashes
    for s in stored[:7]:
        reference.append_entry(s.hash)
    assert (body.origin, body.size, body.root) == ("thidua-sync/p46", 7, reference.get_root(7))
    assert note.signatures[0].name == "thidua-sync/p46" and len(note.signatures) == 1
    for s in stored[7:]:
        reference.append_entry(s.hash)
    assert report.tree_size == 10 and base64.b64decode(report.root_hash or "") == reference.get_root(10)


def test_a_forged_event_appended_after_the_last_checkpoint_is_named(store: EventStore) -> None:
    """Attack 1 of the issue: valid Avro, columns agreeing, correct link, no key. The node's next appends and its
    next checkpoint do not sign it into history: their seals cover only their own batches."""
    position = forge(store)
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (position, "UNSIGNED_EVENTS")
    assert "appended without it" in found.message
    store.append("unit-after", 0, [org_unit_registered("U-AFTER")])
    write_checkpoint(store)
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (position, "UNSIGNED_EVENTS")


def test_a_forged_event_sealed_with_a_random_key_is_refused(store: EventStore) -> None:
    intruder = LocalKey(Ed25519PrivateKey.generate())
    position = forge(store)
    forged = rows(store)[-1]
    with store.engine.begin() as conn:
        conn.execute(
            update(event_table)
            .where(event_table.c.position == position)
            .values(signature=seal(intruder, "p46", [forged.hash]))
        )
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (position, "APPEND_SIGNATURE")
    assert intruder.key_id in found.message and "not a key of node p46" in found.message


def test_an_intruder_announcing_its_own_key_is_not_trusted(store: EventStore, engine: Engine) -> None:
    """An insider copies the store's own code path with a key of their own: the announcement is self-sealed, and no
    trusted key names it, so everything it seals is refused."""
    head = rows(store)[-1]
    intruder = EventStore(engine, store.codec, "p46", signer=LocalKey(Ed25519PrivateKey.generate()))
    intruder.append("unit-evil", 0, [org_unit_registered("U-EVIL")])  # announces its key, then seals the event
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (head.position + 1, "APPEND_SIGNATURE")
    assert "no trusted key vouches for it" in found.message


def test_a_rehashed_history_breaks_the_first_seal_after_the_edit(store: EventStore) -> None:
    old = rows(store)
    prev = old[2].hash
    name, renamed = "Đơn vị U-00001b".encode(), "Đơn vị U-00001x".encode()  # the name only: no column changes
    with store.engine.begin() as conn:
        for s in old[3:]:
            body = s.body if s.position != 5 else s.body.replace(name, renamed)
            new_hash = link_hash(prev, body)
            conn.execute(
                update(event_table)
                .where(event_table.c.position == s.position)
                .values(body=body, prev_hash=prev, hash=new_hash)
            )
            prev = new_hash
    found = verify(store).first_break
    assert found is not None and (found.position, found.kind) == (5, "APPEND_SIGNATURE")  # the batch 4..5's seal
    assert "does not verify over events 4..5" in found.message


def test_a_dropped_tail_with_its_checkpoint_is_caught_by_any_head_held_elsewhere(
    store: EventStore, tmp_path: Path
) -> None:
    """Attack 2 of the issue: the tail dropped together with the last checkpoint leaves a valid, shorter log. A
    witness's cosigned head or an export manifest made before names what is missing."""
    write_checkpoint(store)  # position 11, covers 10 events
    manifest = export(store, Selection(), tmp_path / "export", "jsonl", LocalKey(KEY))
    tree, head = manifest["tree"], manifest["chain_head"]
    root, chain_hash = base64.b64decode(tree["root"]), bytes.fromhex(head["hash"])
    heads = [ExpectedHead("manifest", tree["size"], root, head["position"], chain_hash)]
    with store.engine.begin() as conn:
        conn.execute(delete(event_table).where(event_table.c.position >= 9))
    assert verify(store).ok  # alone, the shorter log is consistent
    found = verify(store, heads=heads).first_break
    assert found is not None and (found.position, found.kind) == (11, "TRUNCATED")
    assert "11 events; this log has only 8" in found.message and "after position 8" in found.message


def test_a_rewritten_prefix_does_not_match_a_witnessed_root(store: EventStore) -> None:
    stored = rows(store)
    root = merkle.root([merkle.leaf_hash(s.hash) for s in stored[:5]])
    tampered = ExpectedHead("witness central", 5, bytes(32), None)
    assert verify(store, heads=[ExpectedHead("witness central", 5, root, 5)]).ok
    found = verify(store, heads=[tampered]).first_break
    assert found is not None and (found.position, found.kind) == (5, "WITNESSED_ROOT_MISMATCH")


def test_history_written_before_signing_began_still_verifies(engine: Engine, codec: AvroCodec) -> None:
    """A database from before signing: unsealed events and a v1 checkpoint. Once the node signs, the legacy prefix
    is covered by the first seal (each chain hash commits to all before it) and the v1 checkpoint still verifies;
    an unsealed event after the key's announcement is not legacy any more."""
    legacy = EventStore(engine, codec, "p46")
    legacy.append("unit-old", 0, [org_unit_registered("U-OLD01"), org_unit_registered("U-OLD02")])
    _write_v1_checkpoint(legacy, KEY)
    assert verify(legacy).ok
    signed = signed_store(engine, codec)
    signed.append("unit-new", 0, [org_unit_registered("U-NEW01")])
    write_checkpoint(signed)
    report = verify(signed)
    assert report.ok, report.first_break
    assert (report.legacy_events, report.signing_since, report.checkpoints) == (3, 4, 2)
    position = forge(signed, "U-LATE")
    found = verify(signed).first_break
    assert found is not None and (found.position, found.kind) == (position, "UNSIGNED_EVENTS")


def _write_v1_checkpoint(store: EventStore, key: Ed25519PrivateKey) -> None:
    """A checkpoint as the code before signed appends wrote it: the v1 statement, encoded with the v1 schema."""
    last = rows(store)[-1]
    when = datetime(2026, 11, 1, tzinfo=UTC)
    payload = {
        "signer_node": store.node_id,
        "head_position": last.position,
        "head_hash": last.hash.hex(),
        "event_count": last.position,
        "algorithm": "Ed25519",
        "key_id": key_id(key.public_key()),
        "signature": base64.b64encode(
            key.sign(statement(store.node_id, last.position, last.hash.hex(), last.position))
        ).decode(),
        "signed_at": when,
    }
    v1 = store.codec.catalog.history("vn.thidua.events.CheckpointSigned")[0]
    row = store._row(stream_of(store.node_id), 1, _new("CheckpointSigned", payload, when), last.hash)
    meta = store.codec.decode(row["body"]).datum["meta"]
    row["body"] = store.codec.encode_with(v1, {"meta": meta, **payload})
    row["schema_fingerprint"], row["hash"] = v1.fingerprint, link_hash(last.hash, row["body"])
    with store.engine.begin() as conn:
        conn.execute(insert(event_table).values(**row))


def _new(kind: str, payload: dict, when: datetime) -> NewEvent:  # type: ignore[type-arg]
    return NewEvent(kind, payload, ROOT_UNIT, AUDIT_ACTOR, when)


def test_rotation_keeps_old_history_verifying_and_new_appends_use_the_new_key(store: EventStore) -> None:
    new = Ed25519PrivateKey.generate()
    rotate_key(store, LocalKey(new))
    store.append("unit-rotated", 0, [org_unit_registered("U-ROT01")])
    write_checkpoint(store)
    assert Seal.from_bytes(rows(store)[-2].signature or b"").key_id == LocalKey(new).key_id
    for files in (anchors(key=new), anchors(key=KEY)):  # the new key file alone, or the old one alone
        report = verify(store, keys=files)
        assert report.ok, report.first_break
    with store.engine.connect() as conn:
        ring = load_keyring(conn, store.codec, "p46", anchors(key=new))
    old = ring.keys[LocalKey(KEY).key_id]
    assert old.trusted and "named as predecessor" in old.why


def test_a_lost_key_file_is_replaced_at_the_next_append_and_history_still_verifies(store: EventStore) -> None:
    """The key file is lost (no rotation was possible): the node's next append announces a new key, which names the
    lost one as its predecessor under its own signature; the new file alone still verifies the whole log."""
    new = Ed25519PrivateKey.generate()
    restarted = signed_store(store.engine, store.codec, key=new)  # the node started again with a fresh key file
    head = store.head_position()
    result = restarted.append("unit-after-loss", 0, [org_unit_registered("U-LOST1")])
    write_checkpoint(restarted)
    assert result.positions == [head + 2]  # the new key's announcement first
    report = verify(restarted, keys=anchors(key=new))
    assert report.ok, report.first_break
    assert (report.sealed_events, report.legacy_events) == (report.events, 0)  # sealed by one key or the other
    with store.engine.connect() as conn:
        ring = load_keyring(conn, store.codec, "p46", anchors(key=new))
    old = ring.keys[LocalKey(KEY).key_id]
    assert old.trusted and "named as predecessor" in old.why


def test_revocation_refuses_what_the_key_sealed_after_its_date(store: EventStore) -> None:
    """The old key leaked: a thief seals an event with it after the node rotated. Revoked since the leak, it is
    refused; what the key sealed before the date still verifies."""
    leak = datetime.now(UTC) + timedelta(seconds=1)
    new = Ed25519PrivateKey.generate()
    rotate_key(store, LocalKey(new))
    revoke_key(store, LocalKey(KEY).key_id, leak, "compromised")
    assert verify(store, keys=anchors(key=new)).ok
    thief = EventStore(
        store.engine, store.codec, "p46", signer=LocalKey(KEY), clock=lambda: leak + timedelta(minutes=5)
    )
    thief._announced.add(LocalKey(KEY).key_id)
    result = thief.append("unit-stolen", 0, [org_unit_registered("U-STOLEN")])
    found = verify(store, keys=anchors(key=new)).first_break
    assert found is not None and (found.position, found.kind) == (result.positions[0], "REVOKED_KEY")
    assert "compromised" in found.message


@pytest.fixture
def central(engine: Engine, codec: AvroCodec, tmp_path: Path) -> Iterator[EventStore]:
    """Central's store: another database of the same backend (a second schema on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        other = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
        store_metadata.create_all(other)
        yield signed_store(other, codec, "central", CENTRAL_KEY)
        other.dispose()
        return
    from bench.harness import postgres_schema

    with postgres_schema(engine.url.render_as_string(hide_password=False).split("?")[0], "central") as (other, _url):
        store_metadata.create_all(other)
        yield signed_store(other, codec, "central", CENTRAL_KEY)


CENTRAL_KEY = Ed25519PrivateKey.generate()


def _exchange_keys(province: EventStore, central: EventStore) -> None:
    """What sync does with key announcements: each imports the other's (routed to parent and children)."""
    for source, target in ((province, central), (central, province)):
        for s in rows(source):
            if s.event_type == "SigningKeyActivated" and s.node_id == source.node_id:
                with target.engine.begin() as conn:
                    target.import_foreign(conn, s.body, source.node_id, s.hash, s.position)


def _witness_round(province: EventStore, central: EventStore, now: datetime) -> dict:  # type: ignore[type-arg]
    """One request/answer/record round, as the sync processes do it over Kafka (asking again from the witness's
    size when it answers NEED_PROOF)."""
    with province.engine.connect() as conn:
        checkpoint = witness.latest_checkpoint(conn, province)
        assert checkpoint is not None
        old_size = witness.cosigned_size(conn, province, "central")
    while True:
        with province.engine.connect() as conn:
            request = witness.build_request(conn, province, checkpoint, "central", old_size, now)
        assert request is not None
        with central.engine.begin() as conn:
            ring = load_keyring(conn, central.codec, "central", anchors("central", CENTRAL_KEY), ["p46"])
            response = witness.answer(conn, central, ring, request, now)
        if response["status"] != witness.NEED_PROOF:
            break
        old_size = response["witnessed_size"]
    if response["status"] == witness.COSIGNED:
        with province.engine.begin() as conn:
            ring = load_keyring(conn, province.codec, "p46", anchors(), ["central"])
            assert witness.accept_response(conn, province, ring, response) in ("RECORDED", "DUPLICATE")
    return response


def test_central_witnesses_a_province_and_catches_its_truncated_tail(store: EventStore, central: EventStore) -> None:
    """A province's checkpoints are countersigned by central after consistency proofs; the province then drops its
    tail with its last checkpoint and goes on writing: central refuses the next checkpoints (ROLLBACK: fewer events
    than it countersigned; then INCONSISTENT: the proof from its size fails) and keeps the refusals in its own log,
    and the head central cosigned names the loss at the province."""
    _exchange_keys(store, central)  # position 11: central's key, imported
    now = datetime.now(UTC)
    write_checkpoint(store)
    first = _witness_round(store, central, now)
    assert first["status"] == "COSIGNED" and first["tree_size"] == 11
    store.append("unit-5", 0, [org_unit_registered("U-00005")])
    write_checkpoint(store)
    second = _witness_round(store, central, now)
    assert (second["status"], second["tree_size"]) == ("COSIGNED", 14)  # proved consistent with 11
    with central.engine.connect() as conn:
        cosigned = witness.witnessed(conn, central, "p46")
    assert cosigned is not None and cosigned.size == 14 and "\u2014 thidua-sync/central " in cosigned.checkpoint

    with store.engine.begin() as conn:  # the insider drops the tail from the 14th event on, checkpoint included
        conn.execute(delete(event_table).where(event_table.c.position >= 14))
    assert verify(store).ok
    write_checkpoint(store)  # 13 events: fewer than central countersigned
    assert _witness_round(store, central, now)["reason"] == "ROLLBACK"
    store.append("unit-6", 0, [org_unit_registered("U-00006")])
    write_checkpoint(store)  # 15 events, but the first 14 are not those central saw
    assert _witness_round(store, central, now)["reason"] == "INCONSISTENT"
    with central.engine.connect() as conn:
        alarms = witness.refusals(conn, central, ["p46"])
        board = witness.status(conn, central, [], ["p46"])
    assert [(a["reason"], a["witnessed_size"]) for a in alarms] == [("ROLLBACK", 14), ("INCONSISTENT", 14)]
    assert [(r["node"], r["status"], r["tree_size"]) for r in board] == [("p46", "REFUSED", 15)]
    head = witness.head_of(second, "witness central")
    fourteenth = rows(store)[13]
    found = verify(store, heads=[head]).first_break
    assert found is not None and (found.position, found.kind) == (fourteenth.position, "WITNESSED_ROOT_MISMATCH")
    with store.engine.begin() as conn:  # an insider who also drops everything the province wrote since
        conn.execute(delete(event_table).where(event_table.c.position >= fourteenth.position))
    found = verify(store, heads=[head]).first_break
    assert found is not None and (found.position, found.kind) == (second["head_position"], "TRUNCATED")
    assert "14 events; this log has only 13" in found.message


def test_a_checkpoint_that_goes_back_is_a_rollback(store: EventStore, central: EventStore) -> None:
    _exchange_keys(store, central)
    now = datetime.now(UTC)
    write_checkpoint(store)
    assert _witness_round(store, central, now)["status"] == "COSIGNED"
    with store.engine.begin() as conn:
        conn.execute(delete(event_table).where(event_table.c.position >= 10))
    write_checkpoint(store)  # 9 events: fewer than the 11 central countersigned
    refused = _witness_round(store, central, now)
    assert (refused["status"], refused["reason"], refused["witnessed_size"]) == ("REFUSED", "ROLLBACK", 11)
