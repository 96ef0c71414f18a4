"""``thidua db upgrade|current|history|downgrade|init``: the database's schema revision (Alembic, the operations
tables) and its read models' versions (rebuilt blue/green by the node). ``thidua db revision`` writes a new
revision for a developer who changed an operations table."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from services.cli.kit import console as cli_console
from services.kernel.settings import NodeSettings

console = cli_console()  # piped or redirected: never wrapped
db_app = typer.Typer(
    help="Database of the node: schema revisions (migrations) and read-model versions.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``db`` to the ``thidua`` CLI."""
    app.add_typer(db_app, name="db")


def _engine() -> Any:
    from services.kernel.db import make_engine

    return make_engine(NodeSettings().effective_database_url)


def _url(engine: Any) -> str:
    return str(engine.url.render_as_string(hide_password=True))


def _report(engine: Any, outcome: Any, undone: bool = False) -> None:
    how = []
    if outcome.created:
        how.append("tạo mới / created")
    if outcome.adopted:
        how.append("nhận diện bản v0.1.0, đánh dấu 0001 / recognised as v0.1.0, stamped 0001")
    if outcome.applied:
        done = "hoàn tác / undone" if undone else "áp dụng / applied"
        how.append(f"{done} {', '.join(outcome.applied)}")
    console.print(
        f"{_url(engine)}: {outcome.before or '∅'} → {outcome.after or '∅'}"
        f" ({'; '.join(how) or 'không thay đổi / unchanged'}) in {outcome.seconds:.2f} s"
    )
    if outcome.backup is not None:
        console.print(f"sao lưu / backup: {outcome.backup}")


@db_app.command("upgrade")
def upgrade_command(
    to: str = typer.Option("head", "--to", help="Revision to reach (default: this code's, the head)."),
    backup: bool = typer.Option(True, help="SQLite: copy the database file next to it first (when it changes)."),
) -> None:
    """Bring the database to this code's schema revision (create it when new; recognise a v0.1.0 database).
    Read models at another version are rebuilt blue/green by the node when it starts (serve, worker)."""
    from services import migrations

    engine = _engine()
    try:
        outcome = migrations.upgrade(engine, to, backup)
        _report(engine, outcome)
        if outcome.after == migrations.head():  # below it, read models have no versions to show
            _read_models(engine, only_pending=True)
    finally:
        engine.dispose()


@db_app.command("downgrade")
def downgrade_command(
    to: str = typer.Option(..., "--to", help="Revision to go back to (e.g. the previous one, see db history)."),
    backup: bool = typer.Option(True, help="SQLite: copy the database file next to it first."),
) -> None:
    """Undo schema revisions down to ``--to`` (for the release installed before); refused for a revision that
    cannot be undone: restore the backup taken before the upgrade instead."""
    from services import migrations

    engine = _engine()
    try:
        _report(engine, migrations.downgrade(engine, to, backup), undone=True)
    finally:
        engine.dispose()


@db_app.command("current")
def current_command() -> None:
    """The database's revision and each read model's version, against this code's (reads only; when the database
    is not at this code's revision, the two lines of DATABASE_NOT_CURRENT and exit 4)."""
    from services import migrations
    from services.kernel.errors import DatabaseNotCurrent

    engine = _engine()
    try:
        found, wanted = migrations.current(engine), migrations.head()
        state = "[green]hiện hành / current[/]" if found == wanted else "[red]chạy / run `thidua db upgrade`[/]"
        console.print(f"{_url(engine)}: revision {found or '∅'} (code {wanted}) {state}")
        if found == wanted:
            _read_models(engine, only_pending=False)
    finally:
        engine.dispose()
    if found != wanted:
        raise DatabaseNotCurrent(found, wanted)


@db_app.command("history")
def history_command() -> None:
    """The schema revisions shipped, oldest first, and whether each can be undone."""
    from services import migrations

    table = Table("revision", "parent", "summary", "downgrade")
    for revision in migrations.history():
        undo = f"[red]no: {revision.irreversible}[/]" if revision.irreversible else "yes"
        table.add_row(revision.id, revision.down or "-", revision.summary, undo)
    console.print(table)


@db_app.command("init")
def init_command() -> None:
    """Upgrade (or create) the database, then create the read models that have none yet with their reference
    rows (the official provinces and communes); idempotent."""
    from services import migrations
    from services.bootstrap import bootstrap

    node = bootstrap(NodeSettings())
    try:
        _report(node.engine, migrations.upgrade(node.engine))
        node.runner.setup()
        _read_models(node.engine, only_pending=True)
    finally:
        node.close()


@db_app.command("revision", hidden=True)
def revision_command(message: str = typer.Option(..., "-m", "--message", help="What the revision changes.")) -> None:
    """(Developers) Write a new revision from the difference between the head and the code's operations tables;
    review it, set ``irreversible`` if its downgrade cannot restore the data, and commit it."""
    from services import migrations

    path = migrations.new_revision(message)
    console.print(f"wrote {path}")


def _read_models(engine: Any, only_pending: bool) -> None:
    """Each read model's live and code versions (only those that differ with ``only_pending``)."""
    from projections.bluegreen import states
    from projections.catalog import all_projections
    from services.awards import load_authority_matrix
    from services.domain.deps import Deps
    from services.kernel.adminunits import load_admin_units

    projections = all_projections(Deps(load_admin_units(), load_authority_matrix()))
    with engine.connect() as conn:
        found = [s for s in states(conn, projections) if not (only_pending and s.current)]
    if not found:
        return
    table = Table("read model", "live version", "code version", "state")
    for state in found:
        if state.current:
            what = "[green]current[/]"
        elif state.build_position is not None:
            what = f"[yellow]building[/] (position {state.build_position}, {state.build_owner or 'paused'})"
        elif state.live is None:
            what = "[yellow]created when the node starts (or thidua db init)[/]"
        else:
            what = "[yellow]rebuilt blue/green when the node starts[/]"
        table.add_row(state.name, str(state.live or "-"), str(state.code), what)
    console.print(table)
