"""What pages that send commands need (the work forms are built on this): a form key against double submits,
the errors of a refused form for the error summary and the fields, in the GOV.UK Design System's pattern.

A command form carries ``csrf_token`` and ``form_key`` (the macro ``form_guard`` of ``_macros.html``). The form key
is the API's ``Idempotency-Key`` of a person: :func:`command_key` builds the same ``IdempotencyKey`` the API's
``run_command`` checks inside the command's transaction, so a double click or a browser retry appends once and gets
the first answer, and the same key with other content is refused (``IDEMPOTENCY_KEY_REUSED``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from services.api.idempotency import KEY_PATTERN, IdempotencyKey, fingerprint
from services.kernel.errors import ThiduaError

from .auth import CSRF_FIELD, Person

FORM_KEY = "form_key"


def form_key() -> str:
    """A fresh key for a form about to be shown."""
    return str(uuid.uuid4())


def command_key(person: Person, path: str, form: Mapping[str, str], ttl_hours: float) -> IdempotencyKey | None:
    """The idempotency key of a submitted command form (None without a well-formed ``form_key``): the person's own,
    fingerprinted over the path and the form's fields (not its tokens)."""
    key = form.get(FORM_KEY)
    if not key or not KEY_PATTERN.match(key):
        return None
    fields = {k: v for k, v in sorted(form.items()) if k not in (CSRF_FIELD, FORM_KEY)}
    body = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return IdempotencyKey(
        person.principal.client_id, key, fingerprint("POST", path, None, body), timedelta(hours=ttl_hours)
    )


@dataclass
class FormErrors:
    """Errors of a refused form: a summary at the top, each linked to its field (``field`` None: the whole form)."""

    items: list[dict[str, str | None]] = field(default_factory=list)

    def add(self, field_name: str | None, text: str, code: str | None = None) -> None:
        """One more error (Vietnamese text, the refusal code for the help desk)."""
        self.items.append({"field": field_name, "text": text, "code": code})

    def refusal(self, exc: ThiduaError, fields: Mapping[str, str], lang: str = "vi") -> None:
        """A domain refusal beside the field its code concerns (``fields``: code → field name), else at the top."""
        self.add(fields.get(exc.code), exc.message_vi if lang == "vi" else exc.message_en, exc.code)

    def __bool__(self) -> bool:
        return bool(self.items)
