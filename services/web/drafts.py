"""Saved drafts of the web app's forms (``web_draft``): a person's own, never events; sending the form deletes it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from services.kernel.store import utcnow

from .accounts.tables import web_draft

KEPT_OUT = (
    "csrf_token",
    "form_key",
    "step",
    "version",
)  # tokens and the stream version are the form's, not the draft's


class Drafts:
    """Drafts of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _where(self, username: str, form: str, subject: str) -> Any:
        t = web_draft.c
        return (t.username == username) & (t.form == form) & (t.subject == subject)

    def save(self, username: str, form: str, subject: str, fields: Mapping[str, str]) -> None:
        """Keep (or replace) the person's draft of ``form`` about ``subject``."""
        kept = {k: v for k, v in fields.items() if k not in KEPT_OUT}
        with self.engine.begin() as conn:
            conn.execute(delete(web_draft).where(self._where(username, form, subject)))
            row = {"username": username, "form": form, "subject": subject, "fields": kept, "saved_at": utcnow()}
            conn.execute(insert(web_draft).values(row))

    def load(self, username: str, form: str, subject: str) -> tuple[dict[str, str], datetime] | None:
        """The person's draft and when it was saved, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(web_draft).where(self._where(username, form, subject))).first()
        return (dict(row.fields), row.saved_at) if row else None

    def discard(self, username: str, form: str, subject: str) -> None:
        """Forget the draft (after the form was sent)."""
        with self.engine.begin() as conn:
            conn.execute(delete(web_draft).where(self._where(username, form, subject)))
