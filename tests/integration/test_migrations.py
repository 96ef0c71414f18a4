"""Migrations of the operations tables, on SQLite and PostgreSQL: the revisions build exactly the code's tables; a
v0.1.0 database holding the demo upgrades without losing anything; an unknown one is refused; the servers refuse a
database at another revision and create nothing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, inspect, select, text

from projections import tracking
from projections.bluegreen import states
from projections.versions import code_version
from services import migrations
from services.audit.anchors import node_key, node_trusted_keys
from services.audit.checkpoints import write_checkpoint
from services.audit.replay import compare, replay
from services.audit.verify import verify_chain
from services.bootstrap import bootstrap
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import make_engine
from services.kernel.errors import DatabaseNotCurrent, DatabaseNotRecognised, DowngradeRefused
from services.kernel.settings import Settings
from services.kernel.tables import event
from services.migrations.metadata import operations_metadata
from tests import v010
from tests.factories import org_unit_registered

pytestmark = pytest.mark.integration


def differences(engine: Engine) -> list[Any]:
    """What Alembic finds between the database's operations tables and the code's (empty: identical)."""
    code = operations_metadata()
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": lambda name, kind, _: kind != "table" or name in code.tables},
        )
        return list(compare_metadata(context, code))


def test_the_revisions_build_exactly_the_code_tables_and_undo_them(blank_engine: Engine) -> None:
    first = migrations.upgrade(blank_engine, to=migrations.BASELINE)
    assert (first.applied, first.created) == ([migrations.BASELINE], False)
    assert migrations.upgrade(blank_engine).applied == [r.id for r in migrations.history()][1:]
    assert migrations.current(blank_engine) == migrations.head()
    assert differences(blank_engine) == []  # a table changed without a revision fails here
    migrations.downgrade(blank_engine, "base")
    assert not set(inspect(blank_engine).get_table_names()) & set(operations_metadata().tables)
    assert migrations.upgrade(blank_engine).created  # a new database: in one step, stamped at the head
    assert migrations.current(blank_engine) == migrations.head() and differences(blank_engine) == []


def test_a_new_database_comes_up_with_every_read_model_current(blank_engine: Engine, tmp_path: Path) -> None:
    node = bootstrap(Settings(data_dir=tmp_path), engine=blank_engine)
    node.init_db()
    with blank_engine.connect() as conn:
        found = states(conn, node.projections)
    assert [s.name for s in found] == [p.name for p in node.projections] and all(s.current for s in found)
    assert node.runner.stale() == []


def v010_database(blank_engine: Engine, tmp_path: Path) -> Engine:
    """A database with v0.1.0's schema holding v0.1.0's demo (and a checkpoint), on the test's backend."""
    if blank_engine.dialect.name == "sqlite":
        blank_engine.dispose()
        return make_engine(f"sqlite:///{v010.sqlite_file(tmp_path / 'v010.db')}")
    v010.load_postgres(blank_engine)
    return blank_engine


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(event)).scalar_one())


