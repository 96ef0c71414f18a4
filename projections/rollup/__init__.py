"""Aggregation upward (tổng hợp từ dưới lên), DHIS2 style but live: for any subtree and period, expected,
submitted, on-time, late and missing reports, registrations, indicator values against targets, child plans.

Design: facts are stored per key (``rollup_unit``, ``rollup_plan``/``_duty``/``_plan_link``, ``rollup_indicator``)
and every report a unit owes or gave is one slot (plan, period, unit) holding values, never increments, so any
interleaving of streams converges. Each change of a slot moves its contribution (``counters.contribution``) out of
and into the counters of the unit and of every ancestor (``rollup_count``, ``rollup_indicator_count``): a
national rollup is one primary-key read. Reads never replay events.
"""

from services.domain.deps import Deps

from .projection import RollupProjection


def make_projection(deps: Deps) -> RollupProjection:
    """The read model, wired with the official unit list."""
    return RollupProjection(deps.official)


__all__ = ["RollupProjection", "make_projection"]
