"""Every operations table of a node (write side and operations), the tables the migrations own. Read models are
not here: they are versioned and rebuilt blue/green (``projections.versions``)."""

from __future__ import annotations

from sqlalchemy import MetaData

from services.kernel.db import new_metadata


def parts() -> list[MetaData]:
    """The MetaData of each module that owns operations tables."""
    from projections import tracking, versions
    from services.api import idempotency, pagination
    from services.api.security import clients, ratelimit
    from services.kernel import tables as store
    from services.pipeline import tables as pipeline
    from services.sync import tables as sync
    from services.web.accounts import tables as web_accounts
    from services.webhooks import tables as webhooks

    return [
        store.metadata,
        idempotency.metadata,
        pagination.metadata,
        clients.metadata,
        ratelimit.metadata,
        webhooks.metadata,
        sync.metadata,
        pipeline.metadata,
        tracking.metadata,
        versions.metadata,
        web_accounts.metadata,
    ]


def operations_metadata() -> MetaData:
    """One MetaData with a copy of every operations table (what the migrations' head must equal)."""
    combined = new_metadata()
    for part in parts():
        for table in part.sorted_tables:
            table.to_metadata(combined)
    return combined