def test_a_v010_database_with_the_demo_upgrades_without_loss(
    blank_engine: Engine, tmp_path: Path, codec: AvroCodec
) -> None:
    engine = v010_database(blank_engine, tmp_path)
    before = count(engine)
    assert before > 80 and migrations.current(engine) == migrations.UNVERSIONED
    with pytest.raises(DatabaseNotCurrent):
        migrations.require_current(engine)
    outcome = migrations.upgrade(engine)  # timed by tests/fixtures/v0_1_0/measure.py
    assert outcome.adopted and outcome.applied == [r.id for r in migrations.history()]
    assert (outcome.backup is not None) == (engine.dialect.name == "sqlite")
    assert migrations.current(engine) == migrations.head() and differences(engine) == []
    assert count(engine) == before

    # the node as it runs after the upgrade: its key file (a new one here: the fixture keeps only v0.1.0's public
    # key, pinned in the trusted folder as an operator would after changing keys) and the anchors verify uses
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(v010.FIXTURES / "local.pem", trusted / "local.pem")
    settings = Settings(data_dir=tmp_path, node_id="local", audit_trusted_keys_dir=trusted)
    anchors = node_trusted_keys(settings)
    report = verify_chain(engine, codec, anchors)  # history written before signing began: legacy, and intact
    assert report.ok and report.last_signed_position, report.to_json()
    assert (report.legacy_events, report.signing_since, report.sealed_events) == (before, None, 0)

    node = bootstrap(settings, engine=engine)
    node.open_db()  # what serve and worker do: the v0.1.0 read models are recorded, none is created again
    with engine.connect() as conn:  # recorded as v0.1.0's: every read model's tables changed since
        assert [s.name for s in states(conn, node.projections) if s.current] == []
    node.store.append("orgunit-U-UPG1", 0, [org_unit_registered("U-UPG1")])  # announces the key, then sealed
    node.store.append("orgunit-U-UPG2", 0, [org_unit_registered("U-UPG2"), org_unit_registered("U-UPG3")])
    write_checkpoint(node.store, node_key(settings))  # a C2SP checkpoint after v0.1.0's v1 one
    report = verify_chain(engine, codec, anchors)
    assert report.ok, report.to_json()
    assert (report.legacy_events, report.signing_since) == (before, before + 1)  # the key's announcement
    assert (report.sealed_batches, report.sealed_events) == (4, count(engine) - before) == (4, 5)
    assert report.checkpoints == 2 and report.last_signed_position == before + 4

    node.builder().run_pending(node.projections, threading.Event(), retry_seconds=0)
    with engine.connect() as conn:  # rebuilt blue/green to the code's versions
        assert [(s.name, s.live) for s in states(conn, node.projections)] == [
            (p.name, code_version(p)) for p in node.projections
        ]
    node.runner.run_until_idle()
    head = node.store.head_position()
    assert node.runner.positions() == {p.name: head for p in node.projections}
    replay(engine, node.store, codec, EVENT_TYPES, node.projections)  # a rebuild from the store, into shadows
    diffs = {(p.name, d.table): d for p in node.projections for d in compare(engine, p)}
    assert len(diffs) == sum(len(p.metadata.tables) for p in node.projections)
    assert [k for k, d in diffs.items() if not d.equal] == []
    assert diffs[("awards", "awards_proposal")].live_rows == 4


def test_only_db_upgrade_upgrades_and_its_backup_is_the_v010_database_as_it_was(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{v010.sqlite_file(tmp_path / 'thidua.db')}")
    with pytest.raises(DatabaseNotCurrent) as refused:  # commands that write (seeds import, clients add) refuse it
        bootstrap(Settings(data_dir=tmp_path), engine=engine).init_db()
    assert refused.value.details["found"] == migrations.UNVERSIONED
    outcome = migrations.upgrade(engine)
    assert outcome.backup is not None and outcome.backup.name.startswith("thidua.db.v0.1.0-")
    copy = make_engine(f"sqlite:///{outcome.backup}")
    assert migrations.current(copy) == migrations.UNVERSIONED and count(copy) == count(engine)


def test_tables_that_are_not_v010s_are_refused_and_left_alone(blank_engine: Engine) -> None:
    odd = MetaData()
    Table("event", odd, Column("position", Integer, primary_key=True), Column("what", String(10)))
    odd.create_all(blank_engine)
    with pytest.raises(DatabaseNotRecognised) as refused:
        migrations.upgrade(blank_engine)
    assert "event" in refused.value.message_en
    assert set(inspect(blank_engine).get_table_names()) == {"event"}


def test_a_downgrade_below_the_first_revision_keeps_an_event_store_that_holds_events(
    engine: Engine, tmp_path: Path
) -> None:
    node = bootstrap(Settings(data_dir=tmp_path), engine=engine)
    node.init_db()
    node.store.signer = None  # unsealed, as the releases below signing wrote (a seal would stop the downgrade earlier)
    node.store.append("orgunit-U-1", 0, [org_unit_registered("U-1")])
    back = migrations.downgrade(engine, migrations.BASELINE)  # 0002 is undone: the read models go with it
    assert back.applied == [r.id for r in migrations.history()][1:][::-1]
    assert not {"orgunit_unit", "readmodel_version", "web_user"} & set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tracking.projection_position)).scalar() == 0
    with pytest.raises(DowngradeRefused):
        migrations.downgrade(engine, "base")
    assert count(engine) == 1 and migrations.current(engine) == migrations.BASELINE


