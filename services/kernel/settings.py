"""Typed settings, read from ``THIDUA_*`` environment variables by entry points only."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .schemas import DEFAULT_SCHEMAS_DIR


class Settings(BaseSettings):
    """Node configuration. Built in the entry point and passed to ``bootstrap``; domain code never reads it."""

    model_config = SettingsConfigDict(env_prefix="THIDUA_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Folder for the embedded SQLite file and local state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file <data_dir>/thidua.db (the embedded default)."
    )
    kafka_bootstrap_servers: str | None = Field(None, description="Kafka brokers, host:port[,host:port].")
    node_id: str = Field("local", description="Id of this node, e.g. central, p46 (Huế), p15 (Lào Cai).")
    schemas_dir: Path = Field(DEFAULT_SCHEMAS_DIR, description="Folder of the Avro contracts.")
    projection_batch_size: int = Field(500, description="Events per projection transaction.")
    projection_poll_seconds: float = Field(0.2, description="Idle poll interval of the embedded tail.")
    log_level: str = Field("INFO", description="Logging level.")

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'thidua.db').resolve()}"
