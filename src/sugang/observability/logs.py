"""Log lines with the request id of the request being served: JSON lines for machines (the
default wherever logs are collected), readable lines when a person watches a terminal."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

LogFormat = Literal["auto", "json", "console"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    """What the caller added to the record (`extra=`), beyond logging's own attributes."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (current := request_id.get()) is not None:
            line["request_id"] = current
        line.update(_extra(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """`10:27:54.123 INFO  sugang.access  GET /api/v1/time 200  duration_ms=0.41 rid=…`:
    local time, the message first, then what was added to it, the request id last."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        fields = {k: v for k, v in _extra(record).items() if k not in ("route", "status")}
        if (current := request_id.get()) is not None:
            fields["rid"] = current
        tail = "  ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{moment} {record.levelname:<5} {record.name:<14} {record.getMessage()}"
        line = f"{line}  {tail}" if tail else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def chosen_format(wanted: LogFormat, stream: Any = None) -> Literal["json", "console"]:
    """`auto`: readable lines on a terminal, JSON lines elsewhere (containers, files, pipes)."""
    if wanted != "auto":
        return wanted
    stream = sys.stderr if stream is None else stream
    return "console" if stream.isatty() else "json"


def log_config(level: str = "info", log_format: LogFormat = "auto") -> dict[str, Any]:
    """A logging.config dict for uvicorn and sugang: every line on stderr, in one format."""
    formatter = ConsoleFormatter if chosen_format(log_format) == "console" else JsonFormatter
    handler = {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": formatter}},
        "handlers": {"line": handler},
        "loggers": {
            name: {"handlers": ["line"], "level": level.upper(), "propagate": False}
            for name in ("sugang", "uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
