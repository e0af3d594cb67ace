"""`--state-dir`: the library mirrored to disk (asset JSON, original bytes, triggers), each
file written beside its target then renamed, so a crash never leaves half a file."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from .assets import Asset, Trigger

log = logging.getLogger("facetag.emulators.cloudinary.state_dir")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "assets").mkdir(parents=True, exist_ok=True)
        (root / "originals").mkdir(parents=True, exist_ok=True)

    def save_asset(self, asset: Asset) -> None:
        _write_atomic(self.root / "assets" / f"{asset.asset_id}.json",
                      json.dumps(asdict(asset)).encode())

    def remove_asset(self, asset_id: str) -> None:
        (self.root / "assets" / f"{asset_id}.json").unlink(missing_ok=True)

    def save_original(self, asset_id: str, data: bytes) -> None:
        _write_atomic(self.root / "originals" / asset_id, data)

    def remove_original(self, asset_id: str) -> None:
        (self.root / "originals" / asset_id).unlink(missing_ok=True)

    def original(self, asset_id: str) -> bytes | None:
        path = self.root / "originals" / asset_id
        return path.read_bytes() if path.exists() else None

    def assets(self) -> list[Asset]:
        found: list[Asset] = []
        for path in (self.root / "assets").glob("*.json"):
            try:
                found.append(Asset(**json.loads(path.read_text())))
            except (ValueError, TypeError) as exc:
                log.warning("skipping unreadable asset file %s: %s", path, exc)
        return found

    def save_triggers(self, triggers: list[Trigger]) -> None:
        _write_atomic(self.root / "triggers.json",
                      json.dumps([asdict(t) for t in triggers]).encode())

    def triggers(self) -> list[Trigger]:
        path = self.root / "triggers.json"
        return [Trigger(**item) for item in json.loads(path.read_text())] if path.exists() else []
