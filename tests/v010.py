"""Databases of release v0.1.0 holding its demo, from the committed fixtures (tests/fixtures/v0_1_0, made from the
tag by make.py there): the SQLite file v0.1.0 wrote, or a PostgreSQL schema built with the DDL v0.1.0 ran and
loaded with the rows v0.1.0 wrote on PostgreSQL."""

from __future__ import annotations

import base64
import json
import lzma
import shutil
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, MetaData, text

from services.audit.keys import PublicKey

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0_1_0"


def sqlite_file(target: Path) -> Path:
    """The SQLite file of v0.1.0's demo, decompressed to ``target``."""
    with lzma.open(FIXTURES / "demo.sqlite.xz", "rb") as source, target.open("wb") as out:
        shutil.copyfileobj(source, out)
    return target


def load_postgres(engine: Engine) -> None:
    """Build v0.1.0's tables on ``engine`` (an empty PostgreSQL schema) and load v0.1.0's demo rows."""
    statements = [s.strip() for s in (FIXTURES / "postgresql.sql").read_text(encoding="utf-8").split(";\n\n")]
    with engine.begin() as conn:
        for statement in statements:
            if statement:
                conn.exec_driver_sql(statement.rstrip(";").replace("%", "%%"))
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with lzma.open(FIXTURES / "demo.postgresql.jsonl.xz", "rt", encoding="utf-8") as dump:
        for line in dump:
            item = json.loads(line)
            rows[item["table"]].append({k: _untagged(v) for k, v in item["row"].items()})
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as conn:
        for table in tables.sorted_tables:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
        conn.execute(text("SELECT setval(pg_get_serial_sequence('event', 'position'), max(position)) FROM event"))


def _untagged(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$bytes":
            return base64.b64decode(raw)
        if tag == "$datetime":
            return datetime.fromisoformat(raw)
        if tag == "$date":
            return date.fromisoformat(raw)
    return value


def checkpoint_key() -> PublicKey:
    """The public key v0.1.0's demo node (``local``) signed its checkpoint with."""
    loaded = serialization.load_pem_public_key((FIXTURES / "local.pem").read_bytes())
    return PublicKey(loaded, "local", "local.pem")  # type: ignore[arg-type]
