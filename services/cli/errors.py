"""What an infrastructure failure means for the operator: ``explain`` turns the exceptions of the database driver,
the Kafka client, the settings and the operating system into an ``OperatorError`` naming the setting or file and
what to do (the CLI prints it as two lines, Vietnamese then English, and exits with its ``exit_code``).

Anything it does not recognise is left alone: an unknown failure is a bug, and its traceback is the report.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from services.kernel.errors import (
    BrokerUnreachable,
    DatabaseUnreachable,
    InvalidSetting,
    MissingFile,
    NoDatabase,
    OperatorError,
    PortInUse,
    ThiduaError,
)

# kafka-python's "no broker answered" (NoBrokersAvailable before 3.0; the bootstrap timeout since)
KAFKA_UNREACHABLE = {"NoBrokersAvailable", "KafkaConnectionError", "KafkaTimeoutError"}


def explain(exc: BaseException) -> ThiduaError | None:
    """The operator's reading of ``exc``, or None when it is not an infrastructure or set-up failure."""
    if isinstance(exc, ThiduaError):
        return exc
    for reader in (_database, _kafka, _settings, _os):
        found = reader(exc)
        if found is not None:
            return found
    return None


def _database_url() -> str:
    """The configured database URL, password hidden (the settings may themselves be what is broken)."""
    from services.kernel.db import masked
    from services.kernel.settings import NodeSettings

    try:
        return masked(NodeSettings().effective_database_url)
    except Exception:  # noqa: BLE001 - only a label for the message
        return os.environ.get("THIDUA_DATABASE_URL", "THIDUA_DATABASE_URL")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return " ".join(text.removeprefix("connection failed: ").split())


def _database(exc: BaseException) -> OperatorError | None:
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return None
    orig: Any = exc.orig
    reason, state = _first_line(orig), getattr(orig, "sqlstate", None) or ""
    url = _database_url()
    if "no such table" in reason or state == "42P01":
        return NoDatabase(
            f"Cơ sở dữ liệu {url} chưa được khởi tạo ({reason}): chạy `thidua db upgrade`.",
            f"The database {url} is not initialised ({reason}): run `thidua db upgrade`.",
        )
    if "unable to open database file" in reason:
        return MissingFile(
            f"Không mở được tệp SQLite {url} (THIDUA_DATA_DIR / THIDUA_DATABASE_URL): kiểm tra thư mục tồn tại và "
            "có quyền ghi.",
            f"Cannot open the SQLite file {url} (THIDUA_DATA_DIR / THIDUA_DATABASE_URL): check that its folder "
            "exists and is writable.",
        )
    if state == "3D000" or ("database" in reason and "does not exist" in reason):
        return NoDatabase(
            f"Cơ sở dữ liệu trong THIDUA_DATABASE_URL ({url}) không tồn tại: tạo nó (createdb) rồi chạy "
            "`thidua db upgrade`.",
            f"The database named in THIDUA_DATABASE_URL ({url}) does not exist: create it (createdb), then run "
            "`thidua db upgrade`.",
        )
    if state.startswith("28") or "FATAL:" in reason:  # the server answered, and refused: user, password, rules
        return InvalidSetting(
            f"Máy chủ cơ sở dữ liệu {url} từ chối kết nối ({reason}): sửa người dùng, mật khẩu hoặc tên cơ sở dữ liệu "
            "trong THIDUA_DATABASE_URL, hoặc quyền truy cập trên máy chủ (pg_hba.conf).",
            f"The database server {url} refused the connection ({reason}): fix the user, password or database name "
            "in THIDUA_DATABASE_URL, or the server's access rules (pg_hba.conf).",
        )
    if "database is locked" in reason:
        return DatabaseUnreachable(
            f"Tệp SQLite {url} đang bị tiến trình khác khóa quá lâu: thử lại, hoặc dừng tiến trình đang ghi.",
            f"The SQLite file {url} stayed locked by another process: retry, or stop the process writing to it.",
        )
    if type(orig).__module__.startswith("sqlite3"):
        return None  # another SQLite failure (corrupt file, disk full...): the traceback says more
    if not state or state.startswith(("08", "57P")) or exc.connection_invalidated:  # no answer, or it went away
        return DatabaseUnreachable(
            f"Không kết nối được cơ sở dữ liệu {url} (THIDUA_DATABASE_URL): {reason}. Kiểm tra máy chủ PostgreSQL "
            "đang chạy, địa chỉ và cổng đúng.",
            f"Cannot connect to the database {url} (THIDUA_DATABASE_URL): {reason}. Check that the PostgreSQL "
            "server is running and the host and port are right.",
        )
    return None


def _kafka(exc: BaseException) -> OperatorError | None:
    if not type(exc).__module__.startswith("kafka") or type(exc).__name__ not in KAFKA_UNREACHABLE:
        return None
    servers = os.environ.get("THIDUA_KAFKA_BOOTSTRAP_SERVERS", "")
    return BrokerUnreachable(
        f"Không kết nối được Kafka tại {servers} (THIDUA_KAFKA_BOOTSTRAP_SERVERS): kiểm tra broker đang chạy, địa "
        "chỉ host:cổng đúng và tường lửa cho phép.",
        f"Cannot reach Kafka at {servers} (THIDUA_KAFKA_BOOTSTRAP_SERVERS): check that the broker is running, the "
        "host:port is right and the firewall lets it through.",
        servers=servers,
    )


def _settings(exc: BaseException) -> OperatorError | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != "Settings":
        return None
    from services.api.problems import FIELD_MESSAGES_VI

    problems = [(f"THIDUA_{'_'.join(map(str, e['loc'])).upper()}", e["type"], e["msg"]) for e in exc.errors()]
    vi = "; ".join(f"{name}: {FIELD_MESSAGES_VI.get(kind, 'giá trị không hợp lệ')}" for name, kind, _ in problems)
    en = "; ".join(f"{name}: {message}" for name, _, message in problems)
    return InvalidSetting(
        f"Biến môi trường không hợp lệ — {vi}. Sửa hoặc bỏ biến này.",
        f"Invalid environment variable — {en}. Fix or unset it.",
        settings=[name for name, _, _ in problems],
    )


def _os(exc: BaseException) -> OperatorError | None:
    if not isinstance(exc, OSError):
        return None
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(
            f"Địa chỉ đang được tiến trình khác dùng ({exc.strerror}): dừng tiến trình đó hoặc chọn cổng khác.",
            f"The address is in use by another process ({exc.strerror}): stop that process or choose another port.",
        )
    if isinstance(exc, FileNotFoundError | NotADirectoryError) and exc.filename:
        return MissingFile(
            f"Không tìm thấy {exc.filename}: kiểm tra đường dẫn (trong tùy chọn hoặc biến THIDUA_* trỏ tới nó).",
            f"{exc.filename} does not exist: check the path (in the option or the THIDUA_* setting naming it).",
            path=str(exc.filename),
        )
    if isinstance(exc, PermissionError) and exc.filename:
        return MissingFile(
            f"Không có quyền truy cập {exc.filename}: kiểm tra quyền của người dùng chạy thidua.",
            f"No permission to access {exc.filename}: check the permissions of the user running thidua.",
            path=str(exc.filename),
        )
    return None
