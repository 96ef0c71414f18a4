"""Domain errors: a stable code, a kind and a bilingual message, Vietnamese first.

Entry points say them their own way: the API maps each kind to an HTTP status and problem+json
(``services.api.problems``), the web app to a page, the CLI to two lines and an exit code, the worker to the
dead-letter topic. No error here knows HTTP.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What sort of refusal an error is, in the domain's terms (the API's status for each is in brackets)."""

    UNREADABLE = "unreadable"  # the request cannot be read (400)
    UNAUTHENTICATED = "unauthenticated"  # who is asking is not established (401)
    FORBIDDEN = "forbidden"  # the one asking may not do this (403)
    NOT_FOUND = "not_found"  # the thing named does not exist (404)
    CONFLICT = "conflict"  # the current state does not allow it (409)
    INVALID = "invalid"  # a rule refuses what was asked (422)
    RATE_LIMITED = "rate_limited"  # too many requests for now (429)
    DEFECT = "defect"  # a defect of the node itself, not of the request (500)


class ThiduaError(Exception):
    """Base of every refusal the product explains: a stable ``code``, a ``kind`` and a bilingual message."""

    code = "THIDUA_ERROR"
    kind = Kind.UNREADABLE

    def __init__(self, message_vi: str, message_en: str, **details: Any) -> None:
        self.message_vi = unicodedata.normalize("NFC", message_vi)
        self.message_en = message_en
        self.details = details
        super().__init__(f"[{self.code}] {self.message_vi} / {self.message_en}")

    @property
    def message(self) -> str:
        """The bilingual message, Vietnamese first."""
        return f"{self.message_vi} / {self.message_en}"


class VersionConflict(ThiduaError):
    """The stream's version is not the one the writer expected (optimistic concurrency)."""

    code = "VERSION_CONFLICT"
    kind = Kind.CONFLICT

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"Xung đột phiên bản: luồng {stream_id} đang ở phiên bản {actual}, không phải {expected} như yêu cầu.",
            f"Version conflict: stream {stream_id} is at version {actual}, not the expected {expected}.",
            stream_id=stream_id,
            expected_version=expected,
            actual_version=actual,
        )


class StaleRead(VersionConflict):
    """A stream a command read before it took the append lock moved before it took it (optimistic decide): the
    message bus decides the command again on the new state; said as a version conflict if it ever gets out."""


class DuplicateEventConflict(ThiduaError):
    """Some, but not all, of a batch's event ids are already stored, or stored in another stream."""

    code = "DUPLICATE_EVENT_CONFLICT"
    kind = Kind.CONFLICT

    def __init__(self, event_ids: list[str]) -> None:
        super().__init__(
            f"Sự kiện đã tồn tại với nội dung khác: {', '.join(event_ids)}.",
            f"Events already stored with different content: {', '.join(event_ids)}.",
            event_ids=event_ids,
        )


class UnknownOrgUnit(ThiduaError):
    """The org unit named is neither in the official list nor registered."""

    code = "UNKNOWN_ORG_UNIT"
    kind = Kind.NOT_FOUND

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"Không tìm thấy đơn vị {ref}.",
            f"Unknown org unit {ref}.",
            org_unit=ref,
        )


class OrgUnitExists(ThiduaError):
    """An org unit with this code is already registered on the node."""

    code = "ORG_UNIT_EXISTS"
    kind = Kind.CONFLICT

    def __init__(self, code: str) -> None:
        super().__init__(
            f"Đơn vị mã {code} đã được đăng ký.",
            f"Org unit {code} is already registered.",
            org_unit=code,
        )


class InvalidOrgPath(ThiduaError):
    """A path does not follow VN/<province>/<commune>/<unit>... ."""

    code = "INVALID_ORG_PATH"
    kind = Kind.INVALID

    def __init__(self, path: str, why_vi: str, why_en: str) -> None:
        super().__init__(
            f"Đường dẫn đơn vị không hợp lệ '{path}': {why_vi}.",
            f"Invalid org-unit path '{path}': {why_en}.",
            path=path,
        )


class SchemaViolation(ThiduaError):
    """A datum that its Avro schema cannot encode (a missing field, a wrong type)."""

    code = "SCHEMA_VIOLATION"
    kind = Kind.INVALID

    def __init__(self, fullname: str, reason: str) -> None:
        super().__init__(
            f"Dữ liệu không khớp lược đồ {fullname}: {reason}.",
            f"Data does not match schema {fullname}: {reason}.",
            fullname=fullname,
        )


class DecodeError(ThiduaError):
    """Bytes that are not a message this node can decode."""

    code = "UNDECODABLE_MESSAGE"
    kind = Kind.INVALID


class UnknownSchema(DecodeError):
    """The writer-schema fingerprint of a message is not in the catalog."""

    code = "UNKNOWN_SCHEMA"

    def __init__(self, fingerprint: bytes) -> None:
        super().__init__(
            f"Không có lược đồ Avro với dấu vân tay {fingerprint.hex()}.",
            f"No Avro schema with fingerprint {fingerprint.hex()} in the catalog.",
            fingerprint=fingerprint.hex(),
        )


class DomainRefusal(ThiduaError):
    """A rule refused a command: the rule's stable code, a bilingual message and the facts that decided it."""

    def __init__(self, code: str, kind: Kind, message_vi: str, message_en: str, **details: Any) -> None:
        self.code = code
        self.kind = kind
        super().__init__(message_vi, message_en, **details)


