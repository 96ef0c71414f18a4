"""The in-memory unit of work keeps the store's append rules and rolls back what a failing command wrote."""

from __future__ import annotations

import pytest

from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES, OrgUnitRegistered
from services.kernel.errors import DuplicateEventConflict, VersionConflict
from services.kernel.schemas import SchemaCatalog
from services.kernel.uow import MemoryLog, MemoryUnitOfWork
from tests.factories import org_unit_registered

pytestmark = pytest.mark.unit


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog(AvroCodec(SchemaCatalog.load()), EVENT_TYPES, "central")


def test_events_go_through_the_codec_and_are_read_back_typed(log: MemoryLog) -> None:
    with MemoryUnitOfWork(log) as uow:
        result = uow.append("orgunit-U-1", 0, [org_unit_registered("U-1")])
        assert uow.stream("orgunit-U-1")[0].position == 1  # read-your-writes inside the unit of work
    (event,) = log.stream("orgunit-U-1")
    assert isinstance(event, OrgUnitRegistered) and event.data["unit"]["code"] == "U-1"
    assert event.meta["stream_version"] == 1 and event.meta["node_id"] == "central"
    assert (result.version, result.positions, log.version("orgunit-U-1")) == (1, [1], 1)


def test_a_stale_expected_version_is_a_conflict(log: MemoryLog) -> None:
    with MemoryUnitOfWork(log) as uow:
        uow.append("orgunit-U-1", 0, [org_unit_registered("U-1")])
    with pytest.raises(VersionConflict), MemoryUnitOfWork(log) as uow:
        uow.append("orgunit-U-1", 0, [org_unit_registered("U-1")])
    assert log.version("orgunit-U-1") == 1


def test_a_unit_of_work_that_raises_leaves_the_log_as_it_was(log: MemoryLog) -> None:
    with MemoryUnitOfWork(log) as uow:
        uow.append("orgunit-U-1", None, [org_unit_registered("U-1")])
    before = (log.position, log.prev, log.events())

    def write_then_refuse() -> None:
        with MemoryUnitOfWork(log) as uow:
            uow.append("orgunit-U-1", 1, [org_unit_registered("U-1")])
            uow.append("orgunit-U-2", None, [org_unit_registered("U-2")])
            uow.record("unit-code", "U-2", "orgunit-U-2")
            raise RuntimeError("refused after writing")

    with pytest.raises(RuntimeError, match="refused after writing"):
        write_then_refuse()
    assert (log.position, log.prev, log.events()) == before
    assert log.version("orgunit-U-2") == 0 and log.lookup("unit-code", "U-2") == []
    with MemoryUnitOfWork(log) as uow:  # the positions and hash chain go on from where they were
        assert uow.append("orgunit-U-2", 0, [org_unit_registered("U-2")]).positions == [2]


def test_repeats_are_idempotent_and_partial_repeats_conflict(log: MemoryLog) -> None:
    first, second = org_unit_registered("U-1"), org_unit_registered("U-1")
    with MemoryUnitOfWork(log) as uow:
        uow.append("orgunit-U-1", 0, [first])
    with MemoryUnitOfWork(log) as uow:
        again = uow.append("orgunit-U-1", 0, [first])
    assert again.duplicate and again.positions == [1] and log.version("orgunit-U-1") == 1
    with pytest.raises(DuplicateEventConflict), MemoryUnitOfWork(log) as uow:
        uow.append("orgunit-U-1", 1, [first, second])
    with pytest.raises(DuplicateEventConflict), MemoryUnitOfWork(log) as uow:
        uow.append("orgunit-U-9", 0, [first])
