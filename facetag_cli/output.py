"""How commands print: results on stdout (a table, or JSON for scripts), notes on stderr."""

from __future__ import annotations

import json
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def say(message: str) -> None:
    click.echo(message, err=True)