def out_of_subtree(actor_path: str, target_path: str) -> DomainRefusal:
    """The acting unit may act only on its own subtree."""
    return DomainRefusal(
        "OUT_OF_SUBTREE",
        Kind.FORBIDDEN,
        f"Đơn vị {actor_path} chỉ được thao tác trong phạm vi của mình; {target_path} nằm ngoài phạm vi.",
        f"{actor_path} may act only within its own subtree; {target_path} is outside it.",
        actor_path=actor_path,
        target_path=target_path,
    )


class StreamConflict(ThiduaError):
    """A foreign event claims a stream version that this node already holds with another event."""

    code = "STREAM_CONFLICT"
    kind = Kind.CONFLICT

    def __init__(self, stream_id: str, version: int, event_id: str, held_by: str | None) -> None:
        super().__init__(
            f"Xung đột luồng {stream_id}: phiên bản {version} đã có sự kiện {held_by}, không nhận {event_id}.",
            f"Stream conflict on {stream_id}: version {version} already holds {held_by}; {event_id} refused.",
            stream_id=stream_id,
            stream_version=version,
            event_id=event_id,
            held_by=held_by,
        )


class OperatorError(ThiduaError):
    """A mistake in how the node is set up (database, broker, files, settings), not a refused command: the CLI
    prints its message as one or two lines, Vietnamese then English, and exits with ``exit_code`` (no traceback
    unless asked for); servers refuse to start with it."""

    code = "OPERATOR_ERROR"
    exit_code = 3


class DatabaseNotCurrent(OperatorError):
    """The database's schema revision is not the one this code was built for (run ``thidua db upgrade``)."""

    code = "DATABASE_NOT_CURRENT"
    exit_code = 4

    def __init__(self, found: str | None, expected: str) -> None:
        super().__init__(
            f"Cơ sở dữ liệu đang ở phiên bản lược đồ {found or 'chưa khởi tạo'}, mã nguồn cần {expected}: "
            "chạy `thidua db upgrade`.",
            f"The database is at schema revision {found or 'none'}, this code needs {expected}: "
            "run `thidua db upgrade`.",
            found=found,
            expected=expected,
        )


class DatabaseNotRecognised(OperatorError):
    """A database with tables of ours but no schema revision, whose tables are not those of release v0.1.0: it
    cannot be upgraded safely."""

    code = "DATABASE_NOT_RECOGNISED"
    exit_code = 4

    def __init__(self, differences: list[str]) -> None:
        shown = "; ".join(differences[:5]) + (f"; … ({len(differences)})" if len(differences) > 5 else "")
        super().__init__(
            f"Cơ sở dữ liệu có bảng nhưng không có phiên bản lược đồ và không khớp bản v0.1.0 ({shown}): "
            "không nâng cấp; khôi phục bản sao lưu hoặc dùng cơ sở dữ liệu mới.",
            f"The database has tables but no schema revision and they do not match release v0.1.0 ({shown}): "
            "not upgraded; restore a backup or use a new database.",
            differences=differences,
        )


class DowngradeRefused(OperatorError):
    """A schema revision that cannot be undone (the way back is the backup taken before the upgrade)."""

    code = "DOWNGRADE_REFUSED"
    exit_code = 4

    def __init__(self, revision: str, reason: str) -> None:
        super().__init__(
            f"Không thể hạ phiên bản lược đồ {revision}: {reason}. Khôi phục bản sao lưu đã tạo trước khi nâng cấp.",
            f"Revision {revision} cannot be downgraded: {reason}. Restore the backup taken before the upgrade.",
            revision=revision,
            reason=reason,
        )


class UsageMistake(OperatorError):
    """A name or value given on the command line that does not exist (an unknown schema, read model...)."""

    code = "UNKNOWN_NAME"
    exit_code = 2


class InvalidSetting(OperatorError):
    """A ``THIDUA_*`` setting (or an option) whose value cannot work: say which, and what a right one looks like."""

    code = "INVALID_SETTING"


class MissingFile(OperatorError):
    """A file or folder the command needs is not there (a database, an export, a key)."""

    code = "NOT_FOUND"


class NoDatabase(MissingFile):
    """The node's database does not exist, or holds no event store: commands that read one never create it."""

    code = "NO_DATABASE"


class NodeNotEmpty(OperatorError):
    """A command that starts a node's history (the demo) was pointed at a database that already holds one."""

    code = "NODE_NOT_EMPTY"


class PortInUse(OperatorError):
    """The address a server should listen on is taken by another process."""

    code = "PORT_IN_USE"


class MissingExtra(OperatorError):
    """A command needs an optional part of the package that is not installed (``pip install 'thidua-sync[x]'``)."""

    code = "MISSING_EXTRA"


class ServiceUnreachable(OperatorError):
    """The database or the Kafka broker does not answer; retrying when it is back may work."""

    code = "SERVICE_UNREACHABLE"
    exit_code = 5


class DatabaseUnreachable(ServiceUnreachable):
    """The database server does not answer at the configured address."""

    code = "DATABASE_UNREACHABLE"


class BrokerUnreachable(ServiceUnreachable):
    """No Kafka broker answers at the configured bootstrap servers."""

    code = "KAFKA_UNREACHABLE"


class StoreIntegrityError(ThiduaError):
    """The database refused an append for a reason other than a version conflict (a NOT NULL, CHECK or unique
    constraint that the append lock should have made impossible): a defect or a writer that bypassed the store, not
    a concurrent command, so it is reported as what it is rather than as a retryable conflict."""

    code = "STORE_INTEGRITY_ERROR"
    kind = Kind.DEFECT

    def __init__(self, constraint: str | None, detail: str) -> None:
        super().__init__(
            f"Cơ sở dữ liệu từ chối ghi sự kiện (ràng buộc {constraint or 'không rõ'}): {detail}",
            f"The database refused the append (constraint {constraint or 'unknown'}): {detail}",
            constraint=constraint,
        )
