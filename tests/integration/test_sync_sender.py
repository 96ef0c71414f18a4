"""The sync sender of a real ``thidua sync`` process, on PostgreSQL and the real broker: woken by the node's appends,
it sends an event up when its transaction commits, not when the importer's Kafka poll ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.federation import Federation
from bench.harness import consume_all, wait_for
from services.kernel.messaging import header_map
from services.pipeline.topics import Topics
from services.registry.commands import RegisterOrgUnit
from tests.domain_fixtures import at
from tests.factories import SYSTEM_ACTOR

pytestmark = pytest.mark.integration

POLL_SECONDS = 10.0  # the importer's Kafka poll: nothing comes down to the province here, so it always waits this long
TREE = {"central": None, "hue": "central"}  # only Huế's sync runs: nothing is sent down to it
SENT_WITHIN = 2.0  # seconds from an event's commit to its record on the sync topic


@pytest.fixture
def fed(postgres_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Federation]:
    with Federation(
        postgres_url, kafka_bootstrap, tmp_path, {"central": None, "hue": "central"}, POLL_SECONDS
    ) as built:
        yield built


def test_an_append_is_sent_up_when_it_commits_not_when_the_importers_poll_ends(fed: Federation) -> None:
    hue = fed["hue"]
    hue.start()
    log = hue.tmp / "sync-hue-1.log"
    wait_for(lambda: log.exists() and "sync started" in log.read_text(encoding="utf-8"), 60, 0.1, "hue's sync started")
    time.sleep(1.0)  # its first rounds: the sender caught up, listening; the importer inside its long poll
    recorded = {}
    for n in range(3):  # one of them could end near a poll's end by chance, not all three
        code = f"U-S{n}"
        hue.handle(
            RegisterOrgUnit(
                "VN/46", code, f"Đơn vị {n}", "PUBLIC_SERVICE_UNIT", at(2026, 5, 4), SYSTEM_ACTOR, "AGENCY_LOCALITY"
            )
        )
        [stored] = hue.node.store.read_stream(f"orgunit-{code}")
        recorded[stored.event_id] = stored.recorded_at.timestamp()
        time.sleep(1.0)
    topic = Topics(hue.node_id).sync_to(fed["central"].node_id)

    def sent() -> dict[str, float]:
        found = {
            header_map(r.headers)["ce_id"]: r.timestamp / 1000 for r in consume_all(fed.bootstrap_servers, [topic])
        }
        return found if set(recorded) <= set(found) else {}

    at_broker = wait_for(sent, 2 * POLL_SECONDS, 0.2, "the three registrations on the sync topic")
    delays = {event_id: at_broker[event_id] - moment for event_id, moment in recorded.items()}  # one machine's clock
    assert all(delay < SENT_WITHIN for delay in delays.values()), delays
