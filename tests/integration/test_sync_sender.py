"""The sync sender: in a real ``thidua sync`` process (PostgreSQL, the real broker) woken by the node's appends, so an
event is sent up when its transaction commits, not when the importer's Kafka poll ends, and under load appends that
follow a batch within ``THIDUA_SYNC_LINGER_SECONDS`` go together after it; a parent's sender reads the events its
importer brings together, not one poll at a time; the sent position is written at most every second."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import Engine

from bench.federation import Federation, SyncNode
from bench.harness import consume_all, unit_registered, wait_for
from services.kernel.codec import AvroCodec
from services.kernel.db import make_engine
from services.kernel.messaging import header_map
from services.kernel.store import EventStore, Foreign, StoredEvent
from services.kernel.tables import metadata as store_metadata
from services.pipeline.tables import get_published
from services.pipeline.topics import Topics
from services.registry.commands import RegisterOrgUnit
from services.sync.outbound import OUTBOUND_NAME, RECORD_SECONDS, Outbound
from services.sync.rules import Topology, load_rules
from tests.domain_fixtures import at
from tests.factories import SYSTEM_ACTOR, guidance_issued

pytestmark = pytest.mark.integration

POLL_SECONDS = 10.0  # the importer's Kafka poll: nothing comes down to the province here, so it always waits this long
TREE = {"central": None, "hue": "central"}  # only Huế's sync runs: nothing is sent down to it
SENT_WITHIN = 2.0  # seconds from an event's commit to its record on the sync topic
LINGER = 2.0  # THIDUA_SYNC_LINGER_SECONDS of the lingering test (the default 0.05 s does not matter above)


@pytest.fixture
def fed(postgres_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Federation]:
    with Federation(postgres_url, kafka_bootstrap, tmp_path, TREE, POLL_SECONDS) as built:
        yield built


@pytest.fixture
def lingering(postgres_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Federation]:
    linger = {"THIDUA_SYNC_LINGER_SECONDS": str(LINGER)}
    with Federation(postgres_url, kafka_bootstrap, tmp_path, TREE, POLL_SECONDS, linger) as built:
        yield built


def _started(fed: Federation, idle: float) -> SyncNode:
    """Huế's ``thidua sync``, started and then left idle ``idle`` seconds (its first rounds done, listening)."""
    hue = fed["hue"]
    hue.start()
    log = hue.tmp / "sync-hue-1.log"
    wait_for(lambda: log.exists() and "sync started" in log.read_text(encoding="utf-8"), 60, 0.1, "hue's sync started")
    time.sleep(idle)
    return hue


def _registered(hue: SyncNode, count: int, pause: float) -> dict[str, float]:
    """Register ``count`` units at Huế, one command every ``pause`` seconds; their event ids and commit times."""
    recorded = {}
    for n in range(count):
        code = f"U-S{n}"
        hue.handle(
            RegisterOrgUnit(
                "VN/46", code, f"Đơn vị {n}", "PUBLIC_SERVICE_UNIT", at(2026, 5, 4), SYSTEM_ACTOR, "AGENCY_LOCALITY"
            )
        )
        [stored] = hue.node.store.read_stream(f"orgunit-{code}")
        recorded[stored.event_id] = stored.recorded_at.timestamp()
        time.sleep(pause)
    return recorded


def _sent(fed: Federation, event_ids: Iterable[str]) -> dict[str, float]:
    """When Huế's sender sent each of ``event_ids`` up: its producer's timestamp of the record (this machine's
    clock, like the commit times)."""
    topic, wanted = Topics(fed["hue"].node_id).sync_to(fed["central"].node_id), set(event_ids)

    def sent() -> dict[str, float]:
        records = consume_all(fed.bootstrap_servers, [topic])
        found = {header_map(r.headers)["ce_id"]: r.timestamp / 1000 for r in records}
        return found if wanted <= set(found) else {}

    return wait_for(sent, 2 * POLL_SECONDS, 0.2, "the registrations on the sync topic")


