"""Versioned read models rebuilt blue/green, on SQLite and PostgreSQL. A fixture read model changes its columns and
its meaning between versions 1 and 2: version 2 is built beside version 1 while the node running version 1 keeps
applying events and answering queries and events keep arriving; it is switched in atomically, every event applied
exactly once; version 1's runner stops writing; a Kafka worker takes it up where the build stopped; ``replay --swap``
switches a new shape in; a real read model whose number is bumped is rebuilt while the API answers."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Column, Connection, Engine, Integer, MetaData, String, Table, inspect, select, text

from bench.harness import unit_registered, wait_for
from projections import tracking, versions
from projections.bluegreen import Builder
from projections.runner import EmbeddedRunner
from services.api.app import create_app
from services.audit.replay import replay, swap
from services.bootstrap import bootstrap
from services.demo.year import run_demo
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import new_metadata
from services.kernel.events import Event
from services.kernel.messaging import to_message
from services.kernel.settings import Settings
from services.kernel.store import EventStore
from services.pipeline.deadletters import Record
from services.pipeline.projector import KafkaProjector
from tests.api_auth import authorize

PARENTS = ["VN/31/11086", "VN/46", "VN/15/02683"]


def fx_tables(version: int) -> MetaData:
    """Version 1: units per parent. Version 2: the column renamed, the codes listed, and one row per unit that
    counts how often its event was applied (1: exactly once)."""
    md = new_metadata()
    if version == 1:
        Table("fx_parent", md, Column("parent_path", String(200), primary_key=True), Column("units", Integer))
        return md
    Table(
        "fx_parent",
        md,
        Column("parent_path", String(200), primary_key=True),
        Column("unit_count", Integer, nullable=False),
        Column("codes", JSON, nullable=False),
    )
    Table("fx_unit", md, Column("code", String(100), primary_key=True), Column("applied", Integer, nullable=False))
    return md


class FxV1:
    """The fixture read model, version 1."""

    name = "fx"
    version = 1
    metadata = fx_tables(1)

    def setup(self, conn: Connection) -> None:
        """No reference rows."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        units = [e for e in events if e.NAME == "OrgUnitRegistered"]
        for event in units:
            parent = event.data["parent_path"]
            found = conn.execute(text("UPDATE fx_parent SET units = units + 1 WHERE parent_path = :p"), {"p": parent})
            if not found.rowcount:
                conn.execute(text("INSERT INTO fx_parent (parent_path, units) VALUES (:p, 1)"), {"p": parent})
        return len(units)


class FxV2:
    """The fixture read model, version 2 (other columns, another meaning)."""

    name = "fx"
    version = 2
    metadata = fx_tables(2)

    def setup(self, conn: Connection) -> None:
        """No reference rows."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        parents, units = self.metadata.tables["fx_parent"], self.metadata.tables["fx_unit"]
        mine = [e for e in events if e.NAME == "OrgUnitRegistered"]
        for event in mine:
            code, parent = event.data["unit"]["code"], event.data["parent_path"]
            again = conn.execute(units.update().where(units.c.code == code).values(applied=units.c.applied + 1))
            if not again.rowcount:
                conn.execute(units.insert().values(code=code, applied=1))
            row = conn.execute(select(parents).where(parents.c.parent_path == parent)).first()
            if row is None:
                conn.execute(parents.insert().values(parent_path=parent, unit_count=1, codes=[code]))
            else:
                update = {"unit_count": row.unit_count + 1, "codes": [*row.codes, code]}
                conn.execute(parents.update().where(parents.c.parent_path == parent).values(update))
        return len(mine)


def answer(engine: Engine) -> dict[str, dict[str, Any]]:
    """The read model as an endpoint answers it: its rows as they are, whatever its version (JSON decoded)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM fx_parent")).mappings()
        return {r["parent_path"]: {k: _json(k, v) for k, v in r.items()} for r in rows}


def _json(name: str, value: Any) -> Any:
    return json.loads(value) if name == "codes" and isinstance(value, str) else value  # SQLite: text


def register(store: EventStore, first: int, count: int) -> None:
    for n in range(first, first + count):
        store.append(f"orgunit-FX-{n:04d}", 0, [unit_registered(f"FX-{n:04d}", PARENTS[n % 3])])


def expected(store: EventStore) -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {p: [] for p in PARENTS}
    for stored in store.read_all(0, 100_000, types=["OrgUnitRegistered"]):
        code = stored.stream_id.removeprefix("orgunit-")
        codes[PARENTS[int(code[3:]) % 3]].append(code)
    return codes


class Paced:
    """The store as a build reads it: before each batch it reads between transactions, wait until the node's
    reader has answered once more (not inside the switch's transaction: on SQLite a reader waits for it)."""

    def __init__(self, store: EventStore, answers: list[Any]) -> None:
        self.store, self.answers, self.reads = store, answers, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def read_all(self, after: int, limit: int, conn: Any = None, **options: Any) -> Any:
        if conn is None:
            seen = len(self.answers)
            wait_for(lambda: len(self.answers) > seen, 30, 0.001, "an answer during the build")
            self.reads += 1
        return self.store.read_all(after, limit, conn, **options)


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    return EventStore(engine, codec, "p31")


