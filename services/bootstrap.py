"""The one place where a node's dependencies are wired (cosmicpython's ``bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from projections.base import Projection
from projections.bluegreen import Builder
from projections.catalog import all_projections
from projections.runner import EmbeddedRunner
from services.awards import load_authority_matrix
from services.deps import Deps
from services.kernel.adminunits import AdminUnitCatalog, load_admin_units
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import make_engine
from services.kernel.schemas import SchemaCatalog
from services.kernel.settings import Settings
from services.kernel.store import EventStore
from services.messagebus import MessageBus


@dataclass
class Node:
    """A wired node: settings, database, contracts, store, read models and the embedded runner."""

    settings: Settings
    engine: Engine
    catalog: SchemaCatalog
    codec: AvroCodec
    store: EventStore
    official_units: AdminUnitCatalog
    projections: list[Projection]
    runner: EmbeddedRunner
    bus: MessageBus

    def init_db(self) -> None:
        """Create the database when it is new, else refuse one at another revision (``DatabaseNotCurrent``: upgrading
        is ``thidua db upgrade``'s); then set the read models up (``open_db``). For the commands that write."""
        from services import migrations

        migrations.ensure(self.engine)
        self.runner.setup()

    def open_db(self) -> None:
        """Refuse a database at another revision (``DatabaseNotCurrent``: nothing is created), then create the read
        models that have no tables yet and refresh reference rows; read models at another version are left to
        ``builder`` (blue/green)."""
        from services import migrations

        migrations.require_current(self.engine)
        self.runner.setup()

    def builder(self) -> Builder:
        """Builds read models whose live tables hold another version (``projections.bluegreen``)."""
        return Builder(self.engine, self.store, self.codec, EVENT_TYPES, self.settings.effective_catchup_batch_size)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def bootstrap(settings: Settings, engine: Engine | None = None) -> Node:
    """Build a node from ``settings`` (an engine may be passed in by tests)."""
    engine = engine or make_engine(settings.effective_database_url)
    catalog = SchemaCatalog.load(settings.schemas_dir)
    codec = AvroCodec(catalog)
    store = EventStore(engine, codec, settings.node_id)
    official = load_admin_units()
    deps = Deps(official, load_authority_matrix())
    projections = all_projections(deps)
    runner = EmbeddedRunner(engine, store, codec, EVENT_TYPES, projections, settings.projection_batch_size,
                            settings.effective_catchup_batch_size, settings.projection_linger_seconds)  # fmt: skip
    bus = MessageBus(store, deps, EVENT_TYPES)
    bus.after_commit.append(runner.wakeup.set)
    return Node(settings, engine, catalog, codec, store, official, projections, runner, bus)
