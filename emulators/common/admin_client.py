"""The client of a stand-in's `/_admin/` routes (stats, resets, faults, settings), for tests,
scripts and the local stack."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def admin(url: str, route: str, body: dict[str, Any] | None = None,
          method: str | None = None) -> Any:
    """Call `url/_admin/route` and return its JSON answer; POST when a body is given."""
    method = method or ("POST" if body is not None else "GET")
    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(f"{url}/_admin/{route}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}