def test_a_new_version_is_built_beside_the_live_one_answered_throughout_and_applied_once(
    store: EventStore, codec: AvroCodec
) -> None:
    engine = store.engine
    old = EmbeddedRunner(engine, store, codec, EVENT_TYPES, [FxV1()], batch_size=25)
    old.setup()
    register(store, 0, 150)
    old.run_until_idle()
    assert {p: a["units"] for p, a in answer(engine).items()} == dict.fromkeys(PARENTS, 50)

    stop, answers, failures = threading.Event(), [], []

    def ask() -> None:  # a reader of the node, all along
        while not stop.is_set():
            try:
                answers.append(answer(engine))
            except Exception as exc:  # noqa: BLE001 - recorded: the test fails on any
                failures.append(exc)
            time.sleep(0.002)

    def write() -> None:  # events keep arriving during the build and its switch
        for n in range(150, 210):
            register(store, n, 1)
            time.sleep(0.005)

    workers = [
        threading.Thread(target=ask),
        threading.Thread(target=write),
        threading.Thread(target=old.run_forever, args=(stop, 0.01)),  # the node of version 1 keeps applying
    ]
    for worker in workers:
        worker.start()
    try:
        wait_for(lambda: answers, 30, 0.001, "a first answer")
        paced = Paced(store, answers)  # a reader answers between every two batches of the build
        switched = Builder(engine, paced, codec, EVENT_TYPES, batch_size=20).build(FxV2())  # type: ignore[arg-type]
        workers[1].join(30)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert switched is not None and failures == []
    new = EmbeddedRunner(engine, store, codec, EVENT_TYPES, [FxV2()])
    new.run_until_idle()

    shapes = ["units" in a[PARENTS[0]] for a in answers]  # True: version 1; every answer had all three parents
    assert all(len(a) == 3 for a in answers) and shapes[0] and not shapes[-1]
    assert shapes.index(False) == shapes.count(True) > paced.reads  # one switch: version 1 until it, version 2 after
    final, codes = answer(engine), expected(store)
    assert {p: (a["unit_count"], a["codes"]) for p, a in final.items()} == {p: (len(c), c) for p, c in codes.items()}
    with engine.connect() as conn:
        applied = Counter(conn.execute(text("SELECT applied FROM fx_unit")).scalars())
        live = versions.live_versions(conn)["fx"]
        builds = conn.execute(select(versions.readmodel_build)).all()
    assert applied == Counter({1: 210})  # every event applied exactly once: by the build or by the runner after it
    assert live.version == versions.code_version(FxV2()) and live.tables == ("fx_parent", "fx_unit")
    assert live.built_through == switched.position and builds == []
    assert not [t for t in inspect(engine).get_table_names() if t.startswith("next_")]
    assert old.run_once() == 0 and old.stale() == old.projections  # version 1's runner writes no more


def record(stored: Any, offset: int) -> Record:
    message = to_message(stored)
    return Record("thidua.p31.registry", 0, offset, message.key, message.value, tuple(message.headers))


def test_a_kafka_worker_takes_a_switched_version_up_where_the_build_stopped(
    store: EventStore, codec: AvroCodec
) -> None:
    engine = store.engine
    EmbeddedRunner(engine, store, codec, EVENT_TYPES, [FxV1()]).setup()
    register(store, 0, 40)
    worker = KafkaProjector(engine, codec, EVENT_TYPES, [FxV2()])
    records = [record(s, n) for n, s in enumerate(store.read_all(0, 1000))]
    with engine.begin() as conn:  # another read model of the workers has applied the first 30 records
        tracking.lock_kafka_offsets(conn, ["other"], [("thidua.p31.registry", 0)])
        tracking.advance_kafka_offsets(conn, "other", {("thidua.p31.registry", 0): 29}, {})
    decoded, _ = worker.decode(records[:30])
    assert worker.apply(decoded, records[:30]).events == {}  # version 2 is not live yet: the worker skips it
    switched = Builder(engine, store, codec, EVENT_TYPES).build(FxV2())
    assert switched is not None and switched.position == store.head_position()
    with engine.connect() as conn:
        assert tracking.get_kafka_offsets(conn, "fx") == {("fx", "thidua.p31.registry", 0): 29}
    register(store, 40, 10)
    records = [record(s, n) for n, s in enumerate(store.read_all(0, 1000))]
    decoded, _ = worker.decode(records[20:])  # records the build applied come again, then new ones
    assert worker.apply(decoded, records[20:]).events == {"fx": 10}
    with engine.connect() as conn:
        assert Counter(conn.execute(text("SELECT applied FROM fx_unit")).scalars()) == Counter({1: 50})
    assert worker.resume_offsets([("thidua.p31.registry", 0)]) == {("thidua.p31.registry", 0): 50}


