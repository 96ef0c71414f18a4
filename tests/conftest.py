"""Shared fixtures: real PostgreSQL and Kafka from the environment (or testcontainers), SQLite in tmp."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from services.kernel.codec import AvroCodec
from services.kernel.db import make_engine
from services.kernel.schemas import SchemaCatalog
from services.migrations import upgrade
from tests.services import docker_answers, unavailable


@pytest.fixture(scope="session")
def catalog() -> SchemaCatalog:
    return SchemaCatalog.load()


@pytest.fixture(scope="session")
def codec(catalog: SchemaCatalog) -> AvroCodec:
    return AvroCodec(catalog)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a real PostgreSQL server."""
    url = os.environ.get("THIDUA_DATABASE_URL", "")
    if url.startswith("postgresql"):
        yield url
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="psycopg") as pg:
            yield pg.get_connection_url()
        return
    unavailable("PostgreSQL")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a real Kafka broker."""
    servers = os.environ.get("THIDUA_KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        yield servers
        return
    if docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    unavailable("Kafka")


def _postgres_engine(url: str) -> Iterator[Engine]:
    """An engine whose search_path is a fresh schema, dropped afterwards: tests stay isolated."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, pool_size=12)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def kafka_sasl() -> tuple[str, str]:
    """host:port of the authenticated broker (SASL/SCRAM-SHA-512, ACLs; infra/with-services.sh starts it) and the
    password of its super user ``admin``."""
    servers = os.environ.get("THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS")
    password = os.environ.get("THIDUA_KAFKA_SASL_ADMIN_PASSWORD")
    if servers and password:
        return servers, password
    unavailable("Kafka with SASL/SCRAM and ACLs (THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS)")
    raise AssertionError("unreachable")


def _blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on the backend ``request.param``: no table at all."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'thidua.db'}")
        yield eng
        eng.dispose()
    else:
        request.applymarker(pytest.mark.integration)
        yield from _postgres_engine(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on each backend: no table at all."""
    yield from _blank(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on each backend at the migrations' head (created in one step: the operations tables, no
    read model; tests/integration/test_migrations.py proves it equals what the revisions build)."""
    for eng in _blank(request, tmp_path):
        upgrade(eng)
        yield eng
