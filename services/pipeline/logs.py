"""JSON logs for the relay and the workers: one object per line, with the correlation id of the work at hand."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# attributes every LogRecord has; anything else was passed with ``extra=`` and goes into the JSON object
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, correlation id and ``extra`` fields."""

    def __init__(self, process_name: str = "thidua") -> None:
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process_name,
            "msg": record.getMessage(),
        }
        current = correlation_id.get()
        if current:
            entry["correlation_id"] = current
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


@contextmanager
def correlated(value: str | None) -> Iterator[None]:
    """Log lines written inside the block carry ``correlation_id=value``."""
    token = correlation_id.set(value)
    try:
        yield
    finally:
        correlation_id.reset(token)


def logging_config(level: str, json_lines: bool = True, process_name: str = "thidua") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for a pipeline process (also handed to the Faust worker)."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter, "process_name": process_name}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {"repeats": {"()": "services.pipeline.broker.RepeatFilter"}},  # Kafka clients during an outage
        "handlers": {
            "main": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
                "filters": ["repeats"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["main"]},
        "loggers": {"kafka": {"level": "WARNING"}, "aiokafka": {"level": "WARNING"}},
    }


def configure(level: str, json_lines: bool = True, process_name: str = "thidua") -> None:
    """Set up logging of a pipeline process."""
    logging.config.dictConfig(logging_config(level, json_lines, process_name))
