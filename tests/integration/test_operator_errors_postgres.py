"""The mistakes a real PostgreSQL answers (tests/e2e/test_operator_errors.py has the ones that need no server):
a login it refuses, a database it does not have, a database with no event store read by a read-only command."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.e2e.test_operator_errors import Case, run_case

pytestmark = pytest.mark.integration


def test_what_postgres_refuses_is_named_in_two_lines(postgres_url: str, tmp_path: Path) -> None:
    url = make_url(postgres_url)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    empty = url.render_as_string(hide_password=False) + f"?options={quote(f'-csearch_path={schema}')}"
    cases = [
        (
            Case(
                "login refused",
                ["db", "upgrade"],
                {"THIDUA_DATABASE_URL": url.set(username="nobody-here").render_as_string(hide_password=False)},
                3,
                "INVALID_SETTING",
                ("THIDUA_DATABASE_URL", "nobody-here"),
            )
        ),
        (
            Case(
                "no such database",
                ["db", "upgrade"],
                {"THIDUA_DATABASE_URL": url.set(database="no_such_db").render_as_string(hide_password=False)},
                3,
                "NO_DATABASE",
                ("THIDUA_DATABASE_URL", "no_such_db"),
            )
        ),
        (
            Case(
                "empty database, read only",
                ["audit", "verify"],
                {"THIDUA_DATABASE_URL": empty},
                3,
                "NO_DATABASE",
                ("thidua db upgrade",),
            )
        ),
    ]
    try:
        for number, case in enumerate(cases):
            run = run_case(case, tmp_path / str(number))
            assert "Traceback" not in run.stderr and run.returncode == case.exit_code, run.stderr
            vietnamese, english = run.stderr.strip().splitlines()
            assert vietnamese.startswith("Lỗi: ") and english.startswith(f"Error [{case.code}]: ")
            assert all(name in vietnamese and name in english for name in case.names), run.stderr
        with admin.connect() as conn:  # the read-only command created nothing in the empty database
            tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": schema})
            assert tables.scalar() == 0
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
