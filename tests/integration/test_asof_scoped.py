"""As-of reads scoped to the question: a rebuild of the rollup for one subtree — only the rollup's events
of the subtree and of its ancestors — answers every rollup question about that subtree exactly as a replay of the
whole log into every read model does, on SQLite and PostgreSQL; and a rebuild is reused by another process.

Checked on the demo (Lào Cai's khối thi đua, the seed plans of four provinces, their communes' plans) and on a
generated history over several provinces (reports, reviews, targets, awards and yearly titles), at a position in the
middle of the history and at its end, for every province and commune of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from bench.dataset import load, spool
from bench.generator import Scale
from projections.base import Projection
from projections.rollup import codes, queries, views
from projections.rollup.evolve import ALL_PLANS
from projections.scan import scoped_batches, scoped_query
from projections.shadow import create_deferred, prepare_shadows, shadow_connection, shadow_metadata
from services.audit.asof import AsOfCache, AsOfPoint, apply_scoped
from services.bootstrap import Node, bootstrap
from services.demo.year import run_demo
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import Settings
from services.kernel.tables import event as event_table

PERIODS = ("2026", "2027", "SO_KET_2027")


def answers(conn: Connection, path: str) -> dict[str, Any]:
    """What the rollup endpoints answer about the subtree ``path`` (summary, drill-down, reports, indicators)."""
    unit = queries.unit_by_code(conn, path.rsplit("/", 1)[-1])
    assert unit is not None and unit["path"] == path
    found: dict[str, Any] = {}
    for period in PERIODS:
        body, states = views.summary(conn, unit, period, ALL_PLANS, codes.CodeCatalog())
        found[period] = {
            "summary": body,
            "children": views.drill_down(conn, unit, period, ALL_PLANS, None, states, None, 10_000),
            "units": views.drill_down(conn, unit, period, ALL_PLANS, "UNIT", states, None, 10_000),
            "reports": queries.reports(conn, path, period, None, None, None, 10_000),
            "indicators": queries.indicator_plans(conn, path, period, None, None, None, 10_000),
        }
    return found


def subtrees(conn: Connection, position: int, communes: int = 3) -> list[str]:
    """Every province with an event up to ``position``, and the first ``communes`` communes with one."""
    paths = conn.execute(select(event_table.c.org_unit_path).where(event_table.c.position <= position)).scalars()
    found = {"/".join(p.split("/")[:n]) for p in paths for n in (2, 3) if p.count("/") >= n - 1}
    below = sorted(p for p in found if p.count("/") == 2 and p.split("/")[2].isdigit())
    return sorted(p for p in found if p.count("/") == 1) + below[:communes]


def check_scoped_equals_full(node: Node, engine: Engine, position: int) -> int:
    """Compare, for every province and commune, the scoped rebuild's answers with a full replay's; the number of
    subtrees compared."""
    rollup: list[Projection] = [p for p in node.projections if p.name == "rollup"]
    prepare_shadows(engine, node.projections, "full_")
    apply_scoped(
        engine,
        node.codec,
        EVENT_TYPES,
        node.projections,
        "full_",
        event_types=None,
        scope="",
        after=0,
        to_position=position,
    )
    with engine.connect() as conn:
        paths = subtrees(conn, position)
    assert any(p.count("/") == 1 for p in paths) and any(p.count("/") == 2 for p in paths)
    for path in paths:
        prepare_shadows(engine, rollup, "part_")
        applied = apply_scoped(
            engine,
            node.codec,
            EVENT_TYPES,
            rollup,
            "part_",
            event_types=rollup[0].event_types,
            scope=path,
            after=0,
            to_position=position,
        )
        with engine.connect() as conn:
            everything = conn.execute(select(func.count()).where(event_table.c.position <= position)).scalar_one()
            selected = len(conn.execute(scoped_query(None, path, 0, position)).all())
        assert 0 < applied <= selected < everything  # only the subtree's (and its ancestors') events were replayed
        with shadow_connection(engine, node.projections, "full_") as full:
            expected = answers(full, path)
        with shadow_connection(engine, rollup, "part_") as part:
            assert answers(part, path) == expected, path
    return len(paths)


def test_a_subtree_rebuild_answers_as_a_full_replay_on_the_demo(engine: Engine, tmp_path: Path) -> None:
    node = bootstrap(Settings(data_dir=tmp_path, webhooks_enabled=False), engine=engine)
    node.init_db()
    run_demo(node)
    head = node.store.head_position()
    assert check_scoped_equals_full(node, engine, head) >= 6
    assert check_scoped_equals_full(node, engine, head * 2 // 3) >= 4


def test_a_subtree_rebuild_answers_as_a_full_replay_on_a_generated_history(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(node_id="bench", data_dir=tmp_path, webhooks_enabled=False)
    history = spool(settings, Scale(units=150, years=2, seed=21, staff_titles=1), tmp_path)
    node = bootstrap(settings, engine=engine)
    node.init_db()
    load(engine, history)
    with engine.connect() as conn:
        assert len({p for p in subtrees(conn, history.events) if p.count("/") == 1}) >= 3  # several provinces
    assert check_scoped_equals_full(node, engine, history.events * 3 // 4) >= 6


def _tables(engine: Engine, projection: Projection, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in shadow_metadata(projection, prefix).sorted_tables
        }


def test_the_rollup_is_order_free_table_by_table(engine: Engine, tmp_path: Path) -> None:
    """Its ``apply_first`` order (plan, criteria and bloc events first, then by org unit) builds exactly the tables
    position order builds, every row of every table, over the whole tree and within a province (on PostgreSQL, where
    as-of builds use that order; SQLite reads in position order)."""
    settings = Settings(node_id="bench", data_dir=tmp_path, webhooks_enabled=False)
    history = spool(settings, Scale(units=150, years=3, seed=5, staff_titles=1), tmp_path)
    node = bootstrap(settings, engine=engine)
    node.init_db()
    load(engine, history)
    rollup = next(p for p in node.projections if p.name == "rollup")
    first = rollup.apply_first  # type: ignore[attr-defined]
    with engine.connect() as conn:
        paths = conn.execute(select(event_table.c.org_unit_path)).scalars().all()
    province = max({p[:5] for p in paths if p.count("/") >= 2}, key=lambda v: sum(p.startswith(v) for p in paths))
    for scope in ("", province):
        built = {}
        for prefix, order in (("pos_", None), ("ord_", first)):
            prepare_shadows(engine, [rollup], prefix, defer=True)
            apply_scoped(
                engine,
                node.codec,
                EVENT_TYPES,
                [rollup],
                prefix,
                event_types=rollup.event_types,  # type: ignore[attr-defined]
                scope=scope,
                after=0,
                to_position=history.events,
                batch_size=700,
                first=order,
            )
            create_deferred(engine, [rollup], prefix)
            built[prefix] = _tables(engine, rollup, prefix)
        assert sum(map(len, built["pos_"].values())) > 1000
        if engine.dialect.name == "postgresql":  # the order really differs from position order
            types = rollup.event_types  # type: ignore[attr-defined]
            batches = scoped_batches(engine, types, scope, 0, history.events, 10_000, first)
            positions = [row.position for rows in batches for row in rows]
            assert positions != sorted(positions) and len(positions) == len(set(positions))
        renamed = {k.replace("pos_", "ord_", 1): v for k, v in built["pos_"].items()}
        assert renamed == built["ord_"], scope


def test_a_rebuild_is_reused_by_another_process_and_after_a_restart(engine: Engine, tmp_path: Path) -> None:
    node = bootstrap(Settings(data_dir=tmp_path, webhooks_enabled=False), engine=engine)
    node.init_db()
    run_demo(node)
    position = node.store.head_position() - 5
    point = AsOfPoint(node.store.clock(), position, node.store.head_position())

    def cache() -> AsOfCache:  # what each process of the node makes (services.api.asof.make_cache)
        return AsOfCache(engine, node.store, node.codec, EVENT_TYPES, node.projections, size=2)

    first, second = cache(), cache()
    with first.connect(point, ["rollup"], "VN/15") as conn:
        built = answers(conn, "VN/15")
    assert (first.stats.builds, first.stats.reused) == (1, 0)
    with second.connect(point, ["rollup"], "VN/15") as conn:  # another process: reused, nothing replayed
        assert answers(conn, "VN/15") == built
    assert (second.stats.builds, second.stats.copies, second.stats.reused, second.stats.hits) == (0, 0, 1, 1)
    restarted = cache()
    restarted.start()  # a start keeps the complete rebuilds of the code's versions
    assert restarted.positions() == [position]
    with restarted.connect(point, ["rollup"], "VN/15") as conn:
        assert answers(conn, "VN/15") == built
    assert (restarted.stats.builds, restarted.stats.reused, restarted.stats.hits) == (0, 1, 1)
