"""Commands sent from the web app's forms, through the node's command bus with the API's own guard
(``services.api.commanding``): the same access checks inside the command's transaction, ``If-Match`` from the
stream version the form was made from (a stale form is refused with ``VERSION_CONFLICT``), and the form key as
the person's ``Idempotency-Key`` (a double click or a browser retry appends once and gets the first answer).

``preview`` runs the command's own handler and rolls it back, so what a "check your answers" page shows (the
computed route of a proposal, its prerequisites, whether a report is late) is exactly what sending would record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.api.commanding import ApiGuard, Authorize, run_command
from services.kernel.errors import ThiduaError, VersionConflict
from services.kernel.uow import UnitOfWork
from services.messagebus import CommandResult

from .auth import Person
from .forms import FormErrors, command_key

SETTLE_SECONDS = 3.0  # how long a page waits, after a command, for the read models to show it (embedded default)
STALE_VI = (
    "Hồ sơ đã được người khác thay đổi sau khi bạn mở biểu mẫu này (phiên bản {expected}, nay là {actual}). "
    "Biểu mẫu đã không được gửi; trạng thái mới được hiển thị bên dưới — hãy xem lại trước khi thao tác."
)
STALE_EN = (
    "Someone else changed this record after you opened the form (version {expected}, now {actual}). Nothing was "
    "sent; the new state is shown below — check it before acting."
)
NO_KEY_VI = "Biểu mẫu thiếu mã chống gửi lặp; hãy tải lại trang rồi gửi lại."


@dataclass
class Sent:
    """What became of a form's command: appended (or replayed: a repeat of the same form), or refused."""

    errors: FormErrors = field(default_factory=FormErrors)
    stale: bool = False
    replayed: bool = False
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the command was recorded (now or by an earlier submit of the same form)."""
        return not self.errors


def send(
    web: Any,
    person: Person,
    form: Mapping[str, str],
    path: str,
    command: Any,
    *,
    stream_id: str,
    expected: int | None = None,
    authorize: Authorize | None = None,
    fields: Mapping[str, str] | None = None,
    lang: str = "vi",
) -> Sent:
    """Run ``command`` for ``person`` with the form's key; refusals land beside the field of their code (``fields``:
    code → field name). Waits (briefly) for the read models to apply what was appended."""
    sent, fields = Sent(), fields or {}
    key = command_key(person, path, form, web.node.settings.api_idempotency_ttl_hours)
    if key is None:
        sent.errors.add(None, NO_KEY_VI, "FORM_KEY_MISSING")
        return sent
    try:
        response = run_command(
            web.node,
            command,
            stream_id=stream_id,
            if_match=None if expected is None else str(expected),
            key=key,
            authorize=authorize,
        )
    except VersionConflict as conflict:
        _stale(sent, conflict.details, lang)
        return sent
    except ThiduaError as refusal:
        sent.errors.refusal(refusal, fields, lang)
        return sent
    sent.replayed = response.headers.get("Idempotent-Replayed") == "true"
    sent.body = json.loads(bytes(response.body) or b"{}")
    if response.status_code >= 400:  # the first submit of this form was refused: the same answer again
        code = str(sent.body.get("code"))
        if code == "VERSION_CONFLICT":
            _stale(sent, sent.body, lang)
        else:
            sent.errors.add(fields.get(code), str(sent.body.get("title") or sent.body.get("detail")), code)
        return sent
    settle(web, max(sent.body.get("positions") or [0]))
    return sent


def _stale(sent: Sent, details: Mapping[str, Any], lang: str) -> None:
    text = STALE_VI if lang == "vi" else STALE_EN
    values = {"expected": details.get("expected_version"), "actual": details.get("actual_version")}
    sent.stale = True
    sent.errors.add(None, text.format(**values), "VERSION_CONFLICT")


def settle(web: Any, position: int) -> None:
    """Wait until the read models have applied ``position`` (embedded default: the projection tail runs in this
    process), so the page the browser goes to next shows what was just done; at most SETTLE_SECONDS."""
    if not web.live.from_runner or position <= 0:
        return
    deadline = time.monotonic() + SETTLE_SECONDS
    while web.live.applied() < position and time.monotonic() < deadline:
        time.sleep(0.05)


class Previewed(Exception):
    """The dry run of a command: the data of the event it would append."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__("preview")
        self.data = data


@dataclass
class PreviewGuard(ApiGuard):
    """The API's checks, then the handler, then a rollback carrying what the handler appended."""

    def commit(self, uow: UnitOfWork, result: CommandResult) -> None:
        """Never commits: raises Previewed with the last event appended (the transaction rolls back)."""
        raise Previewed(dict(uow.stream(result.stream_id)[-1].data))


def preview(
    web: Any,
    command: Any,
    *,
    stream_id: str,
    authorize: Authorize | None = None,
    fields: Mapping[str, str] | None = None,
    lang: str = "vi",
) -> tuple[dict[str, Any] | None, FormErrors]:
    """What ``command`` would record now (nothing is written), or the refusal it would get."""
    errors = FormErrors()
    try:
        web.node.bus.handle(command, PreviewGuard(stream_id, None, None, authorize, None))
    except Previewed as dry:
        return dry.data, errors
    except ThiduaError as refusal:
        errors.refusal(refusal, fields or {}, lang)
        return None, errors
    raise AssertionError("a preview always rolls back")


def stream_events(web: Any, stream_id: str) -> list[Any]:
    """The decoded events of a stream on the write side (its length is the version a form expects)."""
    from services.kernel.events import decode_event

    node = web.node
    return [decode_event(s.body, node.codec, node.bus.types) for s in node.store.read_stream(stream_id)]