def test_replay_swap_switches_in_a_read_model_whose_columns_changed(store: EventStore, codec: AvroCodec) -> None:
    engine = store.engine
    old = EmbeddedRunner(engine, store, codec, EVENT_TYPES, [FxV1()])
    old.setup()
    register(store, 0, 30)
    old.run_until_idle()
    result = replay(engine, store, codec, EVENT_TYPES, [FxV2()], to_position=10)
    register(store, 30, 3)
    assert swap(Builder(engine, store, codec, EVENT_TYPES), FxV2(), result.position) == store.head_position()
    assert {p: a["unit_count"] for p, a in answer(engine).items()} == dict.fromkeys(PARENTS, 11)
    assert not [t for t in inspect(engine).get_table_names() if t.startswith("shadow_")]


def test_a_real_read_model_whose_number_is_bumped_is_rebuilt_while_the_api_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'node.db'}", node_id="p31")
    first = bootstrap(settings)
    first.init_db()
    run_demo(first)
    first.runner.run_until_idle()
    first.close()
    plans = next(p for p in first.projections if p.name == "plans")
    monkeypatch.setattr(type(plans), "version", 2)  # the one-line change of whoever changes evolve
    node = bootstrap(settings)
    assert [p.name for p in node.runner.stale()] == ["plans"]
    with TestClient(create_app(node)) as client:
        authorize(client)
        listed = client.get("/api/v1/plans").json()["items"]  # answered from version 1 meanwhile, or version 2
        wait_for(lambda: client.get("/readyz").json()["rebuilding"] == [], 30, 0.05, "plans rebuilt blue/green")
        assert client.get("/api/v1/plans").json()["items"] == listed and len(listed) == 6
    with node.engine.connect() as conn:
        assert versions.live_versions(conn)["plans"].version.number == 2


def test_a_query_the_old_tables_cannot_answer_is_a_503_until_the_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'node.db'}", node_id="p31")
    first = bootstrap(settings)
    first.init_db()
    run_demo(first)
    first.runner.run_until_idle()
    with first.engine.begin() as conn:  # the live version lacks a column the new code reads
        conn.execute(text("ALTER TABLE plans_plan DROP COLUMN signer_name"))
    first.close()
    plans = next(p for p in first.projections if p.name == "plans")
    monkeypatch.setattr(type(plans), "version", 2)
    node = bootstrap(settings)
    with TestClient(create_app(node, run_projections=False), raise_server_exceptions=False) as client:
        authorize(client)
        refused = client.get("/api/v1/plans/vn-462-2026")
        assert refused.status_code == 503 and refused.json()["code"] == "READ_MODEL_REBUILDING"
        assert refused.headers["retry-after"] == "5"
        assert client.get("/api/v1/org-units/46").status_code == 200  # the other read models answer
        node.builder().run_pending(node.projections, threading.Event())  # what serve's builder thread does
        assert client.get("/api/v1/plans/vn-462-2026").json()["document_number"] == "462"


class Interrupted:
    """The store as a build reads it, ``stop`` set after ``reads`` batches (a node stopped mid-build)."""

    def __init__(self, store: EventStore, stop: threading.Event, reads: int) -> None:
        self.store, self.stop, self.left = store, stop, reads

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def read_all(self, *args: Any, **kwargs: Any) -> Any:
        self.left -= 1
        if self.left == 0:
            self.stop.set()
        return self.store.read_all(*args, **kwargs)


def test_an_interrupted_build_carries_on_and_one_left_by_a_rollback_is_forgotten(
    store: EventStore, codec: AvroCodec
) -> None:
    engine = store.engine
    EmbeddedRunner(engine, store, codec, EVENT_TYPES, [FxV1()]).setup()
    register(store, 0, 100)
    stop = threading.Event()
    halted = Builder(engine, Interrupted(store, stop, 3), codec, EVENT_TYPES, batch_size=20)  # type: ignore[arg-type]
    assert halted.build(FxV2(), stop) is None
    with engine.connect() as conn:
        build = conn.execute(select(versions.readmodel_build)).one()
    assert (build.position, build.events) == (60, 60) and "next_fx_unit" in inspect(engine).get_table_names()
    done = Builder(engine, store, codec, EVENT_TYPES, batch_size=20).build(FxV2())  # after a restart
    assert done is not None and (done.position, done.events) == (100, 100)
    with engine.connect() as conn:
        assert Counter(conn.execute(text("SELECT applied FROM fx_unit")).scalars()) == Counter({1: 100})
    stop.clear()
    rolled_back = Builder(engine, Interrupted(store, stop, 1), codec, EVENT_TYPES, batch_size=20)  # type: ignore[arg-type]
    assert rolled_back.build(FxV1(), stop) is None  # a release with version 1 started building, then went away
    Builder(engine, store, codec, EVENT_TYPES).run_pending([FxV2()], threading.Event())  # version 2 is live
    with engine.connect() as conn:
        assert conn.execute(select(versions.readmodel_build)).all() == []
    assert not [t for t in inspect(engine).get_table_names() if t.startswith("next_")]
