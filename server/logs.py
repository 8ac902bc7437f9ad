"""Log lines for operators: one JSON object per event (or plain text in development).

Secrets never reach a log line by construction (no query strings are logged, tokens and
passwords are never passed to a logger); `redact` is the second line of defence for
anything token-shaped that slips through, e.g. inside a library's exception message.
"""

import json
import logging
import re
import sys
import time
from typing import Literal

SECRET = re.compile(
    r"jb_[0-9a-f]{16}_[A-Za-z0-9_-]*"  # our API tokens, even cut short
    r"|(?i:(?<=[?&;\s])(?:token|ticket|password|secret)=)[^&\s\"']+"  # key=value in URLs
)
# Fields a log call may attach with `extra={...}`; each becomes a JSON key when present.
FIELDS = ("board", "user", "client_id", "seq", "latency_ms", "method", "path", "status", "code")


def redact(text: str) -> str:
    return SECRET.sub("[redacted]", text)


class NoQueryStrings(logging.Filter):
    """Cut query strings from uvicorn's own lines ('"WebSocket /ws/boards/b?…" [accepted]')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                a.partition("?")[0] if isinstance(a, str) and a.startswith("/") else a
                for a in record.args
            )
        return True


def keep_query_strings_out_of_uvicorn_logs() -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, NoQueryStrings) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(NoQueryStrings())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        event.update({f: getattr(record, f) for f in FIELDS if hasattr(record, f)})
        if record.exc_info:
            event["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(event, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for a developer's terminal, with the event's fields appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{f}={getattr(record, f)}" for f in FIELDS if hasattr(record, f))
        return redact(super().format(record) + (f" [{fields}]" if fields else ""))


def configure(kind: Literal["json", "text"], level: str) -> None:
    """Send every logger (ours and uvicorn's) to stderr in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if kind == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
