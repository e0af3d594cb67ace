"""One JSON object per log line, so CloudWatch Logs Insights can filter on any field.

Structured fields passed with `extra={...}` become top-level keys next to `timestamp`,
`level`, `logger` and `message`; an exception becomes `error` (one line) and `traceback`.
Delivery URL signatures (`s--…--`) are blanked out of every line: a signed URL gives access to
a private asset, and a library's own log line (urllib3's retry warning) may quote one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=` or a filter
# (Lambda's handler adds `aws_request_id` that way).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
# What the SDK puts in a signed delivery URL: 8 characters, or 32 with long signatures.
_URL_SIGNATURE = re.compile(r"s--[A-Za-z0-9_-]{8,32}--")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
        line = {
            **extras,  # the fixed keys below win over an extra of the same name
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__name__}: {error}"
            line["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return _URL_SIGNATURE.sub("s--…--", json.dumps(line, default=str, ensure_ascii=False))


def configure(level: int | str = logging.INFO) -> None:
    """Make every handler on the root logger write JSON, and let `facetag.*` log at `level`.

    Lambda installs a handler on the root logger before the app is imported: its formatter is
    replaced rather than a second handler added (which would print every line twice). Without
    any handler (a plain `python`/`chalice local` process) one writing to stdout is added.
    Calling this again changes nothing but the level.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stdout))
    for handler in root.handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
    logging.getLogger("facetag").setLevel(level)
