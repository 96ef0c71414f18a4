"""Read queries of the guidance read model: each is one indexed lookup by path, plan ids or code."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, select

from .tables import (
    guidance_bloc,
    guidance_criteria,
    guidance_document,
    guidance_document_target,
    guidance_plan,
    guidance_report,
    guidance_target,
    guidance_unit,
)


def unit_by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    """The registered unit with ``code`` (unique index)."""
    row = conn.execute(select(guidance_unit).where(guidance_unit.c.code == code)).first()
    return row._asdict() if row else None


def unit_by_path(conn: Connection, path: str) -> dict[str, Any] | None:
    """The registered unit at ``path``."""
    row = conn.execute(select(guidance_unit).where(guidance_unit.c.path == path)).first()
    return row._asdict() if row else None


def blocs_of(conn: Connection, province_path: str) -> list[dict[str, Any]]:
    """The khối/cụm thi đua registered for a province, by code."""
    query = select(guidance_bloc).where(guidance_bloc.c.province_path == province_path)
    return [r._asdict() for r in conn.execute(query.order_by(guidance_bloc.c.bloc_code))]


def plans_issued_at(conn: Connection, paths: Collection[str]) -> list[dict[str, Any]]:
    """Plans whose issuer is one of ``paths`` (the unit's ancestors and itself)."""
    query = select(guidance_plan).where(guidance_plan.c.issuer_path.in_(list(paths)))
    return [r._asdict() for r in conn.execute(query)]


def criteria_of(conn: Connection, plan_ids: Collection[str]) -> list[dict[str, Any]]:
    """Criteria sets of the plans ``plan_ids``, every subject category (targets may name any indicator)."""
    if not plan_ids:
        return []
    query = select(guidance_criteria).where(guidance_criteria.c.plan_id.in_(list(plan_ids)))
    return [r._asdict() for r in conn.execute(query.order_by(guidance_criteria.c.criteria_id))]


def targets_of(conn: Connection, unit_path: str) -> list[dict[str, Any]]:
    """The unit's registrations, by plan and year."""
    query = select(guidance_target).where(guidance_target.c.unit_path == unit_path)
    return [r._asdict() for r in conn.execute(query.order_by(guidance_target.c.plan_id, guidance_target.c.year))]


def reports_of(conn: Connection, unit_path: str) -> list[dict[str, Any]]:
    """The unit's reports (latest version of each)."""
    query = select(guidance_report).where(guidance_report.c.unit_path == unit_path)
    return [r._asdict() for r in conn.execute(query.order_by(guidance_report.c.report_id))]


def documents_for(conn: Connection, paths: Collection[str]) -> list[dict[str, Any]]:
    """Guidance documents addressed to a subtree rooted at one of ``paths``, with the roots that matched."""
    target = guidance_document_target
    query = (
        select(guidance_document, target.c.path.label("matched_path"))
        .join(target, target.c.guidance_id == guidance_document.c.guidance_id)
        .where(target.c.path.in_(list(paths)))
        .order_by(guidance_document.c.issued_at, guidance_document.c.guidance_id, target.c.path)
    )
    documents: dict[str, dict[str, Any]] = {}
    for row in conn.execute(query):
        values = row._asdict()
        matched = values.pop("matched_path")
        documents.setdefault(values["guidance_id"], {**values, "matched": []})["matched"].append(matched)
    return list(documents.values())
