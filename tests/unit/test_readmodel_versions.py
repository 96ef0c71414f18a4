"""A read model's version (its number and its tables' DDL fingerprint), shadow names, the shipped revisions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, String, Table

from projections.shadow import prefixed
from projections.versions import Version, code_version, fingerprint
from services import migrations
from services.kernel.db import new_metadata

pytestmark = pytest.mark.unit


def tables(**change: Any) -> MetaData:
    md = new_metadata()
    Table(
        "x_item",
        md,
        Column("key", String(change.get("length", 50)), primary_key=True),
        Column(change.get("name", "total"), Integer, nullable=change.get("nullable", False), comment=change.get("c")),
        *([Index(None, "total")] if change.get("index") else []),
    )
    return md


def test_the_fingerprint_follows_the_ddl_not_the_comments() -> None:
    same = fingerprint(tables())
    assert fingerprint(tables()) == same and len(same) == 64  # two MetaData with the same tables
    assert fingerprint(tables(c="Only a comment.")) == same  # comments change no row
    for change in ({"length": 60}, {"name": "count"}, {"nullable": True}, {"index": True}):
        assert fingerprint(tables(**change)) != same, change


def test_the_version_is_the_number_and_the_fingerprint() -> None:
    class Model:
        name, version, metadata = "x", 3, tables()

    class Unnumbered:
        name, metadata = "x", tables()

    assert code_version(Model()) == Version(3, fingerprint(tables()))  # type: ignore[arg-type]
    assert code_version(Unnumbered()).number == 1  # type: ignore[arg-type]
    assert str(code_version(Model())).startswith("3 (")  # type: ignore[arg-type]


def test_shadow_names_of_tables_indexes_and_constraints() -> None:
    assert prefixed("next_", "ix_plans_plan_status") == "ix_next_plans_plan_status"
    assert prefixed("next_", "pk_next_plans_plan") == "pk_next_plans_plan"
    assert prefixed("next_", "plans_plan") == "next_plans_plan"


def test_the_shipped_revisions_form_one_line_from_v010() -> None:
    revisions = migrations.history()
    assert revisions[0].id == migrations.BASELINE and revisions[0].down is None
    assert [r.down for r in revisions[1:]] == [r.id for r in revisions[:-1]]  # a fork (two heads) fails here
    assert revisions[-1].id == migrations.head() and all(r.summary for r in revisions)
