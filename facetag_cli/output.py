"""How commands print: results on stdout (a table, or JSON for scripts), notes on stderr."""

from __future__ import annotations

import json
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def say(message: str) -> None:
    click.echo(message, err=True)


def duration(seconds: float) -> str:
    """A duration for people: `45s`, `12m 20s`, `3h 05m`, `2d 04h`."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"
