"""The worker's batch handling without a broker: the read model in an in-memory SQLite database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from projections.orgunits import queries
from services.bootstrap import bootstrap
from services.kernel.db import make_engine
from services.kernel.errors import InvalidSetting
from services.kernel.messaging import header_map, to_message
from services.kernel.settings import Settings
from services.pipeline.deadletters import Record
from services.pipeline.projector import Applied
from services.pipeline.worker import ProjectionWorker, build, selected_projections
from tests.factories import org_unit_registered

pytestmark = pytest.mark.unit


def test_a_batch_is_applied_once_and_its_bad_records_are_dead_lettered(tmp_path: Path) -> None:
    engine = make_engine("sqlite://", poolclass=StaticPool)
    settings = Settings(data_dir=tmp_path, node_id="p31", kafka_bootstrap_servers="127.0.0.1:9")
    node = bootstrap(settings, engine=engine)
    node.init_db()
    node.store.append("orgunit-U-1", 0, [org_unit_registered("U-1")])
    node.store.append("orgunit-46", 0, [org_unit_registered("46")])  # Huế's official code: the read model refuses it
    node.store.append("orgunit-U-2", 0, [org_unit_registered("U-2")])
    _key, first, refused, last = (to_message(e) for e in node.store.read_all())  # 1: the node key's announcement
    _app, worker = build(node, settings)
    letters: list[dict[str, str]] = []

    async def send(topic: str, key: Any, value: Any, headers: list[tuple[str, bytes]]) -> None:
        letters.append({"topic": topic, **header_map(headers)})

    worker.send_dead_letter = send
    messages = [(m.key, m.value, m.headers) for m in (first, refused, first, last)]  # `first` twice: a duplicate
    messages.append((b"k", b"\x00garbage", [("ce_id", b"poison")]))
    records = [Record("thidua.p31.registry", 0, offset, *m[:2], tuple(m[2])) for offset, m in enumerate(messages)]
    asyncio.run(worker.handle(records[:2]))
    asyncio.run(worker.handle(records[2:]))
    with engine.connect() as conn:
        units = {code: queries.by_code(conn, code) for code in ("U-1", "U-2")}
        hue = queries.by_code(conn, "46")
    assert units["U-1"]["position"] == 2 and units["U-2"]["position"] == 4  # positions from ce_sequence
    assert hue["path"] == "VN/46"  # the official row stands
    assert worker.stats.applied["orgunits"] == 2 and worker.stats.records == 5
    assert sorted((letter["dlt_reason"], letter["dlt_stage"]) for letter in letters) == [
        ("APPLY_FAILED", "apply"),
        ("UNDECODABLE_MESSAGE", "decode"),
    ]
    assert {letter["topic"] for letter in letters} == {"thidua.p31.deadletters"}
    engine.dispose()


class FlakyProjector:
    """Fails like a database that is away, ``failures`` times, then applies."""

    def __init__(self, failures: int, refuses: bool = False) -> None:
        self.failures = failures
        self.refuses = refuses
        self.calls = 0

    def decode(self, records: Any) -> tuple[list[Any], list[Any]]:
        return list(records), []

    def apply(self, decoded: Any, records: Any, excluded: Any = frozenset()) -> Applied:
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
        if self.refuses:
            raise RuntimeError("a bug in a projection")
        return Applied(events={"orgunits": len(decoded)})

    def find_rejections(self, decoded: Any, records: Any) -> list[Any]:
        return []


def worker_with(projector: Any) -> ProjectionWorker:
    async def send(*args: Any) -> None:
        raise AssertionError("nothing is a dead letter here")

    return ProjectionWorker(projector, send, "thidua.p31.deadletters", "g", max_backoff=0.01)  # type: ignore[arg-type]


def test_a_database_that_is_away_makes_the_batch_wait_not_a_dead_letter() -> None:
    projector = FlakyProjector(failures=3)
    worker = worker_with(projector)
    applied = asyncio.run(worker.handle([Record("t", 0, 7, b"k", b"v")]))
    assert applied.events == {"orgunits": 1} and projector.calls == 4 and worker.stats.batches == 1


def test_a_batch_no_single_event_explains_is_a_bug_and_escapes() -> None:
    worker = worker_with(FlakyProjector(failures=0, refuses=True))
    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(worker.handle([Record("t", 0, 7, b"k", b"v")]))
    assert worker.stats.batches == 0


def test_a_worker_group_may_apply_some_read_models_only(tmp_path: Path) -> None:
    engine = make_engine("sqlite://", poolclass=StaticPool)
    node = bootstrap(Settings(data_dir=tmp_path), engine=engine)
    every = [p.name for p in node.projections]
    assert [p.name for p in selected_projections(node, Settings(data_dir=tmp_path))] == every
    only = Settings(data_dir=tmp_path, worker_projections="orgunits")
    assert [p.name for p in selected_projections(node, only)] == ["orgunits"]
    with pytest.raises(InvalidSetting, match="unknown read models"):
        selected_projections(node, Settings(data_dir=tmp_path, worker_projections="orgunits,nope"))
    engine.dispose()