SIGNATURES = next(r for r in migrations.history() if r.summary.startswith("Signed appends"))


def signature_columns(engine: Engine) -> set[str]:
    tables = {"event": "signature", "foreign_event": "origin_signature", "sync_parked": "origin_signature"}
    found = inspect(engine)
    return {f"{t}.{c}" for t, c in tables.items() if c in {col["name"] for col in found.get_columns(t)}}


def test_the_signature_columns_are_undone_until_the_node_seals_an_append(
    engine: Engine, tmp_path: Path, codec: AvroCodec
) -> None:
    assert len(signature_columns(engine)) == 3
    below = SIGNATURES.down or "base"
    back = migrations.downgrade(engine, below)  # upgraded, nothing signed yet: the columns go
    assert back.applied[-1] == SIGNATURES.id and signature_columns(engine) == set()
    migrations.upgrade(engine)
    assert differences(engine) == []  # SQLite copied the tables to drop the columns: nothing else was lost
    if engine.dialect.name == "sqlite":  # nor what reflection does not see: positions are never reused
        with engine.connect() as conn:
            assert "AUTOINCREMENT" in conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'event'")).scalar()
    settings = Settings(data_dir=tmp_path, node_id="local")
    node = bootstrap(settings, engine=engine)
    node.init_db()
    node.store.append("orgunit-U-1", 0, [org_unit_registered("U-1")])
    with pytest.raises(DowngradeRefused) as refused:  # the seals protect the history: the way back is the backup
        migrations.downgrade(engine, below)
    assert "event.signature" in refused.value.message_en
    assert migrations.current(engine) == migrations.head() and len(signature_columns(engine)) == 3
    assert verify_chain(engine, codec, node_trusted_keys(settings)).sealed_events == 2  # announcement, event


# --- the servers refuse a database at another revision, and create nothing ---------------------------------------


def _serve(settings: Settings) -> None:
    from services.cli.main import serve

    serve(host="127.0.0.1", port=0, projections=True)


def _relay(settings: Settings) -> None:
    from services.pipeline.relay import run_relay

    run_relay(settings)


def _worker(settings: Settings) -> None:
    from services.pipeline.worker import run_worker

    run_worker(settings)


def _sync(settings: Settings) -> None:
    from services.sync.service import run_sync

    run_sync(settings)


@pytest.mark.parametrize("start", [_serve, _relay, _worker, _sync], ids=["serve", "relay", "worker", "sync"])
def test_servers_refuse_a_database_at_another_revision(
    start: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "thidua.db"
    url = f"sqlite:///{file}"
    monkeypatch.setenv("THIDUA_DATABASE_URL", url)
    monkeypatch.setenv("THIDUA_DATA_DIR", str(tmp_path))
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9")  # never reached: the check comes first
    with pytest.raises(DatabaseNotCurrent) as missing:
        start(settings)
    assert missing.value.details["found"] is None and not file.exists()  # no database is created
    engine = make_engine(url)
    migrations.upgrade(engine, to=migrations.BASELINE)
    tables = set(inspect(engine).get_table_names())
    with pytest.raises(DatabaseNotCurrent) as behind:
        start(settings)
    assert behind.value.details == {"found": migrations.BASELINE, "expected": migrations.head()}
    assert set(inspect(engine).get_table_names()) == tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrations.BASELINE
    engine.dispose()
