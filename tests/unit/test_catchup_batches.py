"""The catch-up batch size: the setting, else one per backend (PostgreSQL sums many reports per commune in a big
batch; SQLite holds its only write lock for the batch)."""

from __future__ import annotations

import pytest

from services.kernel.settings import Settings

pytestmark = pytest.mark.unit

PG = "postgresql+psycopg://thidua@127.0.0.1:15432/thidua"


def test_postgresql_catches_up_in_big_batches_and_sqlite_in_small_ones() -> None:
    assert Settings(database_url=PG, projection_catchup_batch_size=None).effective_catchup_batch_size == 20_000
    assert (
        Settings(database_url="sqlite:///x.db", projection_catchup_batch_size=None).effective_catchup_batch_size
        == 2_000
    )


def test_the_setting_wins() -> None:
    assert Settings(database_url=PG, projection_catchup_batch_size=777).effective_catchup_batch_size == 777
