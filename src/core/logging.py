"""Logging set-up: plain lines by default, one JSON object a line with `LOG_FORMAT=json`.

One handler on the root logger, on stderr; uvicorn's loggers hand their records to it, so
`mindwire serve` writes every line (ours, uvicorn's start-up and access lines) in one format.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict; also `uvicorn.run(log_config=...)`, whose worker
    processes apply it again (so it names classes by import path, and pickles)."""
    formatter: dict[str, Any] = (
        {"()": f"{JsonFormatter.__module__}.JsonFormatter"}
        if fmt == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"mindwire": formatter},
        "handlers": {
            "mindwire": {
                "class": "logging.StreamHandler",
                "formatter": "mindwire",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["mindwire"], "level": level.upper()},
        # uvicorn's own handlers would write its lines in its format: it gets none, and its
        # records reach the root handler.
        "loggers": {name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
    }


def configure_logging(level: str, fmt: str) -> None:
    logging.config.dictConfig(logging_config(level, fmt))
