"""Database engines for the two ways to run: SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .errors import InvalidSetting

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the project's explicit constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL (None for PostgreSQL and in-memory SQLite)."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url[len("sqlite:///") :].split("?", 1)[0])
    return None


def masked(url: str) -> str:
    """``url`` with its password hidden, for messages (also when SQLAlchemy cannot parse it)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _invalid_url(url: str, reason_vi: str, reason_en: str) -> InvalidSetting:
    return InvalidSetting(
        f"THIDUA_DATABASE_URL={masked(url)!r} không dùng được ({reason_vi}): dạng đúng là "
        "postgresql+psycopg://user:password@host:5432/thidua, hoặc bỏ biến này để dùng SQLite trong THIDUA_DATA_DIR.",
        f"THIDUA_DATABASE_URL={masked(url)!r} cannot be used ({reason_en}): write "
        "postgresql+psycopg://user:password@host:5432/thidua, or unset it for SQLite in THIDUA_DATA_DIR.",
        setting="THIDUA_DATABASE_URL",
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` transactions.

    A URL that cannot work (not a URL, an unknown database kind, a driver that is not installed) raises
    ``InvalidSetting`` naming ``THIDUA_DATABASE_URL``; nothing is connected to yet.
    """
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg://" + url[len(scheme) :]
    try:
        if not url.startswith("sqlite"):
            return create_engine(url, pool_pre_ping=True, **kwargs)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
    except NoSuchModuleError as exc:
        kind = make_url(url).drivername
        raise _invalid_url(url, f"không biết loại cơ sở dữ liệu {kind}", f"unknown database kind {kind}") from exc
    except ArgumentError as exc:
        raise _invalid_url(url, "không phải URL cơ sở dữ liệu", "not a database URL") from exc
    except ImportError as exc:
        raise _invalid_url(url, f"chưa cài trình điều khiển {exc.name}", f"driver {exc.name} not installed") from exc
    if (path := sqlite_file(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" below emit BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        # Take SQLite's write lock at BEGIN: no deadlock-prone lock upgrades between concurrent writers.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine) -> bool:
    """Whether the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"
