"""The one place where a node's dependencies are wired (cosmicpython's ``bootstrap``)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Generic

from sqlalchemy import Engine
from typing_extensions import TypeVar

from projections.base import Projection
from projections.bluegreen import Builder
from projections.catalog import all_projections
from projections.runner import EmbeddedRunner
from services.awards import load_authority_matrix
from services.domain.deps import Deps
from services.kernel.adminunits import AdminUnitCatalog, load_admin_units
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import make_engine, masked, sqlite_file
from services.kernel.errors import InvalidSetting, NoDatabase
from services.kernel.schemas import SchemaCatalog
from services.kernel.settings import NodeSettings
from services.kernel.signing import FileSigner, Signer
from services.kernel.store import EventStore
from services.messagebus import MessageBus

# The settings class a node was built from (its process's: ApiSettings for serve, SyncSettings for sync, ...): a
# Node[ApiSettings] is a Node, and code that reads the API's settings asks for one.
S = TypeVar("S", bound=NodeSettings, covariant=True, default=NodeSettings)
T = TypeVar("T", bound=NodeSettings)


@dataclass
class Node(Generic[S]):
    """A wired node: settings, database, contracts, store, read models and the embedded runner."""

    settings: S
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


def _require_events(catalog: SchemaCatalog, settings: NodeSettings) -> None:
    """Every event type of the code has a contract in the schemas folder (else nothing could be encoded)."""
    known = {version.name for version in catalog.events()}
    missing = sorted(set(EVENT_TYPES) - known)
    if missing:
        raise InvalidSetting(
            f"Thư mục lược đồ {settings.schemas_dir} (THIDUA_SCHEMAS_DIR) thiếu {len(missing)} loại sự kiện mà mã "
            f"nguồn dùng ({', '.join(missing[:3])}...): bỏ biến này để dùng lược đồ đi kèm gói.",
            f"The schemas folder {settings.schemas_dir} (THIDUA_SCHEMAS_DIR) lacks {len(missing)} event types the "
            f"code uses ({', '.join(missing[:3])}...): unset it to use the schemas shipped with the package.",
            setting="THIDUA_SCHEMAS_DIR",
            missing=missing,
        )


def node_signer(settings: NodeSettings) -> Signer:
    """The node's signing key: the ``audit_signer`` factory (an HSM or KMS adapter) or the key file."""
    if settings.audit_signer:
        module, _, name = settings.audit_signer.partition(":")
        factory = getattr(importlib.import_module(module), name)
        signer: Signer = factory(settings)
        return signer
    return FileSigner(settings.effective_audit_key_file)


def bootstrap(settings: T, engine: Engine | None = None) -> Node[T]:
    """Build a node from ``settings`` (an engine may be passed in by tests)."""
    catalog = SchemaCatalog.load(settings.schemas_dir)
    _require_events(catalog, settings)
    engine = engine or make_engine(settings.effective_database_url)
    codec = AvroCodec(catalog)
    store = EventStore(engine, codec, settings.node_id, signer=node_signer(settings))
    official = load_admin_units()
    deps = Deps(official, load_authority_matrix())
    projections = all_projections(deps)
    runner = EmbeddedRunner(
        engine,
        store,
        codec,
        EVENT_TYPES,
        projections,
        settings.projection_batch_size,
        settings.effective_catchup_batch_size,
        settings.projection_linger_seconds,
    )
    bus = MessageBus(store, deps, EVENT_TYPES)
    bus.after_commit.append(runner.wakeup.set)
    return Node(settings, engine, catalog, codec, store, official, projections, runner, bus)


def existing_node(settings: T) -> Node[T]:
    """A node over a database that already holds an event store at this code's schema revision. Commands that
    only read (verify, export, status...) use it: they never create a database, say so when there is none, and
    refuse one at another revision (``DatabaseNotCurrent``: run ``thidua db upgrade``)."""
    from services import migrations

    url = settings.effective_database_url
    where = "THIDUA_DATABASE_URL" if settings.database_url else f"THIDUA_DATA_DIR={settings.data_dir}"
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise NoDatabase(
            f"Không có cơ sở dữ liệu của nút tại {path} ({where}); lệnh này chỉ đọc nên không tạo mới: chạy "
            "lệnh trong thư mục của nút, hoặc đặt THIDUA_DATA_DIR / THIDUA_DATABASE_URL trỏ tới cơ sở dữ liệu của nút.",
            f"There is no node database at {path} ({where}); this command only reads, so it creates none: run it "
            "in the node's folder, or set THIDUA_DATA_DIR / THIDUA_DATABASE_URL to the node's database.",
            path=str(path),
        )
    node = bootstrap(settings)
    try:
        if migrations.current(node.engine) is None:  # reads only: no revision and no event store
            raise NoDatabase(
                f"Cơ sở dữ liệu {masked(url)} chưa có kho sự kiện (chưa khởi tạo): chạy `thidua db upgrade` trước.",
                f"The database {masked(url)} holds no event store (never initialised): run `thidua db upgrade` first.",
                url=masked(url),
            )
        migrations.require_current(node.engine)
    except BaseException:
        node.close()
        raise
    return node