def test_an_append_is_sent_up_when_it_commits_not_when_the_importers_poll_ends(fed: Federation) -> None:
    hue = _started(fed, 1.0)  # the importer is inside its long poll
    recorded = _registered(hue, 3, 1.0)  # one of them could end near a poll's end by chance, not all three
    at_broker = _sent(fed, recorded)
    delays = {event_id: at_broker[event_id] - moment for event_id, moment in recorded.items()}
    assert all(delay < SENT_WITHIN for delay in delays.values()), delays


def test_appends_that_follow_a_batch_within_the_linger_go_together_after_it(lingering: Federation) -> None:
    hue = _started(lingering, LINGER + 0.5)
    recorded = _registered(hue, 4, 0.1)
    at_broker = _sent(lingering, recorded)
    first, *rest = sorted(recorded, key=lambda event_id: recorded[event_id])
    assert at_broker[first] - recorded[first] < SENT_WITHIN  # the first after a pause: at once
    later = [at_broker[event_id] for event_id in rest]
    assert min(later) >= at_broker[first] + LINGER - 0.05  # the others wait for the linger ...
    assert max(later) - min(later) < 0.2  # ... and go in one batch


def _never() -> KafkaProducer:
    raise AssertionError("nothing is routed here: the sender must not need a producer")


@pytest.fixture
def central(engine: Engine, codec: AvroCodec) -> Iterator[Outbound]:
    """Central's sender on a node without peers (nothing it reads is routed), caught up and listening."""
    outbound = Outbound(engine, EventStore(engine, codec, "central"), Topology("central"), load_rules(), _never)
    assert (outbound.run_once(), outbound.run_once()) == (0, 0)  # the second round begins listening
    yield outbound
    outbound.close()


@pytest.fixture
def foreign(tmp_path: Path, codec: AvroCodec) -> list[StoredEvent]:
    """Three events of node p15, to import."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p15.db'}")
    store_metadata.create_all(engine)
    origin = EventStore(engine, codec, "p15")
    for n in range(3):
        origin.append(f"orgunit-U-{n}", 0, [unit_registered(f"U-{n}", "VN/15/02683")])
    return origin.read_all()


def _imported(outbound: Outbound, stored: StoredEvent) -> None:
    with outbound.engine.begin() as conn:
        outbound.store.lock(conn, imports=True)
        outbound.store.import_foreign_many(conn, [Foreign(stored.body, "p15")])


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_parents_sender_reads_imports_together_and_its_own_appends_at_once(
    central: Outbound, foreign: list[StoredEvent]
) -> None:
    stop = threading.Event()
    _imported(central, foreign[0])
    central.wait(stop, 10)  # the import is announced as one ...
    assert central.run_once() == 0  # ... and not read as it commits
    central.store.append("guidance-own", 0, [guidance_issued()])
    central.wait(stop, 10)
    assert central.run_once() == 2  # an append of its own is read at once, with the import before it
    _imported(central, foreign[1])
    central.wait(stop, 10)
    assert central.run_once() == 0
    time.sleep(RECORD_SECONDS)
    assert central.run_once() == 1  # imports alone: read together, at most a second after the last read


def test_the_sent_position_is_written_at_most_every_second_and_when_the_sender_stops(central: Outbound) -> None:
    def recorded() -> int:
        with central.engine.connect() as conn:
            return get_published(conn, OUTBOUND_NAME)

    central.store.append("guidance-1", 0, [guidance_issued()])
    central.forget()  # read now, whatever the backend's announcements
    assert central.run_once() == 1 and recorded() == central.position()  # the first in a second: written
    central.store.append("guidance-2", 0, [guidance_issued()])
    central.forget()
    assert central.run_once() == 1 and recorded() == central.position() - 1  # kept in memory
    central.close()
    assert recorded() == central.position()
