"""The uploaded bytes of each asset: in memory, and on disk with `--state-dir` (where they
stay after a restart and are read on demand)."""

from __future__ import annotations

import threading

from .exceptions import NotFound
from .state_dir import StateDir


class Originals:
    def __init__(self, state: StateDir | None) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {}
        self._state = state

    def put(self, asset_id: str, data: bytes) -> None:
        with self._lock:
            self._data[asset_id] = data
        if self._state is not None:
            self._state.save_original(asset_id, data)

    def get(self, asset_id: str) -> bytes:
        with self._lock:
            data = self._data.get(asset_id)
        if data is None and self._state is not None:
            data = self._state.original(asset_id)
        if data is None:
            raise NotFound(f"Resource not found - {asset_id}")
        return data

    def drop(self, asset_id: str) -> None:
        with self._lock:
            self._data.pop(asset_id, None)
        if self._state is not None:
            self._state.remove_original(asset_id)
