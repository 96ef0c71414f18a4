"""Set-up mistakes, run through the real ``thidua`` program: two lines (Vietnamese, then English with the error's
code) naming the setting or file, the documented exit code, no traceback unless asked for — and a command that
only reads a database never creates one."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services import migrations

pytestmark = pytest.mark.e2e
THIDUA = Path(sys.executable).with_name("thidua")


def closed_port() -> int:
    """A port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NO_PG = f"postgresql+psycopg://thidua:secret-pw@127.0.0.1:{closed_port()}/thidua"
NO_KAFKA = f"127.0.0.1:{closed_port()}"


@dataclass(frozen=True)
class Case:
    """One mistake: the command, its environment, and what the operator must read."""

    name: str
    argv: list[str]
    env: dict[str, str]
    exit_code: int
    code: str  # the error's stable code, on the English line
    names: tuple[str, ...]  # the setting, option or file both lines must name
    prepare: list[list[str]] = field(default_factory=list)  # commands run first (e.g. create the node's database)
    creates_nothing: bool = False  # a read-only command: the data folder must not appear
    unchanged: bool = False  # the database the preparation made keeps its tables and its revision
    busy_port: bool = False  # a socket listens on --port first


OLD_REVISION = ["db", "upgrade", "--to", "0001"]  # a database made by release v0.1.0's schema (docs/upgrade.md)
KAFKA = {"THIDUA_KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA, "THIDUA_KAFKA_CONNECT_TIMEOUT_SECONDS": "1"}
CASES = [
    Case(
        "db upgrade, database unreachable",
        ["db", "upgrade"],
        {"THIDUA_DATABASE_URL": NO_PG},
        5,
        "DATABASE_UNREACHABLE",
        ("THIDUA_DATABASE_URL", "127.0.0.1"),
    ),
    Case(
        "serve, database unreachable",
        ["serve", "--port", "0"],
        {"THIDUA_DATABASE_URL": NO_PG},
        5,
        "DATABASE_UNREACHABLE",
        ("THIDUA_DATABASE_URL",),
    ),
    Case(
        "database URL not a URL",
        ["db", "upgrade"],
        {"THIDUA_DATABASE_URL": "notaurl"},
        3,
        "INVALID_SETTING",
        ("THIDUA_DATABASE_URL", "notaurl"),
    ),
    Case(
        "unknown schema name",
        ["schemas", "export", "PlanIssuedd"],
        {},
        2,
        "UNKNOWN_NAME",
        ("PlanIssuedd", "thidua schemas list"),
    ),
    Case(
        "serve, port in use", ["serve", "--port", "{port}"], {}, 3, "PORT_IN_USE", ("--port", "{port}"), busy_port=True
    ),
    Case(
        "audit verify, no database",
        ["audit", "verify"],
        {},
        3,
        "NO_DATABASE",
        ("THIDUA_DATA_DIR", "thidua.db"),
        creates_nothing=True,
    ),
    Case(
        "audit verify-export, missing folder",
        ["audit", "verify-export", "{tmp}/no-such-export"],
        {},
        3,
        "NOT_FOUND",
        ("no-such-export",),
    ),
    Case(
        "schemas folder wrong",
        ["db", "init"],
        {"THIDUA_SCHEMAS_DIR": "{tmp}/no-schemas"},
        3,
        "INVALID_SETTING",
        ("THIDUA_SCHEMAS_DIR", "no-schemas"),
    ),
    Case(
        "a setting of the wrong type",
        ["db", "upgrade"],
        {"THIDUA_PROJECTION_BATCH_SIZE": "many"},
        3,
        "INVALID_SETTING",
        ("THIDUA_PROJECTION_BATCH_SIZE",),
    ),
    Case(
        "topics create, Kafka not set",
        ["topics", "create"],
        {},
        3,
        "INVALID_SETTING",
        ("THIDUA_KAFKA_BOOTSTRAP_SERVERS",),
    ),
    Case(
        "topics create, Kafka unreachable",
        ["topics", "create"],
        KAFKA,
        5,
        "KAFKA_UNREACHABLE",
        ("THIDUA_KAFKA_BOOTSTRAP_SERVERS", NO_KAFKA),
    ),
    Case(
        "pipeline status, Kafka unreachable",
        ["pipeline", "status"],
        KAFKA,
        5,
        "KAFKA_UNREACHABLE",
        ("THIDUA_KAFKA_BOOTSTRAP_SERVERS", NO_KAFKA),
        prepare=[["db", "upgrade"]],
    ),
    Case(
        "serve, database at another revision",
        ["serve", "--port", "0"],
        {},
        4,
        "DATABASE_NOT_CURRENT",
        ("0001", migrations.head(), "thidua db upgrade"),
        prepare=[OLD_REVISION],
        unchanged=True,
    ),
    Case(
        "db current, database at another revision",
        ["db", "current"],
        {},
        4,
        "DATABASE_NOT_CURRENT",
        ("0001", "thidua db upgrade"),
        prepare=[OLD_REVISION],
        unchanged=True,
    ),
    Case(
        "audit verify, database at another revision",
        ["audit", "verify"],
        {},
        4,
        "DATABASE_NOT_CURRENT",
        ("0001", "thidua db upgrade"),
        prepare=[OLD_REVISION],
        unchanged=True,
    ),
]


@dataclass
class Run:
    """What one case printed."""

    case: Case
    folder: Path
    port: int
    returncode: int
    stdout: str
    stderr: str
    schema: tuple[object, object]  # the node's SQLite tables and revision before and after (``unchanged`` cases)


def environment(folder: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    return env | {"THIDUA_DATA_DIR": str(folder / "var"), "COLUMNS": "80"} | extra


def fill(text: str, folder: Path, port: int) -> str:
    return text.replace("{tmp}", str(folder)).replace("{port}", str(port))


def run_case(case: Case, folder: Path, extra_env: dict[str, str] | None = None) -> Run:
    folder.mkdir(parents=True)
    port = closed_port()
    env = environment(folder, {k: fill(v, folder, port) for k, v in case.env.items()} | (extra_env or {}))
    for argv in case.prepare:
        subprocess.run([str(THIDUA), *argv], cwd=folder, env=env, capture_output=True, check=True, timeout=120)
    before = schema_of(folder) if case.unchanged else None
    listening = socket.create_server(("127.0.0.1", port)) if case.busy_port else None
    try:
        argv = [fill(a, folder, port) for a in case.argv]
        command = [str(THIDUA), *argv]
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        if listening is not None:
            listening.close()
    after = schema_of(folder) if case.unchanged else None
    return Run(case, folder, port, done.returncode, done.stdout, done.stderr, (before, after))


def schema_of(folder: Path) -> tuple[list[str], list[str]]:
    """The tables of the node's SQLite database and its stamped revision (read-only, through SQLite's URI)."""
    with closing(sqlite3.connect(f"file:{folder / 'var' / 'thidua.db'}?mode=ro", uri=True)) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        return tables, [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every case, run three at a time (each is a process start, some wait a second for a broker)."""
    root = tmp_path_factory.mktemp("operator-errors")
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        done = pool.map(lambda ic: run_case(ic[1], root / f"case{ic[0]}"), enumerate(CASES))
        yield {run.case.name: run for run in done}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_mistake_prints_two_lines_and_its_exit_code(case: Case, runs: dict[str, Run]) -> None:
    run = runs[case.name]
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 2, run.stderr
    vietnamese, english = lines
    assert vietnamese.startswith("Lỗi: ") and english.startswith(f"Error [{case.code}]: "), run.stderr
    for name in case.names:
        named = fill(name, run.folder, run.port)
        assert named in vietnamese and named in english, (named, run.stderr)
    assert run.returncode == case.exit_code, (run.returncode, run.stderr)
    assert "secret-pw" not in run.stderr  # a URL's password is never printed
    if case.creates_nothing:
        assert not (run.folder / "var").exists(), sorted(p.name for p in run.folder.rglob("*"))
    if case.unchanged:
        before, after = run.schema
        assert before == after and "0001" in str(before), run.schema


@pytest.mark.parametrize("ask", ["--debug", "THIDUA_LOG_LEVEL=DEBUG"])
def test_debug_shows_the_traceback_before_the_two_lines(ask: str, tmp_path: Path) -> None:
    case = CASES[0]
    if ask == "--debug":
        run = run_case(dataclasses.replace(case, argv=["--debug", *case.argv]), tmp_path / "x")
    else:
        run = run_case(case, tmp_path / "x", {"THIDUA_LOG_LEVEL": "DEBUG"})
    assert "Traceback (most recent call last)" in run.stderr and "OperationalError" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("Error [DATABASE_UNREACHABLE]: ")
    assert run.returncode == 5
